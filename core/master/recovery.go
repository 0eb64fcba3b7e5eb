package master

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// recoverUnreachable loads the unreachable marks, so that reconciliation
// answers for those agents' tasks at once after a failover; m.mu held.
func (m *Master) recoverUnreachable(ctx context.Context) error {
	kvs, err := m.cfg.Store.List(ctx, keyUnreachable)
	if err != nil {
		return fmt.Errorf("master: reading registry unreachable agents: %w", err)
	}
	for _, kv := range kvs {
		id := kv.Key[len(keyUnreachable):]
		var mark struct {
			TimestampNS int64 `json:"timestamp_ns"`
		}
		if err := json.Unmarshal(kv.Value, &mark); err != nil || m.gone[id] {
			continue
		}
		m.unreachable[id] = time.Unix(0, mark.TimestampNS)
	}
	return nil
}

// expireRecoveredAgents marks unreachable the agents the registry listed
// at recovery that have not re-registered within AgentReregisterTimeout
// (Mesos' --agent_reregister_timeout): until then a framework reconciling
// a task on such an agent gets no answer; afterwards it hears
// TASK_UNREACHABLE (PARTITION_AWARE) or TASK_LOST, and every framework
// gets a FAILURE event for the agent. m.mu held; the registry marks are
// written off the lock (a lost write only means the agent is recovered,
// and expires, again after the next failover).
func (m *Master) expireRecoveredAgents(now time.Time) {
	if m.recoveredAt.IsZero() || now.Sub(m.recoveredAt) < m.cfg.AgentReregisterTimeout {
		return
	}
	var expired []string
	for id := range m.admitted {
		if m.agents[id] != nil || m.gone[id] {
			continue
		}
		if _, ur := m.unreachable[id]; ur {
			continue
		}
		expired = append(expired, id)
	}
	if len(expired) == 0 {
		return
	}
	sort.Strings(expired)
	for _, id := range expired {
		m.unreachable[id] = now
		aid := mesos.AgentID{Value: id}
		for _, f := range m.frameworks {
			if f.connected {
				f.stream.Send(mesos.Event{Type: mesos.EventFailure, Failure: &mesos.EventFailureBody{AgentID: &aid}})
			}
		}
		m.metrics.inc("master/slave_unreachable_completed")
		m.publishAgentRemoved(id)
	}
	m.log.Warn("agents from the registry did not re-register in time; marked unreachable",
		"agents", len(expired), "agent_reregister_timeout", m.cfg.AgentReregisterTimeout)
	st, log := m.cfg.Store, m.log
	b, _ := json.Marshal(map[string]int64{"timestamp_ns": now.UnixNano()})
	go func() {
		for _, id := range expired {
			ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
			if _, err := st.Put(ctx, keyUnreachable+id, b, store.AnyVersion); err != nil {
				log.Error("could not record unreachable agent in the registry", "agent", id, "err", err)
			}
			cancel()
		}
	}()
}

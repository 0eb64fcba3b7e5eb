package master

import (
	"context"
	"encoding/json"
	"errors"
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

// gcRegistry forgets unreachable agents older than RegistryMaxAgentAge,
// and the oldest beyond RegistryMaxAgentCount, every RegistryGCInterval
// (Mesos' registry GC): their marks and admissions leave the registry, and
// reconciling their tasks answers TASK_UNKNOWN (TASK_LOST without
// PARTITION_AWARE). m.mu held; the deletes run off the lock.
func (m *Master) gcRegistry(now time.Time) {
	if now.Sub(m.lastRegistryGC) < m.cfg.RegistryGCInterval {
		return
	}
	m.lastRegistryGC = now
	type mark struct {
		id string
		at time.Time
	}
	marks := make([]mark, 0, len(m.unreachable))
	for id, at := range m.unreachable {
		marks = append(marks, mark{id, at})
	}
	sort.Slice(marks, func(i, j int) bool { return marks[i].at.Before(marks[j].at) })
	excess := len(marks) - m.cfg.RegistryMaxAgentCount
	var pruned []string
	for i, mk := range marks {
		if i >= excess && now.Sub(mk.at) < m.cfg.RegistryMaxAgentAge {
			continue
		}
		pruned = append(pruned, mk.id)
		delete(m.unreachable, mk.id)
		delete(m.admitted, mk.id)
		for _, f := range m.frameworks {
			for tid, t := range f.unreachable {
				if t.AgentID.Value == mk.id {
					delete(f.unreachable, tid)
					f.completed = append(f.completed, t)
				}
			}
		}
	}
	if len(pruned) == 0 {
		return
	}
	m.log.Info("registry GC: forgot unreachable agents", "agents", len(pruned),
		"max_agent_age", m.cfg.RegistryMaxAgentAge, "max_agent_count", m.cfg.RegistryMaxAgentCount)
	st, log := m.cfg.Store, m.log
	go func() {
		for _, id := range pruned {
			for _, key := range []string{keyUnreachable + id, keyAgents + id} {
				ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
				if err := st.Delete(ctx, key, store.AnyVersion); err != nil && !errors.Is(err, store.ErrNotFound) {
					log.Warn("registry GC: delete failed", "key", key, "err", err)
				}
				cancel()
			}
		}
	}()
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
	// One pass is enough: an agent admitted since the recovery has
	// registered, and one that leaves later goes unreachable by the pings.
	m.recoveredAt = time.Time{}
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

package master

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// This file builds the v1 operator views of agents, frameworks and tasks and
// publishes operator SUBSCRIBE events. All functions run with m.mu held.

func timeInfo(t time.Time) *mesos.TimeInfo {
	if t.IsZero() {
		return nil
	}
	return &mesos.TimeInfo{Nanoseconds: t.UnixNano()}
}

func (m *Master) agentState(a *agent) mesos.AgentState {
	var allocated, offered mesos.Resources
	for _, t := range a.tasks {
		if !t.State.IsTerminal() {
			allocated = allocated.Plus(t.Resources)
		}
	}
	for _, execs := range a.executors {
		for _, e := range execs {
			allocated = allocated.Plus(e.Resources)
		}
	}
	for _, o := range a.offers {
		offered = offered.Plus(o.resources)
	}
	return mesos.AgentState{
		AgentInfo: a.info, Active: a.connected && a.active, Deactivated: !a.active, Version: a.version,
		PID:            "slave(1)@" + a.info.Hostname + ":" + itoa(int(a.info.Port)),
		RegisteredTime: timeInfo(a.registered), ReregisteredTime: timeInfo(a.reregistered),
		TotalResources: a.total, AllocatedResources: allocated, OfferedResources: offered,
		DrainInfo: m.maint.drains[a.id],
	}
}

func (m *Master) frameworkState(f *framework) mesos.FrameworkState {
	st := mesos.FrameworkState{
		FrameworkInfo: f.info, Active: f.active, Connected: f.connected, Recovered: f.recovered,
		RegisteredTime: timeInfo(f.registered), ReregisteredTime: timeInfo(f.reregistered),
		UnregisteredTime: timeInfo(f.unregistered),
	}
	for _, t := range f.tasks {
		if !t.State.IsTerminal() {
			st.AllocatedResources = append(st.AllocatedResources, t.Resources...)
		}
	}
	for _, o := range f.offers {
		st.OfferedResources = append(st.OfferedResources, o.resources...)
		if a := m.agents[o.agent]; a != nil {
			st.Offers = append(st.Offers, m.offerMessage(o, f, a))
		}
	}
	return st
}

// sortedFrameworks returns frameworks ordered by ID.
func (m *Master) sortedFrameworks() []*framework {
	out := make([]*framework, 0, len(m.frameworks))
	for _, f := range m.frameworks {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (m *Master) sortedAgents() []*agent {
	out := make([]*agent, 0, len(m.agents))
	for _, a := range m.agents {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (m *Master) publish(ev mesos.OperatorEvent) {
	for s := range m.opSubs {
		if !s.Send(ev) {
			delete(m.opSubs, s)
		}
	}
}

func (m *Master) publishFramework(kind string, f *framework) {
	if len(m.opSubs) == 0 {
		return
	}
	ev := mesos.OperatorEvent{Type: kind}
	body := &struct {
		Framework mesos.FrameworkState `json:"framework"`
	}{m.frameworkState(f)}
	if kind == "FRAMEWORK_ADDED" {
		ev.FrameworkAdded = body
	} else {
		ev.FrameworkUpdated = body
	}
	m.publish(ev)
}

func (m *Master) publishFrameworkRemoved(f *framework) {
	if len(m.opSubs) == 0 {
		return
	}
	m.publish(mesos.OperatorEvent{Type: "FRAMEWORK_REMOVED", FrameworkRemoved: &struct {
		FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
	}{f.info}})
}

func (m *Master) publishTaskAdded(t *task) {
	if len(m.opSubs) == 0 {
		return
	}
	m.publish(mesos.OperatorEvent{Type: "TASK_ADDED", TaskAdded: &struct {
		Task mesos.Task `json:"task"`
	}{t.Task}})
}

func (m *Master) publishTaskUpdated(t *task, st mesos.TaskStatus) {
	if len(m.opSubs) == 0 {
		return
	}
	m.publish(mesos.OperatorEvent{Type: "TASK_UPDATED", TaskUpdated: &struct {
		FrameworkID mesos.FrameworkID `json:"framework_id"`
		Status      mesos.TaskStatus  `json:"status"`
		State       mesos.TaskState   `json:"state"`
	}{t.FrameworkID, st, t.State}})
}

func (m *Master) publishAgentAdded(a *agent) {
	if len(m.opSubs) == 0 {
		return
	}
	m.publish(mesos.OperatorEvent{Type: "AGENT_ADDED", AgentAdded: &struct {
		Agent mesos.AgentState `json:"agent"`
	}{m.agentState(a)}})
}

func (m *Master) publishAgentRemoved(id string) {
	if len(m.opSubs) == 0 {
		return
	}
	m.publish(mesos.OperatorEvent{Type: "AGENT_REMOVED", AgentRemoved: &struct {
		AgentID mesos.AgentID `json:"agent_id"`
	}{mesos.AgentID{Value: id}}})
}

// counters are the master's monotonically increasing metrics (gauges are
// computed from state when a snapshot is taken).
type counters struct {
	values map[string]float64
	// allocation run timings, milliseconds, bounded ring.
	allocMs []float64
}

func (c *counters) add(name string, v float64) {
	if c.values == nil {
		c.values = map[string]float64{}
	}
	c.values[name] += v
}

func (c *counters) inc(name string) { c.add(name, 1) }

func (c *counters) observeAllocation(d time.Duration) {
	c.inc("allocator/mesos/allocation_runs")
	c.allocMs = append(c.allocMs, float64(d)/float64(time.Millisecond))
	if len(c.allocMs) > 1000 {
		c.allocMs = c.allocMs[len(c.allocMs)-1000:]
	}
}

func (m *Master) countCall(typ string) {
	m.mu.Lock()
	m.metrics.inc("master/messages_" + strings.ToLower(typ))
	m.mu.Unlock()
}

// countTaskState counts terminal task states (master/tasks_finished, ...).
func (m *Master) countTaskState(s mesos.TaskState) {
	if s.IsTerminal() {
		m.metrics.inc("master/tasks_" + strings.ToLower(strings.TrimPrefix(string(s), "TASK_")))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

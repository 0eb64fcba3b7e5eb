package master

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/strata-sched/strata/core/mesos"
)

// sendMasterUpdate sends a master-generated status update (no uuid: it is
// neither retried nor acknowledged).
func (m *Master) sendMasterUpdate(f *framework, id mesos.TaskID, agentID *mesos.AgentID, state mesos.TaskState, reason, msg string) {
	st := mesos.TaskStatus{
		TaskID: id, State: state, Source: mesos.SourceMaster, Reason: reason, Message: msg,
		Timestamp: timestamp(m.now()),
	}
	if agentID != nil && agentID.Value != "" {
		a := *agentID
		st.AgentID = &a
	}
	m.countTaskState(state)
	if f.connected {
		f.stream.Send(mesos.Event{Type: mesos.EventUpdate, Update: &mesos.EventUpdateBody{Status: st}})
	}
}

// kill handles KILL.
func (m *Master) kill(f *framework, body *mesos.CallKillBody) {
	m.metrics.inc("master/messages_kill_task")
	t := f.tasks[body.TaskID.Value]
	if t == nil {
		if ut := f.unreachable[body.TaskID.Value]; ut != nil {
			// Killing an unreachable task: the agent will be told when it returns.
			return
		}
		m.sendMasterUpdate(f, body.TaskID, body.AgentID, mesos.TaskLost, mesos.ReasonReconciliation,
			"Attempted to kill an unknown task")
		return
	}
	a := m.agents[t.AgentID.Value]
	if a == nil || !a.connected {
		return // delivered when the agent re-registers (it will be reconciled)
	}
	kp := body.KillPolicy
	if kp == nil {
		kp = t.KillPolicy
	}
	a.stream.Send(killTaskEvent(f.id, t.TaskID, kp))
}

// killTaskEvent tells an agent to kill a task (nil kp: the task's own
// kill policy, else the agent's default).
func killTaskEvent(fw string, id mesos.TaskID, kp *mesos.KillPolicy) mesos.AgentEvent {
	ev := mesos.AgentEvent{Type: mesos.AgentEventKillTask}
	ev.KillTask = &struct {
		FrameworkID mesos.FrameworkID `json:"framework_id"`
		TaskID      mesos.TaskID      `json:"task_id"`
		KillPolicy  *mesos.KillPolicy `json:"kill_policy,omitempty"`
	}{mesos.FrameworkID{Value: fw}, id, kp}
	return ev
}

// acknowledge forwards a scheduler's ACKNOWLEDGE to the agent and retires a
// terminal task once its terminal update is acknowledged.
func (m *Master) acknowledge(f *framework, ack *mesos.CallAcknowledgeBody) (int, string) {
	m.metrics.inc("master/messages_status_update_acknowledgement")
	a := m.agents[ack.AgentID.Value]
	if a == nil {
		return http.StatusAccepted, "" // dropped: unknown agent
	}
	t := f.tasks[ack.TaskID.Value]
	if t != nil && t.StatusUpdateUUID != nil && bytes.Equal(t.StatusUpdateUUID, ack.UUID) &&
		t.StatusUpdateState != nil && t.StatusUpdateState.IsTerminal() {
		m.retireTask(f, t)
	}
	if a.connected {
		ev := mesos.AgentEvent{Type: mesos.AgentEventAcknowledge}
		ev.Acknowledge = &struct {
			FrameworkID mesos.FrameworkID `json:"framework_id"`
			TaskID      mesos.TaskID      `json:"task_id"`
			UUID        []byte            `json:"uuid"`
		}{mesos.FrameworkID{Value: f.id}, ack.TaskID, ack.UUID}
		a.stream.Send(ev)
	}
	return http.StatusAccepted, ""
}

// retireTask moves a terminal task to the framework's completed tasks.
func (m *Master) retireTask(f *framework, t *task) {
	delete(f.tasks, t.TaskID.Value)
	if a := m.agents[t.AgentID.Value]; a != nil {
		delete(a.tasks, taskKey{f.id, t.TaskID.Value})
	}
	f.completed = append(f.completed, t)
	if over := len(f.completed) - m.cfg.MaxCompletedTasksPerFramework; over > 0 {
		f.completed = append(f.completed[:0:0], f.completed[over:]...)
	}
}

// releaseTask returns a task's resources to its agent (once, on its first
// terminal state).
func (m *Master) releaseTask(t *task) {
	if a := m.agents[t.AgentID.Value]; a != nil {
		a.available = a.available.Plus(t.Resources.Unallocated())
	}
}

// statusUpdate applies an agent's status update and forwards it.
func (m *Master) statusUpdate(a *agent, u *mesos.StatusUpdate) {
	m.metrics.inc("master/messages_status_update")
	f := m.frameworks[u.FrameworkID.Value]
	st := u.Status
	if !st.State.Valid() {
		m.metrics.inc("master/invalid_status_updates")
		return
	}
	if f == nil {
		m.metrics.inc("master/invalid_status_updates")
		m.log.Info("status update for unknown framework", "framework", u.FrameworkID.Value, "task", st.TaskID.Value)
		return
	}
	t := f.tasks[st.TaskID.Value]
	if t == nil {
		// The task may be unreachable (agent came back), or completed.
		if ut := f.unreachable[st.TaskID.Value]; ut != nil {
			delete(f.unreachable, st.TaskID.Value)
			f.tasks[ut.TaskID.Value] = ut
			t = ut
		}
	}
	m.metrics.inc("master/valid_status_updates")
	if t != nil {
		latest := u.LatestState
		if latest == "" {
			latest = st.State
		}
		wasTerminal := t.State.IsTerminal()
		if !wasTerminal {
			t.State = latest
			if latest.IsTerminal() {
				m.releaseTask(t)
				m.countTaskState(latest)
			}
		}
		s := st.State
		t.StatusUpdateState = &s
		t.StatusUpdateUUID = st.UUID
		if n := len(t.Statuses); n == 0 || t.Statuses[n-1].State != st.State || st.Healthy != nil {
			short := mesos.TaskStatus{TaskID: st.TaskID, State: st.State, Timestamp: st.Timestamp,
				Healthy: st.Healthy, ContainerStatus: st.ContainerStatus, Labels: st.Labels, Source: st.Source, Reason: st.Reason, Message: st.Message}
			t.Statuses = append(t.Statuses, short)
			if len(t.Statuses) > 32 {
				t.Statuses = t.Statuses[len(t.Statuses)-32:]
			}
		}
		m.publishTaskUpdated(t, st)
	}
	if f.connected {
		f.stream.Send(mesos.Event{Type: mesos.EventUpdate, Update: &mesos.EventUpdateBody{Status: st}})
	}
	if t != nil && len(st.UUID) == 0 && st.State.IsTerminal() {
		m.retireTask(f, t)
	}
}

// reconcile answers RECONCILE (reference/mesos.md §1.5).
func (m *Master) reconcile(f *framework, tasks []mesos.ReconcileTask) {
	m.metrics.inc("master/messages_reconcile_tasks")
	partitionAware := f.info.HasCapability(mesos.CapPartitionAware)
	send := func(st mesos.TaskStatus) {
		st.Reason = mesos.ReasonReconciliation
		st.Source = mesos.SourceMaster
		st.Timestamp = timestamp(m.now())
		f.stream.Send(mesos.Event{Type: mesos.EventUpdate, Update: &mesos.EventUpdateBody{Status: st}})
	}
	known := func(t *task) mesos.TaskStatus {
		aid := t.AgentID
		st := mesos.TaskStatus{TaskID: t.TaskID, State: t.State, AgentID: &aid, ExecutorID: t.ExecutorID}
		if n := len(t.Statuses); n > 0 {
			st.Healthy = t.Statuses[n-1].Healthy
			st.ContainerStatus = t.Statuses[n-1].ContainerStatus
		}
		if !t.unreachableAt.IsZero() {
			st.UnreachableTime = &mesos.TimeInfo{Nanoseconds: t.unreachableAt.UnixNano()}
			if !partitionAware {
				st.State = mesos.TaskLost
			}
		}
		return st
	}
	if len(tasks) == 0 {
		// Implicit: every non-terminal task the master knows.
		for _, t := range f.tasks {
			if !t.State.IsTerminal() {
				send(known(t))
			}
		}
		for _, t := range f.unreachable {
			send(known(t))
		}
		return
	}
	anyRecovering := false
	for _, a := range m.agents {
		if a.recovered {
			anyRecovering = true
		}
	}
	for id := range m.admitted {
		if m.agents[id] == nil && !m.gone[id] {
			if _, ur := m.unreachable[id]; !ur {
				anyRecovering = true
			}
		}
	}
	for _, rt := range tasks {
		if t := f.tasks[rt.TaskID.Value]; t != nil {
			send(known(t))
			continue
		}
		if t := f.unreachable[rt.TaskID.Value]; t != nil {
			send(known(t))
			continue
		}
		st := mesos.TaskStatus{TaskID: rt.TaskID, AgentID: rt.AgentID}
		lost := func(s mesos.TaskState) mesos.TaskState {
			if partitionAware {
				return s
			}
			return mesos.TaskLost
		}
		if rt.AgentID == nil {
			if anyRecovering {
				continue // wait until agents re-register
			}
			st.State = lost(mesos.TaskUnknown)
			send(st)
			continue
		}
		aid := rt.AgentID.Value
		a := m.agents[aid]
		switch {
		case a != nil && a.recovered:
			continue
		case a != nil:
			st.State = lost(mesos.TaskGone)
		case m.gone[aid]:
			st.State = lost(mesos.TaskGoneByOperator)
		default:
			if at, ok := m.unreachable[aid]; ok {
				st.State = lost(mesos.TaskUnreachable)
				st.UnreachableTime = &mesos.TimeInfo{Nanoseconds: at.UnixNano()}
			} else if m.admitted[aid] {
				continue // in the registry, not yet re-registered
			} else {
				st.State = lost(mesos.TaskUnknown)
			}
		}
		send(st)
	}
}

// removeFramework tears a framework down: its offers are rescinded, its
// tasks killed (TASK_KILLED, REASON_FRAMEWORK_REMOVED) and it moves to the
// completed frameworks.
func (m *Master) removeFramework(f *framework, why string) {
	if f.removed {
		return
	}
	f.removed = true
	for _, o := range f.offers {
		m.removeOffer(o)
	}
	for _, a := range m.agents {
		if a.connected {
			m.shutdownFrameworkOn(a, f.id)
		}
		if execs := a.executors[f.id]; execs != nil {
			for _, e := range execs {
				a.available = a.available.Plus(mesos.Resources(e.Resources).Unallocated())
			}
			delete(a.executors, f.id)
		}
	}
	now := m.now()
	for _, t := range f.tasks {
		if !t.State.IsTerminal() {
			m.releaseTask(t)
			t.State = mesos.TaskKilled
			m.countTaskState(mesos.TaskKilled)
			t.Statuses = append(t.Statuses, mesos.TaskStatus{TaskID: t.TaskID, State: mesos.TaskKilled,
				Reason: mesos.ReasonFrameworkRemoved, Source: mesos.SourceMaster, Timestamp: timestamp(now),
				Message: "Framework " + f.id + " removed: " + why})
		}
		m.retireTask(f, t)
	}
	for _, t := range f.unreachable {
		f.completed = append(f.completed, t)
	}
	f.unreachable = map[string]*task{}
	if f.stream != nil {
		if f.connected {
			f.stream.Send(mesos.Event{Type: mesos.EventError, Error: &mesos.EventErrorBody{Message: "Framework removed: " + why}})
		}
		f.stream.Close()
	}
	f.connected, f.active = false, false
	f.unregistered = now
	delete(m.frameworks, f.id)
	m.completed = append(m.completed, f)
	if over := len(m.completed) - m.cfg.MaxCompletedFrameworks; over > 0 {
		m.completed = append(m.completed[:0:0], m.completed[over:]...)
	}
	m.log.Info("framework removed", "framework", f.id, "reason", why)
	m.publishFrameworkRemoved(f)
}

// Teardown removes a framework on an operator's request.
func (m *Master) Teardown(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.frameworks[id]
	if f == nil {
		return fmt.Errorf("No framework found with specified ID")
	}
	m.removeFramework(f, "teardown by operator")
	return nil
}

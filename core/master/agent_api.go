package master

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// serveAgent is POST /api/v1/agent, the agent <-> master protocol
// (core/mesos/agentapi.go).
func (m *Master) serveAgent(w http.ResponseWriter, r *http.Request) {
	if !checkMediaTypes(w, r) {
		return
	}
	var call mesos.AgentCall
	if !decodeBody(w, r, &call, "agent Call") {
		return
	}
	switch call.Type {
	case mesos.AgentCallRegister:
		if call.Register == nil {
			textError(w, http.StatusBadRequest, "Expecting 'register' to be present")
			return
		}
		m.registerAgent(w, r, call.Register)
		return
	case mesos.AgentCallStatusUpdate, mesos.AgentCallExecutorMsg, mesos.AgentCallExitedExecutor, mesos.AgentCallPong:
	default:
		textError(w, http.StatusBadRequest, fmt.Sprintf("Unknown agent call type '%s'", call.Type))
		return
	}
	if call.AgentID == nil {
		textError(w, http.StatusBadRequest, "Expecting 'agent_id' to be present")
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[call.AgentID.Value]
	if a == nil || !a.connected || a.stream.id != r.Header.Get("Mesos-Stream-Id") {
		textError(w, http.StatusForbidden, fmt.Sprintf("Agent '%s' is not registered on this stream; re-register", call.AgentID.Value))
		return
	}
	switch call.Type {
	case mesos.AgentCallPong:
		a.pongs = 0
	case mesos.AgentCallStatusUpdate:
		if call.StatusUpdate == nil {
			textError(w, http.StatusBadRequest, "Expecting 'status_update' to be present")
			return
		}
		if !m.ackLostUpdate(a, call.StatusUpdate) {
			m.statusUpdate(a, call.StatusUpdate)
		}
	case mesos.AgentCallExecutorMsg:
		if b := call.ExecutorMsg; b != nil {
			if f := m.frameworks[b.FrameworkID.Value]; f != nil && f.connected {
				f.stream.Send(mesos.Event{Type: mesos.EventMessage, Message: &mesos.EventMessageBody{
					AgentID: mesos.AgentID{Value: a.id}, ExecutorID: b.ExecutorID, Data: b.Data}})
			}
		}
	case mesos.AgentCallExitedExecutor:
		if b := call.ExitedExecutor; b != nil {
			if e, ok := a.executors[b.FrameworkID.Value][b.ExecutorID.Value]; ok {
				a.available = a.available.Plus(mesos.Resources(e.Resources).Unallocated())
				delete(a.executors[b.FrameworkID.Value], b.ExecutorID.Value)
			}
			if f := m.frameworks[b.FrameworkID.Value]; f != nil && f.connected {
				aid, eid, st := mesos.AgentID{Value: a.id}, b.ExecutorID, b.Status
				f.stream.Send(mesos.Event{Type: mesos.EventFailure, Failure: &mesos.EventFailureBody{AgentID: &aid, ExecutorID: &eid, Status: &st}})
			}
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

// registerAgent admits a new agent or re-registers a known one, then serves
// its event stream until it disconnects.
func (m *Master) registerAgent(w http.ResponseWriter, r *http.Request, reg *mesos.AgentRegister) {
	res := mesos.Resources(reg.AgentInfo.Resources)
	if err := res.Validate(); err != nil {
		textError(w, http.StatusBadRequest, "Invalid agent resources: "+err.Error())
		return
	}
	if reg.AgentInfo.Hostname == "" {
		textError(w, http.StatusBadRequest, "Expecting 'agent_info.hostname' to be present")
		return
	}
	s := newStream(newStreamID())

	m.mu.Lock()
	var id string
	if reg.AgentInfo.ID != nil {
		id = reg.AgentInfo.ID.Value
	}
	refusal := ""
	if id != "" && m.gone[id] {
		refusal = "Agent " + id + " has been marked gone by an operator; it must start with a new work dir"
	} else if mid, down := m.downMachine(reg.AgentInfo.Hostname, remoteIP(r)); down {
		refusal = fmt.Sprintf("Agent attempted to register from machine '%s' which is DOWN for maintenance; "+
			"bring it up (STOP_MAINTENANCE or POST /master/machine/up) first", mid)
	}
	if refusal != "" {
		m.mu.Unlock()
		startStream(w, s)
		s.Send(mesos.AgentEvent{Type: mesos.AgentEventError, Error: &struct {
			Message string `json:"message"`
		}{refusal}})
		s.Close()
		s.serve(w, r)
		return
	}
	reregister := id != ""
	if !reregister {
		id = m.ids.Agent().Value
	}
	info := reg.AgentInfo
	aid := mesos.AgentID{Value: id}
	info.ID = &aid
	info.Resources = res.Normalize()
	if !m.admitted[id] {
		// Admission is durable before the agent hears it is registered. The
		// write happens without m.mu: a registration storm (thousands of
		// agents after a master starts) would otherwise queue behind one
		// store round trip at a time while the whole master waits. Without
		// the lock, concurrent admissions reach the store together (the
		// ZooKeeper client pipelines them on its session and the ensemble
		// commits them in groups) and the master keeps serving meanwhile.
		m.mu.Unlock()
		b, _ := json.Marshal(info)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := m.cfg.Store.Put(ctx, keyAgents+id, b, anyVersion)
		cancel()
		if err != nil {
			m.log.Error("could not admit agent to the registry", "agent", id, "err", err)
			textError(w, http.StatusServiceUnavailable, "Registry write failed: "+err.Error())
			return
		}
		m.mu.Lock()
		m.admitted[id] = true
		if m.gone[id] {
			// Marked gone by an operator while the write was in flight:
			// take the entry out again and refuse the agent.
			delete(m.admitted, id)
			m.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_ = m.cfg.Store.Delete(ctx, keyAgents+id, anyVersion)
			cancel()
			startStream(w, s)
			s.Send(mesos.AgentEvent{Type: mesos.AgentEventError, Error: &struct {
				Message string `json:"message"`
			}{"Agent " + id + " has been marked gone by an operator; it must start with a new work dir"}})
			s.Close()
			s.serve(w, r)
			return
		}
	}
	now := m.now()
	a := m.agents[id]
	wasUnreachable := false
	if _, ok := m.unreachable[id]; ok {
		wasUnreachable = true
		delete(m.unreachable, id)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_ = m.cfg.Store.Delete(ctx, keyUnreachable+id, anyVersion)
		cancel()
	}
	if a == nil {
		a = &agent{id: id, registered: now, tasks: map[taskKey]*task{}, executors: map[string]map[string]mesos.ExecutorInfo{}, active: true}
		m.agents[id] = a
	} else if a.stream != nil {
		a.stream.Close() // a newer connection replaces the old one
	}
	if reregister {
		a.reregistered = now
		m.metrics.inc("master/slave_reregistrations")
	} else {
		m.metrics.inc("master/slave_registrations")
	}
	a.info, a.version, a.ip = info, reg.Version, remoteIP(r)
	a.total = info.Resources
	a.stream, a.connected, a.pongs, a.recovered = s, true, 0, false
	// REGISTERED is always the first event on the stream.
	ev := mesos.AgentEvent{Type: mesos.AgentEventRegistered}
	ev.Registered = &mesos.AgentRegistered{AgentID: aid, MasterInfo: m.info,
		PingIntervalSeconds:     m.cfg.AgentPingTimeout.Seconds(),
		TotalPingTimeoutSeconds: m.cfg.AgentPingTimeout.Seconds() * float64(m.cfg.MaxAgentPingTimeouts)}
	s.Send(ev)
	m.reconcileAgentTasks(a, reg, wasUnreachable)
	m.resumeDrain(a)
	m.log.Info("agent registered", "agent", id, "hostname", info.Hostname, "reregistered", reregister, "tasks", len(reg.Tasks), "resources", a.total.String())
	m.publishAgentAdded(a)
	m.mu.Unlock()
	m.requestAllocation()

	startStream(w, s)
	s.serve(w, r)

	m.mu.Lock()
	if a.stream == s && a.connected {
		m.disconnectAgent(a)
	}
	m.mu.Unlock()
}

const anyVersion = ^uint64(0)

// reconcileAgentTasks merges the tasks a (re-)registering agent reports
// with what the master knows, and recomputes the agent's free resources.
func (m *Master) reconcileAgentTasks(a *agent, reg *mesos.AgentRegister, wasUnreachable bool) {
	fwInfo := map[string]mesos.FrameworkInfo{}
	for _, fi := range reg.Frameworks {
		if fi.ID != nil {
			fwInfo[fi.ID.Value] = fi
		}
	}
	for _, e := range reg.Executors {
		if e.FrameworkID == nil {
			continue
		}
		if a.executors[e.FrameworkID.Value] == nil {
			a.executors[e.FrameworkID.Value] = map[string]mesos.ExecutorInfo{}
		}
		a.executors[e.FrameworkID.Value][e.ExecutorID.Value] = e
	}
	reported := map[taskKey]bool{}
	for _, rt := range reg.Tasks {
		k := taskKey{rt.FrameworkID.Value, rt.TaskID.Value}
		reported[k] = true
		f := m.frameworks[rt.FrameworkID.Value]
		if f == nil {
			if m.isCompletedFramework(rt.FrameworkID.Value) {
				// The framework was removed while the agent was away: kill its tasks.
				m.shutdownFrameworkOn(a, rt.FrameworkID.Value)
				continue
			}
			fi, ok := fwInfo[rt.FrameworkID.Value]
			if !ok {
				fi = mesos.FrameworkInfo{Name: "", User: rt.User}
			}
			id := rt.FrameworkID
			fi.ID = &id
			f = &framework{id: id.Value, info: fi, recovered: true, registered: m.now(),
				tasks: map[string]*task{}, unreachable: map[string]*task{}, offers: map[string]*offer{}, suppressed: map[string]bool{}}
			m.frameworks[f.id] = f
			m.publishFramework("FRAMEWORK_ADDED", f)
		}
		if (wasUnreachable && !f.info.HasCapability(mesos.CapPartitionAware) && !f.recovered) || a.lost[k] {
			// Non-partition-aware frameworks were told TASK_LOST: kill the
			// task, and keep its updates from the framework (ackLostUpdate)
			// until the kill's terminal update; a task still reported by a
			// later registration is killed again, never brought back.
			if a.lost == nil {
				a.lost = map[taskKey]bool{}
			}
			a.lost[k] = true
			a.stream.Send(killTaskEvent(rt.FrameworkID.Value, rt.TaskID, nil))
			delete(f.unreachable, rt.TaskID.Value)
			continue
		}
		t := f.tasks[rt.TaskID.Value]
		if t == nil {
			t = f.unreachable[rt.TaskID.Value]
			delete(f.unreachable, rt.TaskID.Value)
		}
		if t == nil {
			t = &task{launched: m.now()}
			t.Task = rt
			t.role = "*"
			for _, r := range rt.Resources {
				if r.AllocationInfo != nil {
					t.role = r.AllocationInfo.Role
					break
				}
			}
		} else {
			prevUnreachable := !t.unreachableAt.IsZero()
			t.State = rt.State
			if prevUnreachable && f.connected && f.info.HasCapability(mesos.CapPartitionAware) {
				aid := mesos.AgentID{Value: a.id}
				st := mesos.TaskStatus{TaskID: t.TaskID, State: rt.State, Source: mesos.SourceMaster,
					Reason: mesos.ReasonAgentReregistered, AgentID: &aid, ExecutorID: t.ExecutorID,
					Message: "Agent re-registered", Timestamp: timestamp(m.now())}
				f.stream.Send(mesos.Event{Type: mesos.EventUpdate, Update: &mesos.EventUpdateBody{Status: st}})
			}
		}
		t.unreachableAt = time.Time{}
		if rt.StatusUpdateState != nil {
			t.StatusUpdateState = rt.StatusUpdateState
			t.StatusUpdateUUID = rt.StatusUpdateUUID
		}
		f.tasks[t.TaskID.Value] = t
		a.tasks[k] = t
	}
	// Tasks the master knew on this agent that the agent no longer has.
	for k, t := range a.tasks {
		if reported[k] || t.State.IsTerminal() {
			continue
		}
		if f := m.frameworks[k.fw]; f != nil {
			state := mesos.TaskLost
			if f.info.HasCapability(mesos.CapPartitionAware) {
				state = mesos.TaskGone
			}
			t.State = state
			m.sendMasterUpdate(f, t.TaskID, &t.AgentID, state, mesos.ReasonAgentReregistered, "Task not found on the re-registered agent")
			m.retireTask(f, t)
		}
		delete(a.tasks, k)
	}
	m.recomputeAvailable(a)
}

// ackLostUpdate handles an update for a task in a.lost: the master
// acknowledges it on the framework's behalf, so that the agent's update
// stream drains (an update it resends on re-registration, then the kill's
// terminal one), and forwards nothing: the framework was told TASK_LOST
// and must not hear of the task running again (Mesos drops updates for
// tasks it removed). It reports whether u was such an update.
func (m *Master) ackLostUpdate(a *agent, u *mesos.StatusUpdate) bool {
	k := taskKey{u.FrameworkID.Value, u.Status.TaskID.Value}
	if !a.lost[k] {
		return false
	}
	if u.Status.State.IsTerminal() {
		delete(a.lost, k)
	}
	if len(u.Status.UUID) > 0 {
		ev := mesos.AgentEvent{Type: mesos.AgentEventAcknowledge}
		ev.Acknowledge = &struct {
			FrameworkID mesos.FrameworkID `json:"framework_id"`
			TaskID      mesos.TaskID      `json:"task_id"`
			UUID        []byte            `json:"uuid"`
		}{u.FrameworkID, u.Status.TaskID, u.Status.UUID}
		a.stream.Send(ev)
	}
	m.log.Info("acknowledged an update of a task reported lost", "agent", a.id, "framework", k.fw, "task", k.task, "state", u.Status.State)
	return true
}

func (m *Master) isCompletedFramework(id string) bool {
	for _, c := range m.completed {
		if c.id == id {
			return true
		}
	}
	return false
}

func (m *Master) shutdownFrameworkOn(a *agent, fw string) {
	ev := mesos.AgentEvent{Type: mesos.AgentEventShutdownFramework}
	ev.ShutdownFramework = &struct {
		FrameworkID mesos.FrameworkID `json:"framework_id"`
	}{mesos.FrameworkID{Value: fw}}
	a.stream.Send(ev)
}

// recomputeAvailable sets available = total - tasks - executors - offers.
func (m *Master) recomputeAvailable(a *agent) {
	used := mesos.Resources(nil)
	for _, t := range a.tasks {
		if !t.State.IsTerminal() {
			used = used.Plus(mesos.Resources(t.Resources).Unallocated())
		}
	}
	for _, execs := range a.executors {
		for _, e := range execs {
			used = used.Plus(mesos.Resources(e.Resources).Unallocated())
		}
	}
	for _, o := range a.offers {
		used = used.Plus(o.resources.Unallocated())
	}
	a.available = a.total.Minus(used)
}

// disconnectAgent handles a broken agent stream: no more offers for it; its
// tasks stay until the ping timeout declares it unreachable.
func (m *Master) disconnectAgent(a *agent) {
	a.connected = false
	m.rescindAgentOffers(a)
	m.log.Info("agent disconnected", "agent", a.id)
}

// pingAgents pings every agent; one that misses MaxAgentPingTimeouts pings
// in a row is declared unreachable.
func (m *Master) pingAgents() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.agents {
		if a.pongs >= m.cfg.MaxAgentPingTimeouts {
			m.markUnreachable(a, "health check timed out")
			continue
		}
		a.pongs++
		if a.connected {
			a.stream.Send(mesos.AgentEvent{Type: mesos.AgentEventPing})
		}
	}
}

// markUnreachable removes an agent: its offers are rescinded, its tasks go
// TASK_UNREACHABLE (PARTITION_AWARE frameworks) or TASK_LOST, and frameworks
// get a FAILURE event. The unreachable mark is recorded in the registry.
func (m *Master) markUnreachable(a *agent, why string) {
	now := m.now()
	m.log.Warn("agent unreachable", "agent", a.id, "reason", why)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	b, _ := json.Marshal(map[string]int64{"timestamp_ns": now.UnixNano()})
	if _, err := m.cfg.Store.Put(ctx, keyUnreachable+a.id, b, anyVersion); err != nil {
		m.log.Error("could not record unreachable agent in the registry", "agent", a.id, "err", err)
	}
	cancel()
	m.unreachable[a.id] = now
	m.rescindAgentOffers(a)
	aid := mesos.AgentID{Value: a.id}
	notified := map[string]bool{}
	for k, t := range a.tasks {
		f := m.frameworks[k.fw]
		if f == nil || t.State.IsTerminal() {
			continue
		}
		m.releaseTask(t)
		if f.info.HasCapability(mesos.CapPartitionAware) {
			t.State = mesos.TaskUnreachable
			t.unreachableAt = now
			delete(f.tasks, t.TaskID.Value)
			f.unreachable[t.TaskID.Value] = t
			st := mesos.TaskStatus{TaskID: t.TaskID, State: mesos.TaskUnreachable, Source: mesos.SourceMaster,
				Reason: mesos.ReasonAgentRemoved, AgentID: &aid, ExecutorID: t.ExecutorID, Message: "Agent " + a.id + " is unreachable: " + why,
				Timestamp: timestamp(now), UnreachableTime: &mesos.TimeInfo{Nanoseconds: now.UnixNano()}}
			m.countTaskState(mesos.TaskUnreachable)
			if f.connected {
				f.stream.Send(mesos.Event{Type: mesos.EventUpdate, Update: &mesos.EventUpdateBody{Status: st}})
			}
		} else {
			t.State = mesos.TaskLost
			m.sendMasterUpdate(f, t.TaskID, &aid, mesos.TaskLost, mesos.ReasonAgentRemoved, "Agent "+a.id+" removed: "+why)
			m.retireTask(f, t)
		}
		notified[f.id] = true
	}
	for _, f := range m.frameworks {
		if f.connected {
			f.stream.Send(mesos.Event{Type: mesos.EventFailure, Failure: &mesos.EventFailureBody{AgentID: &aid}})
		}
	}
	a.stream.Close()
	delete(m.agents, a.id)
	m.metrics.inc("master/slave_removals")
	m.metrics.inc("master/slave_removals/reason_unhealthy")
	m.metrics.inc("master/slave_unreachable_completed")
	m.publishAgentRemoved(a.id)
}

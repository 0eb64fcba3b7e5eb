package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/mesos/recordio"
)

// executorHeartbeatInterval is how often a subscribed executor gets a
// HEARTBEAT event.
const executorHeartbeatInterval = 30 * time.Second

// maxExecutorCallBytes bounds an executor call's body.
const maxExecutorCallBytes = 16 << 20

// execConn is a subscribed executor's event stream.
type execConn struct {
	events *queue[mesos.ExecutorEvent]
}

func newExecConn() *execConn { return &execConn{events: newQueue[mesos.ExecutorEvent]()} }

func (c *execConn) send(ev mesos.ExecutorEvent) { c.events.push(ev) }
func (c *execConn) close()                      { c.events.close() }

// validateExecutorCall checks a call's shape, as Mesos'
// validation::executor::call::validate does.
func validateExecutorCall(c *mesos.ExecutorCall) error {
	if c.Type == "" {
		return errors.New("Expecting 'type' to be present")
	}
	if c.ExecutorID.Value == "" {
		return errors.New("Expecting 'executor_id' to be present")
	}
	if c.FrameworkID.Value == "" {
		return errors.New("Expecting 'framework_id' to be present")
	}
	switch c.Type {
	case mesos.ExecCallSubscribe:
		if c.Subscribe == nil {
			return errors.New("Expecting 'subscribe' to be present")
		}
	case mesos.ExecCallUpdate:
		if c.Update == nil {
			return errors.New("Expecting 'update' to be present")
		}
		st := &c.Update.Status
		if st.TaskID.Value == "" {
			return errors.New("Expecting 'update.status.task_id' to be present")
		}
		if len(st.UUID) == 0 {
			return errors.New("Expecting 'uuid' to be present")
		}
		if st.ExecutorID != nil && st.ExecutorID.Value != c.ExecutorID.Value {
			return fmt.Errorf("ExecutorID in Call: %s does not match ExecutorID in TaskStatus: %s",
				c.ExecutorID.Value, st.ExecutorID.Value)
		}
		if !st.State.Valid() {
			return fmt.Errorf("Unknown task state '%s'", st.State)
		}
		if st.State == mesos.TaskStaging {
			return errors.New("Received TASK_STAGING from executor")
		}
	case mesos.ExecCallMessage:
		if c.Message == nil {
			return errors.New("Expecting 'message' to be present")
		}
	case mesos.ExecCallHeartbeat:
	default:
		return fmt.Errorf("Unknown call type '%s'", c.Type)
	}
	return nil
}

// httpError is an executor API failure with its status code.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, msg)
}

// serveExecutorAPI is POST /api/v1/executor.
func (a *Agent) serveExecutorAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("Expecting a 'POST' request, received '%s'", r.Method))
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Expecting 'Content-Type' of application/json")
		return
	}
	select {
	case <-a.recovered:
	default:
		writeError(w, http.StatusServiceUnavailable, "Agent has not finished recovery")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxExecutorCallBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Failed to read the request body: "+err.Error())
		return
	}
	var call mesos.ExecutorCall
	if err := json.Unmarshal(body, &call); err != nil {
		writeError(w, http.StatusBadRequest, "Failed to parse body into Call: "+err.Error())
		return
	}
	if err := validateExecutorCall(&call); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if call.Type == mesos.ExecCallSubscribe {
		a.executorSubscribe(w, r, &call)
		return
	}
	if err := a.executorCall(&call); err != nil {
		var he *httpError
		if errors.As(err, &he) {
			writeError(w, he.code, he.msg)
			return
		}
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// lookupExecutor finds the custom executor a call is from. Called with a.mu held.
func (a *Agent) lookupExecutor(c *mesos.ExecutorCall) (*executor, error) {
	if a.stopping {
		return nil, &httpError{http.StatusServiceUnavailable, "Agent is stopping"}
	}
	fw := a.frameworks[c.FrameworkID.Value]
	if fw == nil {
		return nil, &httpError{http.StatusBadRequest, "Framework cannot be found"}
	}
	ex := fw.executors[c.ExecutorID.Value]
	if ex == nil || ex.kind != kindCustom {
		return nil, &httpError{http.StatusBadRequest, "Executor cannot be found"}
	}
	return ex, nil
}

// executorCall handles UPDATE, MESSAGE and HEARTBEAT.
func (a *Agent) executorCall(c *mesos.ExecutorCall) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ex, err := a.lookupExecutor(c)
	if err != nil {
		return err
	}
	if ex.conn == nil {
		return &httpError{http.StatusForbidden, "Executor is not subscribed"}
	}
	switch c.Type {
	case mesos.ExecCallUpdate:
		st := c.Update.Status
		t := a.tasks[taskKey{ex.fw.id, st.TaskID.Value}]
		if t == nil || t.ex != ex {
			a.counters.invalidStatusUpdates++
			return &httpError{http.StatusBadRequest, fmt.Sprintf("Task '%s' is not known to executor '%s'", st.TaskID.Value, ex.id)}
		}
		st.Source = mesos.SourceExecutor
		st.ContainerStatus = nil
		if err := a.statusUpdate(t, st); err != nil {
			return &httpError{http.StatusBadRequest, err.Error()}
		}
	case mesos.ExecCallMessage:
		if a.conn == nil {
			a.counters.invalidFrameworkMessages++
			a.log.Info("dropping executor message: not registered with a master", "executor_id", ex.id)
			return nil
		}
		a.counters.validFrameworkMessages++
		a.conn.send(mesos.AgentCall{Type: mesos.AgentCallExecutorMsg, ExecutorMsg: &mesos.AgentExecutorMsg{
			FrameworkID: mesos.FrameworkID{Value: ex.fw.id},
			ExecutorID:  mesos.ExecutorID{Value: ex.id},
			Data:        c.Message.Data,
		}})
	case mesos.ExecCallHeartbeat:
	}
	return nil
}

// executorSubscribe serves SUBSCRIBE: it answers 200 with the executor's
// event stream and keeps it open.
func (a *Agent) executorSubscribe(w http.ResponseWriter, r *http.Request, c *mesos.ExecutorCall) {
	conn, err := a.subscribeExecutor(c)
	if err != nil {
		var he *httpError
		if errors.As(err, &he) {
			writeError(w, he.code, he.msg)
			return
		}
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	heartbeat := time.NewTicker(executorHeartbeatInterval)
	defer heartbeat.Stop()
	write := func(ev mesos.ExecutorEvent) bool {
		data, err := json.Marshal(ev)
		if err != nil {
			a.log.Error("encoding executor event", "err", err)
			return true
		}
		if err := recordio.Write(w, data); err != nil {
			return false
		}
		return true
	}
	for {
		events, closed := conn.events.tryPopAll()
		for _, ev := range events {
			if !write(ev) {
				a.executorGone(c, conn)
				return
			}
		}
		if len(events) > 0 {
			if err := rc.Flush(); err != nil {
				a.executorGone(c, conn)
				return
			}
		}
		if closed {
			return
		}
		select {
		case <-conn.events.signal:
		case <-heartbeat.C:
			if !write(mesos.ExecutorEvent{Type: mesos.ExecEventHeartbeat}) || rc.Flush() != nil {
				a.executorGone(c, conn)
				return
			}
		case <-r.Context().Done():
			a.executorGone(c, conn)
			return
		}
	}
}

// executorGone forgets a broken executor stream. The executor may
// re-subscribe; its container keeps running.
func (a *Agent) executorGone(c *mesos.ExecutorCall, conn *execConn) {
	conn.close()
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[c.FrameworkID.Value]
	if fw == nil {
		return
	}
	if ex := fw.executors[c.ExecutorID.Value]; ex != nil && ex.conn == conn {
		ex.conn = nil
		a.log.Info("executor disconnected", "framework_id", fw.id, "executor_id", ex.id)
	}
}

// subscribeExecutor installs a new executor stream and queues what the
// executor gets first: SUBSCRIBED, then LAUNCH for queued tasks and KILL
// for kills that waited for it.
func (a *Agent) subscribeExecutor(c *mesos.ExecutorCall) (*execConn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ex, err := a.lookupExecutor(c)
	if err != nil {
		return nil, err
	}
	if ex.state == execTerminating || ex.state == execTerminated {
		return nil, &httpError{http.StatusForbidden, "Executor is terminating"}
	}
	if ex.conn != nil {
		ex.conn.close() // a newer subscription wins
	}
	conn := newExecConn()
	ex.conn = conn
	if ex.state == execRegistering {
		a.setExecutorState(ex, execRunning)
	}
	if !ex.subscribed {
		// Tasks of a run that subscribed once count as delivered after a
		// restart; the others are queued again.
		if err := writeFileAtomic(filepath.Join(ex.metaDir, fileSubscribedMarker), nil); err != nil {
			a.log.Warn("checkpointing executor subscription failed", "executor_id", ex.id, "err", err)
		}
		ex.subscribed = true
	}
	if ex.timer != nil {
		ex.timer.Stop()
		ex.timer = nil
	}
	a.log.Info("executor subscribed", "framework_id", ex.fw.id, "executor_id", ex.id, "container_id", ex.containerID)

	unackedTasks := map[string]bool{}
	for _, ti := range c.Subscribe.UnacknowledgedTasks {
		unackedTasks[ti.TaskID.Value] = true
	}
	for _, t := range ex.tasks {
		// Delivered before an agent restart but unknown to the executor:
		// the executor never got it.
		if t.delivered && t.state == mesos.TaskStaging && !unackedTasks[t.info.TaskID.Value] {
			if err := a.statusUpdate(t, mesos.TaskStatus{State: droppedState(&ex.fw.info), Source: mesos.SourceAgent,
				Reason: mesos.ReasonAgentRestarted, Message: "Task launched during agent restart"}); err != nil {
				a.log.Warn("status update failed", "task_id", t.info.TaskID.Value, "err", err)
			}
		}
	}
	// Updates the executor still holds: new ones enter their streams; ones
	// the scheduler acknowledged while the executor was away are
	// acknowledged to it (after SUBSCRIBED).
	var acked []mesos.ExecutorEvent
	for _, u := range c.Subscribe.UnacknowledgedUpdates {
		if len(u.Status.UUID) == 0 {
			continue
		}
		t := a.tasks[taskKey{ex.fw.id, u.Status.TaskID.Value}]
		if t == nil || t.ex != ex {
			if slices.ContainsFunc(ex.completed, func(c *task) bool { return c.info.TaskID.Value == u.Status.TaskID.Value }) {
				acked = append(acked, acknowledgedEvent(u.Status.TaskID, u.Status.UUID))
			}
			continue
		}
		if t.stream.seen(u.Status.UUID) {
			if !slices.ContainsFunc(t.stream.pending, func(p mesos.StatusUpdate) bool { return bytes.Equal(p.Status.UUID, u.Status.UUID) }) {
				acked = append(acked, acknowledgedEvent(u.Status.TaskID, u.Status.UUID))
			}
			continue
		}
		st := u.Status
		st.Source = mesos.SourceExecutor
		st.ContainerStatus = nil
		if err := a.statusUpdate(t, st); err != nil {
			a.log.Warn("unacknowledged update from re-subscribing executor rejected", "task_id", t.info.TaskID.Value, "err", err)
		}
	}

	sub := mesos.ExecutorEvent{Type: mesos.ExecEventSubscribed}
	fwInfo := ex.fw.info
	fwInfo.ID = &mesos.FrameworkID{Value: ex.fw.id}
	sub.Subscribed = &struct {
		ExecutorInfo  mesos.ExecutorInfo  `json:"executor_info"`
		FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
		AgentInfo     mesos.AgentInfo     `json:"agent_info"`
		ContainerID   *mesos.ContainerID  `json:"container_id,omitempty"`
	}{ex.info, fwInfo, a.agentInfo(), &mesos.ContainerID{Value: ex.containerID}}
	conn.send(sub)
	for _, ev := range acked {
		conn.send(ev)
	}
	queued := ex.queued
	ex.queued = nil
	for _, t := range queued {
		a.deliver(ex, t)
	}
	for _, t := range ex.tasks {
		if t.kill != nil && !t.state.IsTerminal() {
			a.sendKill(ex, t, nil)
		}
	}
	return conn, nil
}

func acknowledgedEvent(taskID mesos.TaskID, uuid []byte) mesos.ExecutorEvent {
	ev := mesos.ExecutorEvent{Type: mesos.ExecEventAcknowledged}
	ev.Acknowledged = &struct {
		TaskID mesos.TaskID `json:"task_id"`
		UUID   []byte       `json:"uuid"`
	}{taskID, uuid}
	return ev
}

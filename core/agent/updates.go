package agent

import (
	"errors"
	"path/filepath"
	"slices"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// fileRunCompleted marks a meta run directory whose executor run is over
// and whose updates are all acknowledged.
const fileRunCompleted = "run.completed"

// statusUpdate records a new status of t: it checks the transition, fills
// in what the agent owns (uuid unless the executor set one, timestamp,
// agent and executor IDs, container status), checkpoints it in the task's
// stream and forwards it if it is the stream's front. A duplicate (same
// uuid) is ignored. Called with a.mu held.
func (a *Agent) statusUpdate(t *task, st mesos.TaskStatus) error {
	if len(st.UUID) > 0 && t.stream.seen(st.UUID) {
		return nil // a retransmission
	}
	if err := checkTaskTransition(t.state, st.State); err != nil {
		a.counters.invalidStatusUpdates++
		return err
	}
	now := time.Now()
	if len(st.UUID) == 0 {
		st.UUID = mesos.NewUUID()
	}
	if st.Timestamp == 0 {
		st.Timestamp = unixSeconds(now)
	}
	exID := mesos.ExecutorID{Value: t.ex.id}
	st.TaskID = t.info.TaskID
	st.AgentID = &mesos.AgentID{Value: a.id}
	st.ExecutorID = &exID
	if st.Source == "" {
		st.Source = mesos.SourceExecutor
	}
	if st.ContainerStatus == nil {
		st.ContainerStatus = t.containerStatus()
	}
	u := mesos.StatusUpdate{
		FrameworkID: mesos.FrameworkID{Value: t.ex.fw.id},
		ExecutorID:  &exID,
		Status:      st,
		Timestamp:   unixSeconds(now),
	}
	line, err := t.stream.record(u)
	if err != nil {
		if errors.Is(err, errDuplicateUpdate) {
			return nil
		}
		a.counters.invalidStatusUpdates++
		return err
	}
	a.counters.validStatusUpdates++
	t.state = st.State
	t.statuses = append(t.statuses, summarizeStatus(st))
	a.countTerminal(st.State)
	a.log.Debug("status update", "framework_id", t.ex.fw.id, "task_id", t.info.TaskID.Value,
		"state", st.State, "source", st.Source, "reason", st.Reason, "message", st.Message)
	a.checkpointUpdate(t.stream, line)
	return nil
}

// checkpointUpdate hands a new update's line to the journal; once it is
// durable the update is forwarded if it is its stream's front. Called with
// a.mu held.
func (a *Agent) checkpointUpdate(s *updateStream, line []byte) {
	if line == nil {
		a.forward(s, s.latestState())
		return
	}
	a.journal.append(journalEntry{path: s.path, line: line, create: true, done: func() {
		s.markDurable()
		a.forward(s, s.latestState())
	}})
}

// summarizeStatus keeps what /state and re-registration report of a status.
func summarizeStatus(st mesos.TaskStatus) mesos.TaskStatus {
	return mesos.TaskStatus{
		TaskID:          st.TaskID,
		State:           st.State,
		Source:          st.Source,
		Reason:          st.Reason,
		Timestamp:       st.Timestamp,
		Healthy:         st.Healthy,
		CheckStatus:     st.CheckStatus,
		Labels:          st.Labels,
		ContainerStatus: st.ContainerStatus,
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (a *Agent) countTerminal(s mesos.TaskState) {
	c := &a.counters
	switch s {
	case mesos.TaskFinished:
		c.tasksFinished++
	case mesos.TaskFailed:
		c.tasksFailed++
	case mesos.TaskKilled:
		c.tasksKilled++
	case mesos.TaskLost:
		c.tasksLost++
	case mesos.TaskError:
		c.tasksError++
	case mesos.TaskDropped:
		c.tasksDropped++
	case mesos.TaskGone, mesos.TaskGoneByOperator:
		c.tasksGone++
	}
}

// orphanUpdate sends a status update for a task the agent does not have
// (SOURCE_AGENT, not checkpointed). Called with a.mu held.
func (a *Agent) orphanUpdate(fwID string, taskID mesos.TaskID, st mesos.TaskStatus) {
	key := taskKey{fwID, taskID.Value}
	o := a.orphans[key]
	if o == nil {
		o = &orphan{fw: fwID, stream: newUpdateStream("")}
		a.orphans[key] = o
	}
	now := time.Now()
	st.TaskID = taskID
	st.UUID = mesos.NewUUID()
	st.Timestamp = unixSeconds(now)
	st.Source = mesos.SourceAgent
	if a.id != "" {
		st.AgentID = &mesos.AgentID{Value: a.id}
	}
	u := mesos.StatusUpdate{FrameworkID: mesos.FrameworkID{Value: fwID}, Status: st, Timestamp: st.Timestamp}
	line, err := o.stream.record(u)
	if err != nil {
		a.log.Warn("dropping status update for unknown task", "task_id", taskID.Value, "err", err)
		return
	}
	a.countTerminal(st.State)
	a.checkpointUpdate(o.stream, line)
}

// forward sends the stream's front if nothing is in flight and the agent
// is registered. Called with a.mu held.
func (a *Agent) forward(s *updateStream, latest mesos.TaskState) {
	if a.conn == nil {
		return
	}
	if u, ok := s.sendable(time.Now()); ok {
		a.sendUpdate(u, latest)
	}
}

func (a *Agent) sendUpdate(u mesos.StatusUpdate, latest mesos.TaskState) {
	u.LatestState = latest
	a.conn.send(mesos.AgentCall{Type: mesos.AgentCallStatusUpdate, StatusUpdate: &u})
}

// resumeUpdates resends the front of every stream (after registering).
// Called with a.mu held.
func (a *Agent) resumeUpdates(now time.Time) {
	for _, t := range a.tasks {
		t.stream.pause()
		if u, ok := t.stream.sendable(now); ok {
			a.sendUpdate(u, t.state)
		}
	}
	for _, o := range a.orphans {
		o.stream.pause()
		if u, ok := o.stream.sendable(now); ok {
			a.sendUpdate(u, o.stream.latestState())
		}
	}
}

// retryUpdates resends fronts whose retry time has come. Called with a.mu held.
func (a *Agent) retryUpdates(now time.Time) {
	if a.conn == nil {
		return
	}
	for _, t := range a.tasks {
		if u, ok := t.stream.retryDue(now); ok {
			a.log.Info("resending unacknowledged status update", "task_id", t.info.TaskID.Value, "state", u.Status.State)
			a.sendUpdate(u, t.state)
		}
	}
	for _, o := range a.orphans {
		if u, ok := o.stream.retryDue(now); ok {
			a.sendUpdate(u, o.stream.latestState())
		}
	}
}

// acknowledge applies a scheduler's acknowledgement forwarded by the
// master. Called with a.mu held.
func (a *Agent) acknowledge(fwID, taskID string, uuid []byte) {
	key := taskKey{fwID, taskID}
	if t := a.tasks[key]; t != nil {
		u, line, err := t.stream.ack(uuid)
		if err != nil {
			a.log.Warn("ignoring acknowledgement", "framework_id", fwID, "task_id", taskID, "err", err)
			return
		}
		if line != nil {
			a.journal.append(journalEntry{path: t.stream.path, line: line})
		}
		if t.ex.kind == kindCustom && u.Status.Source == mesos.SourceExecutor && t.ex.conn != nil {
			t.ex.conn.send(acknowledgedEvent(t.info.TaskID, uuid))
		}
		if t.stream.done() {
			a.taskCompleted(t)
			return
		}
		a.forward(t.stream, t.state)
		return
	}
	if o := a.orphans[key]; o != nil {
		if _, _, err := o.stream.ack(uuid); err != nil {
			a.log.Warn("ignoring acknowledgement", "framework_id", fwID, "task_id", taskID, "err", err)
			return
		}
		if o.stream.done() || len(o.stream.pending) == 0 {
			delete(a.orphans, key)
			return
		}
		a.forward(o.stream, o.stream.latestState())
		return
	}
	a.log.Warn("acknowledgement for unknown task", "framework_id", fwID, "task_id", taskID)
}

// taskCompleted moves a task whose terminal update was acknowledged (or
// whose framework is gone) to its executor's completed tasks. Called with
// a.mu held.
func (a *Agent) taskCompleted(t *task) {
	ex := t.ex
	delete(ex.tasks, t.info.TaskID.Value)
	delete(a.tasks, t.key())
	t.stream.received = nil
	ex.addCompleted(t)
	a.maybeCompleteExecutor(ex)
}

// maybeCompleteExecutor retires a run whose containers have all ended and
// whose tasks are all completed: it destroys the containers, schedules the
// sandbox and checkpoint for garbage collection and, if it was the
// framework's last executor, removes the framework. Called with a.mu held.
func (a *Agent) maybeCompleteExecutor(ex *executor) {
	if ex.state != execTerminated {
		return
	}
	fw := ex.fw
	if fw.shuttingDown {
		// Nobody will acknowledge these any more.
		for _, t := range ex.tasks {
			delete(a.tasks, t.key())
			t.stream.received = nil
			ex.addCompleted(t)
		}
		clear(ex.tasks)
	}
	if len(ex.tasks) > 0 || len(ex.queued) > 0 {
		return
	}
	if fw.executors[ex.id] != ex {
		return // already completed
	}
	delete(fw.executors, ex.id)
	fw.addCompletedExecutor(ex)
	a.counters.executorsTerminated++
	// The marker is created by the journal, durable at its next sync.
	a.journal.append(journalEntry{path: filepath.Join(ex.metaDir, fileRunCompleted)})
	var containers []string
	if ex.kind != kindDefault && ex.containerID != "" {
		containers = append(containers, ex.containerID)
	}
	for _, t := range ex.completed {
		if ex.kind == kindDefault && t.containerID != "" && t.phase != phasePending {
			containers = append(containers, t.containerID)
		}
	}
	if len(containers) > 0 && a.ctx != nil {
		ctx := a.ctx
		a.goFn(func() {
			for _, cid := range containers {
				if err := a.cz.Destroy(ctx, cid); err != nil && ctx.Err() == nil {
					a.log.Debug("destroying container", "container_id", cid, "err", err)
				}
			}
		})
	}
	when := time.Now().Add(a.cfg.GCDelay)
	a.gc.schedule(ex.sandbox, when)
	a.gc.schedule(ex.metaDir, when)
	// The executor's directories (runs/latest) go too unless it runs again.
	a.gc.schedule(filepath.Dir(filepath.Dir(ex.sandbox)), when)
	a.gc.schedule(filepath.Dir(filepath.Dir(ex.metaDir)), when)
	a.log.Info("executor completed", "framework_id", fw.id, "executor_id", ex.id, "container_id", ex.containerID)
	if len(fw.executors) == 0 {
		a.removeFramework(fw)
	}
}

// removeFramework retires a framework without executors. Called with a.mu held.
func (a *Agent) removeFramework(fw *framework) {
	if a.frameworks[fw.id] != fw {
		return
	}
	delete(a.frameworks, fw.id)
	a.completedFrameworks = append(a.completedFrameworks, fw)
	if n := len(a.completedFrameworks); n > maxCompletedFrameworks {
		a.completedFrameworks = slices.Delete(a.completedFrameworks, 0, n-maxCompletedFrameworks)
	}
	for key, o := range a.orphans {
		if o.fw == fw.id && fw.shuttingDown {
			delete(a.orphans, key)
		}
	}
	when := time.Now().Add(a.cfg.GCDelay)
	a.gc.schedule(a.paths.frameworkDir(a.id, fw.id), when)
	a.gc.schedule(a.paths.metaFramework(a.id, fw.id), when)
	a.log.Info("framework removed", "framework_id", fw.id)
}

// ensureFramework returns the framework, adding and checkpointing it if it
// is new. Called with a.mu held.
func (a *Agent) ensureFramework(info mesos.FrameworkInfo, id string) (*framework, error) {
	if fw := a.frameworks[id]; fw != nil {
		return fw, nil
	}
	info.ID = &mesos.FrameworkID{Value: id}
	a.gc.unschedule(a.paths.frameworkDir(a.id, id))
	a.gc.unschedule(a.paths.metaFramework(a.id, id))
	if err := writeJSONAtomic(a.paths.frameworkInfo(a.id, id), info); err != nil {
		return nil, err
	}
	fw := &framework{id: id, info: info, executors: map[string]*executor{}}
	a.frameworks[id] = fw
	return fw, nil
}

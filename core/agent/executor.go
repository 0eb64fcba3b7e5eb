package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/mesos"
)

// runOnCustomExecutor delivers a task to its custom executor, launching
// the executor if it does not run yet. Called with a.mu held.
func (a *Agent) runOnCustomExecutor(fw *framework, ti mesos.TaskInfo) {
	exInfo := *ti.Executor
	ex := fw.executors[exInfo.ExecutorID.Value]
	if ex != nil {
		switch {
		case ex.kind != kindCustom:
			a.orphanUpdate(fw.id, ti.TaskID, mesos.TaskStatus{State: mesos.TaskError, Reason: mesos.ReasonTaskInvalid,
				Message: "Executor " + ex.id + " is not a custom executor"})
			return
		case ex.state == execTerminating || ex.state == execTerminated:
			a.orphanUpdate(fw.id, ti.TaskID, mesos.TaskStatus{State: droppedState(&fw.info),
				Reason: mesos.ReasonExecutorTerminated, Message: "Executor is terminating"})
			return
		}
		t, err := a.addTask(ex, ti)
		if err == nil {
			// Durable at once: a subscribed executor gets the task now.
			if err = writeJSONAtomic(filepath.Join(t.metaDir, fileTaskInfo), t.info); err != nil {
				delete(a.tasks, t.key())
			}
		}
		if err != nil {
			a.orphanUpdate(fw.id, ti.TaskID, mesos.TaskStatus{State: mesos.TaskFailed,
				Reason: mesos.ReasonContainerLaunchFailed, Message: "Failed to checkpoint the task: " + err.Error()})
			return
		}
		if ex.conn != nil && ex.state == execRunning {
			a.deliver(ex, t)
		} else {
			ex.queued = append(ex.queued, t)
		}
		return
	}
	ex, err := a.addRun(fw, exInfo, kindCustom)
	if err == nil {
		if err = a.prepareRun(ex); err != nil {
			delete(fw.executors, ex.id)
		}
	}
	if err != nil {
		a.orphanUpdate(fw.id, ti.TaskID, mesos.TaskStatus{State: mesos.TaskFailed,
			Reason: mesos.ReasonContainerLaunchFailed, Message: "Failed to create the executor: " + err.Error()})
		return
	}
	t, err := a.addTask(ex, ti)
	if err == nil {
		// Staged with the run; the launch waits for both to be durable.
		if err = stageTask(t); err != nil {
			delete(a.tasks, t.key())
		}
	}
	if err != nil {
		delete(fw.executors, ex.id)
		a.orphanUpdate(fw.id, ti.TaskID, mesos.TaskStatus{State: mesos.TaskFailed,
			Reason: mesos.ReasonContainerLaunchFailed, Message: "Failed to checkpoint the task: " + err.Error()})
		return
	}
	ex.queued = append(ex.queued, t)
	a.startRegistrationTimer(ex, a.cfg.ExecutorRegistrationTimeout, mesos.ReasonExecutorRegistrationTimeout)
	in := a.launchInfo(ex)
	in.taskResources = t.info.Resources
	ctx := a.ctx
	a.goFn(func() { a.runExecutorContainer(ctx, ex, in) })
}

// deliver sends LAUNCH for t to a subscribed executor. Called with a.mu held.
func (a *Agent) deliver(ex *executor, t *task) {
	ex.tasks[t.info.TaskID.Value] = t
	t.delivered = true
	ev := mesos.ExecutorEvent{Type: mesos.ExecEventLaunch}
	ev.Launch = &struct {
		Task mesos.TaskInfo `json:"task"`
	}{t.info}
	ex.conn.send(ev)
}

// startRegistrationTimer ends the run if the executor has not subscribed
// within timeout. Called with a.mu held.
func (a *Agent) startRegistrationTimer(ex *executor, timeout time.Duration, reason string) {
	if ex.timer != nil {
		ex.timer.Stop()
	}
	ex.timer = time.AfterFunc(timeout, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.stopping || ex.state != execRegistering || ex.conn != nil {
			return
		}
		what := "register"
		if reason == mesos.ReasonExecutorReregistrationTimeout {
			what = "re-register"
		}
		a.log.Warn("executor did not "+what+" in time; destroying it", "framework_id", ex.fw.id,
			"executor_id", ex.id, "timeout", timeout)
		ex.cause = &endCause{state: mesos.TaskFailed, reason: reason,
			message: fmt.Sprintf("Executor did not %s within %v", what, timeout)}
		a.setExecutorState(ex, execTerminating)
		if ex.pid > 0 {
			a.killContainer(ex.containerID, 0)
		}
	})
}

// runExecutorContainer launches a custom executor's container and waits
// for it to end.
func (a *Agent) runExecutorContainer(ctx context.Context, ex *executor, in launchInfo) {
	spec, specErr := a.executorSpec(ex, in)
	if specErr == nil && spec.User != "" {
		specErr = chownDir(ex.sandbox, spec.User)
	}
	if specErr == nil {
		// The run and its first task are checkpointed before it is launched.
		specErr = a.journal.barrier(ctx)
	}
	if specErr == nil && ex.info.Command != nil && len(ex.info.Command.URIs) > 0 {
		specErr = a.fetch(ctx, ex.info.Command.URIs, ex.sandbox, spec.User)
	}
	a.mu.Lock()
	if a.stopping {
		a.mu.Unlock()
		return
	}
	if specErr == nil && ex.state == execTerminating {
		specErr = errors.New("executor was shut down before it was launched")
	}
	if specErr != nil {
		a.executorLaunchFailed(ex, specErr)
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()

	cp, err := a.cz.Launch(ctx, spec)
	if err == nil {
		if err := writeJSONAtomic(filepath.Join(ex.metaDir, fileContainerInfo), cp); err != nil {
			a.log.Error("checkpointing executor container failed", "executor_id", ex.id, "err", err)
		}
	}

	a.mu.Lock()
	if ctx.Err() != nil || a.stopping {
		a.mu.Unlock()
		return
	}
	if err != nil {
		a.counters.containerLaunchErrors++
		a.executorLaunchFailed(ex, err)
		a.mu.Unlock()
		return
	}
	ex.pid = cp.Pid
	if ex.state == execTerminating && !ex.containerEnded {
		a.killContainer(ex.containerID, 0)
	}
	a.mu.Unlock()
	a.waitExecutorContainer(ctx, ex)
}

// waitExecutorContainer waits for a custom executor's container.
func (a *Agent) waitExecutorContainer(ctx context.Context, ex *executor) {
	term, err := a.cz.Wait(ctx, ex.containerID)
	if ctx.Err() != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		return
	}
	if err != nil {
		a.log.Warn("waiting for executor container failed", "executor_id", ex.id, "err", err)
		if ex.cause == nil {
			ex.cause = &endCause{state: goneState(&ex.fw.info), reason: mesos.ReasonAgentRestarted,
				message: "Executor container was lost while the agent was down"}
		}
		term = containerizer.Termination{ExitCode: -1, Message: err.Error()}
	}
	a.executorExited(ex, term)
}

// executorLaunchFailed fails every task of a run whose executor could not
// be launched. Called with a.mu held.
func (a *Agent) executorLaunchFailed(ex *executor, err error) {
	a.log.Warn("executor launch failed", "framework_id", ex.fw.id, "executor_id", ex.id, "err", err)
	reason, msg := launchFailure(err, isDocker(ex.info.Container))
	cause := &endCause{state: mesos.TaskFailed, reason: reason, message: msg}
	if ex.state == execTerminating && ex.cause != nil {
		cause = ex.cause
	}
	ex.cause = cause
	a.endExecutor(ex)
}

// executorExited handles the end of a custom executor's container: the
// tasks it left non-terminal fail (REASON_EXECUTOR_TERMINATED) unless the
// agent ended it for a reason of its own, and the master is told with
// EXITED_EXECUTOR. Called with a.mu held.
func (a *Agent) executorExited(ex *executor, term containerizer.Termination) {
	switch {
	case ex.cause != nil:
	case term.Limitation != "":
		// The executor's container hit a resource limit: its tasks fail
		// with the limitation (Mesos: FAILED rather than GONE).
		ex.cause = &endCause{state: mesos.TaskFailed, reason: limitationReason(term.Limitation),
			message: terminationMessage(term), limitation: term.Limitation}
	default:
		ex.cause = &endCause{state: mesos.TaskFailed, reason: mesos.ReasonExecutorTerminated,
			message: "Executor terminated: " + terminationMessage(term)}
	}
	a.log.Info("executor exited", "framework_id", ex.fw.id, "executor_id", ex.id, "status", terminationMessage(term))
	if a.conn != nil {
		a.conn.send(mesos.AgentCall{Type: mesos.AgentCallExitedExecutor, ExitedExecutor: &mesos.AgentExitedExecutor{
			FrameworkID: mesos.FrameworkID{Value: ex.fw.id},
			ExecutorID:  mesos.ExecutorID{Value: ex.id},
			Status:      waitStatus(term),
		}})
	}
	a.endExecutor(ex)
}

// endExecutor marks a custom executor's run terminated and ends its live
// tasks with ex.cause. Called with a.mu held.
func (a *Agent) endExecutor(ex *executor) {
	ex.containerEnded = true
	if ex.timer != nil {
		ex.timer.Stop()
		ex.timer = nil
	}
	if ex.conn != nil {
		ex.conn.close()
		ex.conn = nil
	}
	for _, t := range ex.queued {
		ex.tasks[t.info.TaskID.Value] = t
	}
	ex.queued = nil
	a.setExecutorState(ex, execTerminated)
	st := ex.cause.state
	if st == "" {
		st = mesos.TaskKilled
	}
	// Report in a stable order.
	ids := make([]string, 0, len(ex.tasks))
	for id := range ex.tasks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t := ex.tasks[id]
		if !t.state.IsTerminal() {
			status := mesos.TaskStatus{State: st, Source: mesos.SourceAgent, Reason: ex.cause.reason, Message: ex.cause.message}
			if ex.cause.limitation != "" {
				status.Limitation = &mesos.TaskResourceLimitation{Resources: limitedResources(ex.cause.limitation, t.info.Resources)}
			}
			if err := a.statusUpdate(t, status); err != nil {
				a.log.Warn("terminal status update failed", "task_id", id, "err", err)
			}
		}
		if t.stream.done() {
			a.taskCompleted(t)
		}
	}
	a.maybeCompleteExecutor(ex)
}

// killCustomTask handles KILL_TASK for a custom executor's task. Called
// with a.mu held.
func (a *Agent) killCustomTask(t *task, policy *mesos.KillPolicy) {
	ex := t.ex
	if i := slices.Index(ex.queued, t); i >= 0 {
		ex.queued = slices.Delete(ex.queued, i, i+1)
		ex.tasks[t.info.TaskID.Value] = t
		if err := a.statusUpdate(t, mesos.TaskStatus{State: mesos.TaskKilled, Source: mesos.SourceAgent,
			Reason: mesos.ReasonTaskKilledDuringLaunch, Message: "Killed before delivery to the executor"}); err != nil {
			a.log.Warn("status update failed", "task_id", t.info.TaskID.Value, "err", err)
		}
		// An executor whose every task was killed before delivery is not needed.
		live := len(ex.queued)
		for _, o := range ex.tasks {
			if !o.state.IsTerminal() {
				live++
			}
		}
		if live == 0 {
			a.shutdownExecutor(ex, &endCause{})
		}
		return
	}
	if t.state.IsTerminal() {
		return
	}
	t.kill = &endCause{}
	if ex.conn != nil && t.delivered {
		a.sendKill(ex, t, policy)
	}
	// Otherwise KILL goes out when the executor (re-)subscribes.
}

func (a *Agent) sendKill(ex *executor, t *task, policy *mesos.KillPolicy) {
	if policy == nil {
		policy = t.info.KillPolicy
	}
	ev := mesos.ExecutorEvent{Type: mesos.ExecEventKill}
	ev.Kill = &struct {
		TaskID     mesos.TaskID      `json:"task_id"`
		KillPolicy *mesos.KillPolicy `json:"kill_policy,omitempty"`
	}{t.info.TaskID, policy}
	ex.conn.send(ev)
}

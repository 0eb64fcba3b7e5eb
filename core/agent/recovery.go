package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/mesos"
)

// bootIDPath is where Linux publishes the ID of the current boot.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

func currentBootID() string {
	b, err := os.ReadFile(bootIDPath)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// recoveredContainer is a container found in the checkpoint of a live run.
type recoveredContainer struct {
	cp containerizer.Checkpoint
	ex *executor
	t  *task // nil for a custom executor's container
}

// recover rebuilds the agent's state from <work_dir>/meta (Mesos'
// agent-recovery.md): agent ID, checkpointed resources, frameworks,
// executor runs, tasks and their status update streams. Live containers
// are handed to the containerizer's Recover and then either re-attached
// (Recover "reconnect": waited for, their exits reported as usual; custom
// executors must re-subscribe within ExecutorReregistrationTimeout) or
// killed (Recover "cleanup": their tasks end TASK_LOST, or TASK_GONE for
// partition-aware frameworks). After a host reboot no container survives
// and their tasks end the same way. Broken checkpoint files are counted in
// slave/recovery_errors and skipped.
func (a *Agent) recover(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()

	var rs mesos.Resources
	switch err := readJSON(a.paths.resourcesInfo(), &rs); {
	case err == nil:
		a.total = rs
	case !isNotExist(err):
		a.recoveryError("checkpointed resources", err)
	}

	boot := currentBootID()
	var prevBoot []byte
	prevBoot, _ = os.ReadFile(a.paths.bootID())
	rebooted := len(prevBoot) > 0 && boot != "" && strings.TrimSpace(string(prevBoot)) != boot
	defer func() {
		if boot != "" {
			if err := writeFileAtomic(a.paths.bootID(), []byte(boot)); err != nil {
				a.log.Warn("checkpointing boot ID failed", "err", err)
			}
		}
	}()

	id := readLatest(a.paths.metaSlaves())
	if id == "" {
		return nil
	}
	var info mesos.AgentInfo
	if err := readJSON(a.paths.slaveInfo(id), &info); err != nil {
		a.recoveryError("agent info", err)
		return nil
	}
	a.id = id
	a.log.Info("recovering agent state", "agent_id", id, "mode", a.cfg.Recover, "rebooted", rebooted)

	var live []recoveredContainer
	fwIDs, err := listDirs(filepath.Join(a.paths.metaAgent(id), "frameworks"))
	if err != nil {
		return fmt.Errorf("listing frameworks: %w", err)
	}
	for _, fwID := range fwIDs {
		live = append(live, a.recoverFramework(fwID)...)
	}

	now := time.Now()
	switch {
	case rebooted:
		for _, c := range live {
			a.endRecovered(c, "Agent host rebooted; the container did not survive")
		}
	default:
		if len(live) > 0 {
			cps := make([]containerizer.Checkpoint, len(live))
			for i, c := range live {
				cps[i] = c.cp
			}
			if err := a.cz.Recover(ctx, cps); err != nil {
				a.recoveryError("containerizer recover", err)
			}
		}
		for _, c := range live {
			a.reattach(c)
		}
	}
	for _, fw := range a.frameworks {
		for _, ex := range fw.executors {
			a.settleRecovered(ex)
		}
	}
	a.log.Info("recovery done", "frameworks", len(a.frameworks), "tasks", len(a.tasks), "containers", len(live),
		"took", time.Since(now))
	return nil
}

func (a *Agent) recoveryError(what string, err error) {
	a.counters.recoveryErrors++
	a.log.Error("recovery: skipping broken checkpoint", "what", what, "err", err)
}

// recoverFramework loads one framework and its runs; it returns the live
// containers. Called with a.mu held.
func (a *Agent) recoverFramework(fwID string) []recoveredContainer {
	var info mesos.FrameworkInfo
	if err := readJSON(a.paths.frameworkInfo(a.id, fwID), &info); err != nil {
		a.recoveryError("framework "+fwID, err)
		return nil
	}
	fw := &framework{id: fwID, info: info, executors: map[string]*executor{}}
	var live []recoveredContainer
	exIDs, err := listDirs(filepath.Join(a.paths.metaFramework(a.id, fwID), "executors"))
	if err != nil {
		a.recoveryError("executors of "+fwID, err)
	}
	for _, exID := range exIDs {
		var ei mesos.ExecutorInfo
		if err := readJSON(a.paths.executorInfo(a.id, fwID, exID), &ei); err != nil {
			a.recoveryError("executor "+exID, err)
			continue
		}
		runsDir := filepath.Join(a.paths.metaExecutor(a.id, fwID, exID), "runs")
		latest := readLatest(runsDir)
		runs, err := listDirs(runsDir)
		if err != nil {
			a.recoveryError("runs of "+exID, err)
			continue
		}
		for _, cid := range runs {
			ex, containers := a.recoverRun(fw, ei, cid)
			_, statErr := os.Stat(filepath.Join(ex.metaDir, fileRunCompleted))
			if cid != latest || statErr == nil {
				a.retireRecoveredRun(ex)
				continue
			}
			fw.executors[exID] = ex
			live = append(live, containers...)
			for _, t := range ex.tasks {
				a.tasks[t.key()] = t
			}
			for _, t := range ex.queued {
				a.tasks[t.key()] = t
			}
		}
	}
	if len(fw.executors) > 0 {
		a.frameworks[fwID] = fw
		return live
	}
	a.completedFrameworks = append(a.completedFrameworks, fw)
	when := modTime(a.paths.metaFramework(a.id, fwID)).Add(a.cfg.GCDelay)
	a.gc.schedule(a.paths.frameworkDir(a.id, fwID), when)
	a.gc.schedule(a.paths.metaFramework(a.id, fwID), when)
	return nil
}

// retireRecoveredRun files a finished run under completed executors and
// schedules its directories for GC (from their modification time).
func (a *Agent) retireRecoveredRun(ex *executor) {
	a.setExecutorState(ex, execTerminated)
	ex.containerEnded = true
	for _, t := range append(sortedTasks(ex.tasks), ex.queued...) {
		t.stream.received = nil
		ex.addCompleted(t)
	}
	clear(ex.tasks)
	ex.queued = nil
	ex.fw.addCompletedExecutor(ex)
	when := modTime(ex.metaDir).Add(a.cfg.GCDelay)
	a.gc.schedule(ex.sandbox, when)
	a.gc.schedule(ex.metaDir, when)
}

func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Now()
	}
	return fi.ModTime()
}

// recoverRun loads one executor run and its tasks; it returns the run and
// its checkpointed containers. Called with a.mu held.
func (a *Agent) recoverRun(fw *framework, info mesos.ExecutorInfo, cid string) (*executor, []recoveredContainer) {
	exID := info.ExecutorID.Value
	ex := &executor{
		fw:          fw,
		id:          exID,
		info:        info,
		containerID: cid,
		sandbox:     a.paths.sandbox(a.id, fw.id, exID, cid),
		metaDir:     a.paths.metaRun(a.id, fw.id, exID, cid),
		state:       execRegistering,
		tasks:       map[string]*task{},
		recovered:   true,
	}
	switch {
	case info.Type == "DEFAULT":
		ex.kind = kindDefault
	case fileExists(filepath.Join(ex.metaDir, fileHTTPMarker)):
		ex.kind = kindCustom
	default:
		ex.kind = kindCommand
	}
	ex.subscribed = ex.kind == kindCustom && fileExists(filepath.Join(ex.metaDir, fileSubscribedMarker))
	var containers []recoveredContainer
	var runCP containerizer.Checkpoint
	haveRunCP := false
	if ex.kind != kindDefault {
		if err := readJSON(filepath.Join(ex.metaDir, fileContainerInfo), &runCP); err == nil {
			haveRunCP = true
			ex.pid = runCP.Pid
		} else if !isNotExist(err) {
			a.recoveryError("container of "+exID, err)
		}
	}
	taskIDs, err := listDirs(filepath.Join(ex.metaDir, "tasks"))
	if err != nil {
		a.recoveryError("tasks of "+exID, err)
	}
	for _, tid := range taskIDs {
		metaDir := a.paths.metaTask(a.id, fw.id, exID, cid, tid)
		var ti mesos.TaskInfo
		if err := readJSON(filepath.Join(metaDir, fileTaskInfo), &ti); err != nil {
			a.recoveryError("task "+tid, err)
			continue
		}
		stream, history, err := loadUpdateStream(filepath.Join(metaDir, fileTaskUpdates))
		if err != nil {
			a.recoveryError("status updates of task "+tid, err)
			stream = newUpdateStream(filepath.Join(metaDir, fileTaskUpdates))
		}
		t := &task{ex: ex, info: ti, stream: stream, statuses: history, metaDir: metaDir,
			state: stream.latestState(), phase: phaseEnded}
		if t.state == "" {
			t.state = mesos.TaskStaging
		}
		switch ex.kind {
		case kindCommand:
			t.containerID, t.sandbox, t.pid = cid, ex.sandbox, runCP.Pid
			if haveRunCP && !t.state.IsTerminal() {
				t.phase = phaseRunning
				containers = append(containers, recoveredContainer{cp: runCP, ex: ex, t: t})
			}
		case kindDefault:
			t.sandbox = a.paths.taskSandbox(a.id, fw.id, exID, cid, tid)
			var cp containerizer.Checkpoint
			if err := readJSON(filepath.Join(metaDir, fileContainerInfo), &cp); err == nil {
				t.containerID, t.pid = cp.ContainerID, cp.Pid
				if !t.state.IsTerminal() {
					t.phase = phaseRunning
					containers = append(containers, recoveredContainer{cp: cp, ex: ex, t: t})
				}
			} else if !isNotExist(err) {
				a.recoveryError("container of task "+tid, err)
			}
		case kindCustom:
			t.delivered = ex.subscribed
		}
		if stream.done() {
			t.stream.received = nil
			ex.addCompleted(t)
			continue
		}
		if ex.kind == kindCustom && !t.delivered && !t.state.IsTerminal() {
			ex.queued = append(ex.queued, t)
			continue
		}
		ex.tasks[tid] = t
	}
	if ex.kind == kindCustom {
		if haveRunCP {
			containers = append(containers, recoveredContainer{cp: runCP, ex: ex})
		} else {
			ex.containerEnded = true
		}
	}
	return ex, containers
}

// settleRecovered ends what has no container to wait for: tasks whose
// container was never checkpointed (the agent stopped while launching),
// and runs without a live container. Called with a.mu held.
func (a *Agent) settleRecovered(ex *executor) {
	const msg = "The task's container was not checkpointed before the agent stopped"
	switch ex.kind {
	case kindCustom:
		if ex.containerEnded && ex.state != execTerminated {
			ex.cause = &endCause{state: goneState(&ex.fw.info), reason: mesos.ReasonAgentRestarted,
				message: "The executor's container was not checkpointed before the agent stopped"}
			a.endExecutor(ex)
			return
		}
	default:
		allEnded := true
		for _, t := range sortedTasks(ex.tasks) {
			if t.phase != phaseEnded {
				allEnded = false
				continue
			}
			if !t.state.IsTerminal() {
				if err := a.statusUpdate(t, mesos.TaskStatus{State: goneState(&ex.fw.info), Source: mesos.SourceAgent,
					Reason: mesos.ReasonAgentRestarted, Message: msg}); err != nil {
					a.log.Warn("status update failed", "task_id", t.info.TaskID.Value, "err", err)
				}
			}
		}
		if allEnded && ex.state != execTerminated {
			ex.containerEnded = true
			a.setExecutorState(ex, execTerminated)
		}
	}
	a.maybeCompleteExecutor(ex)
}

// reattach resumes a recovered container: waits for it, or kills it in
// cleanup mode. Then it settles runs whose tasks had no container. Called
// with a.mu held.
func (a *Agent) reattach(c recoveredContainer) {
	ctx := a.ctx
	ex := c.ex
	cleanup := a.cfg.Recover == RecoverCleanup
	cause := &endCause{state: goneState(&ex.fw.info), reason: mesos.ReasonAgentRestarted,
		message: "Killed during agent recovery (--recover=cleanup)", agent: true}
	if c.t != nil {
		t := c.t
		if ex.state == execRegistering {
			a.setExecutorState(ex, execRunning)
		}
		if cleanup {
			t.kill = cause
			t.grace = killGrace(nil, t.info.KillPolicy)
			a.killContainer(t.containerID, t.grace)
		} else if t.state == mesos.TaskRunning && (t.info.HealthCheck != nil || t.info.Check != nil) {
			// The agent is the task's executor: its checks resume (their
			// grace period starts over).
			if spec, err := a.taskSpec(t, a.launchInfo(ex)); err == nil {
				a.startChecks(t, spec)
			} else {
				a.log.Warn("cannot resume the task's checks", "task_id", t.info.TaskID.Value, "err", err)
			}
		}
		a.goFn(func() { a.waitTaskContainer(ctx, t) })
		return
	}
	// A custom executor.
	if cleanup {
		ex.cause = cause
		a.setExecutorState(ex, execTerminating)
		a.killContainer(ex.containerID, a.executorShutdownGrace(&ex.info))
	} else {
		a.startRegistrationTimer(ex, a.cfg.ExecutorReregistrationTimeout, mesos.ReasonExecutorReregistrationTimeout)
	}
	a.goFn(func() { a.waitExecutorContainer(ctx, ex) })
}

// endRecovered ends the tasks of a container that did not survive (host
// reboot). Called with a.mu held.
func (a *Agent) endRecovered(c recoveredContainer, msg string) {
	cause := &endCause{state: goneState(&c.ex.fw.info), reason: mesos.ReasonAgentRestarted, message: msg, agent: true}
	if c.t != nil {
		a.taskContainerEnded(c.t, containerizer.Termination{ExitCode: -1, Message: msg}, cause)
		return
	}
	c.ex.cause = cause
	a.endExecutor(c.ex)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

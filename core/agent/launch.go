package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/fetcher"
	"github.com/strata-sched/strata/core/mesos"
)

func lookupUser(name string) error {
	_, err := user.Lookup(name)
	return err
}

// lookupIDs returns the uid and primary gid of user name.
func lookupIDs(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("user %s has non-numeric uid/gid %s/%s", name, u.Uid, u.Gid)
	}
	return uid, gid, nil
}

// chownDir gives path (not recursively: it is new) to user name.
func chownDir(path, name string) error {
	uid, gid, err := lookupIDs(name)
	if err != nil {
		return err
	}
	return os.Chown(path, uid, gid)
}

// runTask handles RUN_TASK. Called with a.mu held.
func (a *Agent) runTask(fwInfo mesos.FrameworkInfo, ti mesos.TaskInfo) {
	if fwInfo.ID == nil || fwInfo.ID.Value == "" {
		a.log.Error("RUN_TASK without framework_info.id; dropped", "task_id", ti.TaskID.Value)
		return
	}
	fwID := fwInfo.ID.Value
	if a.tasks[taskKey{fwID, ti.TaskID.Value}] != nil {
		a.log.Warn("RUN_TASK for a task the agent already runs; ignored", "framework_id", fwID, "task_id", ti.TaskID.Value)
		return
	}
	fw, err := a.ensureFramework(fwInfo, fwID)
	if err != nil {
		a.orphanUpdate(fwID, ti.TaskID, mesos.TaskStatus{State: mesos.TaskFailed,
			Reason: mesos.ReasonContainerLaunchFailed, Message: "Failed to checkpoint the framework: " + err.Error()})
		return
	}
	if fw.shuttingDown {
		a.orphanUpdate(fwID, ti.TaskID, mesos.TaskStatus{State: droppedState(&fw.info),
			Reason: mesos.ReasonFrameworkRemoved, Message: "Framework is shutting down"})
		return
	}
	switch {
	case ti.Executor != nil:
		a.runOnCustomExecutor(fw, ti)
	case ti.Command != nil:
		a.runCommandTask(fw, ti)
	default:
		a.orphanUpdate(fwID, ti.TaskID, mesos.TaskStatus{State: mesos.TaskError,
			Reason: mesos.ReasonTaskInvalid, Message: "Task has neither a command nor an executor"})
	}
}

// addRun creates an executor run in memory (no I/O; see prepareRun).
// Called with a.mu held.
func (a *Agent) addRun(fw *framework, info mesos.ExecutorInfo, kind execKind) (*executor, error) {
	exID := info.ExecutorID.Value
	if err := mesos.ValidateID(exID); err != nil {
		return nil, fmt.Errorf("executor ID: %w", err)
	}
	cid := uuid.NewString()
	info.FrameworkID = &mesos.FrameworkID{Value: fw.id}
	ex := &executor{
		fw:          fw,
		id:          exID,
		info:        info,
		kind:        kind,
		containerID: cid,
		sandbox:     a.paths.sandbox(a.id, fw.id, exID, cid),
		metaDir:     a.paths.metaRun(a.id, fw.id, exID, cid),
		state:       execRegistering,
		tasks:       map[string]*task{},
	}
	a.gc.unschedule(a.paths.executorDir(a.id, fw.id, exID))
	a.gc.unschedule(a.paths.metaExecutor(a.id, fw.id, exID))
	fw.executors[exID] = ex
	return ex, nil
}

// prepareRun creates a run's sandbox (with the runs/latest symlink) and
// its meta directory with executor.info. It reads only what does not
// change after addRun, so it may run outside the agent's lock. The files
// are staged: durable after the next journal barrier, which the run's
// launch waits for.
func (a *Agent) prepareRun(ex *executor) error {
	if err := os.MkdirAll(ex.sandbox, 0o755); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := stageLatest(filepath.Dir(ex.sandbox), ex.containerID); err != nil {
		return err
	}
	if err := os.MkdirAll(ex.metaDir, 0o755); err != nil {
		return fmt.Errorf("meta dir: %w", err)
	}
	if err := stageJSON(filepath.Join(filepath.Dir(filepath.Dir(ex.metaDir)), "executor.info"), ex.info); err != nil {
		return err
	}
	if ex.kind == kindCustom {
		if err := stageFile(filepath.Join(ex.metaDir, fileHTTPMarker), nil); err != nil {
			return err
		}
	}
	return stageLatest(filepath.Dir(ex.metaDir), ex.containerID)
}

// addTask adds a task to a run in memory (no I/O; see checkpointTask).
// Called with a.mu held.
func (a *Agent) addTask(ex *executor, ti mesos.TaskInfo) (*task, error) {
	if err := mesos.ValidateID(ti.TaskID.Value); err != nil {
		return nil, fmt.Errorf("task ID: %w", err)
	}
	ti.AgentID = mesos.AgentID{Value: a.id}
	metaDir := a.paths.metaTask(a.id, ex.fw.id, ex.id, ex.containerID, ti.TaskID.Value)
	t := &task{
		ex:      ex,
		info:    ti,
		state:   mesos.TaskStaging,
		stream:  newUpdateStream(filepath.Join(metaDir, fileTaskUpdates)),
		metaDir: metaDir,
	}
	a.tasks[t.key()] = t
	return t, nil
}

// stageTask writes task.info and creates the task's task.updates, durable
// after the next journal barrier; like prepareRun it may run outside the
// agent's lock.
func stageTask(t *task) error {
	if err := stageJSON(filepath.Join(t.metaDir, fileTaskInfo), t.info); err != nil {
		return err
	}
	// The update log is created here, by the launch (many run in
	// parallel), so that the journal only appends to it.
	f, err := os.OpenFile(t.stream.path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", t.stream.path, err)
	}
	return f.Close()
}

// runCommandTask launches a command task with the agent as its command
// executor. Called with a.mu held.
func (a *Agent) runCommandTask(fw *framework, ti mesos.TaskInfo) {
	info := mesos.ExecutorInfo{
		ExecutorID: mesos.ExecutorID{Value: ti.TaskID.Value},
		Name:       commandExecutorName(&ti),
		Source:     ti.TaskID.Value,
		Resources:  commandExecutorResources(),
		Labels:     ti.Labels,
	}
	if ex := fw.executors[ti.TaskID.Value]; ex != nil {
		a.orphanUpdate(fw.id, ti.TaskID, mesos.TaskStatus{State: mesos.TaskError, Reason: mesos.ReasonTaskInvalid,
			Message: "An executor with the task's ID already runs on this agent"})
		return
	}
	ex, err := a.addRun(fw, info, kindCommand)
	if err != nil {
		a.orphanUpdate(fw.id, ti.TaskID, mesos.TaskStatus{State: mesos.TaskError,
			Reason: mesos.ReasonTaskInvalid, Message: err.Error()})
		return
	}
	t, err := a.addTask(ex, ti)
	if err != nil {
		delete(fw.executors, ex.id)
		a.orphanUpdate(fw.id, ti.TaskID, mesos.TaskStatus{State: mesos.TaskError,
			Reason: mesos.ReasonTaskInvalid, Message: err.Error()})
		return
	}
	t.containerID = ex.containerID
	t.sandbox = ex.sandbox
	ex.tasks[ti.TaskID.Value] = t
	in := a.launchInfo(ex)
	ctx := a.ctx
	// The run's checkpoint is written by the launch goroutine, outside the
	// lock, so that many launches do their disk I/O concurrently.
	a.goFn(func() { a.runTaskContainer(ctx, t, in, func() error { return a.prepareRun(ex) }) })
}

func (a *Agent) launchInfo(ex *executor) launchInfo {
	return launchInfo{agentID: a.id, framework: ex.fw.info, fwID: ex.fw.id, exID: ex.id}
}

// runTaskGroup handles RUN_TASK_GROUP with the agent as default executor:
// each task gets its own container under the run's sandbox. Called with
// a.mu held.
func (a *Agent) runTaskGroup(fwInfo mesos.FrameworkInfo, exInfo mesos.ExecutorInfo, group mesos.TaskGroupInfo) {
	if fwInfo.ID == nil || fwInfo.ID.Value == "" {
		a.log.Error("RUN_TASK_GROUP without framework_info.id; dropped")
		return
	}
	fwID := fwInfo.ID.Value
	drop := func(fw *mesos.FrameworkInfo, state mesos.TaskState, reason, msg string) {
		for _, ti := range group.Tasks {
			a.orphanUpdate(fwID, ti.TaskID, mesos.TaskStatus{State: state, Reason: reason, Message: msg})
		}
	}
	for _, ti := range group.Tasks {
		if a.tasks[taskKey{fwID, ti.TaskID.Value}] != nil {
			a.log.Warn("RUN_TASK_GROUP with a task the agent already runs; group ignored", "task_id", ti.TaskID.Value)
			return
		}
	}
	fw, err := a.ensureFramework(fwInfo, fwID)
	if err != nil {
		drop(&fwInfo, mesos.TaskFailed, mesos.ReasonContainerLaunchFailed, "Failed to checkpoint the framework: "+err.Error())
		return
	}
	if fw.shuttingDown {
		drop(&fw.info, droppedState(&fw.info), mesos.ReasonFrameworkRemoved, "Framework is shutting down")
		return
	}
	ex := fw.executors[exInfo.ExecutorID.Value]
	switch {
	case ex == nil:
		exInfo.Type = "DEFAULT"
		ex, err = a.addRun(fw, exInfo, kindDefault)
		if err == nil {
			if err = a.prepareRun(ex); err != nil {
				delete(fw.executors, ex.id)
			}
		}
		if err != nil {
			drop(&fw.info, mesos.TaskFailed, mesos.ReasonContainerLaunchFailed, "Failed to create the executor: "+err.Error())
			return
		}
		a.setExecutorState(ex, execRunning)
	case ex.kind != kindDefault:
		drop(&fw.info, mesos.TaskError, mesos.ReasonTaskGroupInvalid, "Executor "+ex.id+" is not a default executor")
		return
	case ex.state != execRunning:
		drop(&fw.info, droppedState(&fw.info), mesos.ReasonExecutorTerminated, "Executor is terminating")
		return
	}
	ex.groups++
	var started []*task
	for _, ti := range group.Tasks {
		t, err := a.addTask(ex, ti)
		if err != nil {
			a.orphanUpdate(fwID, ti.TaskID, mesos.TaskStatus{State: mesos.TaskError,
				Reason: mesos.ReasonTaskInvalid, Message: err.Error()})
			continue
		}
		t.containerID = uuid.NewString()
		t.sandbox = a.paths.taskSandbox(a.id, fw.id, ex.id, ex.containerID, ti.TaskID.Value)
		t.group = ex.groups
		ex.tasks[ti.TaskID.Value] = t
		started = append(started, t)
	}
	if isDocker(ex.info.Container) {
		// As in Mesos, the default executor runs MESOS containers only.
		for _, t := range started {
			if err := stageTask(t); err != nil {
				a.log.Warn("checkpointing task failed", "task_id", t.info.TaskID.Value, "err", err)
			}
			t.phase = phaseEnded
			a.reportTaskEnded(t, mesos.TaskStatus{State: mesos.TaskFailed, Source: mesos.SourceAgent,
				Reason: mesos.ReasonContainerLaunchFailed, Message: "Failed to launch container: " + errDockerTaskGroup.Error()})
		}
		return
	}
	in := a.launchInfo(ex)
	ctx := a.ctx
	for _, t := range started {
		a.goFn(func() { a.runTaskContainer(ctx, t, in, nil) })
	}
}

// runTaskContainer checkpoints a command task or a task of a group (and,
// with prepare, its run), fetches its URIs, launches its container,
// reports it running, starts its checks and waits for it to end.
func (a *Agent) runTaskContainer(ctx context.Context, t *task, in launchInfo, prepare func() error) {
	spec, err := a.prepareTask(ctx, t, in, prepare)
	if uris := taskURIs(&t.info); err == nil && len(uris) > 0 {
		err = a.fetchForTask(ctx, t, uris, spec.User)
	}
	if !acquire(ctx, a.launchSlots) {
		return
	}
	launched := a.launchTaskContainer(ctx, t, spec, err)
	release(a.launchSlots)
	if launched {
		a.waitTaskContainer(ctx, t)
	}
}

// prepareTask checkpoints the task (and, with prepare, its run), creates
// its sandbox and returns its container's Spec once the checkpoint is
// durable.
func (a *Agent) prepareTask(ctx context.Context, t *task, in launchInfo, prepare func() error) (containerizer.Spec, error) {
	if !acquire(ctx, a.prepareSlots) {
		return containerizer.Spec{}, ctx.Err()
	}
	spec, err := a.stageTaskFiles(t, in, prepare)
	release(a.prepareSlots)
	if err != nil {
		return containerizer.Spec{}, err
	}
	// The task (and its run) is checkpointed before it is launched.
	if err := a.journal.barrier(ctx); err != nil {
		return containerizer.Spec{}, err
	}
	return spec, nil
}

// stageTaskFiles writes the task's (and its run's) checkpoint files and
// creates its sandbox.
func (a *Agent) stageTaskFiles(t *task, in launchInfo, prepare func() error) (containerizer.Spec, error) {
	if prepare != nil {
		if err := prepare(); err != nil {
			return containerizer.Spec{}, err
		}
	}
	if err := stageTask(t); err != nil {
		return containerizer.Spec{}, err
	}
	spec, err := a.taskSpec(t, in)
	if err != nil {
		return containerizer.Spec{}, err
	}
	if t.sandbox != t.ex.sandbox {
		if err := os.MkdirAll(t.sandbox, 0o755); err != nil {
			return containerizer.Spec{}, fmt.Errorf("sandbox: %w", err)
		}
	}
	if spec.User != "" {
		if err := chownDir(t.sandbox, spec.User); err != nil {
			return containerizer.Spec{}, err
		}
	}
	return spec, nil
}

// launchTaskContainer launches a prepared task (or reports why it cannot
// be: prepErr, a kill) and reports it running; it reports whether the
// container runs.
func (a *Agent) launchTaskContainer(ctx context.Context, t *task, spec containerizer.Spec, prepErr error) bool {
	a.mu.Lock()
	t.cancelLaunch = nil
	if a.stopping {
		a.mu.Unlock()
		return false
	}
	if t.kill != nil {
		t.phase = phaseEnded
		a.reportTaskEnded(t, mesos.TaskStatus{State: mesos.TaskKilled, Source: mesos.SourceAgent,
			Reason: mesos.ReasonTaskKilledDuringLaunch, Message: "Task killed before it was launched"})
		a.mu.Unlock()
		return false
	}
	if prepErr != nil {
		t.phase = phaseEnded
		a.launchFailed(t, prepErr)
		a.mu.Unlock()
		return false
	}
	t.phase = phaseLaunching
	a.mu.Unlock()

	cp, err := a.cz.Launch(ctx, spec)
	if err == nil {
		metaDir := t.metaDir
		if t.ex.kind == kindCommand {
			metaDir = t.ex.metaDir
		}
		// Durable with the sync that precedes the forwarding of the
		// task's STARTING update.
		if err := stageJSON(filepath.Join(metaDir, fileContainerInfo), cp); err != nil {
			a.log.Error("checkpointing container failed; the task will not be recovered after a restart",
				"task_id", t.info.TaskID.Value, "err", err)
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if ctx.Err() != nil || a.stopping {
		return false
	}
	if err != nil {
		a.counters.containerLaunchErrors++
		t.phase = phaseEnded
		a.launchFailed(t, err)
		return false
	}
	t.pid = cp.Pid
	t.phase = phaseRunning
	if t.ex.kind == kindCommand {
		t.ex.pid = cp.Pid
		if t.ex.state == execRegistering {
			a.setExecutorState(t.ex, execRunning)
		}
	}
	if err := a.statusUpdate(t, mesos.TaskStatus{State: mesos.TaskStarting, Source: mesos.SourceExecutor}); err != nil {
		a.log.Warn("status update failed", "task_id", t.info.TaskID.Value, "state", mesos.TaskStarting, "err", err)
	}
	a.taskRunning(t, spec)
	if t.kill != nil {
		a.startKill(t)
	}
	return true
}

// maxParallelLaunches bounds the launches in each of their two busy
// stages: writing the checkpoint files (prepareSlots) and the
// containerizer's Launch (launchSlots). Waiting for the checkpoint to be
// durable (a journal barrier, shared by every launch in the stage) and
// fetching hold no slot. A burst of a thousand RUN_TASKs then flows
// through as a pipeline, the first tasks reporting RUNNING while later
// ones are still being set up, instead of a thousand goroutines (and OS
// threads blocked in file system calls) contending at every step.
const maxParallelLaunches = 16

func acquire(ctx context.Context, slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func release(slots chan struct{}) { <-slots }

// waitTaskContainer waits for a task's own container and reports its end.
func (a *Agent) waitTaskContainer(ctx context.Context, t *task) {
	term, err := a.cz.Wait(ctx, t.containerID)
	if ctx.Err() != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		return
	}
	var lost *endCause
	if err != nil {
		a.log.Warn("waiting for container failed", "container_id", t.containerID, "task_id", t.info.TaskID.Value, "err", err)
		msg := "Container could not be waited for: " + err.Error()
		if errors.Is(err, containerizer.ErrUnknownContainer) {
			msg = "Container was lost while the agent was down"
		}
		lost = &endCause{state: goneState(&t.ex.fw.info), reason: mesos.ReasonAgentRestarted, message: msg, agent: true}
	}
	a.taskContainerEnded(t, term, lost)
}

// launchFailed reports a task whose container could not be prepared or
// launched. Called with a.mu held.
func (a *Agent) launchFailed(t *task, err error) {
	a.log.Warn("container launch failed", "framework_id", t.ex.fw.id, "task_id", t.info.TaskID.Value, "err", err)
	reason, msg := launchFailure(err, isDocker(t.info.Container))
	a.reportTaskEnded(t, mesos.TaskStatus{State: mesos.TaskFailed, Source: mesos.SourceAgent, Reason: reason, Message: msg})
}

// launchFailure is the reason and message of a failed launch: a fetch
// failure is REASON_CONTAINER_PREPARATION_FAILED naming the URI, a Docker
// container that no enabled containerizer runs says how to enable docker,
// anything else (a pull or run failure: the engine's message) is
// REASON_CONTAINER_LAUNCH_FAILED.
func launchFailure(err error, docker bool) (reason, message string) {
	var uriErr *fetcher.URIError
	switch {
	case errors.As(err, &uriErr):
		return mesos.ReasonContainerPreparationFailed, "Failed to fetch URIs into the sandbox: " + err.Error()
	case docker && errors.Is(err, containerizer.ErrUnsupported):
		return mesos.ReasonContainerLaunchFailed, "Failed to launch container: " + errDockerNotEnabled.Error()
	}
	var pe *prepError
	if errors.As(err, &pe) {
		return mesos.ReasonContainerPreparationFailed, pe.Error()
	}
	return mesos.ReasonContainerLaunchFailed, "Failed to launch container: " + err.Error()
}

// taskContainerEnded reports the end of a task's own container. override
// (a lost container) wins over the kill cause. Called with a.mu held.
func (a *Agent) taskContainerEnded(t *task, term containerizer.Termination, override *endCause) {
	t.phase = phaseEnded
	a.stopTaskChecks(t)
	cause := t.kill
	if cause == nil {
		cause = t.ex.cause
	}
	if override != nil {
		cause = override
	}
	state, reason, msg := taskEndStatus(term, cause)
	st := mesos.TaskStatus{State: state, Reason: reason, Message: msg, Source: mesos.SourceExecutor}
	if cause != nil && cause.agent && term.Limitation == "" {
		st.Source = mesos.SourceAgent
	}
	if term.Limitation != "" {
		st.Limitation = &mesos.TaskResourceLimitation{Resources: limitedResources(term.Limitation, t.info.Resources)}
	}
	if t.unhealthy {
		// As Mesos' command executor: the task was killed for failing its
		// health check.
		st.Healthy = new(false)
	}
	a.reportTaskEnded(t, st)
}

// reportTaskEnded sends the terminal status of a task whose container is
// gone (unless it already has one) and advances its executor: a command
// executor terminates with its task; a default executor kills the rest of
// a group when a task failed or was killed, and terminates when its last
// task's container ended. Called with a.mu held.
func (a *Agent) reportTaskEnded(t *task, st mesos.TaskStatus) {
	if !t.state.IsTerminal() {
		if err := a.statusUpdate(t, st); err != nil {
			a.log.Warn("terminal status update failed", "task_id", t.info.TaskID.Value, "err", err)
		}
	}
	ex := t.ex
	switch ex.kind {
	case kindCommand:
		ex.containerEnded = true
		a.setExecutorState(ex, execTerminated)
	case kindDefault:
		if (st.State == mesos.TaskFailed || st.State == mesos.TaskKilled) && ex.state == execRunning {
			for _, other := range ex.tasks {
				if other != t && other.group == t.group && !other.state.IsTerminal() && other.kill == nil {
					a.killTask(other, killGrace(nil, other.info.KillPolicy), &endCause{})
				}
			}
		}
		ended := true
		for _, other := range ex.tasks {
			if other.phase != phaseEnded {
				ended = false
			}
		}
		if ended {
			a.setExecutorState(ex, execTerminated)
		}
	}
	if t.stream.done() {
		a.taskCompleted(t)
		return
	}
	a.maybeCompleteExecutor(ex)
}

// killGrace is the grace period of a kill: the KILL's kill_policy, else
// the task's, else the command executor's default.
func killGrace(override, task *mesos.KillPolicy) time.Duration {
	for _, p := range []*mesos.KillPolicy{override, task} {
		if p != nil && p.GracePeriod != nil && p.GracePeriod.Nanoseconds >= 0 {
			return time.Duration(p.GracePeriod.Nanoseconds)
		}
	}
	return DefaultTaskKillGracePeriod
}

// killTask kills a task with its own container (command and group tasks).
// Called with a.mu held.
func (a *Agent) killTask(t *task, grace time.Duration, cause *endCause) {
	if t.state.IsTerminal() {
		return
	}
	if t.kill != nil && t.phase == phaseRunning && grace >= t.grace {
		return // already being killed at least as fast
	}
	if t.kill == nil {
		t.kill = cause
	}
	t.grace = grace
	a.stopTaskChecks(t)
	if t.cancelLaunch != nil {
		t.cancelLaunch() // a fetch in progress stops; the launch goroutine reports the kill
	}
	a.startKill(t)
}

// startKill carries out a kill decided earlier once the container runs;
// pending and launching containers are killed by their launch goroutine.
// Called with a.mu held.
func (a *Agent) startKill(t *task) {
	if t.phase != phaseRunning {
		return
	}
	if t.ex.fw.info.HasCapability(mesos.CapTaskKillingState) && t.state != mesos.TaskKilling {
		if err := a.statusUpdate(t, mesos.TaskStatus{State: mesos.TaskKilling, Source: mesos.SourceExecutor}); err != nil {
			a.log.Warn("TASK_KILLING update failed", "task_id", t.info.TaskID.Value, "err", err)
		}
	}
	a.killContainer(t.containerID, t.grace)
}

// killContainer kills a container in the background; its waiter reports
// the end. Called with a.mu held.
func (a *Agent) killContainer(cid string, grace time.Duration) {
	ctx := a.ctx
	a.goFn(func() {
		if err := a.cz.Kill(ctx, cid, grace); err != nil && ctx.Err() == nil {
			a.log.Warn("killing container failed", "container_id", cid, "err", err)
		}
	})
}

// killTaskRequest handles KILL_TASK. Called with a.mu held.
func (a *Agent) killTaskRequest(fwID string, taskID mesos.TaskID, policy *mesos.KillPolicy) {
	t := a.tasks[taskKey{fwID, taskID.Value}]
	if t == nil {
		if a.knowsCompletedTask(fwID, taskID.Value) {
			a.log.Info("KILL_TASK for a completed task; ignored", "framework_id", fwID, "task_id", taskID.Value)
			return
		}
		a.log.Warn("KILL_TASK for an unknown task; answering TASK_LOST", "framework_id", fwID, "task_id", taskID.Value)
		a.orphanUpdate(fwID, taskID, mesos.TaskStatus{State: mesos.TaskLost, Reason: mesos.ReasonTaskUnknown,
			Message: "Attempted to kill an unknown task"})
		return
	}
	switch t.ex.kind {
	case kindCustom:
		a.killCustomTask(t, policy)
	default:
		a.killTask(t, killGrace(policy, t.info.KillPolicy), &endCause{})
	}
}

// knowsCompletedTask reports whether the task is among the completed ones.
// Called with a.mu held.
func (a *Agent) knowsCompletedTask(fwID, taskID string) bool {
	fws := []*framework{a.frameworks[fwID]}
	for _, f := range a.completedFrameworks {
		if f.id == fwID {
			fws = append(fws, f)
		}
	}
	for _, fw := range fws {
		if fw == nil {
			continue
		}
		exs := append([]*executor{}, fw.completedExecutors...)
		for _, ex := range fw.executors {
			exs = append(exs, ex)
		}
		for _, ex := range exs {
			for _, t := range ex.completed {
				if t.info.TaskID.Value == taskID {
					return true
				}
			}
		}
	}
	return false
}

// shutdownExecutor ends a run: its tasks are killed (command, default) or
// the executor is asked to shut down and killed after its grace period
// (custom). It returns the grace period used. Called with a.mu held.
func (a *Agent) shutdownExecutor(ex *executor, cause *endCause) time.Duration {
	if ex.state == execTerminated {
		return 0
	}
	if ex.cause == nil {
		ex.cause = cause
	}
	grace := a.executorShutdownGrace(&ex.info)
	switch ex.kind {
	case kindCommand, kindDefault:
		if ex.state != execTerminating {
			a.setExecutorState(ex, execTerminating)
		}
		longest := time.Duration(0)
		for _, t := range ex.tasks {
			g := min(killGrace(nil, t.info.KillPolicy), grace)
			a.killTask(t, g, ex.cause)
			longest = max(longest, g)
		}
		if ex.kind == kindDefault {
			allEnded := true
			for _, t := range ex.tasks {
				if t.phase != phaseEnded {
					allEnded = false
				}
			}
			if allEnded {
				a.setExecutorState(ex, execTerminated)
				a.maybeCompleteExecutor(ex)
			}
		}
		return longest
	case kindCustom:
		if ex.state == execTerminating {
			return grace
		}
		a.setExecutorState(ex, execTerminating)
		if ex.timer != nil {
			ex.timer.Stop()
			ex.timer = nil
		}
		switch {
		case ex.conn != nil:
			ex.conn.send(mesos.ExecutorEvent{Type: mesos.ExecEventShutdown})
			cid := ex.containerID
			ex.timer = time.AfterFunc(grace, func() {
				a.mu.Lock()
				defer a.mu.Unlock()
				if a.stopping || ex.containerEnded {
					return
				}
				a.log.Info("executor did not exit within its shutdown grace period; killing it", "executor_id", ex.id)
				a.killContainer(cid, 0)
			})
		case ex.pid > 0:
			a.killContainer(ex.containerID, 0)
		}
		// A container still launching is killed by its launch goroutine.
		return grace
	}
	return grace
}

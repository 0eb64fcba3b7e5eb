package agent

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// Bounds on what the agent remembers of finished work (Mesos'
// src/slave/constants.hpp).
const (
	maxCompletedFrameworks   = 50
	maxCompletedExecutors    = 150 // per framework
	maxCompletedTasksPerExec = 200
)

// execKind says who plays the executor of a run.
type execKind string

const (
	// kindCommand: the agent is the command executor of one command task;
	// the run's one container is the task's process.
	kindCommand execKind = "command"
	// kindCustom: a framework-supplied executor process speaking the
	// executor API; the run's container is the executor's.
	kindCustom execKind = "custom"
	// kindDefault: the agent is the default executor of task groups; the
	// run has no process of its own and each task gets its own container.
	kindDefault execKind = "default"
)

// taskKey identifies a task on the agent.
type taskKey struct{ fw, task string }

type framework struct {
	id                 string
	info               mesos.FrameworkInfo
	executors          map[string]*executor
	completedExecutors []*executor
	// shuttingDown: SHUTDOWN_FRAMEWORK arrived; the framework is removed
	// once its executors are gone, without waiting for acknowledgements.
	shuttingDown bool
}

// executor is one run of an executor (one container ID).
type executor struct {
	fw          *framework
	id          string
	info        mesos.ExecutorInfo
	kind        execKind
	containerID string
	sandbox     string
	metaDir     string // meta run directory
	state       executorState
	// tasks are delivered to the executor (or launched, for command and
	// default executors) and not yet completed (terminal and acknowledged).
	tasks map[string]*task
	// queued tasks wait for a custom executor to subscribe.
	queued    []*task
	completed []*task
	// pid of the executor's (command: the task's) process.
	pid int
	// containerEnded: the run's container (command, custom) has ended.
	containerEnded bool
	// cause is why the agent is ending the run, applied to the tasks that
	// are still live when it ends.
	cause *endCause
	// conn is a subscribed custom executor's event stream.
	conn *execConn
	// timer: registration, re-registration or shutdown grace timer.
	timer *time.Timer
	// groups counts the task groups of a default executor.
	groups int
	// recovered: the run was recovered after an agent restart.
	recovered bool
	// subscribed: a custom executor subscribed at least once.
	subscribed bool
}

// taskPhase is where a task's own container is (command and group tasks).
type taskPhase int

const (
	phasePending   taskPhase = iota // not launched
	phaseLaunching                  // Launch in progress
	phaseRunning                    // container running
	phaseEnded                      // container ended (or never launched)
)

type task struct {
	ex       *executor
	info     mesos.TaskInfo
	state    mesos.TaskState
	statuses []mesos.TaskStatus
	stream   *updateStream
	metaDir  string
	// Own container: command tasks (same as the run's) and group tasks.
	containerID string
	sandbox     string
	pid         int
	phase       taskPhase
	// kill is set once the agent decided to kill the task; grace is the
	// kill's grace period.
	kill  *endCause
	grace time.Duration
	// group is the task group a default executor's task belongs to.
	group int
	// delivered: a custom executor got the task (LAUNCH sent).
	delivered bool
	// cancelLaunch stops the fetch of a task being launched when the task
	// is killed; nil otherwise.
	cancelLaunch context.CancelFunc
	// stopChecks stops the task's health check and general check.
	stopChecks context.CancelFunc
	// healthy and checkStatus are the latest health and check results,
	// carried by every TASK_RUNNING update.
	healthy     *bool
	checkStatus *mesos.CheckStatusInfo
	// unhealthy: the task was killed because its health check failed; its
	// terminal update says healthy=false.
	unhealthy bool
}

func (t *task) key() taskKey { return taskKey{t.ex.fw.id, t.info.TaskID.Value} }

// taskResources sums the resources of the run's live tasks.
func (e *executor) taskResources() mesos.Resources {
	var rs mesos.Resources
	for _, t := range e.tasks {
		if !t.state.IsTerminal() {
			rs = rs.Plus(t.info.Resources)
		}
	}
	for _, t := range e.queued {
		rs = rs.Plus(t.info.Resources)
	}
	return rs
}

// allResources is what the run uses: the executor's own plus its tasks'.
func (e *executor) allResources() mesos.Resources {
	return mesos.Resources(e.info.Resources).Plus(e.taskResources())
}

// addCompleted appends t to the completed tasks, keeping the newest.
func (e *executor) addCompleted(t *task) {
	e.completed = append(e.completed, t)
	if n := len(e.completed); n > maxCompletedTasksPerExec {
		e.completed = slices.Delete(e.completed, 0, n-maxCompletedTasksPerExec)
	}
}

func (f *framework) addCompletedExecutor(e *executor) {
	f.completedExecutors = append(f.completedExecutors, e)
	if n := len(f.completedExecutors); n > maxCompletedExecutors {
		f.completedExecutors = slices.Delete(f.completedExecutors, 0, n-maxCompletedExecutors)
	}
}

// mesosTask renders t as mesos.Task (re-registration, v0 state).
func (t *task) mesosTask(agentID string) mesos.Task {
	mt := mesos.Task{
		Name:        t.info.Name,
		TaskID:      t.info.TaskID,
		FrameworkID: mesos.FrameworkID{Value: t.ex.fw.id},
		AgentID:     mesos.AgentID{Value: agentID},
		State:       t.state,
		Resources:   t.info.Resources,
		Statuses:    t.statuses,
		Labels:      t.info.Labels,
		Discovery:   t.info.Discovery,
		Container:   t.info.Container,
		HealthCheck: t.info.HealthCheck,
		KillPolicy:  t.info.KillPolicy,
		User:        t.user(),
	}
	if t.ex.kind != kindCommand {
		mt.ExecutorID = &mesos.ExecutorID{Value: t.ex.id}
	}
	if mt.State == "" {
		mt.State = mesos.TaskStaging
	}
	if u, ok := t.stream.front(); ok {
		st := u.Status.State
		mt.StatusUpdateState = &st
		mt.StatusUpdateUUID = u.Status.UUID
	}
	return mt
}

// user is the task's user as the master reports it.
func (t *task) user() string {
	if t.info.Command != nil && t.info.Command.User != nil {
		return *t.info.Command.User
	}
	return t.ex.fw.info.User
}

// containerStatus is the TaskStatus.container_status of t.
func (t *task) containerStatus() *mesos.ContainerStatus {
	cid := t.containerID
	if cid == "" {
		cid = t.ex.containerID
	}
	if cid == "" {
		return nil
	}
	cs := &mesos.ContainerStatus{ContainerID: &mesos.ContainerID{Value: cid}}
	if t.ex.kind == kindDefault {
		cs.ContainerID.Parent = &mesos.ContainerID{Value: t.ex.containerID}
	}
	pid := t.pid
	if t.ex.kind == kindCustom {
		pid = t.ex.pid
	}
	if pid > 0 {
		p := uint32(pid)
		cs.ExecutorPID = &p
	}
	return cs
}

// sortedTasks returns the tasks ordered by ID (for deterministic reports).
func sortedTasks(m map[string]*task) []*task {
	out := make([]*task, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	slices.SortFunc(out, func(x, y *task) int { return strings.Compare(x.info.TaskID.Value, y.info.TaskID.Value) })
	return out
}

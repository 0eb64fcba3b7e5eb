package agent

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/mesos"
)

// taskTransitions is the task lifecycle as the agent enforces it (drawn in
// doc.go): the states an update may move a task to from each state. An
// update repeating a non-terminal state (RUNNING with a new health result)
// is legal; nothing leaves a terminal state; STAGING, UNREACHABLE and
// UNKNOWN are never the subject of an agent-side update.
var taskTransitions = map[mesos.TaskState][]mesos.TaskState{
	mesos.TaskStaging:  append([]mesos.TaskState{mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling}, terminalStates...),
	mesos.TaskStarting: append([]mesos.TaskState{mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling}, terminalStates...),
	mesos.TaskRunning:  append([]mesos.TaskState{mesos.TaskRunning, mesos.TaskKilling}, terminalStates...),
	mesos.TaskKilling:  append([]mesos.TaskState{mesos.TaskKilling}, terminalStates...),
}

// terminalStates an agent or executor may report.
var terminalStates = []mesos.TaskState{mesos.TaskFinished, mesos.TaskFailed, mesos.TaskKilled,
	mesos.TaskError, mesos.TaskLost, mesos.TaskDropped, mesos.TaskGone, mesos.TaskGoneByOperator}

// checkTaskTransition returns nil if a task in state cur may take an update
// with state next.
func checkTaskTransition(cur, next mesos.TaskState) error {
	for _, s := range taskTransitions[cur] {
		if s == next {
			return nil
		}
	}
	if cur.IsTerminal() {
		return fmt.Errorf("task is already in terminal state %s; %s ignored", cur, next)
	}
	return fmt.Errorf("illegal task state transition %s -> %s", cur, next)
}

// executorState is the lifecycle of an executor run:
//
//	registering --launched/subscribed--> running --shutdown--> terminating
//	     |                                  |                     |
//	     +------------container ended-------+---------------------+--> terminated
type executorState int

const (
	execRegistering executorState = iota // container launching, or custom executor not subscribed yet
	execRunning                          // launched (command/default) or subscribed (custom)
	execTerminating                      // shutdown or kill in progress
	execTerminated                       // every container of the run has ended
)

func (s executorState) String() string {
	return [...]string{"REGISTERING", "RUNNING", "TERMINATING", "TERMINATED"}[s]
}

var executorTransitions = map[executorState][]executorState{
	execRegistering: {execRunning, execTerminating, execTerminated},
	execRunning:     {execTerminating, execTerminated},
	execTerminating: {execTerminated},
}

func checkExecutorTransition(cur, next executorState) error {
	for _, s := range executorTransitions[cur] {
		if s == next {
			return nil
		}
	}
	return fmt.Errorf("illegal executor state transition %s -> %s", cur, next)
}

// setExecutorState moves a run to next if the lifecycle allows it; staying
// put is a no-op and an illegal move is logged and ignored (a bug).
// Called with a.mu held.
func (a *Agent) setExecutorState(ex *executor, next executorState) {
	if ex.state == next {
		return
	}
	if err := checkExecutorTransition(ex.state, next); err != nil {
		a.log.Error("executor state unchanged", "framework_id", ex.fw.id, "executor_id", ex.id, "err", err)
		return
	}
	ex.state = next
}

// endCause says why the agent ended a task's container, when it did.
type endCause struct {
	state   mesos.TaskState // TASK_KILLED unless set
	reason  string
	message string // overrides the containerizer's message
	// agent: the agent, not the (command or default) executor, ends the
	// task (SOURCE_AGENT).
	agent bool
	// limitation names the resource limit a custom executor's container
	// exceeded ("memory", "disk"), if that is why it ended.
	limitation string
}

// taskEndStatus decides the terminal state, reason and message of a task
// whose own container (a command task, a task of a task group) ended with
// term; kill is non-nil when the agent killed it. Mesos' command executor:
// exit 0 is FINISHED, anything else FAILED with the exit message and no
// reason; a kill is KILLED; a resource limitation is FAILED with its reason.
func taskEndStatus(term containerizer.Termination, kill *endCause) (mesos.TaskState, string, string) {
	msg := terminationMessage(term)
	if term.Limitation != "" {
		return mesos.TaskFailed, limitationReason(term.Limitation), msg
	}
	if kill != nil {
		st := kill.state
		if st == "" {
			st = mesos.TaskKilled
		}
		if kill.message != "" {
			msg = kill.message
		}
		return st, kill.reason, msg
	}
	if !term.Signaled && term.ExitCode == 0 {
		return mesos.TaskFinished, "", msg
	}
	return mesos.TaskFailed, "", msg
}

// terminationMessage is the containerizer's message, or Mesos' wording.
func terminationMessage(term containerizer.Termination) string {
	if term.Message != "" {
		return term.Message
	}
	if term.Signaled {
		return "Command terminated with signal " + signalName(term.Signal)
	}
	return fmt.Sprintf("Command exited with status %d", term.ExitCode)
}

func signalName(sig int) string {
	s := syscall.Signal(sig).String()
	if s == "" {
		return fmt.Sprint(sig)
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func limitationReason(l string) string {
	switch strings.ToLower(l) {
	case "memory", "mem":
		return mesos.ReasonContainerLimitationMemory
	case "disk":
		return mesos.ReasonContainerLimitationDisk
	}
	return "REASON_CONTAINER_LIMITATION"
}

// limitedResources is TaskStatus.limitation.resources of a container that
// exceeded limitation: the task's resources of that kind (mem for
// "memory", disk for "disk"), as Mesos reports them.
func limitedResources(limitation string, rs mesos.Resources) mesos.Resources {
	name := ""
	switch strings.ToLower(limitation) {
	case "memory", "mem":
		name = "mem"
	case "disk":
		name = "disk"
	default:
		return nil
	}
	return rs.Filter(func(r *mesos.Resource) bool { return r.Name == name })
}

// waitStatus encodes a termination as a Unix wait status, the form of
// EXITED_EXECUTOR's status (Mesos sends the raw wait status).
func waitStatus(term containerizer.Termination) int32 {
	if term.Signaled {
		return int32(term.Signal & 0x7f)
	}
	return int32(term.ExitCode&0xff) << 8
}

// goneState is what a task whose container the agent lost or removed
// during recovery becomes: TASK_GONE for partition-aware frameworks, else
// TASK_LOST (as Mesos does for an agent restart or reboot).
func goneState(fw *mesos.FrameworkInfo) mesos.TaskState {
	if fw != nil && fw.HasCapability(mesos.CapPartitionAware) {
		return mesos.TaskGone
	}
	return mesos.TaskLost
}

// droppedState is what a task that never reached its executor becomes.
func droppedState(fw *mesos.FrameworkInfo) mesos.TaskState {
	if fw != nil && fw.HasCapability(mesos.CapPartitionAware) {
		return mesos.TaskDropped
	}
	return mesos.TaskLost
}

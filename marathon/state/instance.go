package state

import (
	"strings"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/health"
)

// Goal is what Marathon wants of an instance.
type Goal string

const (
	// GoalRunning: keep the task running.
	GoalRunning Goal = "Running"
	// GoalKilled: the task is to be killed (scale-down, restart, app
	// removal, API kill, failed health checks). It is never relaunched;
	// the app's instance count decides whether a replacement starts.
	GoalKilled Goal = "Killed"
)

// Instance is one launched task of an app, persisted before the task is
// launched and deleted after its terminal status update. Marathon's
// instance and task are one here: a replacement is a new instance with a
// new task id in the legacy "<safeAppId>.<uuid>" form (see app.TaskIDFor).
type Instance struct {
	TaskID  string `json:"taskId"`
	AppID   string `json:"appId"`
	Version string `json:"version"` // the app version the task runs
	AgentID string `json:"agentId"`
	Host    string `json:"host"`
	Region  string `json:"region,omitempty"`
	Zone    string `json:"zone,omitempty"`
	// Attributes are the agent's attributes formatted for constraints
	// (app.Placement).
	Attributes map[string]string `json:"attributes,omitempty"`
	Ports      []uint64          `json:"ports,omitempty"`
	Role       string            `json:"role"`
	// State is the last task state reported; "" until the first update.
	State  mesos.TaskState `json:"state,omitempty"`
	Goal   Goal            `json:"goal"`
	Reason string          `json:"reason,omitempty"` // why Goal became Killed
	// StagedAt is when the task was launched; StartedAt when it first
	// reached TASK_RUNNING (or was found running at reconciliation).
	StagedAt  time.Time `json:"stagedAt"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	// KillAt is when the kill was decided; the kill is sent after the
	// drain delay.
	KillAt time.Time `json:"killAt,omitzero"`
	// UnreachableSince is when the task became TASK_UNREACHABLE.
	UnreachableSince time.Time `json:"unreachableSince,omitzero"`
	// Healthy is the agent-side (Mesos) health check's verdict.
	Healthy     *bool        `json:"healthy,omitempty"`
	IPAddresses []app.IPAddr `json:"ipAddresses,omitempty"`
	// Health holds the results of Marathon's own health checks, one per
	// entry of the app's healthChecks, as of their last change worth
	// keeping (health.NeedsStore): not rewritten on every probe.
	Health []health.Status `json:"health,omitempty"`
}

// InstanceID is the Marathon instance id of the task,
// "<safeAppId>.marathon-<uuid>".
func (in *Instance) InstanceID() string { return InstanceIDOf(in.TaskID) }

// InstanceIDOf derives the instance id from a legacy task id.
func InstanceIDOf(taskID string) string {
	i := strings.LastIndexByte(taskID, '.')
	if i < 0 {
		return taskID
	}
	return taskID[:i] + ".marathon-" + taskID[i+1:]
}

// Terminal reports whether the task has ended.
func (in *Instance) Terminal() bool { return in.State.IsTerminal() }

// Running reports whether the task is TASK_RUNNING.
func (in *Instance) Running() bool { return in.State == mesos.TaskRunning }

// Placement is where the instance runs, for constraints.
func (in *Instance) Placement() app.Placement {
	return app.Placement{Hostname: in.Host, Attributes: in.Attributes}
}

// Condition is Marathon's instance condition for an instance (for events).
func (in *Instance) Condition() string {
	switch in.State {
	case "", mesos.TaskStaging:
		return "Staging"
	case mesos.TaskStarting:
		return "Starting"
	case mesos.TaskRunning:
		return "Running"
	case mesos.TaskKilling:
		return "Killing"
	case mesos.TaskKilled:
		return "Killed"
	case mesos.TaskFailed:
		return "Failed"
	case mesos.TaskFinished:
		return "Finished"
	case mesos.TaskError:
		return "Error"
	case mesos.TaskUnreachable:
		return "Unreachable"
	case mesos.TaskGone, mesos.TaskGoneByOperator, mesos.TaskLost:
		return "Gone"
	case mesos.TaskDropped:
		return "Dropped"
	}
	return "Unknown"
}

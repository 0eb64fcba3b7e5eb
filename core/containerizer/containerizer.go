package containerizer

import (
	"context"
	"errors"
	"time"
)

// ErrUnknownContainer is returned for a container ID the containerizer does not hold.
var ErrUnknownContainer = errors.New("containerizer: unknown container")

// Spec describes one container to launch.
type Spec struct {
	// ContainerID is unique on the agent (a UUID).
	ContainerID string
	// Sandbox is the working directory; "stdout" and "stderr" files are created in it.
	Sandbox string
	// RunDir is a private directory for the containerizer's own checkpoint files
	// (pid, exit status). It survives agent restarts.
	RunDir string
	// Shell true runs Value with /bin/sh -c; otherwise Value is the program and
	// Arguments its argv (Arguments[0] is argv[0], as in Mesos' CommandInfo).
	Shell     bool
	Value     string
	Arguments []string
	// Env is the complete environment, KEY=VALUE.
	Env []string
	// User to run as (only honoured when the agent runs as root); empty = agent's user.
	User string
	// Resources the container was given; posix uses them for rlimits only.
	CPUs, MemMB, DiskMB float64
	// Rlimits to apply (RLIMIT name without prefix, e.g. "NOFILE").
	Rlimits []Rlimit
}

// Rlimit is one POSIX resource limit. A nil Soft/Hard means unlimited.
type Rlimit struct {
	Type       string
	Soft, Hard *uint64
}

// Checkpoint is the versioned, opaque state a containerizer needs to recover a
// container after the agent restarts. The agent stores it next to the task.
type Checkpoint struct {
	ContainerID string `json:"container_id"`
	Kind        string `json:"kind"`    // "posix", "cgroups", "docker"
	Version     int    `json:"version"` // format version of Data
	Pid         int    `json:"pid"`
	Data        []byte `json:"data,omitempty"`
}

// Termination tells how a container ended.
type Termination struct {
	// ExitCode is the exit code when Signaled is false. When Signaled is
	// true it is 128+Signal (the shell convention); -1 when the status is
	// unknown (the container ended while the agent was down and left no
	// record).
	ExitCode int
	Signaled bool
	Signal   int
	// Killed is true when the end came from Kill or Destroy.
	Killed bool
	// Limitation names a resource limit that ended the container (e.g. "memory"), if any.
	Limitation string
	// Message is human readable ("Command exited with status 1").
	Message string
}

// Usage is a resource usage sample of one container.
type Usage struct {
	CPUsUserTimeSecs   float64
	CPUsSystemTimeSecs float64
	MemRSSBytes        uint64
	Processes          int
	Timestamp          time.Time
}

// Containerizer runs containers. Implementations are safe for concurrent use.
type Containerizer interface {
	// Kind names the implementation ("posix").
	Kind() string
	// Launch starts the container's process in its own session and process
	// group and returns as soon as it runs. The process survives the agent.
	Launch(ctx context.Context, spec Spec) (Checkpoint, error)
	// Wait blocks until the container ends (or ctx is done) and returns how.
	// It works both for launched and for recovered containers and may be
	// called several times.
	Wait(ctx context.Context, containerID string) (Termination, error)
	// Kill sends SIGTERM to every process of the container, then SIGKILL to
	// whatever remains after grace. It returns when all processes are gone.
	Kill(ctx context.Context, containerID string, grace time.Duration) error
	// Recover re-attaches to containers launched by an earlier agent process.
	// Containers that ended meanwhile are reported by Wait with their exit
	// status if it was recorded. Recover is idempotent.
	Recover(ctx context.Context, checkpoints []Checkpoint) error
	// Usage samples the container's resource usage.
	Usage(ctx context.Context, containerID string) (Usage, error)
	// Destroy forgets an ended container and removes RunDir state.
	Destroy(ctx context.Context, containerID string) error
}

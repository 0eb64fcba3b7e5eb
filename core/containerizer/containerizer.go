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
	// CPULimit is a hard CPU limit in cpus (CFS quota) when > 0; MemLimitMB a
	// hard memory limit when > 0 (else MemMB is the limit).
	CPULimit, MemLimitMB float64
	// Docker, when set, asks for a Docker container (only the docker
	// containerizer accepts it; the others fail Launch with ErrUnsupported).
	Docker *DockerSpec
	// Name is the container's name for operators (Docker: mesos-<ContainerID>).
	Name string
}

// ErrUnsupported is returned by Launch for a Spec the containerizer cannot
// run (e.g. a Docker spec on the posix containerizer).
var ErrUnsupported = errors.New("containerizer: unsupported container spec")

// DockerSpec is what a Docker container needs beyond Spec (Mesos'
// ContainerInfo.DockerInfo with the task's command semantics).
type DockerSpec struct {
	Image string
	// Network is HOST (default), BRIDGE, NONE or USER (with UserNetwork).
	Network     string
	UserNetwork string
	// PortMappings map host ports (from the task's offer) to container ports.
	PortMappings []DockerPortMapping
	Volumes      []DockerVolume
	Privileged   bool
	// Parameters are extra docker run options (key, value), e.g. ("label", "a=b").
	Parameters [][2]string
	ForcePull  bool
	// Entrypoint semantics follow Mesos: with Shell=false, Spec.Value and
	// Spec.Arguments are passed to the image's ENTRYPOINT; with Shell=true
	// the command runs under /bin/sh -c; with no Value the image's CMD runs.
	Hostname string
}

// DockerPortMapping maps a host port to a container port.
type DockerPortMapping struct {
	HostPort, ContainerPort uint32
	Protocol                string // tcp (default) or udp
}

// DockerVolume is a bind mount.
type DockerVolume struct {
	HostPath, ContainerPath string
	ReadOnly                bool
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

// Usage is a resource usage sample of one container. A field that a
// containerizer does not measure is zero; posix fills only the first five.
type Usage struct {
	CPUsUserTimeSecs   float64
	CPUsSystemTimeSecs float64
	MemRSSBytes        uint64
	Processes          int
	Timestamp          time.Time

	// The fields below are those of Mesos' ResourceStatistics with the same
	// names (cpus_limit, cpus_nr_periods, ...); the cgroups containerizer
	// fills them from the container's cgroup.

	// Threads is the number of threads of the container's processes.
	Threads int
	// CPUsLimit is the CPU limit (the request when there is no hard limit).
	CPUsLimit float64
	// CPUsNrPeriods, CPUsNrThrottled and CPUsThrottledTimeSecs count the
	// CFS periods, those in which the container was throttled, and the total
	// time it was throttled (non-zero only with a CFS quota).
	CPUsNrPeriods, CPUsNrThrottled uint64
	CPUsThrottledTimeSecs          float64
	// MemLimitBytes and MemSoftLimitBytes are the memory limits applied.
	MemLimitBytes, MemSoftLimitBytes uint64
	// MemTotalBytes is all memory charged to the container, page cache
	// included; MemCacheBytes the page cache part of it.
	MemTotalBytes, MemCacheBytes uint64
	// DiskLimitBytes is the disk the container was given; DiskUsedBytes its
	// sandbox's size at the last disk/du measurement.
	DiskLimitBytes, DiskUsedBytes uint64
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

package containerizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DockerKind is the Kind of the docker containerizer and of its checkpoints.
const DockerKind = "docker"

const (
	// dockerCheckpointVersion is the format version of docker Checkpoint.Data.
	dockerCheckpointVersion = 1
	// dockerExitFile, in RunDir, records the Termination once seen, so that
	// it survives the container's removal.
	dockerExitFile = "docker_exit.json"
	// dockerMaxSignal is the highest Linux signal number; exit codes 129 to
	// 128+dockerMaxSignal are read as "killed by signal code-128".
	dockerMaxSignal = 64
	// DefaultDockerRemoveDelay is Mesos' --docker_remove_delay.
	DefaultDockerRemoveDelay = 6 * time.Hour
	// dockerConnectTimeout bounds NewDocker's version check.
	dockerConnectTimeout = 10 * time.Second
	// dockerSignalReadyWait bounds how long Kill waits for a container's
	// PID 1 to be able to receive the stop signal (see awaitSignalReady).
	dockerSignalReadyWait = time.Second
	// dockerRetryMax bounds the back-off of a monitor whose log stream or
	// wait call failed while the container still runs.
	dockerRetryMax = 5 * time.Second
)

// DockerConfig configures the docker containerizer. The zero value is
// usable: it talks to /var/run/docker.sock, mounts sandboxes at
// /mnt/mesos/sandbox, removes containers at once on Destroy and leaves
// unknown containers alone. DefaultDockerConfig returns Mesos' defaults.
type DockerConfig struct {
	// Socket is the engine's unix socket (default /var/run/docker.sock).
	Socket string
	// SandboxMountPoint is where the sandbox is bind-mounted in the
	// container and the container's working directory (default
	// /mnt/mesos/sandbox); MESOS_SANDBOX points there.
	SandboxMountPoint string
	// RemoveDelay is how long Destroy keeps a stopped container (for `docker
	// logs` and `docker inspect`) before removing it; zero removes it at
	// once. Mesos' default is DefaultDockerRemoveDelay.
	RemoveDelay time.Duration
	// KillOrphans makes Recover remove Strata's containers (same Owner) that
	// no checkpoint knows: running ones at once, stopped ones RemoveDelay
	// after they finished.
	KillOrphans bool
	// Owner tells this agent's containers from those of other agents that
	// share the engine (e.g. the agent's work dir); it is stored in the
	// DockerLabelOwner label and orphan cleanup only touches containers
	// with the same Owner.
	Owner string
	// NoInit runs the image's process as the container's PID 1, as Mesos
	// does. By default Strata runs the engine's init (docker run --init,
	// tini) as PID 1: a PID 1 without a SIGTERM handler never sees
	// SIGTERM, so without it Kill's grace period is lost on most commands
	// (sh -c, sleep, a Python program) and they end only by SIGKILL. A task
	// can also pass the parameter init=false.
	NoInit bool
}

// DefaultDockerConfig returns Mesos' defaults: remove delay 6 h, orphans
// killed.
func DefaultDockerConfig() DockerConfig {
	return DockerConfig{RemoveDelay: DefaultDockerRemoveDelay, KillOrphans: true}
}

func (c *DockerConfig) setDefaults() {
	if c.Socket == "" {
		c.Socket = "/var/run/docker.sock"
	}
	if c.SandboxMountPoint == "" {
		c.SandboxMountPoint = "/mnt/mesos/sandbox"
	}
}

func (c *DockerConfig) validate() error {
	if !filepath.IsAbs(c.Socket) {
		return fmt.Errorf("docker socket %q is not an absolute path", c.Socket)
	}
	if !filepath.IsAbs(c.SandboxMountPoint) {
		return fmt.Errorf("sandbox mount point %q is not an absolute path", c.SandboxMountPoint)
	}
	if c.RemoveDelay < 0 {
		return fmt.Errorf("negative remove delay %v", c.RemoveDelay)
	}
	return nil
}

// monitor copies the container's logs into <Sandbox>/stdout and stderr (see
// logPump: resumable, exactly once across agent restarts) and, when the
// stream ends because the container stopped, records the Termination (also
// in <RunDir>/docker_exit.json). Kill sends the image's stop signal
// (default SIGTERM), then SIGKILL after the grace period. Destroy kills,
// forgets the container and removes it after RemoveDelay. Recover
// re-attaches to the containers of checkpoints (never restarting them),
// resumes their log copies and, with KillOrphans, removes Strata's
// containers no checkpoint knows. Containers survive the agent; Close only
// stops this process's goroutines.
//
// Processes run in the container's own pid namespace: Usage counts them
// through the engine's stats; pids printed by a command mean nothing on the
// host.
type Docker struct {
	cfg    DockerConfig
	logger *slog.Logger
	api    *dockerAPI

	// ctx is cancelled by Close; monitors and removals run under it and wg.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu sync.Mutex
	// containers holds launched and recovered containers until Destroy. A
	// nil value reserves the ID while Launch runs.
	containers map[string]*dockerContainer
	// removals are pending delayed removals by engine container ID.
	removals map[string]*time.Timer
	closed   bool
}

var _ Containerizer = (*Docker)(nil)

// errDockerClosed is returned by calls that need the goroutines Close
// stopped.
var errDockerClosed = errors.New("containerizer closed")

// dockerData is the JSON in Checkpoint.Data of a docker container.
type dockerData struct {
	DockerID  string `json:"docker_id"`
	Name      string `json:"name"`
	Sandbox   string `json:"sandbox"`
	RunDir    string `json:"run_dir"`
	StartedAt string `json:"started_at"`
	// CreatedRunDir is true when Launch created RunDir, so Destroy removes it.
	CreatedRunDir bool `json:"created_run_dir,omitempty"`
	// The limits the container was given, for Usage.
	CPUsLimit         float64 `json:"cpus_limit,omitempty"`
	MemLimitBytes     uint64  `json:"mem_limit_bytes,omitempty"`
	MemSoftLimitBytes uint64  `json:"mem_soft_limit_bytes,omitempty"`
	DiskLimitBytes    uint64  `json:"disk_limit_bytes,omitempty"`
}

// dockerContainer is the state of one container.
type dockerContainer struct {
	id         string
	dockerID   string
	data       dockerData
	raw        []byte // Checkpoint.Data
	pid        int
	stopSignal string

	// done is closed by finish once term is set.
	done chan struct{}
	term Termination

	mu     sync.Mutex
	killed bool // Kill or Destroy was called before the end
}

func (c *dockerContainer) ended() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// NewDocker connects to the engine (checking that it answers and speaks a
// usable API version) and returns the containerizer. A nil logger discards
// logs.
func NewDocker(cfg DockerConfig, logger *slog.Logger) (*Docker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerConnectTimeout)
	defer cancel()
	api, err := newDockerAPI(ctx, cfg.Socket)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	d := &Docker{
		cfg:        cfg,
		logger:     logger.With("containerizer", DockerKind),
		api:        api,
		containers: make(map[string]*dockerContainer),
		removals:   make(map[string]*time.Timer),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d, nil
}

// Kind returns "docker".
func (d *Docker) Kind() string { return DockerKind }

// Close stops the goroutines of this instance (log copies, monitors,
// pending delayed removals) and waits for them. Containers keep running; a
// new instance recovers them. Close is for agent shutdown and tests.
func (d *Docker) Close() error {
	d.mu.Lock()
	d.closed = true
	for id, t := range d.removals {
		if t.Stop() {
			d.wg.Done()
		}
		delete(d.removals, id)
	}
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	return nil
}

// Launch runs spec as a Docker container and returns once it has started.
// A Spec without Docker is rejected with ErrUnsupported. The image is
// pulled when it is not present (or always, with ForcePull); a failed pull
// is an error carrying the engine's message. See buildDockerCreate for how
// the Spec maps onto the container (command, environment, resources,
// volumes, network, parameters). Spec.User is not used: the container runs
// as the image's USER unless the parameter user is given, as in Mesos.
func (d *Docker) Launch(ctx context.Context, spec Spec) (Checkpoint, error) {
	id := spec.ContainerID
	if spec.Docker == nil {
		return Checkpoint{}, fmt.Errorf("docker: launch %s: not a Docker container (no image): %w", id, ErrUnsupported)
	}
	if err := checkDockerSpec(&spec); err != nil {
		return Checkpoint{}, fmt.Errorf("docker: launch %s: %w", id, err)
	}
	name, body, err := buildDockerCreate(spec, dockerCreateOptions{
		mountPoint: d.cfg.SandboxMountPoint, noInit: d.cfg.NoInit, owner: d.cfg.Owner,
	})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("docker: launch %s: %w", id, err)
	}

	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return Checkpoint{}, fmt.Errorf("docker: launch %s: %w", id, errDockerClosed)
	}
	if _, dup := d.containers[id]; dup {
		d.mu.Unlock()
		return Checkpoint{}, fmt.Errorf("docker: launch %s: container already exists", id)
	}
	d.containers[id] = nil
	d.mu.Unlock()

	c, pump, err := d.start(ctx, spec, name, body)
	d.mu.Lock()
	if err != nil || d.closed {
		delete(d.containers, id)
	} else {
		d.containers[id] = c
		d.wg.Add(1)
	}
	closed := d.closed
	d.mu.Unlock()
	if err == nil && closed {
		err = errDockerClosed
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("docker: launch %s: %w", id, err)
	}
	go d.monitor(c, pump)
	d.logger.Info("container launched", "container", id, "name", name, "docker_id", c.dockerID, "image", spec.Docker.Image, "pid", c.pid)
	return c.checkpoint(), nil
}

func (c *dockerContainer) checkpoint() Checkpoint {
	return Checkpoint{ContainerID: c.id, Kind: DockerKind, Version: dockerCheckpointVersion, Pid: c.pid, Data: c.raw}
}

// checkDockerSpec validates the fields Launch needs and makes paths absolute.
func checkDockerSpec(spec *Spec) error {
	switch {
	case spec.ContainerID == "":
		return errors.New("empty container ID")
	case spec.Sandbox == "":
		return errors.New("empty sandbox")
	case spec.RunDir == "":
		return errors.New("empty run dir")
	}
	var err error
	if spec.Sandbox, err = filepath.Abs(spec.Sandbox); err != nil {
		return err
	}
	if spec.RunDir, err = filepath.Abs(spec.RunDir); err != nil {
		return err
	}
	if st, err := os.Stat(spec.Sandbox); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	} else if !st.IsDir() {
		return fmt.Errorf("sandbox %s is not a directory", spec.Sandbox)
	}
	return nil
}

// start does the engine's part of Launch: image, files, create, start. On
// failure it leaves no container and no files of its own in RunDir.
func (d *Docker) start(ctx context.Context, spec Spec, name string, body *dockerCreateBody) (_ *dockerContainer, _ *logPump, err error) {
	image := spec.Docker.Image
	pull := spec.Docker.ForcePull
	if !pull {
		ok, err := d.api.imageExists(ctx, image)
		if err != nil {
			return nil, nil, fmt.Errorf("inspect image %s: %w", image, err)
		}
		pull = !ok
	}
	if pull {
		d.logger.Info("pulling image", "container", spec.ContainerID, "image", image, "force", spec.Docker.ForcePull)
		if err := d.api.pullImage(ctx, image); err != nil {
			return nil, nil, fmt.Errorf("pull image %s: %w", image, err)
		}
	}

	createdRunDir, err := mkdirRunDir(spec.RunDir)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err == nil {
			return
		}
		os.Remove(filepath.Join(spec.RunDir, dockerLogsFile))
		if createdRunDir {
			os.Remove(spec.RunDir)
		}
	}()
	for _, f := range []string{dockerExitFile, dockerLogsFile} {
		if err := os.Remove(filepath.Join(spec.RunDir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
	}
	// The copy of the logs starts at the current ends of stdout and stderr
	// (output is appended to what the sandbox already holds).
	var pos logPosition
	for _, s := range []struct {
		name string
		size *int64
	}{{"stdout", &pos.Stdout.Size}, {"stderr", &pos.Stderr.Size}} {
		f, err := os.OpenFile(filepath.Join(spec.Sandbox, s.name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, err
		}
		st, err := f.Stat()
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		*s.size = st.Size()
	}
	if err := writeLogPosition(spec.RunDir, pos); err != nil {
		return nil, nil, err
	}

	dockerID, err := d.api.create(ctx, name, body)
	if dockerStatus(err) == http.StatusConflict && d.removeStale(ctx, name, spec.ContainerID) {
		dockerID, err = d.api.create(ctx, name, body)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("create container %s: %w", name, err)
	}
	info, err := d.startCreated(ctx, dockerID)
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dockerConnectTimeout)
		defer cancel()
		if rerr := d.api.remove(rctx, dockerID); rerr != nil {
			d.logger.Warn("removing a container that failed to start failed", "name", name, "err", rerr)
		}
		return nil, nil, fmt.Errorf("start container %s: %w", name, err)
	}

	data := dockerData{
		DockerID: dockerID, Name: name, Sandbox: spec.Sandbox, RunDir: spec.RunDir,
		StartedAt: info.State.StartedAt, CreatedRunDir: createdRunDir,
		CPUsLimit:         spec.CPUs,
		MemLimitBytes:     uint64(max(body.HostConfig.Memory, 0)),
		MemSoftLimitBytes: uint64(max(body.HostConfig.MemoryReservation, 0)),
		DiskLimitBytes:    uint64(spec.DiskMB * mib),
	}
	if spec.CPULimit > 0 {
		data.CPUsLimit = spec.CPULimit
	}
	c, err := newDockerContainer(spec.ContainerID, data, info)
	if err != nil {
		return nil, nil, err
	}
	return c, d.newPump(c, pos), nil
}

// startCreated starts a created container and inspects it.
func (d *Docker) startCreated(ctx context.Context, dockerID string) (dockerInspect, error) {
	if err := d.api.start(ctx, dockerID); err != nil {
		return dockerInspect{}, err
	}
	return d.api.inspect(ctx, dockerID)
}

func newDockerContainer(id string, data dockerData, info dockerInspect) (*dockerContainer, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	sig := info.Config.StopSignal
	if sig == "" {
		sig = "SIGTERM"
	}
	return &dockerContainer{
		id:         id,
		dockerID:   data.DockerID,
		data:       data,
		raw:        raw,
		pid:        info.State.Pid,
		stopSignal: sig,
		done:       make(chan struct{}),
	}, nil
}

func (d *Docker) newPump(c *dockerContainer, pos logPosition) *logPump {
	return &logPump{
		api: d.api, dockerID: c.dockerID, sandbox: c.data.Sandbox, runDir: c.data.RunDir,
		logger: d.logger.With("container", c.id), pos: pos,
	}
}

// removeStale removes a stopped container of ours that holds the name a
// launch needs (one that Destroy left for RemoveDelay, or a relaunch of the
// same container ID). It reports whether it removed one.
func (d *Docker) removeStale(ctx context.Context, name, containerID string) bool {
	info, err := d.api.inspect(ctx, name)
	if err != nil || info.State.Running ||
		info.Config.Labels[DockerLabelContainerizer] != DockerKind ||
		info.Config.Labels[DockerLabelContainerID] != containerID {
		return false
	}
	d.mu.Lock()
	for _, c := range d.containers {
		if c != nil && c.dockerID == info.ID {
			d.mu.Unlock()
			return false
		}
	}
	if t, ok := d.removals[info.ID]; ok && t.Stop() {
		delete(d.removals, info.ID)
		d.wg.Done()
	}
	d.mu.Unlock()
	if err := d.api.remove(ctx, info.ID); err != nil {
		return false
	}
	d.logger.Info("removed a stopped container holding the name", "name", name, "docker_id", info.ID)
	return true
}

// mkdirRunDir creates dir (0700) if missing and reports whether it did.
func mkdirRunDir(dir string) (created bool, err error) {
	if _, err := os.Stat(dir); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	return true, nil
}

// Docker is the docker containerizer: it runs Specs with a DockerSpec as
// Docker containers, as Mesos' docker containerizer does (named
// mesos-<ContainerID>, the sandbox mounted at /mnt/mesos/sandbox, Mesos'
// resource, network, volume and command rules; see buildDockerCreate), and
// rejects other Specs with ErrUnsupported.
//
// # Engine API, not the docker CLI
//
// Docker talks to the engine's HTTP API on its unix socket with net/http,
// rather than running the docker CLI as Mesos does or importing the official
// client module:
//   - Mesos runs the CLI for every step and keeps a CLI process attached to
//     each container for its whole life to carry its output (an attached
//     `docker run`, or `docker logs --follow` after recovery); one such
//     process holds ~24 MB RSS (docker 28 CLI, measured), so ~24 GB at the
//     1,000 containers per agent we promise. Here a container costs one
//     goroutine and one streaming connection to the engine.
//   - Answers are structured: exit code, OOMKilled, StartedAt and labels come
//     from JSON, errors carry the engine's message and an HTTP status
//     (404 no such container, 409 conflict) instead of CLI text to parse.
//   - The CLI's stop has whole-second grace periods and no way to resume
//     `docker logs` at a timestamp from a byte-exact position; the API gives
//     both (kill + timer, logs?since=&timestamps=1).
//   - The agent does not depend on a CLI binary of a matching version on
//     the host; the API version is negotiated (1.30 to 1.47).
//   - The official Go client (github.com/docker/docker/client, now
//     github.com/moby/moby/client) pulls in dozens of modules (containerd,
//     opencontainers, otel, grpc…) for the dozen endpoints used here.
//
// # Lifecycle
//
// Launch pulls the image when it is missing (always with ForcePull),
// creates and starts the container and starts a monitor goroutine. The
func (d *Docker) lookup(id string) (*dockerContainer, error) {
	d.mu.Lock()
	c := d.containers[id]
	d.mu.Unlock()
	if c == nil {
		return nil, ErrUnknownContainer
	}
	return c, nil
}

// Wait blocks until the container has stopped and its output has been
// copied into the sandbox, or ctx is done.
func (d *Docker) Wait(ctx context.Context, id string) (Termination, error) {
	c, err := d.lookup(id)
	if err != nil {
		return Termination{}, fmt.Errorf("docker: wait %s: %w", id, err)
	}
	select {
	case <-c.done:
		return c.term, nil
	default:
	}
	select {
	case <-c.done:
		return c.term, nil
	case <-ctx.Done():
		return Termination{}, fmt.Errorf("docker: wait %s: %w", id, ctx.Err())
	case <-d.ctx.Done():
		return Termination{}, fmt.Errorf("docker: wait %s: %w", id, errDockerClosed)
	}
}

// Kill has docker stop's semantics with a precise grace period: it sends the
// container's stop signal (the image's STOPSIGNAL, default SIGTERM) to its
// PID 1, SIGKILL after grace if it still runs (at once when grace <= 0),
// and returns once the container has stopped and its output is copied (Wait
// then returns at once, with Killed set). Killing the PID 1 ends every
// process of the container. On an ended container Kill changes nothing.
func (d *Docker) Kill(ctx context.Context, id string, grace time.Duration) error {
	c, err := d.lookup(id)
	if err != nil {
		return fmt.Errorf("docker: kill %s: %w", id, err)
	}
	if err := d.kill(ctx, c, grace); err != nil {
		return fmt.Errorf("docker: kill %s: %w", id, err)
	}
	return nil
}

func (d *Docker) kill(ctx context.Context, c *dockerContainer, grace time.Duration) error {
	c.mu.Lock()
	if c.ended() {
		c.mu.Unlock()
		return nil
	}
	c.killed = true
	c.mu.Unlock()
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		if !d.awaitSignalReady(ctx, c, t.C) {
			if err := d.api.kill(ctx, c.dockerID, c.stopSignal); err != nil && !isDockerNotFound(err) {
				return err
			}
			select {
			case <-c.done:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			case <-d.ctx.Done():
				return errDockerClosed
			case <-t.C:
			}
		}
	}
	if err := d.api.kill(ctx, c.dockerID, "SIGKILL"); err != nil && !isDockerNotFound(err) {
		return err
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-d.ctx.Done():
		return errDockerClosed
	}
}

// awaitSignalReady waits (at most dockerSignalReadyWait, and not past
// expired) until the container's PID 1 can receive its stop signal, so
// that a Kill right after Launch does not send it into the void while the
// init is still starting (see pid1SignalReady). It reports whether grace
// expired meanwhile (it has then received from expired).
func (d *Docker) awaitSignalReady(ctx context.Context, c *dockerContainer, expired <-chan time.Time) bool {
	if c.pid <= 0 {
		return false
	}
	deadline := time.NewTimer(dockerSignalReadyWait)
	defer deadline.Stop()
	for {
		if ready, known := pid1SignalReady(c.pid, c.dockerID, c.stopSignal); ready || !known {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-c.done:
			return false
		case <-expired:
			return true
		case <-deadline.C:
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Usage samples the container's cgroup through the engine's stats: CPU
// times and CFS throttling, resident memory (rss, or anon on cgroup v2),
// all memory charged and its page cache part, and the number of processes;
// the limits are those Launch applied. Threads and disk use are not
// measured. An ended container yields a zero sample.
func (d *Docker) Usage(ctx context.Context, id string) (Usage, error) {
	c, err := d.lookup(id)
	if err != nil {
		return Usage{}, fmt.Errorf("docker: usage %s: %w", id, err)
	}
	if c.ended() {
		return Usage{Timestamp: time.Now()}, nil
	}
	st, err := d.api.stats(ctx, c.dockerID)
	if isDockerNotFound(err) {
		return Usage{Timestamp: time.Now()}, nil
	}
	if err != nil {
		return Usage{}, fmt.Errorf("docker: usage %s: %w", id, err)
	}
	ms := st.MemoryStats.Stats
	thr := st.CPUStats.ThrottlingData
	u := Usage{
		CPUsUserTimeSecs:      float64(st.CPUStats.CPUUsage.UsageInUsermode) / 1e9,
		CPUsSystemTimeSecs:    float64(st.CPUStats.CPUUsage.UsageInKernelmode) / 1e9,
		Processes:             int(st.PidsStats.Current),
		Timestamp:             time.Now(),
		CPUsLimit:             c.data.CPUsLimit,
		CPUsNrPeriods:         thr.Periods,
		CPUsNrThrottled:       thr.ThrottledPeriods,
		CPUsThrottledTimeSecs: float64(thr.ThrottledTime) / 1e9,
		MemLimitBytes:         c.data.MemLimitBytes,
		MemSoftLimitBytes:     c.data.MemSoftLimitBytes,
		MemTotalBytes:         st.MemoryStats.Usage,
		MemCacheBytes:         max(ms["total_cache"], ms["cache"], ms["file"]),
		DiskLimitBytes:        c.data.DiskLimitBytes,
	}
	switch {
	case ms["total_rss"] > 0: // cgroup v1, hierarchical
		u.MemRSSBytes = ms["total_rss"]
	case ms["rss"] > 0:
		u.MemRSSBytes = ms["rss"]
	case ms["anon"] > 0: // cgroup v2
		u.MemRSSBytes = ms["anon"]
	case st.MemoryStats.Usage > ms["cache"]:
		u.MemRSSBytes = st.MemoryStats.Usage - ms["cache"]
	}
	return u, nil
}

// Destroy kills whatever is left of the container (without grace), forgets
// it, removes its files in RunDir and removes the container from the engine,
// at once or RemoveDelay later. When ctx ends before the container has
// stopped, the container is kept and the error returned.
func (d *Docker) Destroy(ctx context.Context, id string) error {
	c, err := d.lookup(id)
	if err != nil {
		return fmt.Errorf("docker: destroy %s: %w", id, err)
	}
	if err := d.kill(ctx, c, 0); err != nil {
		return fmt.Errorf("docker: destroy %s: %w", id, err)
	}
	d.mu.Lock()
	mine := d.containers[id] == c
	if mine {
		delete(d.containers, id)
	}
	d.mu.Unlock()
	if !mine {
		return fmt.Errorf("docker: destroy %s: %w", id, ErrUnknownContainer) // destroyed concurrently
	}
	var errs []error
	if d.cfg.RemoveDelay > 0 {
		d.scheduleRemoval(c.dockerID, d.cfg.RemoveDelay)
	} else if err := d.api.remove(ctx, c.dockerID); err != nil {
		errs = append(errs, fmt.Errorf("remove container %s: %w", c.data.Name, err))
	}
	for _, name := range []string{dockerExitFile, dockerLogsFile, dockerLogsFile + ".tmp", dockerExitFile + ".tmp"} {
		if err := os.Remove(filepath.Join(c.data.RunDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if c.data.CreatedRunDir {
		// Only when empty: the agent may keep files of its own there.
		if err := os.Remove(c.data.RunDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.logger.Debug("run dir kept", "container", id, "err", err)
		}
	}
	d.logger.Info("container destroyed", "container", id, "remove_delay", d.cfg.RemoveDelay)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("docker: destroy %s: forgotten, but: %w", id, err)
	}
	return nil
}

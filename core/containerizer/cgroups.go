//go:build linux

package containerizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Cgroups is the cgroups containerizer: the posix containerizer's process
// handling (wrapper, exit status, kill with grace, recovery) with every
// container in a cgroup of its own, created before the command starts,
// which limits CPU and memory, reports an OOM kill as a limitation, lists
// every process of the container for Kill (also those that left the
// session) and is removed when the container ends. See the package doc.
//
// Linux only, and it needs permission to create cgroups (root). Create it
// with NewCgroups; it is safe for concurrent use.
type Cgroups struct {
	cfg    CgroupsConfig
	iso    isolation
	logger *slog.Logger
	posix  *Posix
	// version is the cgroups version (1 or 2).
	version int
	// bases maps each controller a container's cgroup is created in to the
	// directory of the hierarchy (<mount>/<Hierarchy>); on v2 there is one,
	// keyed "".
	bases map[string]string
	// track is the key in bases whose cgroup.procs lists a container's
	// processes (v1: freezer when mounted).
	track string
}

var _ Containerizer = (*Cgroups)(nil)

// NewCgroups checks the host's cgroups against cfg, creates the hierarchy
// cgroup (on v2 also enabling the controllers in cgroup.subtree_control
// from the root down) and returns the containerizer. A nil logger discards
// logs. When the host lacks a controller the isolation needs, or cgroups
// cannot be created, the error matches ErrCgroupsUnavailable; an unknown
// isolator matches ErrUnknownIsolator.
func NewCgroups(cfg CgroupsConfig, logger *slog.Logger) (*Cgroups, error) {
	cfg, iso, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	info, err := DetectCgroups(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	if !info.Writable {
		return nil, fmt.Errorf("cgroups: cannot create cgroups under %s (not root, or mounted read-only): %w", cfg.Root, ErrCgroupsUnavailable)
	}
	g := &Cgroups{
		cfg:     cfg,
		iso:     iso,
		logger:  logger.With("containerizer", CgroupsKind),
		posix:   newPosix(logger, CgroupsKind),
		version: info.Version,
		bases:   make(map[string]string),
	}
	var need []string
	if iso.cpu {
		need = append(need, "cpu")
	}
	if iso.mem {
		need = append(need, "memory")
	}
	for _, c := range need {
		if _, ok := info.Mounts[c]; !ok {
			return nil, fmt.Errorf("cgroups: the %s controller is not available under %s: %w", c, cfg.Root, ErrCgroupsUnavailable)
		}
	}
	if info.Version == 2 {
		base, err := setupUnified(cfg.Root, cfg.Hierarchy, need)
		if err != nil {
			return nil, fmt.Errorf("cgroups: %w: %w", ErrCgroupsUnavailable, err)
		}
		g.bases[""] = base
		g.track = ""
	} else {
		// Processes are tracked in the freezer hierarchy (as Mesos' linux
		// launcher does), which also lets Kill freeze them.
		for _, c := range []string{"freezer", "pids", "cpuacct", "cpu", "memory"} {
			if _, ok := info.Mounts[c]; ok {
				g.track = c
				break
			}
		}
		if g.track == "" {
			return nil, fmt.Errorf("cgroups: no freezer, pids, cpu or memory hierarchy under %s: %w", cfg.Root, ErrCgroupsUnavailable)
		}
		use := append([]string{g.track}, need...)
		if _, ok := info.Mounts["cpuacct"]; ok && iso.cpu {
			use = append(use, "cpuacct")
		}
		for _, c := range use {
			base := filepath.Join(info.Mounts[c], cfg.Hierarchy)
			if err := os.MkdirAll(base, 0o755); err != nil {
				return nil, fmt.Errorf("cgroups: %w: %w", ErrCgroupsUnavailable, err)
			}
			g.bases[c] = base
		}
	}
	g.logger.Info("cgroups containerizer ready", "version", g.version, "isolation", strings.Join(cfg.Isolation, ","),
		"hierarchy", cfg.Hierarchy, "cfs", cfg.EnableCFS)
	return g, nil
}

// setupUnified creates <root>/<hierarchy> on cgroups v2 and enables the
// controllers (and pids, when available) for the cgroups below it.
func setupUnified(root, hierarchy string, controllers []string) (string, error) {
	dir := root
	levels := strings.Split(hierarchy, "/")
	for i := 0; i <= len(levels); i++ {
		for _, c := range append(slices.Clone(controllers), "pids") {
			err := writeCgroupFile(filepath.Join(dir, "cgroup.subtree_control"), "+"+c)
			if err != nil && c != "pids" {
				return "", err
			}
		}
		if i == len(levels) {
			break
		}
		dir = filepath.Join(dir, levels[i])
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return dir, nil
}

// Kind returns "cgroups".
func (g *Cgroups) Kind() string { return CgroupsKind }

// cgroupsData is the JSON in Checkpoint.Data of a cgroups container.
type cgroupsData struct {
	// Posix is the posix containerizer's data for the wrapper.
	Posix json.RawMessage `json:"posix"`
	// Version is the cgroups version, 1 or 2.
	Version int `json:"cgroups_version"`
	// Dirs maps each controller (v2: "") to the container's cgroup
	// directory in its hierarchy; Track names the one listing processes.
	Dirs  map[string]string `json:"dirs"`
	Track string            `json:"track"`
	// Sandbox is measured by disk/du.
	Sandbox      string        `json:"sandbox,omitempty"`
	PidNamespace bool          `json:"pid_namespace,omitempty"`
	Limits       cgroupsLimits `json:"limits"`
}

// cgroupsLimits are the limits applied to one container.
type cgroupsLimits struct {
	CPUs         float64 `json:"cpus,omitempty"` // the limit, or the request without one
	CPUShares    uint64  `json:"cpu_shares,omitempty"`
	CFSQuotaUs   int64   `json:"cfs_quota_us,omitempty"` // 0: none
	MemSoftBytes uint64  `json:"mem_soft_bytes,omitempty"`
	MemHardBytes uint64  `json:"mem_hard_bytes,omitempty"`
	DiskBytes    uint64  `json:"disk_bytes,omitempty"`
}

// limits computes a container's limits as Mesos does.
func (g *Cgroups) limits(spec Spec) cgroupsLimits {
	var l cgroupsLimits
	l.CPUs = spec.CPUs
	if spec.CPULimit > 0 {
		l.CPUs = spec.CPULimit
	}
	if g.iso.cpu {
		l.CPUShares = cpuShares(spec.CPUs)
		if spec.CPULimit > 0 || g.cfg.EnableCFS {
			l.CFSQuotaUs = cfsQuotaUs(l.CPUs)
		}
	}
	if g.iso.mem {
		l.MemSoftBytes = max(uint64(spec.MemMB*(1<<20)), minMemoryBytes)
		hard := spec.MemMB
		if spec.MemLimitMB > 0 {
			hard = spec.MemLimitMB
		}
		l.MemHardBytes = max(uint64(hard*(1<<20)), minMemoryBytes)
	}
	if spec.DiskMB > 0 {
		l.DiskBytes = uint64(spec.DiskMB * (1 << 20))
	}
	return l
}

// Launch creates the container's cgroup, applies its limits, starts the
// wrapper, moves it into the cgroup while it waits at its gate and only then
// lets it start the command. See Posix.Launch for Spec handling. The
// container ID must be usable as a directory name.
func (g *Cgroups) Launch(ctx context.Context, spec Spec) (Checkpoint, error) {
	id := spec.ContainerID
	if id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return Checkpoint{}, fmt.Errorf("cgroups: launch %q: container ID is not a valid cgroup name", id)
	}
	var x *cgroupsExt
	c, err := g.posix.launch(ctx, spec, launchOptions{
		prepare: func(spec Spec) (posixExt, error) {
			var err error
			if x, err = g.prepare(spec); err != nil {
				return nil, err
			}
			return x, nil
		},
		pidNamespace: g.iso.pidNamespace,
	})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("cgroups: launch %s: %w", id, err)
	}
	x.d.Posix = c.data
	data, err := json.Marshal(x.d)
	if err != nil {
		_ = g.posix.destroy(context.Background(), id)
		return Checkpoint{}, fmt.Errorf("cgroups: launch %s: encode checkpoint: %w", id, err)
	}
	x.start(g.limitationKill(c))
	return Checkpoint{ContainerID: id, Kind: CgroupsKind, Version: cgroupsCheckpointVersion, Pid: c.pid, Data: data}, nil
}

// prepare creates the container's cgroup with its limits.
func (g *Cgroups) prepare(spec Spec) (*cgroupsExt, error) {
	d := cgroupsData{
		Version:      g.version,
		Dirs:         make(map[string]string, len(g.bases)),
		Track:        g.track,
		PidNamespace: g.iso.pidNamespace,
		Limits:       g.limits(spec),
	}
	if g.iso.disk {
		d.Sandbox = spec.Sandbox
	}
	for c, base := range g.bases {
		d.Dirs[c] = filepath.Join(base, spec.ContainerID)
	}
	x := g.newExt(spec.ContainerID, d)
	if err := x.cg.create(); err != nil {
		return nil, err
	}
	err := func() error {
		if g.iso.cpu {
			if err := x.cg.setCPU(d.Limits.CPUShares, d.Limits.CFSQuotaUs); err != nil {
				return err
			}
		}
		if g.iso.mem {
			return x.cg.setMemory(d.Limits.MemSoftBytes, d.Limits.MemHardBytes)
		}
		return nil
	}()
	if err != nil {
		x.abort()
		return nil, err
	}
	return x, nil
}

// limitationKill returns how a watcher of c ends it for a limitation: at
// once, without marking the Termination as Killed.
func (g *Cgroups) limitationKill(c *posixContainer) func() {
	return func() {
		if err := g.posix.kill(context.Background(), c, 0, false); err != nil {
			g.logger.Error("killing a container over its limit failed", "container", c.id, "err", err)
		}
	}
}

// Wait blocks until the container ends or ctx is done. A container ended by
// a limitation has Termination.Limitation set ("memory" or "disk") and Mesos'
// message for it.
func (g *Cgroups) Wait(ctx context.Context, id string) (Termination, error) {
	term, err := g.posix.wait(ctx, id)
	if err != nil {
		return Termination{}, fmt.Errorf("cgroups: wait %s: %w", id, err)
	}
	return term, nil
}

// Kill works as Posix.Kill, except that the container's processes are those
// in its cgroup (so none escapes, whatever session it is in) and that
// SIGKILL goes to all of them at once (cgroup.kill, or while frozen). The
// cgroup is removed before Kill returns.
func (g *Cgroups) Kill(ctx context.Context, id string, grace time.Duration) error {
	c, err := g.posix.lookup(id)
	if err != nil {
		return fmt.Errorf("cgroups: kill %s: %w", id, err)
	}
	if err := g.posix.kill(ctx, c, grace, true); err != nil {
		return fmt.Errorf("cgroups: kill %s: %w", id, err)
	}
	return nil
}

// Destroy kills whatever is left of the container, forgets it and removes
// its RunDir files, as Posix.Destroy does.
func (g *Cgroups) Destroy(ctx context.Context, id string) error {
	if err := g.posix.destroy(ctx, id); err != nil {
		return fmt.Errorf("cgroups: destroy %s: %w", id, err)
	}
	return nil
}

// Usage samples the container from its cgroup: CPU times (cpuacct.stat,
// cpu.stat), throttling, memory (usage, rss, cache), processes and threads,
// the limits applied, and the last disk/du measurement. Where a controller
// is not used, CPU times and RSS are summed from /proc as posix does. A
// container whose cgroup is gone (it ended) yields a sample without usage.
func (g *Cgroups) Usage(ctx context.Context, id string) (Usage, error) {
	c, err := g.posix.lookup(id)
	if err != nil {
		return Usage{}, fmt.Errorf("cgroups: usage %s: %w", id, err)
	}
	if err := ctx.Err(); err != nil {
		return Usage{}, fmt.Errorf("cgroups: usage %s: %w", id, err)
	}
	u, err := g.posix.usage(c)
	if err != nil {
		return Usage{}, fmt.Errorf("cgroups: usage %s: %w", id, err)
	}
	if x, ok := c.ext.(*cgroupsExt); ok {
		x.usage(&u)
	}
	return u, nil
}

// Recover re-attaches to the containers of cgroups checkpoints (and of
// posix ones, which are then handled as posix handles them, without a
// cgroup), as Posix.Recover does: a running container keeps its cgroup and
// is watched again; one that ended meanwhile is reported by Wait, with a
// memory limitation if the OOM killer struck, and its cgroup is removed.
// Afterwards every cgroup under the hierarchy that belongs to no known
// container is destroyed: its processes are killed and it is removed. So
// the agent calls Recover once with all its checkpoints, also when it has
// none. Recover is idempotent; errors about single checkpoints are joined.
func (g *Cgroups) Recover(ctx context.Context, checkpoints []Checkpoint) error {
	var errs []error
	for _, cp := range checkpoints {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := g.recoverOne(cp); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", cp.ContainerID, err))
		}
	}
	if err := ctx.Err(); err == nil {
		if err := g.removeOrphans(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cgroups: recover: %w", err)
	}
	return nil
}

func (g *Cgroups) recoverOne(cp Checkpoint) error {
	switch {
	case cp.Kind == PosixKind:
		return g.posix.recoverOne(cp)
	case cp.Kind != CgroupsKind:
		return fmt.Errorf("checkpoint kind %q, want %q or %q", cp.Kind, CgroupsKind, PosixKind)
	case cp.Version != cgroupsCheckpointVersion:
		return fmt.Errorf("checkpoint version %d, want %d", cp.Version, cgroupsCheckpointVersion)
	}
	var d cgroupsData
	if err := json.Unmarshal(cp.Data, &d); err != nil {
		return fmt.Errorf("decode checkpoint data: %w", err)
	}
	if _, ok := d.Dirs[d.Track]; !ok || (d.Version != 1 && d.Version != 2) {
		return errors.New("checkpoint without a cgroup")
	}
	var x *cgroupsExt
	pcp := Checkpoint{ContainerID: cp.ContainerID, Kind: PosixKind, Version: posixCheckpointVersion, Pid: cp.Pid, Data: d.Posix}
	recovered, err := g.posix.recoverContainer(pcp, func() posixExt {
		x = g.newExt(cp.ContainerID, d)
		if !x.cg.exists() {
			// Not in a cgroup any more (removed by hand?): posix tracking
			// is better than none.
			g.logger.Warn("recovered container has no cgroup; tracking it as posix does", "container", cp.ContainerID)
			x = nil
			return nil
		}
		return x
	})
	if err != nil || !recovered || x == nil {
		return err
	}
	c, err := g.posix.lookup(cp.ContainerID)
	if err != nil {
		return nil // destroyed meanwhile
	}
	x.start(g.limitationKill(c))
	return nil
}

// removeOrphans destroys the cgroups under the hierarchy that belong to no
// known container: ones left by containers an earlier agent launched but
// never checkpointed, or whose checkpoints were lost.
func (g *Cgroups) removeOrphans() error {
	names := make(map[string]bool)
	for _, base := range g.bases {
		entries, err := os.ReadDir(base)
		if err != nil {
			return fmt.Errorf("list cgroups: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				names[e.Name()] = true
			}
		}
	}
	var errs []error
	for name := range names {
		g.posix.mu.Lock()
		_, known := g.posix.containers[name]
		g.posix.mu.Unlock()
		if known {
			continue
		}
		dirs := make(map[string]string)
		nested := false
		for c, base := range g.bases {
			entries, err := os.ReadDir(filepath.Join(base, name))
			if err != nil {
				continue
			}
			dirs[c] = filepath.Join(base, name)
			for _, e := range entries {
				nested = nested || e.IsDir()
			}
		}
		if nested {
			// A container's cgroup has no children: this is the hierarchy
			// of another Cgroups nested in ours (a configuration error).
			g.logger.Warn("not destroying a cgroup with child cgroups under the hierarchy", "cgroup", name)
			continue
		}
		track := g.track
		if _, ok := dirs[track]; !ok {
			for c := range dirs {
				track = c
				break
			}
		}
		cg := newCgroup(g.version, dirs, track)
		pids, _ := cg.pids()
		g.logger.Warn("destroying orphan cgroup", "container", name, "processes", len(pids))
		if err := cg.remove(); err != nil {
			errs = append(errs, fmt.Errorf("orphan %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

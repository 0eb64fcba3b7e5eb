package containerizer

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// CgroupsKind is the Kind of the cgroups containerizer and its checkpoints.
const CgroupsKind = "cgroups"

// DefaultCgroupsRoot is where cgroup hierarchies are mounted on a
// conventional Linux host.
const DefaultCgroupsRoot = "/sys/fs/cgroup"

// ErrCgroupsUnavailable is returned (wrapped) by DetectCgroups and NewCgroups
// when the host has no usable cgroups for the isolation asked for: none
// mounted under the root, a needed controller missing, or no permission to
// create cgroups.
var ErrCgroupsUnavailable = errors.New("containerizer: cgroups unavailable")

const (
	// cgroupsCheckpointVersion is the format version of cgroups
	// Checkpoint.Data (cgroupsData).
	cgroupsCheckpointVersion = 1

	// minMemoryBytes is Mesos' smallest memory limit (32 MB).
	minMemoryBytes = 32 << 20

	// defaultDiskWatchInterval is Mesos' --container_disk_watch_interval.
	defaultDiskWatchInterval = 15 * time.Second

	// defaultHierarchy is where a Cgroups puts its cgroups by default.
	defaultHierarchy = "strata"
)

// CgroupsConfig configures NewCgroups. The zero value is valid: cgroups/cpu
// and cgroups/mem under /sys/fs/cgroup/<controller>/strata (v1) or
// /sys/fs/cgroup/strata (v2).
type CgroupsConfig struct {
	// Root is where the cgroup hierarchies are mounted; "" means
	// DefaultCgroupsRoot.
	Root string
	// Hierarchy is the cgroup, relative to each hierarchy's root, under
	// which every container gets a cgroup named after its ID; "" means
	// "strata". It may be nested ("strata/agent1"). It belongs to this
	// Cgroups: Recover destroys any cgroup in it that no container holds.
	Hierarchy string
	// Isolation lists the isolators (see ParseIsolation); empty means
	// cgroups/cpu,cgroups/mem. posix/cpu and posix/mem are accepted and
	// leave the resource unlimited (Usage then reads /proc).
	Isolation []string
	// EnableCFS sets a CFS quota from the CPU request for every container
	// (Mesos' --cgroups_enable_cfs). A Spec.CPULimit sets one regardless.
	EnableCFS bool
	// DiskWatchInterval is how often disk/du measures each sandbox; 0 means
	// 15 s (Mesos' --container_disk_watch_interval).
	DiskWatchInterval time.Duration
	// EnforceDiskQuota makes disk/du kill a container whose sandbox grows
	// beyond Spec.DiskMB (Termination.Limitation "disk"); without it disk/du
	// only measures (Usage.DiskUsedBytes). Mesos'
	// --enforce_container_disk_quota; agents set it when disk/du is on.
	EnforceDiskQuota bool
}

// isolation is a validated list of isolators.
type isolation struct {
	cpu, mem, disk, pidNamespace bool
}

// withDefaults returns cfg with defaults filled in, validated, and its
// isolation decoded.
func (cfg CgroupsConfig) withDefaults() (CgroupsConfig, isolation, error) {
	if cfg.Root == "" {
		cfg.Root = DefaultCgroupsRoot
	}
	cfg.Root = filepath.Clean(cfg.Root)
	if cfg.Hierarchy == "" {
		cfg.Hierarchy = defaultHierarchy
	}
	h := filepath.Clean(cfg.Hierarchy)
	if filepath.IsAbs(h) || h == "." || h == ".." || strings.HasPrefix(h, "../") {
		return cfg, isolation{}, fmt.Errorf("hierarchy %q must be a relative path below the cgroup root", cfg.Hierarchy)
	}
	cfg.Hierarchy = h
	if len(cfg.Isolation) == 0 {
		cfg.Isolation = []string{IsolatorCgroupsCPU, IsolatorCgroupsMem}
	}
	names, err := normalizeIsolation(cfg.Isolation)
	if err != nil {
		return cfg, isolation{}, err
	}
	cfg.Isolation = names
	if cfg.DiskWatchInterval < 0 {
		return cfg, isolation{}, fmt.Errorf("negative disk watch interval %v", cfg.DiskWatchInterval)
	}
	if cfg.DiskWatchInterval == 0 {
		cfg.DiskWatchInterval = defaultDiskWatchInterval
	}
	return cfg, isolation{
		cpu:          slices.Contains(names, IsolatorCgroupsCPU),
		mem:          slices.Contains(names, IsolatorCgroupsMem),
		disk:         slices.Contains(names, IsolatorDiskDu),
		pidNamespace: slices.Contains(names, IsolatorNamespacesPID),
	}, nil
}

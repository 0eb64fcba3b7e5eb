package containerizer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Isolator names, as Mesos' --isolation flag spells them.
const (
	// IsolatorPosixCPU and IsolatorPosixMem isolate nothing; Usage samples
	// the container's processes from /proc. They are Mesos' default.
	IsolatorPosixCPU = "posix/cpu"
	IsolatorPosixMem = "posix/mem"
	// IsolatorCgroupsCPU sets cpu.shares (cpu.weight on cgroups v2) and, with
	// CFS enabled or a CPU limit, a CFS quota; Usage reads cpuacct / cpu.stat.
	IsolatorCgroupsCPU = "cgroups/cpu"
	// IsolatorCgroupsMem sets the memory limit and soft limit and reports an
	// OOM kill as a "memory" limitation.
	IsolatorCgroupsMem = "cgroups/mem"
	// IsolatorCgroupsAll stands for every cgroups isolator Strata has
	// (cgroups/cpu and cgroups/mem); ParseIsolation expands it.
	IsolatorCgroupsAll = "cgroups/all"
	// IsolatorDiskDu measures the sandbox periodically and, when enforced,
	// kills a container that uses more than its disk.
	IsolatorDiskDu = "disk/du"
	// IsolatorNamespacesPID runs the container in a PID namespace of its own
	// with a private /proc.
	IsolatorNamespacesPID = "namespaces/pid"
	// IsolatorFilesystemPosix is Mesos' default filesystem isolator: the
	// sandbox is a plain directory of the host. It changes nothing.
	IsolatorFilesystemPosix = "filesystem/posix"
)

// ErrUnknownIsolator is returned (wrapped) by ParseIsolation and NewCgroups
// for an isolator name Strata does not implement.
var ErrUnknownIsolator = errors.New("containerizer: unknown isolator")

// validIsolators lists the names ParseIsolation accepts, in the order its
// error message gives them.
func validIsolators() []string {
	return []string{
		IsolatorPosixCPU, IsolatorPosixMem,
		IsolatorCgroupsCPU, IsolatorCgroupsMem, IsolatorCgroupsAll,
		IsolatorDiskDu, IsolatorNamespacesPID, IsolatorFilesystemPosix,
	}
}

// ParseIsolation parses the value of an --isolation flag: isolator names
// separated by commas, spaces around names and empty names ignored. It
// returns the names in the order given without duplicates, with cgroups/all
// expanded to cgroups/cpu,cgroups/mem. An empty value yields an empty list
// (the caller then uses DefaultIsolation). An unknown name is an error
// (matching ErrUnknownIsolator) that lists the valid ones; so is asking for
// both the posix and the cgroups variant of cpu or mem.
func ParseIsolation(s string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return normalizeIsolation(names)
}

// normalizeIsolation checks and expands a list of isolator names as
// ParseIsolation does.
func normalizeIsolation(names []string) ([]string, error) {
	out := []string{}
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, n := range names {
		switch {
		case n == IsolatorCgroupsAll:
			add(IsolatorCgroupsCPU)
			add(IsolatorCgroupsMem)
		case slices.Contains(validIsolators(), n):
			add(n)
		default:
			return nil, fmt.Errorf("%w %q (valid: %s)", ErrUnknownIsolator, n, strings.Join(validIsolators(), ", "))
		}
	}
	for _, pair := range [][2]string{{IsolatorPosixCPU, IsolatorCgroupsCPU}, {IsolatorPosixMem, IsolatorCgroupsMem}} {
		if slices.Contains(out, pair[0]) && slices.Contains(out, pair[1]) {
			return nil, fmt.Errorf("containerizer: isolators %s and %s exclude each other", pair[0], pair[1])
		}
	}
	return out, nil
}

// DefaultIsolation returns the isolation an agent uses when none is
// configured: cgroups/cpu,cgroups/mem when the host has writable cpu and
// memory controllers, else posix/cpu,posix/mem (Mesos' default).
func DefaultIsolation(info CgroupsInfo) []string {
	if info.Writable && slices.Contains(info.Controllers, "cpu") && slices.Contains(info.Controllers, "memory") {
		return []string{IsolatorCgroupsCPU, IsolatorCgroupsMem}
	}
	return []string{IsolatorPosixCPU, IsolatorPosixMem}
}

// IsolationNeedsCgroups reports whether an isolation (as ParseIsolation
// returns it) needs the cgroups containerizer (NewCgroups): anything beyond
// posix/cpu, posix/mem and filesystem/posix, which the posix containerizer
// covers.
func IsolationNeedsCgroups(isolation []string) bool {
	for _, n := range isolation {
		switch n {
		case IsolatorPosixCPU, IsolatorPosixMem, IsolatorFilesystemPosix:
		default:
			return true
		}
	}
	return false
}

// CgroupsInfo describes the cgroups of a host (DetectCgroups).
type CgroupsInfo struct {
	// Version is 1 (legacy or hybrid: controllers on cgroup v1 mounts) or 2
	// (unified).
	Version int
	// Controllers are the controllers available, sorted (v1: mounted under
	// the root; v2: listed in the root's cgroup.controllers).
	Controllers []string
	// Writable is true when this process may create cgroups (it usually
	// has to be root): v2, the root and its cgroup.subtree_control are
	// writable; v1, the hierarchies Strata uses (cpu, cpuacct, memory,
	// freezer, pids), where mounted, are mounted read-write and writable.
	Writable bool
	// Mounts maps each controller to the directory of its hierarchy's root
	// (v2: the root for all controllers).
	Mounts map[string]string
}

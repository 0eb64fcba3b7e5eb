//go:build linux

package containerizer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DetectCgroups describes the cgroups mounted under root ("" means
// DefaultCgroupsRoot), as /proc/self/mountinfo lists them. A unified (v2)
// hierarchy mounted at root is version 2; v1 hierarchies mounted below root
// are version 1 (also on hybrid hosts, whose v2 mount holds no controller
// Strata uses). With neither, the error matches ErrCgroupsUnavailable.
func DetectCgroups(root string) (CgroupsInfo, error) {
	if root == "" {
		root = DefaultCgroupsRoot
	}
	root = filepath.Clean(root)
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return CgroupsInfo{}, fmt.Errorf("detect cgroups: %w", err)
	}
	version, mounts := parseCgroupMounts(mountinfo, root)
	info := CgroupsInfo{Version: version, Mounts: mounts}
	switch version {
	case 2:
		b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		if err != nil {
			return CgroupsInfo{}, fmt.Errorf("detect cgroups: %w", err)
		}
		info.Mounts = make(map[string]string)
		for _, c := range strings.Fields(string(b)) {
			info.Mounts[c] = root
		}
		info.Writable = writable(root) && writable(filepath.Join(root, "cgroup.subtree_control"))
	case 1:
		info.Writable = true
		for c, dir := range mounts {
			if slices.Contains(usedControllers(), c) && !writable(dir) {
				info.Writable = false
			}
		}
	default:
		return CgroupsInfo{}, fmt.Errorf("detect cgroups: no cgroup hierarchy mounted at or under %s: %w", root, ErrCgroupsUnavailable)
	}
	for c := range info.Mounts {
		info.Controllers = append(info.Controllers, c)
	}
	slices.Sort(info.Controllers)
	return info, nil
}

// writable reports whether this process may write path (access(2) also
// fails on a read-only mount).
func writable(path string) bool {
	return unix.Access(path, unix.W_OK) == nil
}

// usedControllers are the v1 controllers a Cgroups may create cgroups in.
func usedControllers() []string {
	return []string{"cpu", "cpuacct", "freezer", "memory", "pids"}
}

// v1Controllers are the controllers a cgroup v1 mount's super options may
// name; other options (rw, name=systemd, clone_children...) are not.
func v1Controllers() []string {
	return []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb",
		"memory", "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma"}
}

// parseCgroupMounts reads /proc/self/mountinfo (proc(5)) and returns version
// 2 when a cgroup2 file system is mounted at root, else version 1 with the
// directory of every v1 controller mounted at or below root (the first mount
// wins), else version 0. mounts is nil for version 2.
func parseCgroupMounts(mountinfo []byte, root string) (version int, mounts map[string]string) {
	mounts = make(map[string]string)
	for _, line := range strings.Split(string(mountinfo), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		point := unescapeMountinfo(f[4])
		switch g[0] {
		case "cgroup2":
			if point == root {
				return 2, nil
			}
		case "cgroup":
			if point != root && !strings.HasPrefix(point, root+"/") {
				continue
			}
			for _, opt := range strings.Split(g[2], ",") {
				if slices.Contains(v1Controllers(), opt) {
					if _, seen := mounts[opt]; !seen {
						mounts[opt] = point
					}
				}
			}
		}
	}
	if len(mounts) == 0 {
		return 0, nil
	}
	return 1, mounts
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of a path in
// /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

//go:build linux

package containerizer

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCgroupMounts(t *testing.T) {
	hybrid := `22 1 0:20 / /sys rw,nosuid - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime shared:9 - cgroup cgroup rw,freezer
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 31 0:35 / /other/memory rw,relatime - cgroup cgroup rw,memory
51 31 0:35 / /sys/fs/cgroup/mem\040ory rw,relatime - cgroup cgroup rw,pids
`
	v, mounts := parseCgroupMounts([]byte(hybrid), "/sys/fs/cgroup")
	want := map[string]string{
		"cpu":     "/sys/fs/cgroup/cpu,cpuacct",
		"cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
		"memory":  "/sys/fs/cgroup/memory",
		"freezer": "/sys/fs/cgroup/freezer",
		"pids":    "/sys/fs/cgroup/mem ory",
	}
	if v != 1 || !maps.Equal(mounts, want) {
		t.Errorf("hybrid: version %d, mounts %v; want 1, %v", v, mounts, want)
	}

	unified := "25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
	if v, _ := parseCgroupMounts([]byte(unified), "/sys/fs/cgroup"); v != 2 {
		t.Errorf("unified: version %d, want 2", v)
	}
	if v, _ := parseCgroupMounts([]byte(unified), "/elsewhere"); v != 0 {
		t.Errorf("nothing under the root: version %d, want 0", v)
	}
}

func TestCgroupsArithmetic(t *testing.T) {
	for _, tc := range []struct {
		cpus   float64
		shares uint64
		quota  int64
	}{
		{0, 2, 1000},
		{0.001, 2, 1000},
		{0.5, 512, 50000},
		{1, 1024, 100000},
		{2.5, 2560, 250000},
	} {
		if got := cpuShares(tc.cpus); got != tc.shares {
			t.Errorf("cpuShares(%v) = %d, want %d", tc.cpus, got, tc.shares)
		}
		if got := cfsQuotaUs(tc.cpus); got != tc.quota {
			t.Errorf("cfsQuotaUs(%v) = %d, want %d", tc.cpus, got, tc.quota)
		}
	}
	for shares, weight := range map[uint64]uint64{2: 1, 512: 20, 1024: 39, 262144: 10000, 1 << 20: 10000} {
		if got := cpuWeight(shares); got != weight {
			t.Errorf("cpuWeight(%d) = %d, want %d", shares, got, weight)
		}
	}
	for n, want := range map[uint64]string{0: "0B", 1000: "1000B", 1024: "1KB", 65540 * 1024: "65540KB",
		64 << 20: "64MB", 3 << 30: "3GB", 1 << 40: "1TB", 1 << 50: "1024TB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCgroupsLimits(t *testing.T) {
	all := &Cgroups{iso: isolation{cpu: true, mem: true}}
	cfs := &Cgroups{iso: isolation{cpu: true, mem: true}, cfg: CgroupsConfig{EnableCFS: true}}
	none := &Cgroups{}
	for _, tc := range []struct {
		name string
		g    *Cgroups
		spec Spec
		want cgroupsLimits
	}{
		{"requests", all, Spec{CPUs: 0.5, MemMB: 64, DiskMB: 10},
			cgroupsLimits{CPUs: 0.5, CPUShares: 512, MemSoftBytes: 64 << 20, MemHardBytes: 64 << 20, DiskBytes: 10 << 20}},
		{"minimums", all, Spec{CPUs: 0.001, MemMB: 4},
			cgroupsLimits{CPUs: 0.001, CPUShares: 2, MemSoftBytes: 32 << 20, MemHardBytes: 32 << 20}},
		{"limits", all, Spec{CPUs: 1, CPULimit: 2, MemMB: 64, MemLimitMB: 128},
			cgroupsLimits{CPUs: 2, CPUShares: 1024, CFSQuotaUs: 200000, MemSoftBytes: 64 << 20, MemHardBytes: 128 << 20}},
		{"cfs", cfs, Spec{CPUs: 1.5, MemMB: 64},
			cgroupsLimits{CPUs: 1.5, CPUShares: 1536, CFSQuotaUs: 150000, MemSoftBytes: 64 << 20, MemHardBytes: 64 << 20}},
		{"no cgroups isolators", none, Spec{CPUs: 1, MemMB: 64},
			cgroupsLimits{CPUs: 1}},
	} {
		if got := tc.g.limits(tc.spec); got != tc.want {
			t.Errorf("%s: limits = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestCgroupV2Files checks the v2 control files written, on a directory
// that stands in for a cgroup (this host may have no v2 controllers).
func TestCgroupV2Files(t *testing.T) {
	dir := t.TempDir()
	files := []string{"cpu.weight", "cpu.max", "memory.max", "memory.low", "memory.oom.group", "cgroup.procs"}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := newCgroup(2, map[string]string{"": dir}, "")
	if err := g.setCPU(512, 50000); err != nil {
		t.Fatal(err)
	}
	if err := g.setMemory(32<<20, 64<<20); err != nil {
		t.Fatal(err)
	}
	if err := g.addProc(1234); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"cpu.weight": "20", "cpu.max": "50000 100000", "memory.max": "67108864",
		"memory.low": "33554432", "memory.oom.group": "1", "cgroup.procs": "1234"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", f, b, err, want)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.events"), []byte("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := g.oomKills(); n != 1 {
		t.Errorf("oomKills = %d, want 1", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.stat"), []byte("anon 1000\nfile 2000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.current"), []byte("3000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cpu.stat"), []byte("usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 500000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var u Usage
	g.cpuUsage(&u)
	g.memoryUsage(&u)
	want := Usage{CPUsUserTimeSecs: 2, CPUsSystemTimeSecs: 1, CPUsNrPeriods: 10, CPUsNrThrottled: 4, CPUsThrottledTimeSecs: 0.5,
		MemTotalBytes: 3000, MemRSSBytes: 1000, MemCacheBytes: 2000}
	if u != want {
		t.Errorf("usage = %+v, want %+v", u, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.peak"), []byte("67108864\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte("67108864\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg := g.memoryLimitMessage(); !strings.HasPrefix(msg, "Memory limit exceeded: Requested: 64MB Maximum Used: 64MB\n\nMEMORY STATISTICS: \nanon 1000\n") {
		t.Errorf("message = %q", msg)
	}
}

func TestDiskUsage(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "b"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A hard link is counted once; a symbolic link is not followed.
	if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "sub", "a-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/usr", filepath.Join(dir, "usr")); err != nil {
		t.Fatal(err)
	}
	got, err := diskUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got < 2<<20 || got > 3<<20 {
		t.Errorf("diskUsage = %d, want about 2 MiB", got)
	}
}

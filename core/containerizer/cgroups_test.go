//go:build linux

package containerizer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/strata-sched/strata/internal/ci"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/containerizer/containerizertest"
)

// requireCgroups returns the host's cgroups, or skips the test when it
// cannot create cpu and memory cgroups (not root, no cgroups) — except under
// CI=true, where that fails the test: CI never silently skips.
func requireCgroups(t testing.TB) containerizer.CgroupsInfo {
	t.Helper()
	info, err := containerizer.DetectCgroups("")
	if err == nil && (!info.Writable || !slices.Contains(info.Controllers, "cpu") || !slices.Contains(info.Controllers, "memory")) {
		err = fmt.Errorf("cgroups %+v: need writable cpu and memory controllers", info)
	}
	if err != nil {
		ci.SkipOrFail(t, "cgroups unavailable (run as root on a host with cgroups): %v", err)
	}
	return info
}

// testHierarchy is a hierarchy of the test's own, so that Recover's orphan
// removal in one test never touches another's containers.
func testHierarchy(t testing.TB) string {
	return fmt.Sprintf("strata-test-%d-%s", os.Getpid(), strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
}

// newCgroups returns a Cgroups on the test's hierarchy (unless cfg names
// one) and removes the hierarchy at the end.
func newCgroups(t testing.TB, cfg containerizer.CgroupsConfig) *containerizer.Cgroups {
	t.Helper()
	info := requireCgroups(t)
	if cfg.Hierarchy == "" {
		cfg.Hierarchy = testHierarchy(t)
	}
	g, err := containerizer.NewCgroups(cfg, nil)
	if err != nil {
		t.Fatalf("NewCgroups: %v", err)
	}
	t.Cleanup(func() {
		for _, m := range info.Mounts {
			_ = os.Remove(filepath.Join(m, cfg.Hierarchy))
		}
	})
	return g
}

// cgroupDir is the container's cgroup in a controller's hierarchy.
func cgroupDir(info containerizer.CgroupsInfo, hierarchy, controller, id string) string {
	return filepath.Join(info.Mounts[controller], hierarchy, id)
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	return strings.TrimSpace(containerizertest.ReadFile(t, path))
}

func TestCgroupsConformance(t *testing.T) {
	containerizertest.Run(t, func(t *testing.T) containerizer.Containerizer {
		return newCgroups(t, containerizer.CgroupsConfig{
			Isolation: []string{containerizer.IsolatorCgroupsCPU, containerizer.IsolatorCgroupsMem},
		})
	})
}

// TestCgroupsPidNamespaceConformance runs the suite with namespaces/pid:
// the pids the commands print are the namespace's, so the suite relies on
// Kill and Wait instead of the agent's /proc.
func TestCgroupsPidNamespaceConformance(t *testing.T) {
	containerizertest.RunWithOptions(t, func(t *testing.T) containerizer.Containerizer {
		return newCgroups(t, containerizer.CgroupsConfig{
			Isolation: []string{containerizer.IsolatorCgroupsCPU, containerizer.IsolatorCgroupsMem, containerizer.IsolatorNamespacesPID},
		})
	}, containerizertest.Options{IsolatedPids: true})
}

func TestCgroupsOOMKilledCommand(t *testing.T) {
	t.Parallel()
	g := newCgroups(t, containerizer.CgroupsConfig{})
	spec := containerizertest.NewSpec(t, "/usr/bin/python3")
	spec.Shell = false
	spec.Arguments = []string{"python3", "-c", "b = bytearray(200 * 1024 * 1024)"}
	spec.CPUs, spec.MemMB = 0.5, 64
	launch(t, g, spec)
	term := wait(t, g, spec.ContainerID)
	if term.Limitation != "memory" || term.Killed {
		t.Errorf("Termination = %+v, want Limitation memory, not Killed", term)
	}
	const prefix = "Memory limit exceeded: Requested: 64MB Maximum Used: "
	if !strings.HasPrefix(term.Message, prefix) || !strings.Contains(term.Message, "\n\nMEMORY STATISTICS: \n") {
		t.Errorf("Message = %q, want %q... with memory statistics", term.Message, prefix)
	}
	// The exit code is still the command's (killed by the OOM killer).
	if !term.Signaled || term.Signal != 9 {
		t.Errorf("Termination = %+v, want signal 9", term)
	}
}

// TestCgroupsOOMKillsContainer: when the OOM killer kills one process, the
// whole container is ended (as Mesos does), here a shell that would go on.
func TestCgroupsOOMKillsContainer(t *testing.T) {
	t.Parallel()
	g := newCgroups(t, containerizer.CgroupsConfig{})
	spec := containerizertest.NewSpec(t, `/usr/bin/python3 -c "b = bytearray(200 * 1024 * 1024)"; echo survived; exec sleep 1000`)
	spec.MemMB = 48
	launch(t, g, spec)
	term := wait(t, g, spec.ContainerID)
	if term.Limitation != "memory" || !strings.HasPrefix(term.Message, "Memory limit exceeded: Requested: 48MB Maximum Used: ") {
		t.Errorf("Termination = %+v, want a memory limitation", term)
	}
}

func TestCgroupsLimitsInCgroupFiles(t *testing.T) {
	t.Parallel()
	info := requireCgroups(t)
	for _, tc := range []struct {
		name        string
		cfs         bool
		cpus, limit float64
		mem, memLim float64
		// v1 files, and v2's cpu.weight and cpu.max.
		shares, quota  string
		weight, cpuMax string
		hard, soft     int
	}{
		{"shares only", false, 0.5, 0, 64, 0, "512", "-1", "20", "max 100000", 64 << 20, 64 << 20},
		{"cfs", true, 0.5, 0, 16, 0, "512", "50000", "20", "50000 100000", 32 << 20, 32 << 20},
		{"cpu and memory limits", false, 1, 1.5, 64, 100, "1024", "150000", "39", "150000 100000", 100 << 20, 64 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := testHierarchy(t)
			g := newCgroups(t, containerizer.CgroupsConfig{EnableCFS: tc.cfs, Hierarchy: h})
			spec := containerizertest.NewSpec(t, "exec sleep 1000")
			spec.CPUs, spec.CPULimit, spec.MemMB, spec.MemLimitMB = tc.cpus, tc.limit, tc.mem, tc.memLim
			launch(t, g, spec)
			cpu := cgroupDir(info, h, "cpu", spec.ContainerID)
			mem := cgroupDir(info, h, "memory", spec.ContainerID)
			want := map[string]string{
				filepath.Join(cpu, "cpu.shares"):                 tc.shares,
				filepath.Join(cpu, "cpu.cfs_quota_us"):           tc.quota,
				filepath.Join(cpu, "cpu.cfs_period_us"):          "100000",
				filepath.Join(mem, "memory.limit_in_bytes"):      strconv.Itoa(tc.hard),
				filepath.Join(mem, "memory.soft_limit_in_bytes"): strconv.Itoa(tc.soft),
			}
			if info.Version == 2 {
				want = map[string]string{
					filepath.Join(cpu, "cpu.weight"): tc.weight,
					filepath.Join(cpu, "cpu.max"):    tc.cpuMax,
					filepath.Join(mem, "memory.max"): strconv.Itoa(tc.hard),
					filepath.Join(mem, "memory.low"): strconv.Itoa(tc.soft),
				}
			}
			for path, v := range want {
				if got := readTrimmed(t, path); got != v {
					t.Errorf("%s = %s, want %s", path, got, v)
				}
			}
			kill(t, g, spec.ContainerID, time.Second)
		})
	}
}

// waitUsage samples the container's usage until ok accepts a sample, and
// fails the test if none does within 10 s.
func waitUsage(t *testing.T, c containerizer.Containerizer, id string, ok func(containerizer.Usage) bool) containerizer.Usage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		u, err := c.Usage(context.Background(), id)
		if err != nil {
			t.Fatalf("Usage(%s): %v", id, err)
		}
		if ok(u) {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("Usage(%s) = %+v after 10 s", id, u)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func kill(t *testing.T, c containerizer.Containerizer, id string, grace time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), grace+15*time.Second)
	defer cancel()
	if err := c.Kill(ctx, id, grace); err != nil {
		t.Fatalf("Kill(%s): %v", id, err)
	}
}

// alive reports whether pid runs (not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(containerizertest.WaitFile(t, path, "\n")))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}

// A daemon that double-forked into a session of its own, and whose parent
// exited at once, cannot be found from /proc; it is in the cgroup.
const daemonCommand = `(setsid sh -c 'echo $$ > daemon.tmp; mv daemon.tmp daemon; exec sleep 1000' &); `

func TestCgroupsKillFindsEscapedDaemon(t *testing.T) {
	t.Parallel()
	info := requireCgroups(t)
	h := testHierarchy(t)
	g := newCgroups(t, containerizer.CgroupsConfig{Hierarchy: h})
	spec := containerizertest.NewSpec(t, daemonCommand+`echo $$ > main; exec sleep 1000`)
	launch(t, g, spec)
	daemon := readPid(t, filepath.Join(spec.Sandbox, "daemon"))
	main := readPid(t, filepath.Join(spec.Sandbox, "main"))
	if !alive(daemon) || !alive(main) {
		t.Fatalf("daemon %d or main %d not running", daemon, main)
	}
	kill(t, g, spec.ContainerID, 2*time.Second)
	if term := wait(t, g, spec.ContainerID); !term.Killed {
		t.Errorf("Termination = %+v, want Killed", term)
	}
	for _, pid := range []int{daemon, main} {
		if alive(pid) {
			t.Errorf("process %d survived Kill", pid)
		}
	}
	for c := range info.Mounts {
		if _, err := os.Stat(cgroupDir(info, h, c, spec.ContainerID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup of controller %s still there after Kill (%v)", c, err)
		}
	}
}

// TestCgroupsRemovedWhenCommandEnds: a container whose command exits on its
// own loses its daemons and its cgroup before Wait returns.
func TestCgroupsRemovedWhenCommandEnds(t *testing.T) {
	t.Parallel()
	info := requireCgroups(t)
	h := testHierarchy(t)
	g := newCgroups(t, containerizer.CgroupsConfig{Hierarchy: h, Isolation: []string{"cgroups/all", "disk/du"}})
	spec := containerizertest.NewSpec(t, daemonCommand+`while [ ! -e daemon ]; do sleep 0.01; done; exit 3`)
	launch(t, g, spec)
	dirs := map[string]string{}
	for c := range info.Mounts {
		if d := cgroupDir(info, h, c, spec.ContainerID); dirExists(d) {
			dirs[c] = d
		}
	}
	for _, c := range []string{"cpu", "memory"} {
		if dirs[c] == "" {
			t.Errorf("no %s cgroup for the container", c)
		}
	}
	term := wait(t, g, spec.ContainerID)
	if term.ExitCode != 3 || term.Killed || term.Limitation != "" {
		t.Errorf("Termination = %+v, want exit 3", term)
	}
	daemon := readPid(t, filepath.Join(spec.Sandbox, "daemon"))
	if alive(daemon) {
		t.Errorf("daemon %d outlived its container", daemon)
	}
	for c, d := range dirs {
		if dirExists(d) {
			t.Errorf("%s cgroup %s still there after the container ended", c, d)
		}
	}
}

func dirExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestCgroupsDiskQuota(t *testing.T) {
	t.Parallel()
	g := newCgroups(t, containerizer.CgroupsConfig{
		Isolation:         []string{"cgroups/cpu", "cgroups/mem", "disk/du"},
		DiskWatchInterval: 50 * time.Millisecond,
		EnforceDiskQuota:  true,
	})
	spec := containerizertest.NewSpec(t, "head -c 3000000 /dev/urandom > big; exec sleep 1000")
	spec.DiskMB = 1
	launch(t, g, spec)
	term := wait(t, g, spec.ContainerID)
	if term.Limitation != "disk" || term.Killed {
		t.Errorf("Termination = %+v, want Limitation disk, not Killed", term)
	}
	if !strings.HasPrefix(term.Message, "Disk usage (") || !strings.HasSuffix(term.Message, ") exceeds quota (1MB)") {
		t.Errorf("Message = %q, want \"Disk usage (...) exceeds quota (1MB)\"", term.Message)
	}

	// Within its disk, a container is measured and left alone.
	spec = containerizertest.NewSpec(t, "head -c 100000 /dev/urandom > small; echo ready; exec sleep 1000")
	spec.DiskMB = 10
	launch(t, g, spec)
	containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	deadline := time.Now().Add(10 * time.Second)
	for {
		u, err := g.Usage(context.Background(), spec.ContainerID)
		if err != nil {
			t.Fatal(err)
		}
		if u.DiskUsedBytes >= 100000 {
			if u.DiskLimitBytes != 10<<20 {
				t.Errorf("DiskLimitBytes = %d, want %d", u.DiskLimitBytes, 10<<20)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DiskUsedBytes = %d after 10 s, want >= 100000", u.DiskUsedBytes)
		}
		time.Sleep(20 * time.Millisecond)
	}
	kill(t, g, spec.ContainerID, time.Second)
	if term := wait(t, g, spec.ContainerID); term.Limitation != "" || !term.Killed {
		t.Errorf("Termination = %+v, want Killed without limitation", term)
	}
}

func TestCgroupsPidNamespace(t *testing.T) {
	t.Parallel()
	g := newCgroups(t, containerizer.CgroupsConfig{Isolation: []string{"cgroups/cpu", "cgroups/mem", "namespaces/pid"}})
	for _, user := range []string{"", "nobody"} {
		spec := containerizertest.NewSpec(t, `echo "pid $$"; echo "uid $(id -u)"; set -- /proc/[0-9]*; echo "procs $#"; ps -e -o pid=,comm= > ps.out; sleep 1000 & echo ready; wait`)
		spec.User = user
		cp := launch(t, g, spec)
		out := containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready\n")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		// The wrapper is init (pid 1) and the command's shell one of the
		// first pids; /proc holds those two, and ps sees them and itself:
		// nothing of the host.
		pid, _ := strconv.Atoi(strings.TrimPrefix(lines[0], "pid "))
		if len(lines) != 4 || pid < 2 || pid > 10 || lines[2] != "procs 2" {
			t.Errorf("user %q: output %q, want a small pid and 2 processes in /proc", user, lines)
		}
		if ps := strings.Split(strings.TrimSpace(containerizertest.ReadFile(t, filepath.Join(spec.Sandbox, "ps.out"))), "\n"); len(ps) != 3 {
			t.Errorf("user %q: ps -e shows %q, want the wrapper, the shell and ps", user, ps)
		}
		wantUID := "0"
		if user != "" {
			wantUID = "65534"
		}
		if len(lines) > 1 && lines[1] != "uid "+wantUID {
			t.Errorf("user %q: %s, want uid %s", user, lines[1], wantUID)
		}
		// The agent sees and tracks the container under host pids.
		if cp.Pid == 1 || !alive(cp.Pid) {
			t.Errorf("checkpointed pid %d is not the wrapper's host pid", cp.Pid)
		}
		u, err := g.Usage(context.Background(), spec.ContainerID)
		if err != nil || u.Processes != 3 {
			t.Errorf("Usage = %+v, %v; want 3 processes (wrapper, shell, sleep)", u, err)
		}
		kill(t, g, spec.ContainerID, 2*time.Second)
		if term := wait(t, g, spec.ContainerID); !term.Killed || !term.Signaled || term.Signal != 15 {
			t.Errorf("Termination = %+v, want Killed by SIGTERM", term)
		}
	}
	// The exit code is recorded as without a namespace.
	spec := containerizertest.NewSpec(t, "exit 7")
	launch(t, g, spec)
	if term := wait(t, g, spec.ContainerID); term.ExitCode != 7 || term.Signaled {
		t.Errorf("Termination = %+v, want exit 7", term)
	}
}

func TestCgroupsUsage(t *testing.T) {
	t.Parallel()
	g := newCgroups(t, containerizer.CgroupsConfig{EnableCFS: true})
	// Burn CPU for a while in a child, and hold 40 MB.
	spec := containerizertest.NewSpec(t, `(i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo burnt > burnt) &
exec /usr/bin/python3 -c "b = bytearray(40 * 1024 * 1024); import time; print('ready', flush=True); time.sleep(1000)"`)
	spec.CPUs, spec.MemMB = 0.5, 128
	launch(t, g, spec)
	containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "burnt"), "burnt")
	// The burner is gone soon after it wrote the file.
	u := waitUsage(t, g, spec.ContainerID, func(u containerizer.Usage) bool { return u.Processes == 2 })
	if u.MemRSSBytes < 40<<20 || u.MemTotalBytes < u.MemRSSBytes {
		t.Errorf("MemRSSBytes = %d, MemTotalBytes = %d; want >= 40 MiB", u.MemRSSBytes, u.MemTotalBytes)
	}
	if u.CPUsUserTimeSecs+u.CPUsSystemTimeSecs < 0.05 {
		t.Errorf("CPU time = %v user + %v system, want some (the loop ran)", u.CPUsUserTimeSecs, u.CPUsSystemTimeSecs)
	}
	if u.CPUsLimit != 0.5 || u.MemLimitBytes != 128<<20 || u.MemSoftLimitBytes != 128<<20 {
		t.Errorf("limits = cpus %v, mem %d / %d; want 0.5, 128 MiB", u.CPUsLimit, u.MemLimitBytes, u.MemSoftLimitBytes)
	}
	if u.CPUsNrPeriods == 0 {
		t.Errorf("CPUsNrPeriods = 0 with a CFS quota after burning CPU")
	}
	if u.Processes != 2 || u.Threads < 2 || u.Timestamp.IsZero() {
		t.Errorf("Usage = %+v, want 2 processes (wrapper, python), threads, a timestamp", u)
	}
	kill(t, g, spec.ContainerID, time.Second)
	if u, err := g.Usage(context.Background(), spec.ContainerID); err != nil || u.Processes != 0 || u.MemRSSBytes != 0 {
		t.Errorf("Usage after the end = %+v, %v; want no processes", u, err)
	}
}

func TestCgroupsRecoverAndOrphans(t *testing.T) {
	t.Parallel()
	info := requireCgroups(t)
	h := testHierarchy(t)
	old := newCgroups(t, containerizer.CgroupsConfig{Hierarchy: h})
	kept := containerizertest.NewSpec(t, daemonCommand+"echo ready; exec sleep 1000")
	orphan := containerizertest.NewSpec(t, "echo ready; exec sleep 1000")
	cp := launch(t, old, kept)
	launch(t, old, orphan)
	var pids []int
	for _, spec := range []containerizer.Spec{kept, orphan} {
		containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	}
	daemon := readPid(t, filepath.Join(kept.Sandbox, "daemon"))
	u, err := old.Usage(context.Background(), orphan.ContainerID)
	if err != nil || u.Processes != 2 {
		t.Fatalf("Usage = %+v, %v; want 2 processes (wrapper, sleep)", u, err)
	}
	pids = append(pids, daemon)
	orphanProcs := containerizertest.ReadFile(t, filepath.Join(cgroupDir(info, h, "memory", orphan.ContainerID), "cgroup.procs"))
	for _, f := range strings.Fields(orphanProcs) {
		pid, _ := strconv.Atoi(f)
		pids = append(pids, pid)
	}

	var d struct {
		Dirs map[string]string `json:"dirs"`
	}
	if cp.Kind != "cgroups" || cp.Version != 1 || json.Unmarshal(cp.Data, &d) != nil || len(d.Dirs) == 0 {
		t.Errorf("checkpoint = %+v (%s)", cp, cp.Data)
	}

	// The agent restarts with only the first container's checkpoint.
	g := newCgroups(t, containerizer.CgroupsConfig{Hierarchy: h})
	t.Cleanup(func() { _ = g.Destroy(context.Background(), kept.ContainerID) })
	for range 2 {
		if err := g.Recover(context.Background(), []containerizer.Checkpoint{cp}); err != nil {
			t.Fatalf("Recover: %v", err)
		}
	}
	if dirExists(cgroupDir(info, h, "memory", orphan.ContainerID)) {
		t.Errorf("orphan cgroup not removed by Recover")
	}
	for _, pid := range pids[1:] {
		if alive(pid) {
			t.Errorf("orphan process %d survived Recover", pid)
		}
	}
	if !alive(daemon) {
		t.Fatalf("recovered container's daemon %d was killed by Recover", daemon)
	}
	// The daemon's short-lived parent may still be exiting.
	if u := waitUsage(t, g, kept.ContainerID, func(u containerizer.Usage) bool { return u.Processes == 3 }); u.MemLimitBytes != 32<<20 {
		t.Errorf("Usage of the recovered container = %+v; want a 32 MiB limit", u)
	}
	kill(t, g, kept.ContainerID, time.Second)
	if term := wait(t, g, kept.ContainerID); !term.Killed {
		t.Errorf("Termination = %+v, want Killed", term)
	}
	if alive(daemon) {
		t.Errorf("daemon %d survived Kill of the recovered container", daemon)
	}
	if dirExists(cgroupDir(info, h, "memory", kept.ContainerID)) {
		t.Errorf("recovered container's cgroup not removed after Kill")
	}
}

// TestCgroupsRecoverEndedWithOOM: a container OOM-killed while no agent
// ran is reported with its memory limitation after Recover. The first agent
// is a child process that launches the container and exits.
func TestCgroupsRecoverEndedWithOOM(t *testing.T) {
	t.Parallel()
	requireCgroups(t)
	h := testHierarchy(t)
	spec := containerizertest.NewSpec(t, `echo ready; read x < fifo; exec /usr/bin/python3 -c "b = bytearray(200 * 1024 * 1024)"`)
	spec.MemMB = 32
	if err := syscall.Mkfifo(filepath.Join(spec.Sandbox, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	cp := launchInChildAgent(t, h, spec)
	containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	// The command runs out of memory while no agent runs.
	if err := os.WriteFile(filepath.Join(spec.Sandbox, "fifo"), []byte("go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(cp.Pid) {
		if time.Now().After(deadline) {
			t.Fatal("the container did not end")
		}
		time.Sleep(10 * time.Millisecond)
	}
	g := newCgroups(t, containerizer.CgroupsConfig{Hierarchy: h})
	t.Cleanup(func() { _ = g.Destroy(context.Background(), spec.ContainerID) })
	if err := g.Recover(context.Background(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	term := wait(t, g, spec.ContainerID)
	if term.Limitation != "memory" || !strings.HasPrefix(term.Message, "Memory limit exceeded: Requested: 32MB") {
		t.Errorf("Termination = %+v, want a memory limitation", term)
	}
	if term.ExitCode != 137 {
		t.Errorf("Termination = %+v, want the recorded exit code 137", term)
	}
}

// launchInChildAgent launches spec from a child process (this test binary
// running TestCgroupsChildAgent) that exits at once, as an agent that dies
// right after a launch, and returns the checkpoint.
func launchInChildAgent(t *testing.T, hierarchy string, spec containerizer.Spec) containerizer.Checkpoint {
	t.Helper()
	in, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCgroupsChildAgent$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STRATA_CHILD_AGENT_HIERARCHY="+hierarchy, "STRATA_CHILD_AGENT_SPEC="+string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child agent: %v (%s)", err, out)
	}
	_, after, _ := strings.Cut(string(out), "CHECKPOINT ")
	line, _, _ := strings.Cut(after, "\n")
	var cp containerizer.Checkpoint
	if err := json.Unmarshal([]byte(line), &cp); err != nil {
		t.Fatalf("child agent output %q: %v", out, err)
	}
	return cp
}

// TestCgroupsChildAgent is the child process of launchInChildAgent.
func TestCgroupsChildAgent(t *testing.T) {
	h := os.Getenv("STRATA_CHILD_AGENT_HIERARCHY")
	if h == "" {
		return // only does something as the child of launchInChildAgent
	}
	var spec containerizer.Spec
	if err := json.Unmarshal([]byte(os.Getenv("STRATA_CHILD_AGENT_SPEC")), &spec); err != nil {
		t.Fatal(err)
	}
	g, err := containerizer.NewCgroups(containerizer.CgroupsConfig{Hierarchy: h}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := g.Launch(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("CHECKPOINT %s\n", b)
	os.Exit(0) // the agent dies; the container lives on
}

func TestCgroupsRecoverPosixCheckpoint(t *testing.T) {
	t.Parallel()
	requireCgroups(t)
	p := containerizer.NewPosix(nil)
	spec := containerizertest.NewSpec(t, "echo ready; exec sleep 1000")
	cp := launch(t, p, spec)
	containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	g := newCgroups(t, containerizer.CgroupsConfig{})
	t.Cleanup(func() { _ = g.Destroy(context.Background(), spec.ContainerID) })
	if err := g.Recover(context.Background(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	if u, err := g.Usage(context.Background(), spec.ContainerID); err != nil || u.Processes != 2 {
		t.Errorf("Usage = %+v, %v; want 2 processes (wrapper, sleep)", u, err)
	}
	kill(t, g, spec.ContainerID, time.Second)
	if term := wait(t, g, spec.ContainerID); !term.Killed {
		t.Errorf("Termination = %+v, want Killed", term)
	}
}

func TestNewCgroupsErrors(t *testing.T) {
	requireCgroups(t)
	for _, cfg := range []containerizer.CgroupsConfig{
		{Isolation: []string{"cgroups/cpu", "network/cni"}},
		{Hierarchy: "../escape"},
		{Hierarchy: "/abs"},
		{DiskWatchInterval: -time.Second},
	} {
		if _, err := containerizer.NewCgroups(cfg, nil); err == nil {
			t.Errorf("NewCgroups(%+v) succeeded", cfg)
		}
	}
	_, err := containerizer.NewCgroups(containerizer.CgroupsConfig{Root: t.TempDir()}, nil)
	if !errors.Is(err, containerizer.ErrCgroupsUnavailable) {
		t.Errorf("NewCgroups on a root without cgroups: %v, want ErrCgroupsUnavailable", err)
	}
	g := newCgroups(t, containerizer.CgroupsConfig{})
	spec := containerizertest.NewSpec(t, "exit 0")
	spec.ContainerID = "a/b"
	if _, err := g.Launch(context.Background(), spec); err == nil {
		t.Error("Launch with a container ID containing / succeeded")
	}
}

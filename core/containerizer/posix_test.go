//go:build linux

package containerizer_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/strata-sched/strata/internal/ci"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/containerizer/containerizertest"
)

func newPosix(t *testing.T) containerizer.Containerizer {
	// Logs are discarded: goroutines of abandoned instances outlive tests.
	return containerizer.NewPosix(nil)
}

func TestPosixConformance(t *testing.T) {
	containerizertest.Run(t, newPosix)
}

func launch(t *testing.T, c containerizer.Containerizer, spec containerizer.Spec) containerizer.Checkpoint {
	t.Helper()
	return containerizertest.Launch(t, c, spec)
}

func wait(t *testing.T, c containerizer.Containerizer, id string) containerizer.Termination {
	t.Helper()
	return containerizertest.Wait(t, c, id)
}

func stdout(t *testing.T, spec containerizer.Spec) string {
	t.Helper()
	return containerizertest.ReadFile(t, filepath.Join(spec.Sandbox, "stdout"))
}

func TestPosixMessages(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	for _, tc := range []struct {
		cmd  string
		want containerizer.Termination
	}{
		{"exit 3", containerizer.Termination{ExitCode: 3, Message: "Command exited with status 3"}},
		{"kill -TERM $$", containerizer.Termination{ExitCode: 143, Signaled: true, Signal: 15, Message: "Command terminated with signal SIGTERM"}},
		{"nonexistent-command-xyz", containerizer.Termination{ExitCode: 127, Message: "Command exited with status 127"}},
	} {
		spec := containerizertest.NewSpec(t, tc.cmd)
		launch(t, c, spec)
		if got := wait(t, c, spec.ContainerID); got != tc.want {
			t.Errorf("%q: Termination = %+v, want %+v", tc.cmd, got, tc.want)
		}
	}
}

func TestPosixKilledTerminations(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	// The wrapper outlives a SIGTERM to the group and records the command's
	// own exit code.
	spec := containerizertest.NewSpec(t, `trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done`)
	launch(t, c, spec)
	containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	if err := c.Kill(t.Context(), spec.ContainerID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	want := containerizer.Termination{ExitCode: 0, Killed: true, Message: "Command exited with status 0"}
	if got := wait(t, c, spec.ContainerID); got != want {
		t.Errorf("Termination = %+v, want %+v", got, want)
	}
	// Without grace everything gets SIGKILL.
	spec = containerizertest.NewSpec(t, "exec sleep 1000")
	launch(t, c, spec)
	if err := c.Kill(t.Context(), spec.ContainerID, 0); err != nil {
		t.Fatal(err)
	}
	want = containerizer.Termination{ExitCode: 137, Signaled: true, Signal: 9, Killed: true, Message: "Command terminated with signal SIGKILL"}
	if got := wait(t, c, spec.ContainerID); got != want {
		t.Errorf("Termination = %+v, want %+v", got, want)
	}
}

func TestPosixExactEnvironment(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	nofile := uint64(200)
	for _, env := range [][]string{
		{},
		{"PATH=/usr/bin:/bin"},
		// The variables /bin/sh alters at start-up, and the wrapper's gate
		// variable (used with rlimits).
		{"PATH=/usr/bin:/bin", "PWD=/not/the/cwd", "PPID=ppid", "OPTIND=007", "IFS=a b", "STRATA_WRAPPER_STATE=mine", "x=1", "_=u", "SHLVL=9"},
	} {
		spec := containerizertest.NewSpec(t, "/usr/bin/env")
		spec.Shell = false
		spec.Env = env
		spec.Rlimits = []containerizer.Rlimit{{Type: "NOFILE", Soft: &nofile, Hard: &nofile}}
		launch(t, c, spec)
		if term := wait(t, c, spec.ContainerID); term.ExitCode != 0 {
			t.Fatalf("env %q: %+v", env, term)
		}
		got := strings.Split(strings.TrimSuffix(stdout(t, spec), "\n"), "\n")
		if len(env) == 0 {
			got = slices.DeleteFunc(got, func(s string) bool { return s == "" })
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(env))
		if !slices.Equal(got, want) {
			t.Errorf("environment = %q, want exactly %q", got, want)
		}
	}
	spec := containerizertest.NewSpec(t, "true")
	spec.Env = []string{"OPTIND=x"}
	if _, err := c.Launch(t.Context(), spec); err == nil {
		t.Error("Launch with OPTIND=x succeeded")
	}
}

func TestPosixSignalDispositions(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	spec := containerizertest.NewSpec(t, "cat")
	spec.Shell = false
	spec.Arguments = []string{"cat", "/proc/self/status"}
	launch(t, c, spec)
	if term := wait(t, c, spec.ContainerID); term.ExitCode != 0 {
		t.Fatalf("%+v", term)
	}
	child := sigMasks(t, stdout(t, spec))
	self := sigMasks(t, containerizertest.ReadFile(t, "/proc/self/status"))
	// The command ignores only what the agent itself ignores (inherited
	// through exec, nothing the containerizer can undo), catches nothing it
	// did not set up itself (cat catches nothing) and blocks nothing.
	if extra := child["SigIgn"] &^ self["SigIgn"]; extra != 0 {
		t.Errorf("command ignores signals %#x that the agent does not", extra)
	}
	if child["SigCgt"] != 0 || child["SigBlk"] != 0 {
		t.Errorf("command SigCgt=%#x SigBlk=%#x, want 0", child["SigCgt"], child["SigBlk"])
	}
}

func sigMasks(t *testing.T, status string) map[string]uint64 {
	t.Helper()
	m := make(map[string]uint64)
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(k, "Sig") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err == nil {
			m[k] = n
		}
	}
	if len(m) < 3 {
		t.Fatalf("no signal masks in %q", status)
	}
	return m
}

func TestPosixArgv0(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	// /bin/sh cannot exec under another argv[0]: Value runs, with the
	// other arguments.
	spec := containerizertest.NewSpec(t, "printf")
	spec.Shell = false
	spec.Arguments = []string{"not-printf", "%s-%s", "a", "b"}
	launch(t, c, spec)
	if term := wait(t, c, spec.ContainerID); term.ExitCode != 0 {
		t.Fatalf("%+v", term)
	}
	if got := stdout(t, spec); got != "a-b" {
		t.Errorf("stdout = %q, want %q", got, "a-b")
	}
}

func TestPosixUser(t *testing.T) {
	t.Parallel()
	ci.RequireRoot(t, "switching users needs root")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		ci.SkipOrFail(t, "no user nobody: %v", err)
	}
	// nobody must be able to enter the sandbox and reach RunDir.
	base, err := os.MkdirTemp("", "strata-posix-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := containerizertest.NewSpec(t, "id -u; touch created-by-task; exit 4")
	spec.Sandbox = filepath.Join(base, "sandbox")
	spec.RunDir = filepath.Join(base, "run")
	if err := os.Mkdir(spec.Sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	spec.User = "nobody"
	old := newPosix(t)
	cp := launch(t, old, spec)
	if term := wait(t, old, spec.ContainerID); term.ExitCode != 4 {
		t.Fatalf("Termination = %+v, want exit code 4 (stderr %q)", term,
			containerizertest.ReadFile(t, filepath.Join(spec.Sandbox, "stderr")))
	}
	if got := strings.TrimSpace(stdout(t, spec)); got != nobody.Uid {
		t.Errorf("id -u = %q, want nobody's uid %s", got, nobody.Uid)
	}
	// The wrapper, running as nobody, recorded the exit code: a new agent
	// instance reads it.
	c := newPosix(t)
	if err := c.Recover(t.Context(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	if term := wait(t, c, spec.ContainerID); term.ExitCode != 4 {
		t.Errorf("recovered Termination = %+v, want exit code 4", term)
	}
}

func TestPosixUnknownUser(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	spec := containerizertest.NewSpec(t, "true")
	spec.User = "no-such-user-strata"
	_, err := c.Launch(t.Context(), spec)
	if err == nil || !strings.Contains(err.Error(), "no-such-user-strata") {
		t.Fatalf("Launch as an unknown user: %v, want an error naming the user", err)
	}
	if _, err := c.Wait(t.Context(), spec.ContainerID); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Wait after a failed Launch: %v, want ErrUnknownContainer", err)
	}
}

func TestPosixRlimits(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	soft, hard, core := uint64(123), uint64(456), uint64(0)
	spec := containerizertest.NewSpec(t, "ulimit -n; ulimit -Hn; ulimit -c; ulimit -s")
	spec.Rlimits = []containerizer.Rlimit{
		{Type: "NOFILE", Soft: &soft, Hard: &hard},
		{Type: "RLIMIT_CORE", Soft: &core, Hard: &core},
		{Type: "STACK"}, // unlimited
	}
	launch(t, c, spec)
	if term := wait(t, c, spec.ContainerID); term.ExitCode != 0 {
		t.Fatalf("%+v", term)
	}
	if got, want := stdout(t, spec), "123\n456\n0\nunlimited\n"; got != want {
		t.Errorf("ulimits = %q, want %q", got, want)
	}

	for _, bad := range [][]containerizer.Rlimit{
		{{Type: "NOSUCH"}},
		{{Type: "NOFILE", Soft: &hard, Hard: &soft}}, // soft > hard
		{{Type: "NOFILE", Hard: &soft}},              // unlimited soft > hard
	} {
		spec := containerizertest.NewSpec(t, "true")
		spec.Rlimits = bad
		if _, err := c.Launch(t.Context(), spec); err == nil {
			t.Errorf("Launch with rlimits %+v succeeded", bad)
		}
	}
}

func TestPosixLaunchErrors(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	for name, mod := range map[string]func(*containerizer.Spec){
		"no id":           func(s *containerizer.Spec) { s.ContainerID = "" },
		"no value":        func(s *containerizer.Spec) { s.Value = "" },
		"no sandbox":      func(s *containerizer.Spec) { s.Sandbox = "" },
		"missing sandbox": func(s *containerizer.Spec) { s.Sandbox = filepath.Join(s.Sandbox, "missing") },
		"no run dir":      func(s *containerizer.Spec) { s.RunDir = "" },
		"dash value":      func(s *containerizer.Spec) { s.Shell = false; s.Value = "-x" },
	} {
		spec := containerizertest.NewSpec(t, "true")
		mod(&spec)
		if _, err := c.Launch(t.Context(), spec); err == nil {
			t.Errorf("%s: Launch succeeded", name)
		}
	}
}

func TestPosixCheckpoint(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	spec := containerizertest.NewSpec(t, "exec sleep 1000")
	cp := launch(t, c, spec)
	if cp.Kind != "posix" || cp.Version != 1 || cp.Pid <= 0 {
		t.Fatalf("Checkpoint = %+v", cp)
	}
	var data struct {
		StartTime uint64 `json:"start_time"`
		RunDir    string `json:"run_dir"`
	}
	if err := json.Unmarshal(cp.Data, &data); err != nil {
		t.Fatal(err)
	}
	stat := containerizertest.ReadFile(t, "/proc/"+strconv.Itoa(cp.Pid)+"/stat")
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	if got := strconv.FormatUint(data.StartTime, 10); got != fields[19] {
		t.Errorf("checkpointed start time %s, /proc says %s", got, fields[19])
	}
	if sid := fields[3]; sid != strconv.Itoa(cp.Pid) {
		t.Errorf("wrapper session %s, want its own (%d)", sid, cp.Pid)
	}
	if data.RunDir != spec.RunDir {
		t.Errorf("checkpointed run dir %q, want %q", data.RunDir, spec.RunDir)
	}
	// The checkpoint survives JSON, as the agent stores it.
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	var back containerizer.Checkpoint
	if err := json.Unmarshal(b, &back); err != nil || back.Pid != cp.Pid || string(back.Data) != string(cp.Data) {
		t.Errorf("checkpoint JSON round trip = %+v, %v", back, err)
	}
	if err := c.Kill(t.Context(), spec.ContainerID, 0); err != nil {
		t.Fatal(err)
	}
	// The exit code is recorded atomically in RunDir.
	if _, err := os.Stat(filepath.Join(spec.RunDir, "exit_status.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("exit_status.tmp left behind: %v", err)
	}
}

func TestPosixExitStatusFile(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	spec := containerizertest.NewSpec(t, "exit 6")
	launch(t, c, spec)
	wait(t, c, spec.ContainerID)
	if got := containerizertest.ReadFile(t, filepath.Join(spec.RunDir, "exit_status")); got != "6\n" {
		t.Errorf("exit_status = %q, want %q", got, "6\n")
	}
	if err := c.Destroy(t.Context(), spec.ContainerID); err != nil {
		t.Fatal(err)
	}
	// Launch created RunDir, so Destroy removed it.
	if _, err := os.Stat(spec.RunDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("RunDir after Destroy: %v, want it removed", err)
	}

	// A RunDir that existed is kept, as are files the containerizer did not
	// create; a stale exit_status is not taken for the new container's.
	spec = containerizertest.NewSpec(t, "exit 0")
	if err := os.MkdirAll(spec.RunDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"exit_status": "9\n", "other": "x"} {
		if err := os.WriteFile(filepath.Join(spec.RunDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cp := launch(t, c, spec)
	if term := wait(t, c, spec.ContainerID); term.ExitCode != 0 {
		t.Errorf("Termination = %+v, want exit code 0", term)
	}
	if err := c.Destroy(t.Context(), spec.ContainerID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(spec.RunDir, "other")); err != nil {
		t.Errorf("Destroy removed a file it did not create: %v", err)
	}
	if _, err := os.Stat(filepath.Join(spec.RunDir, "exit_status")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("exit_status after Destroy: %v, want removed", err)
	}
	// Recovering the destroyed container: it ended, status now unknown.
	c2 := newPosix(t)
	if err := c2.Recover(t.Context(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	if term := wait(t, c2, spec.ContainerID); term.ExitCode != -1 {
		t.Errorf("Termination = %+v, want unknown (-1)", term)
	}
}

func TestPosixRecoverPidReusedOrGone(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	self := containerizertest.ReadFile(t, "/proc/self/stat")
	start, err := strconv.ParseUint(strings.Fields(self[strings.LastIndexByte(self, ')')+1:])[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := func(id string, pid int, start uint64) containerizer.Checkpoint {
		data, err := json.Marshal(map[string]any{"start_time": start, "run_dir": t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return containerizer.Checkpoint{ContainerID: id, Kind: "posix", Version: 1, Pid: pid, Data: data}
	}
	cps := []containerizer.Checkpoint{
		checkpoint("reused", os.Getpid(), start+1), // alive, but another process
		checkpoint("gone", 1<<30, 1),               // above any pid_max
		checkpoint("self", os.Getpid(), start),     // "running": the test itself
	}
	if err := c.Recover(t.Context(), cps); err != nil {
		t.Fatal(err)
	}
	want := containerizer.Termination{ExitCode: -1, Message: "container exited while the agent was down; exit status unknown"}
	for _, id := range []string{"reused", "gone"} {
		if got := wait(t, c, id); got != want {
			t.Errorf("%s: Termination = %+v, want %+v", id, got, want)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(ctx, "self"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait on a live recovered process: %v, want it to block", err)
	}

	// Bad checkpoints are reported, the good ones still recovered.
	bad := []containerizer.Checkpoint{
		{ContainerID: "kind", Kind: "docker", Version: 1, Pid: 1, Data: cps[0].Data},
		{ContainerID: "version", Kind: "posix", Version: 2, Pid: 1, Data: cps[0].Data},
		{ContainerID: "data", Kind: "posix", Version: 1, Pid: 1, Data: []byte("{")},
		checkpoint("good", 1<<30, 1),
	}
	err = c.Recover(t.Context(), bad)
	for _, id := range []string{"kind", "version", "data"} {
		if err == nil || !strings.Contains(err.Error(), id) {
			t.Errorf("Recover error %v does not name container %q", err, id)
		}
	}
	if got := wait(t, c, "good"); got != want {
		t.Errorf("good: Termination = %+v, want %+v", got, want)
	}
}

func TestPosixRecoverWithoutPidfd(t *testing.T) {
	t.Parallel()
	old := newPosix(t)
	spec := containerizertest.NewSpec(t, "echo ready; sleep 0.3; exit 6")
	cp := launch(t, old, spec)
	containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	c := containerizer.NewPosixWithoutPidfd(nil)
	if err := c.Recover(t.Context(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	if term := wait(t, c, spec.ContainerID); term.ExitCode != 6 {
		t.Errorf("Termination = %+v, want exit code 6", term)
	}

	// Kill of a recovered container without pidfd.
	spec = containerizertest.NewSpec(t, "echo ready; exec sleep 1000")
	cp = launch(t, old, spec)
	containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	if err := c.Recover(t.Context(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(t.Context(), spec.ContainerID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if term := wait(t, c, spec.ContainerID); !term.Killed || term.Signal != 15 {
		t.Errorf("Termination = %+v, want killed by SIGTERM", term)
	}
}

func TestPosixStrayProcessesKilledOnDestroy(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	// The command ends but leaves a background process behind.
	spec := containerizertest.NewSpec(t, "sleep 1000 & echo $! > stray; exit 0")
	launch(t, c, spec)
	if term := wait(t, c, spec.ContainerID); term.ExitCode != 0 {
		t.Fatalf("%+v", term)
	}
	stray, err := strconv.Atoi(strings.TrimSpace(containerizertest.ReadFile(t, filepath.Join(spec.Sandbox, "stray"))))
	if err != nil {
		t.Fatal(err)
	}
	if u, err := c.Usage(t.Context(), spec.ContainerID); err != nil || u.Processes != 1 {
		t.Errorf("Usage after the end = %+v, %v; want the stray process", u, err)
	}
	if err := c.Destroy(t.Context(), spec.ContainerID); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(stray) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
		t.Errorf("stray process %d survived Destroy: %s", stray, b)
	}
}

func TestPosixConcurrentLaunchKill(t *testing.T) {
	t.Parallel()
	c := newPosix(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			spec := containerizertest.NewSpec(t, "exec sleep 1000")
			if _, err := c.Launch(t.Context(), spec); err != nil {
				errs[i] = err
				return
			}
			if err := c.Kill(t.Context(), spec.ContainerID, time.Second); err != nil {
				errs[i] = err
				return
			}
			if term, err := c.Wait(t.Context(), spec.ContainerID); err != nil || !term.Killed {
				errs[i] = errors.Join(err, errors.New("not killed"))
				return
			}
			errs[i] = c.Destroy(t.Context(), spec.ContainerID)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

func BenchmarkLaunchWait(b *testing.B) {
	c := containerizer.NewPosix(nil)
	ctx := context.Background()
	for b.Loop() {
		spec := containerizertest.NewSpec(b, "true")
		spec.Shell = false
		if _, err := c.Launch(ctx, spec); err != nil {
			b.Fatal(err)
		}
		if term, err := c.Wait(ctx, spec.ContainerID); err != nil || term.ExitCode != 0 {
			b.Fatalf("Wait = %+v, %v", term, err)
		}
		if err := c.Destroy(ctx, spec.ContainerID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLaunch100Sleep(b *testing.B) {
	c := containerizer.NewPosix(nil)
	ctx := context.Background()
	for b.Loop() {
		ids := make([]string, 100)
		for i := range ids {
			spec := containerizertest.NewSpec(b, "sleep")
			spec.Shell = false
			spec.Arguments = []string{"sleep", "60"}
			if _, err := c.Launch(ctx, spec); err != nil {
				b.Fatal(err)
			}
			ids[i] = spec.ContainerID
		}
		var wg sync.WaitGroup
		errs := make([]error, len(ids))
		for i, id := range ids {
			wg.Go(func() {
				if err := c.Kill(ctx, id, 5*time.Second); err != nil {
					errs[i] = err
					return
				}
				errs[i] = c.Destroy(ctx, id)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
	}
}

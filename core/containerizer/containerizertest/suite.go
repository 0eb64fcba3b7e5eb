// Package containerizertest is the conformance suite that every
// containerizer.Containerizer (posix, cgroups, docker) must pass. An
// implementation's test file calls Run with a function that returns a new
// instance, as a new agent process would create it:
//
//	func TestConformance(t *testing.T) {
//		containerizertest.Run(t, func(t *testing.T) containerizer.Containerizer {
//			return containerizer.NewPosix(nil)
//		})
//	}
//
// newC is called at least once per subtest, and twice in the recovery tests:
// the second instance stands for the agent after a restart and must be able to
// recover the first one's containers, while the first one is simply
// abandoned (its goroutines keep running, as they would not after a real
// restart).
//
// The commands run with /bin/sh and common utilities (sleep, printf, env,
// pwd, setsid) from PATH=/usr/local/bin:/usr/bin:/bin, and by default the
// suite looks at process IDs the commands print in the agent's /proc, so the
// container's processes must be visible to the agent under their own pids
// (true for posix and cgroups). A containerizer whose containers differ in
// ways the Containerizer contract allows (docker: own pid namespace, sandbox
// mounted elsewhere, Mesos' docker argv convention) calls RunWithOptions.
// Subtests run in parallel; the whole suite takes a few seconds.
//
// NewSpec, Launch, Wait, WaitFile and ReadFile are exported for an
// implementation's own tests.
package containerizertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
)

// testPath is the PATH the suite's commands run with.
const testPath = "PATH=/usr/local/bin:/usr/bin:/bin"

// timeout bounds every wait in the suite.
const timeout = 15 * time.Second

// Options adapt the suite to a containerizer whose containers differ from
// host process trees where the Containerizer contract leaves room.
type Options struct {
	// IsolatedPids is set when the commands run in a pid namespace of their
	// own (docker), so the pids they print mean nothing in the agent's
	// /proc. The suite then skips its /proc checks (that a process tree was
	// built as intended and that every process is gone after Kill) and
	// relies on Kill and Wait alone.
	IsolatedPids bool
	// SandboxPath is the sandbox's path as the command sees it when the
	// containerizer mounts it elsewhere (docker: /mnt/mesos/sandbox); empty
	// means Spec.Sandbox.
	SandboxPath string
	// Argv, when set, rewrites an argv-form Spec (Shell false, Value the
	// program, Arguments its argv including argv[0]) into the
	// containerizer's convention before Launch. Docker follows Mesos and
	// passes Value followed by all of Arguments to the image's entrypoint.
	Argv func(containerizer.Spec) containerizer.Spec
}

// argv applies o.Argv to an argv-form spec.
func (o Options) argv(spec containerizer.Spec) containerizer.Spec {
	if o.Argv == nil || spec.Shell {
		return spec
	}
	return o.Argv(spec)
}

// Run runs the conformance suite. newC must return a new, independent
// containerizer each time it is called.
func Run(t *testing.T, newC func(t *testing.T) containerizer.Containerizer) {
	RunWithOptions(t, newC, Options{})
}

// RunWithOptions runs the conformance suite adapted by o.
func RunWithOptions(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options)
	}{
		{"Kind", testKind},
		{"ExitZero", testExitZero},
		{"ExitThree", testExitThree},
		{"WaitConcurrentAndRepeated", testWaitConcurrent},
		{"WaitContext", testWaitContext},
		{"StdoutStderrAppended", testStdoutStderr},
		{"EnvAndWorkDir", testEnvAndWorkDir},
		{"ArgvForm", testArgvForm},
		{"ShellForm", testShellForm},
		{"LaunchDuplicateID", testLaunchDuplicate},
		{"KillGraceTermHandled", testKillTermHandled},
		{"KillAfterGraceWhenTermIgnored", testKillTermIgnored},
		{"KillProcessTree", testKillTree},
		{"KillRightAfterLaunch", testKillRightAfterLaunch},
		{"KillEnded", testKillEnded},
		{"RecoverRunning", testRecoverRunning},
		{"RecoverEnded", testRecoverEnded},
		{"RecoverThenKill", testRecoverThenKill},
		{"Usage", testUsage},
		{"Destroy", testDestroy},
		{"DestroyRunning", testDestroyRunning},
		{"UnknownContainer", testUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newC, o)
		})
	}
}

// NewSpec returns a Spec with a fresh ID, an empty sandbox, a RunDir that does
// not exist yet and Env holding only a PATH. Shell is true: value is a shell
// command.
func NewSpec(t testing.TB, value string) containerizer.Spec {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return containerizer.Spec{
		ContainerID: "ct-" + hex.EncodeToString(b[:]),
		Sandbox:     t.TempDir(),
		RunDir:      filepath.Join(t.TempDir(), "run"),
		Shell:       true,
		Value:       value,
		Env:         []string{testPath},
	}
}

// Launch launches spec and registers a cleanup that destroys the container.
func Launch(t testing.TB, c containerizer.Containerizer, spec containerizer.Spec) containerizer.Checkpoint {
	t.Helper()
	cp, err := c.Launch(context.Background(), spec)
	if err != nil {
		t.Fatalf("Launch(%q): %v", spec.Value, err)
	}
	t.Cleanup(func() { destroyQuietly(c, spec.ContainerID) })
	if cp.ContainerID != spec.ContainerID {
		t.Errorf("Checkpoint.ContainerID = %q, want %q", cp.ContainerID, spec.ContainerID)
	}
	return cp
}

func destroyQuietly(c containerizer.Containerizer, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = c.Destroy(ctx, id)
}

// Wait waits (bounded) for the container to end.
func Wait(t testing.TB, c containerizer.Containerizer, id string) containerizer.Termination {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	term, err := c.Wait(ctx, id)
	if err != nil {
		t.Fatalf("Wait(%s): %v", id, err)
	}
	return term
}

// WaitFile polls until the file contains substr and returns its contents.
func WaitFile(t testing.TB, path, substr string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), substr) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never contained %q (contents %q, err %v)", path, substr, b, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ReadFile returns a file's contents or fails the test.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantExit(t *testing.T, term containerizer.Termination, code int) {
	t.Helper()
	if term.ExitCode != code || term.Signaled || term.Killed {
		t.Errorf("Termination = %+v, want exit code %d, not signaled, not killed", term, code)
	}
	if term.Message == "" {
		t.Errorf("Termination.Message is empty")
	}
}

func testKind(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	if c.Kind() == "" {
		t.Fatal("Kind() is empty")
	}
	cp := Launch(t, c, NewSpec(t, "exit 0"))
	if cp.Kind != c.Kind() {
		t.Errorf("Checkpoint.Kind = %q, want %q", cp.Kind, c.Kind())
	}
	Wait(t, c, cp.ContainerID)
}

func testExitZero(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "exit 0")
	Launch(t, c, spec)
	wantExit(t, Wait(t, c, spec.ContainerID), 0)
}

func testExitThree(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "")
	spec.Shell = false
	spec.Value = "/bin/sh"
	spec.Arguments = []string{"sh", "-c", "exit 3"}
	spec = o.argv(spec)
	Launch(t, c, spec)
	wantExit(t, Wait(t, c, spec.ContainerID), 3)
}

func testWaitConcurrent(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "sleep 0.2; exit 4")
	Launch(t, c, spec)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	terms := make([]containerizer.Termination, 8)
	errs := make([]error, len(terms))
	for i := range terms {
		wg.Go(func() { terms[i], errs[i] = c.Wait(ctx, spec.ContainerID) })
	}
	wg.Wait()
	for i, term := range terms {
		if errs[i] != nil {
			t.Fatalf("concurrent Wait: %v", errs[i])
		}
		wantExit(t, term, 4)
	}
	// Wait after the end returns the same again.
	if again := Wait(t, c, spec.ContainerID); again != terms[0] {
		t.Errorf("second Wait = %+v, first %+v", again, terms[0])
	}
}

func testWaitContext(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "exec sleep 1000")
	Launch(t, c, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if term, err := c.Wait(ctx, spec.ContainerID); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with expiring context = %+v, %v; want context.DeadlineExceeded", term, err)
	}
	kill(t, c, spec.ContainerID, time.Second)
}

func testStdoutStderr(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "echo out; echo err >&2; echo out2")
	// stdout exists already: output is appended; stderr does not: it is created.
	if err := os.WriteFile(filepath.Join(spec.Sandbox, "stdout"), []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Launch(t, c, spec)
	wantExit(t, Wait(t, c, spec.ContainerID), 0)
	if got, want := ReadFile(t, filepath.Join(spec.Sandbox, "stdout")), "old\nout\nout2\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := ReadFile(t, filepath.Join(spec.Sandbox, "stderr")), "err\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func testEnvAndWorkDir(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)

	// argv form without Arguments: argv is [Value].
	spec := NewSpec(t, "env")
	spec.Shell = false
	spec.Env = []string{testPath, "FOO=bar baz", "EMPTY=", "QUOTED='x' \"y\" $z"}
	spec = o.argv(spec)
	Launch(t, c, spec)
	wantExit(t, Wait(t, c, spec.ContainerID), 0)
	got := strings.Split(strings.TrimSuffix(ReadFile(t, filepath.Join(spec.Sandbox, "stdout")), "\n"), "\n")
	for _, kv := range spec.Env {
		if !slices.Contains(got, kv) {
			t.Errorf("environment %q lacks %q", got, kv)
		}
	}
	// Nothing of the agent's own environment leaks, except variables a
	// runtime may set itself.
	allowed := []string{"HOME", "HOSTNAME", "PATH", "PWD", "SHLVL", "TERM", "_"}
	for _, kv := range spec.Env {
		k, _, _ := strings.Cut(kv, "=")
		allowed = append(allowed, k)
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(allowed, k) {
			continue
		}
		for _, g := range got {
			if strings.HasPrefix(g, k+"=") {
				t.Errorf("agent variable %q leaked into the container's environment", g)
			}
		}
	}

	spec = NewSpec(t, "pwd")
	spec.Shell = false
	spec.Arguments = []string{"pwd", "-P"}
	spec = o.argv(spec)
	Launch(t, c, spec)
	wantExit(t, Wait(t, c, spec.ContainerID), 0)
	want := o.SandboxPath
	if want == "" {
		var err error
		if want, err = filepath.EvalSymlinks(spec.Sandbox); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.TrimSpace(ReadFile(t, filepath.Join(spec.Sandbox, "stdout"))); got != want {
		t.Errorf("working directory = %q, want %q", got, want)
	}
}

func testArgvForm(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "printf")
	spec.Shell = false
	args := []string{"a b", `it's "quoted" $HOME \n * ;|&`, "", "  lead and trail  ", "-x"}
	spec.Arguments = append([]string{"printf", `[%s]\n`}, args...)
	spec = o.argv(spec)
	Launch(t, c, spec)
	wantExit(t, Wait(t, c, spec.ContainerID), 0)
	var want strings.Builder
	for _, a := range args {
		want.WriteString("[" + a + "]\n")
	}
	if got := ReadFile(t, filepath.Join(spec.Sandbox, "stdout")); got != want.String() {
		t.Errorf("stdout = %q, want %q", got, want.String())
	}
}

func testShellForm(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, `x="it's"; printf '[%s]' "a  b" "$x" 'c "d"' $x; echo`)
	Launch(t, c, spec)
	wantExit(t, Wait(t, c, spec.ContainerID), 0)
	if got, want := ReadFile(t, filepath.Join(spec.Sandbox, "stdout")), `[a  b][it's][c "d"][it's]`+"\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func testLaunchDuplicate(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "exit 0")
	Launch(t, c, spec)
	if _, err := c.Launch(context.Background(), spec); err == nil {
		t.Error("second Launch with the same container ID succeeded")
	}
	wantExit(t, Wait(t, c, spec.ContainerID), 0)
}

// kill calls Kill with a bounded context and returns how long it took.
func kill(t *testing.T, c containerizer.Containerizer, id string, grace time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), grace+timeout)
	defer cancel()
	start := time.Now()
	if err := c.Kill(ctx, id, grace); err != nil {
		t.Fatalf("Kill(%s, %v): %v", id, grace, err)
	}
	return time.Since(start)
}

func testKillTermHandled(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, `trap 'echo got-term; exit 0' TERM; echo $$ > pid; echo ready; while :; do sleep 0.1; done`)
	Launch(t, c, spec)
	stdout := filepath.Join(spec.Sandbox, "stdout")
	WaitFile(t, stdout, "ready")
	procs := readPids(t, o, filepath.Join(spec.Sandbox, "pid"))

	const grace = 10 * time.Second
	if took := kill(t, c, spec.ContainerID, grace); took > grace/2 {
		t.Errorf("Kill took %v; the process exits on SIGTERM, so it should not wait for the grace period", took)
	}
	if out := ReadFile(t, stdout); !strings.Contains(out, "got-term") {
		t.Errorf("stdout = %q: the TERM trap did not run", out)
	}
	term := Wait(t, c, spec.ContainerID)
	if !term.Killed {
		t.Errorf("Termination = %+v, want Killed", term)
	}
	wantGone(t, o, procs)
}

func testKillTermIgnored(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, `trap '' TERM; echo $$ > pid; echo ready; while :; do sleep 0.1; done`)
	Launch(t, c, spec)
	WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	procs := readPids(t, o, filepath.Join(spec.Sandbox, "pid"))

	const grace = 300 * time.Millisecond
	if took := kill(t, c, spec.ContainerID, grace); took < grace {
		t.Errorf("Kill took %v, less than the grace period %v", took, grace)
	}
	term := Wait(t, c, spec.ContainerID)
	if !term.Killed || !term.Signaled || term.Signal != 9 {
		t.Errorf("Termination = %+v, want Killed, Signaled with signal 9", term)
	}
	wantGone(t, o, procs)
}

func testKillTree(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	// main shell -> sleep (background child)
	//            -> sh (background child) -> setsid sh -> exec sleep (grandchild
	//               in a session of its own)
	spec := NewSpec(t, `echo $$ > main
sleep 1000 & echo $! > child
sh -c 'setsid sh -c "echo \$\$ > grandchild; exec sleep 1000" & wait' & echo $! > middle
wait`)
	Launch(t, c, spec)
	var procs []proc
	for _, name := range []string{"main", "child", "middle", "grandchild"} {
		path := filepath.Join(spec.Sandbox, name)
		WaitFile(t, path, "\n")
		procs = append(procs, readPids(t, o, path)...)
	}
	// The grandchild really left the session (or the test proves nothing).
	if main, gc := procs[0], procs[3]; main.session != 0 && gc.session == main.session {
		t.Errorf("grandchild %d is still in session %d; setsid did not take", gc.pid, gc.session)
	}
	kill(t, c, spec.ContainerID, 5*time.Second)
	if term := Wait(t, c, spec.ContainerID); !term.Killed {
		t.Errorf("Termination = %+v, want Killed", term)
	}
	wantGone(t, o, procs)
}

func testKillRightAfterLaunch(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	// The SIGTERM must reach the command even when it arrives while the
	// container is still starting.
	const grace = 10 * time.Second
	for range 5 {
		spec := NewSpec(t, "exec sleep 1000")
		Launch(t, c, spec)
		if took := kill(t, c, spec.ContainerID, grace); took > grace/2 {
			t.Fatalf("Kill right after Launch took %v: the SIGTERM was lost", took)
		}
		if term := Wait(t, c, spec.ContainerID); !term.Killed || (term.Signaled && term.Signal == 9) {
			t.Errorf("Termination = %+v, want Killed by SIGTERM, not SIGKILL", term)
		}
	}
}

func testKillEnded(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "exit 2")
	Launch(t, c, spec)
	wantExit(t, Wait(t, c, spec.ContainerID), 2)
	kill(t, c, spec.ContainerID, time.Second)
	// Kill after the end changes nothing.
	wantExit(t, Wait(t, c, spec.ContainerID), 2)
}

func testRecoverRunning(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	old := newC(t)
	spec := NewSpec(t, "echo $$ >> started; sleep 0.5; exit 7")
	cp := Launch(t, old, spec)
	WaitFile(t, filepath.Join(spec.Sandbox, "started"), "\n")

	// The agent restarts: a new instance recovers from the checkpoint.
	c := newC(t)
	t.Cleanup(func() { destroyQuietly(c, spec.ContainerID) })
	for range 2 { // idempotent
		if err := c.Recover(context.Background(), []containerizer.Checkpoint{cp}); err != nil {
			t.Fatalf("Recover: %v", err)
		}
	}
	wantExit(t, Wait(t, c, spec.ContainerID), 7)
	// The command ran once: it was re-attached, not restarted.
	if started := ReadFile(t, filepath.Join(spec.Sandbox, "started")); strings.Count(started, "\n") != 1 {
		t.Errorf("the command started %d times (pids %q), want once", strings.Count(started, "\n"), started)
	}
}

func testRecoverEnded(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	old := newC(t)
	spec := NewSpec(t, "exit 5")
	cp := Launch(t, old, spec)
	wantExit(t, Wait(t, old, spec.ContainerID), 5)

	c := newC(t)
	t.Cleanup(func() { destroyQuietly(c, spec.ContainerID) })
	if err := c.Recover(context.Background(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	wantExit(t, Wait(t, c, spec.ContainerID), 5)
}

func testRecoverThenKill(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	old := newC(t)
	spec := NewSpec(t, "echo $$ > pid; echo ready; sleep 1000 & echo $! >> pid; wait")
	cp := Launch(t, old, spec)
	WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	procs := readPids(t, o, filepath.Join(spec.Sandbox, "pid"))

	c := newC(t)
	t.Cleanup(func() { destroyQuietly(c, spec.ContainerID) })
	if err := c.Recover(context.Background(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if u, err := c.Usage(context.Background(), spec.ContainerID); err != nil || u.Processes < 2 {
		t.Errorf("Usage of the recovered container = %+v, %v; want >= 2 processes", u, err)
	}
	kill(t, c, spec.ContainerID, 5*time.Second)
	if term := Wait(t, c, spec.ContainerID); !term.Killed {
		t.Errorf("Termination = %+v, want Killed", term)
	}
	wantGone(t, o, procs)
}

func testUsage(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "sleep")
	spec.Shell = false
	spec.Arguments = []string{"sleep", "1000"}
	spec = o.argv(spec)
	Launch(t, c, spec)
	// A process that is still being exec'd may have no resident page yet.
	deadline := time.Now().Add(timeout)
	var u containerizer.Usage
	for {
		var err error
		u, err = c.Usage(context.Background(), spec.ContainerID)
		if err != nil {
			t.Fatalf("Usage: %v", err)
		}
		if u.Processes >= 1 && u.MemRSSBytes > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if u.Processes < 1 || u.MemRSSBytes == 0 || u.Timestamp.IsZero() {
		t.Errorf("Usage = %+v, want >= 1 process, RSS > 0 and a timestamp", u)
	}
	if u.CPUsUserTimeSecs < 0 || u.CPUsSystemTimeSecs < 0 {
		t.Errorf("Usage = %+v, negative CPU time", u)
	}
	kill(t, c, spec.ContainerID, time.Second)
}

func testDestroy(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "exit 0")
	Launch(t, c, spec)
	wantExit(t, Wait(t, c, spec.ContainerID), 0)
	if err := c.Destroy(context.Background(), spec.ContainerID); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if _, err := c.Wait(context.Background(), spec.ContainerID); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Wait after Destroy: %v, want ErrUnknownContainer", err)
	}
	if err := c.Destroy(context.Background(), spec.ContainerID); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("second Destroy: %v, want ErrUnknownContainer", err)
	}
	// The ID can be used again.
	Launch(t, c, spec)
	wantExit(t, Wait(t, c, spec.ContainerID), 0)
}

func testDestroyRunning(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	spec := NewSpec(t, "echo $$ > pid; echo ready; sleep 1000")
	Launch(t, c, spec)
	WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	procs := readPids(t, o, filepath.Join(spec.Sandbox, "pid"))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.Destroy(ctx, spec.ContainerID); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	wantGone(t, o, procs)
	if _, err := c.Wait(ctx, spec.ContainerID); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Wait after Destroy: %v, want ErrUnknownContainer", err)
	}
}

func testUnknown(t *testing.T, newC func(t *testing.T) containerizer.Containerizer, o Options) {
	c := newC(t)
	ctx := context.Background()
	const id = "no-such-container"
	if _, err := c.Wait(ctx, id); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Wait: %v, want ErrUnknownContainer", err)
	}
	if err := c.Kill(ctx, id, 0); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Kill: %v, want ErrUnknownContainer", err)
	}
	if _, err := c.Usage(ctx, id); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Usage: %v, want ErrUnknownContainer", err)
	}
	if err := c.Destroy(ctx, id); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Destroy: %v, want ErrUnknownContainer", err)
	}
}

// proc identifies a process across pid reuse.
type proc struct {
	pid       int
	session   int
	startTime string
}

// readPids reads one pid per line from a file and records the processes'
// start times from /proc (unless the pids are isolated).
func readPids(t *testing.T, o Options, path string) []proc {
	t.Helper()
	var out []proc
	for _, line := range strings.Fields(ReadFile(t, path)) {
		pid, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		p := proc{pid: pid}
		if f := statFields(pid); f != nil && !o.IsolatedPids {
			p.session, _ = strconv.Atoi(f[3])
			p.startTime = f[19]
		}
		out = append(out, p)
	}
	return out
}

// statFields returns the fields of /proc/<pid>/stat after the command name
// (field 3 onwards) or nil if the process does not exist.
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return nil
	}
	return f
}

// wantGone checks that none of the processes is alive any more: gone from
// /proc, a zombie (dead, waiting for its parent), or a new process that
// reused the pid. Isolated pids cannot be checked.
func wantGone(t *testing.T, o Options, procs []proc) {
	t.Helper()
	if o.IsolatedPids {
		return
	}
	for _, p := range procs {
		f := statFields(p.pid)
		if f == nil || f[0] == "Z" || f[0] == "X" || f[19] != p.startTime {
			continue
		}
		t.Errorf("process %d is still alive (state %s)", p.pid, f[0])
	}
}

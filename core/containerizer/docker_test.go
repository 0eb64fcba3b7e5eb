//go:build linux

package containerizer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/containerizer/containerizertest"
	"github.com/strata-sched/strata/internal/testenv"
)

// testImage is the busybox image the tests run; testenv builds it once and
// leaves it for the next run.
const testImage = "strata-test-busybox:latest"

const mountPoint = "/mnt/mesos/sandbox"

// testOwner is the test's Owner: unique per test and test process (other
// processes may run the same tests on the engine at the same time), shared
// by the instances one test creates (an agent and its restarted self).
func testOwner(t testing.TB) string {
	return fmt.Sprintf("test-%d-%s", os.Getpid(), t.Name())
}

// newDocker returns a Docker for the test with the test's owner (so that
// orphan cleanup never touches other tests' containers), closed and with
// every container of that owner removed at the end of the test.
func newDocker(t testing.TB, cfg containerizer.DockerConfig) *containerizer.Docker {
	t.Helper()
	testenv.BuildBusyboxImage(t, testImage)
	if cfg.Owner == "" {
		cfg.Owner = testOwner(t)
	}
	var logger *slog.Logger
	if os.Getenv("STRATA_TEST_LOGS") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	d, err := containerizer.NewDocker(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ids, err := containerizer.DockerContainersForTest(ctx, d, cfg.Owner)
		if err != nil {
			t.Errorf("listing containers: %v", err)
		}
		for _, id := range ids {
			if err := containerizer.DockerRemoveForTest(ctx, d, id); err != nil {
				t.Errorf("removing container %s: %v", id, err)
			}
		}
	})
	return d
}

// dockerSpec is a shell command in the test image.
func dockerSpec(t *testing.T, cmd string) containerizer.Spec {
	spec := containerizertest.NewSpec(t, cmd)
	spec.Docker = &containerizer.DockerSpec{Image: testImage}
	return spec
}

// withImage runs every Spec in the test image (the conformance suite's
// specs have no DockerSpec).
type withImage struct{ *containerizer.Docker }

func (w withImage) Launch(ctx context.Context, spec containerizer.Spec) (containerizer.Checkpoint, error) {
	if spec.Docker == nil {
		spec.Docker = &containerizer.DockerSpec{Image: testImage}
	}
	return w.Docker.Launch(ctx, spec)
}

// dockerArgv turns a posix argv Spec (Value the program, Arguments its argv
// with argv[0]) into Mesos' docker form: Value, then the arguments after
// argv[0], are the command given to the image's entrypoint (the test image
// has none). argv[0] itself cannot be set in a container.
func dockerArgv(spec containerizer.Spec) containerizer.Spec {
	if len(spec.Arguments) > 0 {
		spec.Arguments = spec.Arguments[1:]
	}
	return spec
}

func TestDockerConformance(t *testing.T) {
	containerizertest.RunWithOptions(t, func(t *testing.T) containerizer.Containerizer {
		return withImage{newDocker(t, containerizer.DockerConfig{})}
	}, containerizertest.Options{IsolatedPids: true, SandboxPath: mountPoint, Argv: dockerArgv})
}

func dockerWait(t *testing.T, c containerizer.Containerizer, id string) containerizer.Termination {
	t.Helper()
	return containerizertest.Wait(t, c, id)
}

func sandboxFile(t *testing.T, spec containerizer.Spec, name string) string {
	t.Helper()
	return containerizertest.ReadFile(t, filepath.Join(spec.Sandbox, name))
}

func TestDockerNameLabelsEnvAndOutput(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	spec := dockerSpec(t, `echo "sandbox=$MESOS_SANDBOX name=$MESOS_CONTAINER_NAME foo=$FOO"; echo to-err >&2; pwd; exit 3`)
	spec.Env = append(spec.Env, "FOO=bar")
	spec.Docker.Parameters = [][2]string{{"label", "team=infra"}}
	cp := containerizertest.Launch(t, d, spec)
	if cp.Kind != "docker" || cp.Version != 1 || len(cp.Data) == 0 {
		t.Errorf("Checkpoint = %+v, want kind docker, version 1 and data", cp)
	}
	name := "mesos-" + spec.ContainerID
	labels, err := containerizer.DockerLabelsForTest(t.Context(), d, name)
	if err != nil {
		t.Fatalf("no container named %s: %v", name, err)
	}
	if labels[containerizer.DockerLabelContainerID] != spec.ContainerID || labels[containerizer.DockerLabelContainerizer] != "docker" || labels["team"] != "infra" {
		t.Errorf("labels = %v", labels)
	}
	want := containerizer.Termination{ExitCode: 3, Message: "Container exited with status 3"}
	if got := dockerWait(t, d, spec.ContainerID); got != want {
		t.Errorf("Termination = %+v, want %+v", got, want)
	}
	wantOut := fmt.Sprintf("sandbox=%s name=%s foo=bar\n%s\n", mountPoint, name, mountPoint)
	if got := sandboxFile(t, spec, "stdout"); got != wantOut {
		t.Errorf("stdout = %q, want %q", got, wantOut)
	}
	if got := sandboxFile(t, spec, "stderr"); got != "to-err\n" {
		t.Errorf("stderr = %q", got)
	}
}

func TestDockerCustomName(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	spec := dockerSpec(t, "exit 0")
	spec.Name = "strata-custom-" + spec.ContainerID
	containerizertest.Launch(t, d, spec)
	dockerWait(t, d, spec.ContainerID)
	if _, _, _, err := containerizer.DockerStateForTest(t.Context(), d, spec.Name); err != nil {
		t.Errorf("no container named %s: %v", spec.Name, err)
	}
}

// freePort returns a TCP port that was free on the host a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// getUntil GETs url until it answers 200 and returns the body.
func getUntil(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = fmt.Errorf("HTTP %d %q %v", resp.StatusCode, b, rerr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDockerBridgePortMapping(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	spec := dockerSpec(t, "exec httpd -f -p 80 -h "+mountPoint)
	if err := os.WriteFile(filepath.Join(spec.Sandbox, "index.html"), []byte("hello from bridge\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostPort := freePort(t)
	spec.Docker.Network = "BRIDGE"
	spec.Docker.PortMappings = []containerizer.DockerPortMapping{{HostPort: uint32(hostPort), ContainerPort: 80, Protocol: "tcp"}}
	containerizertest.Launch(t, d, spec)
	if got := getUntil(t, "http://127.0.0.1:"+strconv.Itoa(hostPort)+"/"); got != "hello from bridge\n" {
		t.Errorf("GET / = %q", got)
	}
	if err := d.Kill(t.Context(), spec.ContainerID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if term := dockerWait(t, d, spec.ContainerID); !term.Killed || term.Signal != 15 {
		t.Errorf("Termination = %+v, want killed by SIGTERM", term)
	}
}

func TestDockerHostNetwork(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	port := strconv.Itoa(freePort(t))
	spec := dockerSpec(t, "exec httpd -f -p 127.0.0.1:"+port+" -h "+mountPoint)
	if err := os.WriteFile(filepath.Join(spec.Sandbox, "index.html"), []byte("hello from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.Docker.Network = "HOST"
	containerizertest.Launch(t, d, spec)
	if got := getUntil(t, "http://127.0.0.1:"+port+"/"); got != "hello from host\n" {
		t.Errorf("GET / = %q", got)
	}
	if err := d.Kill(t.Context(), spec.ContainerID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestDockerVolumes(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	data, ro := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "in"), []byte("read me"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := dockerSpec(t, `echo written > /data/out && cat /ro/in && ! touch /ro/nope 2>/dev/null && echo rel > rel/x`)
	if err := os.Mkdir(filepath.Join(spec.Sandbox, "relhost"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec.Docker.Volumes = []containerizer.DockerVolume{
		{HostPath: data, ContainerPath: "/data"},
		{HostPath: ro, ContainerPath: "/ro", ReadOnly: true},
		// A relative container path is under the sandbox mount point.
		{HostPath: filepath.Join(spec.Sandbox, "relhost"), ContainerPath: "rel"},
	}
	containerizertest.Launch(t, d, spec)
	if term := dockerWait(t, d, spec.ContainerID); term.ExitCode != 0 {
		t.Fatalf("Termination = %+v; stderr %q", term, sandboxFile(t, spec, "stderr"))
	}
	if got := containerizertest.ReadFile(t, filepath.Join(data, "out")); got != "written\n" {
		t.Errorf("/data/out on the host = %q", got)
	}
	if got := sandboxFile(t, spec, "stdout"); got != "read me" {
		t.Errorf("stdout = %q", got)
	}
	if got := sandboxFile(t, spec, filepath.Join("relhost", "x")); got != "rel\n" {
		t.Errorf("relhost/x = %q", got)
	}
}

func TestDockerCommandSemantics(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	for _, tc := range []struct {
		name  string
		shell bool
		value string
		args  []string
		param [][2]string
		want  string
	}{
		// No value: the image's CMD (sh, reading an empty stdin) runs.
		{name: "image CMD", want: ""},
		// Shell: /bin/sh -c value, the entrypoint overridden.
		{name: "shell", shell: true, value: "echo $((1+2))", want: "3\n"},
		// Not shell: value then arguments are the command (Mesos passes
		// value as the first argument to the entrypoint).
		{name: "value and arguments", value: "echo", args: []string{"a", "b c"}, want: "a b c\n"},
		{name: "arguments only", args: []string{"echo", "x"}, want: "x\n"},
		// With an entrypoint, value and arguments are its arguments.
		{name: "entrypoint", value: "one", args: []string{"two"}, param: [][2]string{{"entrypoint", "echo"}}, want: "one two\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := dockerSpec(t, tc.value)
			spec.Shell, spec.Arguments = tc.shell, tc.args
			spec.Docker.Parameters = tc.param
			containerizertest.Launch(t, d, spec)
			if term := dockerWait(t, d, spec.ContainerID); term.ExitCode != 0 {
				t.Fatalf("Termination = %+v; stderr %q", term, sandboxFile(t, spec, "stderr"))
			}
			if got := sandboxFile(t, spec, "stdout"); got != tc.want {
				t.Errorf("stdout = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDockerRecoverRunning(t *testing.T) {
	t.Parallel()
	owner := testOwner(t)
	old := newDocker(t, containerizer.DockerConfig{Owner: owner})
	// Output keeps flowing while the agent is down and after it is back.
	spec := dockerSpec(t, `i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo out$i; echo err$i >&2; sleep 0.05; done; exit 4`)
	cp := containerizertest.Launch(t, old, spec)
	containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "out5\n")
	name := "mesos-" + spec.ContainerID
	id1, started1, running, err := containerizer.DockerStateForTest(t.Context(), old, name)
	if err != nil || !running {
		t.Fatalf("container %s: running %v, %v", name, running, err)
	}
	// The agent stops: its goroutines end, the container does not.
	old.Close()
	time.Sleep(300 * time.Millisecond)

	c := newDocker(t, containerizer.DockerConfig{Owner: owner, KillOrphans: true})
	for range 2 { // idempotent
		if err := c.Recover(t.Context(), []containerizer.Checkpoint{cp}); err != nil {
			t.Fatalf("Recover: %v", err)
		}
	}
	id2, started2, _, err := containerizer.DockerStateForTest(t.Context(), c, name)
	if err != nil || id2 != id1 || started2 != started1 {
		t.Errorf("after recovery: container %s started %s (%v); before: %s started %s", id2, started2, err, id1, started1)
	}
	want := containerizer.Termination{ExitCode: 4, Message: "Container exited with status 4"}
	if got := dockerWait(t, c, spec.ContainerID); got != want {
		t.Errorf("Termination = %+v, want %+v", got, want)
	}
	// Every line exactly once, in order, across the restart.
	var wantOut, wantErr strings.Builder
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&wantOut, "out%d\n", i)
		fmt.Fprintf(&wantErr, "err%d\n", i)
	}
	if got := sandboxFile(t, spec, "stdout"); got != wantOut.String() {
		t.Errorf("stdout = %q, want out1..out40 once each", got)
	}
	if got := sandboxFile(t, spec, "stderr"); got != wantErr.String() {
		t.Errorf("stderr = %q, want err1..err40 once each", got)
	}
}

func TestDockerRecoverLostPosition(t *testing.T) {
	t.Parallel()
	// The agent died after writing output but before saving its position:
	// the recovered copy truncates back and writes those bytes again,
	// instead of duplicating them.
	owner := testOwner(t)
	old := newDocker(t, containerizer.DockerConfig{Owner: owner})
	spec := dockerSpec(t, `echo one; echo two; exec sleep 1000`)
	cp := containerizertest.Launch(t, old, spec)
	stdout := filepath.Join(spec.Sandbox, "stdout")
	containerizertest.WaitFile(t, stdout, "two\n")
	old.Close()
	// What the lost writes look like: the saved position is older than the
	// file (here: the position taken at launch).
	if err := os.WriteFile(filepath.Join(spec.RunDir, "docker_logs.json"), []byte(`{"seen":0,"stdout":{"size":0},"stderr":{"size":0}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newDocker(t, containerizer.DockerConfig{Owner: owner})
	if err := c.Recover(t.Context(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(t.Context(), spec.ContainerID, time.Second); err != nil {
		t.Fatal(err)
	}
	if got := containerizertest.ReadFile(t, stdout); got != "one\ntwo\n" {
		t.Errorf("stdout = %q, want one and two once", got)
	}
}

func TestDockerRecoverRemovedContainer(t *testing.T) {
	t.Parallel()
	owner := testOwner(t)
	old := newDocker(t, containerizer.DockerConfig{Owner: owner})
	spec := dockerSpec(t, "exit 6")
	cp := containerizertest.Launch(t, old, spec)
	dockerWait(t, old, spec.ContainerID)
	old.Close()
	if err := containerizer.DockerRemoveForTest(t.Context(), old, "mesos-"+spec.ContainerID); err != nil {
		t.Fatal(err)
	}
	// The exit status recorded in RunDir survives the container.
	c := newDocker(t, containerizer.DockerConfig{Owner: owner})
	if err := c.Recover(t.Context(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	want := containerizer.Termination{ExitCode: 6, Message: "Container exited with status 6"}
	if got := dockerWait(t, c, spec.ContainerID); got != want {
		t.Errorf("Termination = %+v, want %+v", got, want)
	}
	// Without that record the status is unknown.
	if err := os.Remove(filepath.Join(spec.RunDir, "docker_exit.json")); err != nil {
		t.Fatal(err)
	}
	c2 := newDocker(t, containerizer.DockerConfig{Owner: owner})
	if err := c2.Recover(t.Context(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	if got := dockerWait(t, c2, spec.ContainerID); got.ExitCode != -1 {
		t.Errorf("Termination = %+v, want ExitCode -1", got)
	}
}

func TestDockerKillOrphans(t *testing.T) {
	t.Parallel()
	owner := testOwner(t)
	old := newDocker(t, containerizer.DockerConfig{Owner: owner})
	kept := dockerSpec(t, "exec sleep 1000")
	orphan := dockerSpec(t, "exec sleep 1000")
	cp := containerizertest.Launch(t, old, kept)
	containerizertest.Launch(t, old, orphan)
	// Another agent's container on the same engine.
	other := newDocker(t, containerizer.DockerConfig{Owner: owner + "-other"})
	foreign := dockerSpec(t, "exec sleep 1000")
	containerizertest.Launch(t, other, foreign)
	old.Close()

	c := newDocker(t, containerizer.DockerConfig{Owner: owner, KillOrphans: true})
	if err := c.Recover(t.Context(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	if _, _, running, err := containerizer.DockerStateForTest(t.Context(), c, "mesos-"+kept.ContainerID); err != nil || !running {
		t.Errorf("checkpointed container: running %v, %v", running, err)
	}
	if _, _, _, err := containerizer.DockerStateForTest(t.Context(), c, "mesos-"+orphan.ContainerID); err == nil {
		t.Errorf("orphan container still exists")
	}
	if _, _, running, err := containerizer.DockerStateForTest(t.Context(), c, "mesos-"+foreign.ContainerID); err != nil || !running {
		t.Errorf("another owner's container: running %v, %v", running, err)
	}
	for _, k := range []struct {
		c  containerizer.Containerizer
		id string
	}{{c, kept.ContainerID}, {other, foreign.ContainerID}} {
		if err := k.c.Destroy(t.Context(), k.id); err != nil {
			t.Error(err)
		}
	}
}

func TestDockerMissingImage(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	spec := dockerSpec(t, "exit 0")
	spec.Docker.Image = "strata-test-no-such-image:v1"
	_, err := d.Launch(t.Context(), spec)
	if err == nil {
		t.Fatal("Launch of a missing image succeeded")
	}
	// The engine's own message is in the error (here: no registry).
	if msg := err.Error(); !strings.Contains(msg, "pull image strata-test-no-such-image:v1") || !strings.Contains(msg, "docker engine: ") {
		t.Errorf("error %q lacks the image or the engine's message", msg)
	}
	if _, err := d.Wait(t.Context(), spec.ContainerID); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Wait after a failed Launch: %v, want ErrUnknownContainer", err)
	}

	// ForcePull pulls even an image that is present, and fails without a
	// registry.
	spec = dockerSpec(t, "exit 0")
	spec.Docker.ForcePull = true
	if _, err := d.Launch(t.Context(), spec); err == nil || !strings.Contains(err.Error(), "pull image "+testImage) {
		t.Errorf("Launch with ForcePull: %v, want a pull error", err)
	}
}

func TestDockerLaunchErrors(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	for _, tc := range []struct {
		name   string
		modify func(*containerizer.Spec)
		want   string
	}{
		{"unknown parameter", func(s *containerizer.Spec) { s.Docker.Parameters = [][2]string{{"restart", "always"}} }, `unsupported docker parameter "restart"`},
		{"port mapping on host network", func(s *containerizer.Spec) {
			s.Docker.PortMappings = []containerizer.DockerPortMapping{{HostPort: 31000, ContainerPort: 80}}
		}, "port mappings are only supported for bridge and user-defined networks"},
		{"user network without name", func(s *containerizer.Spec) { s.Docker.Network = "USER" }, "USER needs the name"},
		{"unknown user network", func(s *containerizer.Spec) { s.Docker.Network, s.Docker.UserNetwork = "USER", "strata-no-such-net" }, "strata-no-such-net"},
		{"no docker spec", func(s *containerizer.Spec) { s.Docker = nil }, "unsupported container spec"},
	} {
		spec := dockerSpec(t, "exit 0")
		tc.modify(&spec)
		_, err := d.Launch(t.Context(), spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Launch error %v, want it to contain %q", tc.name, err, tc.want)
		}
		if tc.name == "no docker spec" && !errors.Is(err, containerizer.ErrUnsupported) {
			t.Errorf("%s: %v is not ErrUnsupported", tc.name, err)
		}
	}
}

func TestDockerOOM(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	spec := dockerSpec(t, `x=$(head -c 100000000 /dev/zero | tr "\0" a)`)
	spec.MemMB = 32
	spec.Docker.Parameters = [][2]string{{"memory-swap", "32m"}}
	containerizertest.Launch(t, d, spec)
	// The kernel may take seconds of reclaim before it kills.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	term, err := d.Wait(ctx, spec.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if term.Limitation != "memory" || term.ExitCode != 137 || !strings.HasPrefix(term.Message, "Memory limit exceeded") {
		t.Errorf("Termination = %+v, want a memory limitation", term)
	}
}

func TestDockerRemoveDelay(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{RemoveDelay: time.Hour})
	spec := dockerSpec(t, "echo first")
	containerizertest.Launch(t, d, spec)
	dockerWait(t, d, spec.ContainerID)
	if err := d.Destroy(t.Context(), spec.ContainerID); err != nil {
		t.Fatal(err)
	}
	name := "mesos-" + spec.ContainerID
	if _, _, running, err := containerizer.DockerStateForTest(t.Context(), d, name); err != nil || running {
		t.Errorf("after Destroy with a remove delay: running %v, %v; want a stopped container", running, err)
	}
	// The same container ID can be launched again: the stopped container
	// holding its name goes first.
	spec.Value = "echo second"
	containerizertest.Launch(t, d, spec)
	dockerWait(t, d, spec.ContainerID)
	if got := sandboxFile(t, spec, "stdout"); got != "first\nsecond\n" {
		t.Errorf("stdout = %q", got)
	}
}

func TestDockerLogDriverNone(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	spec := dockerSpec(t, "echo lost; exit 2")
	spec.Docker.Parameters = [][2]string{{"log-driver", "none"}}
	containerizertest.Launch(t, d, spec)
	if term := dockerWait(t, d, spec.ContainerID); term.ExitCode != 2 {
		t.Errorf("Termination = %+v, want exit code 2", term)
	}
}

func TestDockerResourcesAndParameters(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	spec := dockerSpec(t, `id -u; hostname; cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null; ulimit -n`)
	spec.CPUs, spec.CPULimit, spec.MemMB = 0.5, 1.5, 64
	spec.Docker.Network = "BRIDGE"
	spec.Docker.Hostname = "web-1"
	spec.Docker.Parameters = [][2]string{{"user", "65534"}, {"ulimit", "nofile=512:1024"}}
	containerizertest.Launch(t, d, spec)
	if term := dockerWait(t, d, spec.ContainerID); term.ExitCode != 0 {
		t.Fatalf("Termination = %+v; stderr %q", term, sandboxFile(t, spec, "stderr"))
	}
	out := strings.Fields(sandboxFile(t, spec, "stdout"))
	if len(out) < 3 || out[0] != "65534" || out[1] != "web-1" || out[len(out)-1] != "512" {
		t.Errorf("stdout = %q, want uid 65534, hostname web-1, ulimit 512", out)
	}
	if len(out) == 6 { // cgroup v1 files visible
		if want := []string{"512", "150000", strconv.Itoa(64 << 20)}; out[2] != want[0] || out[3] != want[1] || out[4] != want[2] {
			t.Errorf("cpu.shares, cfs quota, memory limit = %q, want %q", out[2:5], want)
		}
	}
}

func TestDockerUsageLimits(t *testing.T) {
	t.Parallel()
	owner := testOwner(t)
	old := newDocker(t, containerizer.DockerConfig{Owner: owner})
	spec := dockerSpec(t, "echo ready; exec sleep 1000")
	spec.CPUs, spec.CPULimit, spec.MemMB, spec.MemLimitMB, spec.DiskMB = 0.5, 1, 64, 128, 10
	cp := containerizertest.Launch(t, old, spec)
	containerizertest.WaitFile(t, filepath.Join(spec.Sandbox, "stdout"), "ready")
	old.Close()
	// The limits come from the checkpoint after a restart.
	c := newDocker(t, containerizer.DockerConfig{Owner: owner})
	if err := c.Recover(t.Context(), []containerizer.Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	u, err := c.Usage(t.Context(), spec.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if u.CPUsLimit != 1 || u.MemLimitBytes != 128<<20 || u.MemSoftLimitBytes != 64<<20 || u.DiskLimitBytes != 10<<20 ||
		u.MemTotalBytes == 0 || u.Processes < 1 || u.Timestamp.IsZero() {
		t.Errorf("Usage = %+v", u)
	}
	if err := c.Destroy(t.Context(), spec.ContainerID); err != nil {
		t.Fatal(err)
	}
}

func TestCompositeDockerAndPosix(t *testing.T) {
	t.Parallel()
	d := newDocker(t, containerizer.DockerConfig{})
	m := containerizer.NewComposite(d, containerizer.NewPosix(nil))
	if got := m.Kind(); got != "docker,posix" {
		t.Errorf("Kind = %q", got)
	}
	ds := dockerSpec(t, "echo in-docker")
	ps := containerizertest.NewSpec(t, "echo on-host")
	dcp := containerizertest.Launch(t, m, ds)
	pcp := containerizertest.Launch(t, m, ps)
	if dcp.Kind != "docker" || pcp.Kind != "posix" {
		t.Errorf("checkpoint kinds %q, %q; want docker, posix", dcp.Kind, pcp.Kind)
	}
	for _, s := range []containerizer.Spec{ds, ps} {
		if term := dockerWait(t, m, s.ContainerID); term.ExitCode != 0 {
			t.Errorf("%s: %+v", s.ContainerID, term)
		}
	}
	// A new composite (agent restart) routes the checkpoints by kind.
	d2 := newDocker(t, containerizer.DockerConfig{Owner: testOwner(t)})
	m2 := containerizer.NewComposite(d2, containerizer.NewPosix(nil))
	if err := m2.Recover(t.Context(), []containerizer.Checkpoint{dcp, pcp}); err != nil {
		t.Fatal(err)
	}
	if got := dockerWait(t, m2, ds.ContainerID); got.Message != "Container exited with status 0" {
		t.Errorf("recovered docker container: %+v", got)
	}
	if got := dockerWait(t, m2, ps.ContainerID); got.Message != "Command exited with status 0" {
		t.Errorf("recovered posix container: %+v", got)
	}
	for _, s := range []containerizer.Spec{ds, ps} {
		if err := m2.Destroy(t.Context(), s.ContainerID); err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkDockerLaunch100 launches 100 containers (busybox sleep) on the
// engine at once and reports the time until all of them run, then removes
// them (not timed).
func BenchmarkDockerLaunch100(b *testing.B) {
	d := newDocker(b, containerizer.DockerConfig{})
	ctx := context.Background()
	const n = 100
	var total time.Duration
	rounds := 0
	for b.Loop() {
		specs := make([]containerizer.Spec, n)
		for i := range specs {
			specs[i] = containerizertest.NewSpec(b, "sleep")
			specs[i].Shell = false
			specs[i].Arguments = []string{"1000"}
			specs[i].CPUs, specs[i].MemMB = 0.1, 32
			specs[i].Docker = &containerizer.DockerSpec{Image: testImage}
		}
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range specs {
			wg.Go(func() { _, errs[i] = d.Launch(ctx, specs[i]) })
		}
		wg.Wait()
		took := time.Since(start)
		b.StopTimer()
		total += took
		rounds++
		for i := range specs {
			wg.Go(func() {
				if errs[i] == nil {
					errs[i] = d.Destroy(ctx, specs[i].ContainerID)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(rounds), "s/100-running")
	b.ReportMetric(float64(n*rounds)/total.Seconds(), "containers/s")
}

package containerizer_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/strata-sched/strata/internal/ci"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
)

// fakeC is an in-memory containerizer of a given kind that accepts Docker
// specs or the others, and records which containers it holds.
type fakeC struct {
	kind       string
	docker     bool  // accepts Docker specs (and only those)
	launchErr  error // returned by Launch for specs it accepts
	recoverErr error

	mu     sync.Mutex
	held   map[string]bool
	log    []string
	closed bool
}

func (f *fakeC) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func newFake(kind string, docker bool) *fakeC {
	return &fakeC{kind: kind, docker: docker, held: map[string]bool{}}
}

func (f *fakeC) record(op, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, op+" "+id)
}

func (f *fakeC) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeC) Kind() string { return f.kind }

func (f *fakeC) Launch(_ context.Context, spec containerizer.Spec) (containerizer.Checkpoint, error) {
	f.record("launch", spec.ContainerID)
	if (spec.Docker != nil) != f.docker {
		return containerizer.Checkpoint{}, fmt.Errorf("%s: not mine: %w", f.kind, containerizer.ErrUnsupported)
	}
	if f.launchErr != nil {
		return containerizer.Checkpoint{}, f.launchErr
	}
	f.mu.Lock()
	f.held[spec.ContainerID] = true
	f.mu.Unlock()
	return containerizer.Checkpoint{ContainerID: spec.ContainerID, Kind: f.kind, Version: 1}, nil
}

func (f *fakeC) has(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.held[id] {
		return containerizer.ErrUnknownContainer
	}
	return nil
}

func (f *fakeC) Wait(ctx context.Context, id string) (containerizer.Termination, error) {
	f.record("wait", id)
	return containerizer.Termination{Message: f.kind}, f.has(id)
}

func (f *fakeC) Kill(_ context.Context, id string, _ time.Duration) error {
	f.record("kill", id)
	return f.has(id)
}

func (f *fakeC) Recover(_ context.Context, cps []containerizer.Checkpoint) error {
	f.record("recover", fmt.Sprint(len(cps)))
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cp := range cps {
		// Like the real ones, the cgroups containerizer also re-attaches
		// posix containers.
		if cp.Kind != f.kind && (f.kind != "cgroups" || cp.Kind != "posix") {
			return fmt.Errorf("%s got a %s checkpoint", f.kind, cp.Kind)
		}
		f.held[cp.ContainerID] = true
	}
	return f.recoverErr
}

func (f *fakeC) Usage(_ context.Context, id string) (containerizer.Usage, error) {
	f.record("usage", id)
	return containerizer.Usage{Processes: 1}, f.has(id)
}

func (f *fakeC) Destroy(_ context.Context, id string) error {
	f.record("destroy", id)
	if err := f.has(id); err != nil {
		return err
	}
	f.mu.Lock()
	delete(f.held, id)
	f.mu.Unlock()
	return nil
}

func TestCompositeRoutes(t *testing.T) {
	ctx := context.Background()
	dk, px := newFake("docker", true), newFake("posix", false)
	m := containerizer.NewComposite(dk, px)
	if m.Kind() != "docker,posix" {
		t.Errorf("Kind = %q", m.Kind())
	}
	cpD, err := m.Launch(ctx, containerizer.Spec{ContainerID: "d1", Docker: &containerizer.DockerSpec{Image: "x"}})
	if err != nil || cpD.Kind != "docker" {
		t.Fatalf("Launch docker: %+v, %v", cpD, err)
	}
	cpP, err := m.Launch(ctx, containerizer.Spec{ContainerID: "p1"})
	if err != nil || cpP.Kind != "posix" {
		t.Fatalf("Launch posix: %+v, %v", cpP, err)
	}
	if _, err := m.Launch(ctx, containerizer.Spec{ContainerID: "p1"}); err == nil {
		t.Error("duplicate Launch succeeded")
	}
	for id, want := range map[string]string{"d1": "docker", "p1": "posix"} {
		if term, err := m.Wait(ctx, id); err != nil || term.Message != want {
			t.Errorf("Wait(%s) = %+v, %v; want it routed to %s", id, term, err, want)
		}
		if err := m.Kill(ctx, id, time.Second); err != nil {
			t.Error(err)
		}
		if _, err := m.Usage(ctx, id); err != nil {
			t.Error(err)
		}
		if err := m.Destroy(ctx, id); err != nil {
			t.Error(err)
		}
	}
	if got := strings.Join(dk.calls(), ","); got != "launch d1,launch p1,wait d1,kill d1,usage d1,destroy d1" {
		t.Errorf("docker calls: %s", got)
	}
	if got := strings.Join(px.calls(), ","); got != "launch p1,wait p1,kill p1,usage p1,destroy p1" {
		t.Errorf("posix calls: %s", got)
	}
	for _, id := range []string{"d1", "p1", "nope"} {
		if _, err := m.Wait(ctx, id); !errors.Is(err, containerizer.ErrUnknownContainer) {
			t.Errorf("Wait(%s) after Destroy: %v", id, err)
		}
		if err := m.Destroy(ctx, id); !errors.Is(err, containerizer.ErrUnknownContainer) {
			t.Errorf("Destroy(%s) after Destroy: %v", id, err)
		}
	}
	if err := m.Close(); err != nil || !dk.closed || !px.closed {
		t.Errorf("Close = %v; closed docker %v, posix %v", err, dk.closed, px.closed)
	}
}

func TestCompositeLaunchErrors(t *testing.T) {
	ctx := context.Background()
	// A real failure of the containerizer that accepts the spec is final.
	dk, px := newFake("docker", true), newFake("posix", true)
	dk.launchErr = errors.New("pull failed")
	m := containerizer.NewComposite(dk, px)
	if _, err := m.Launch(ctx, containerizer.Spec{ContainerID: "d1", Docker: &containerizer.DockerSpec{}}); err == nil || !strings.Contains(err.Error(), "pull failed") {
		t.Errorf("Launch = %v, want the docker error", err)
	}
	if len(px.calls()) != 0 {
		t.Errorf("posix was tried after docker failed: %v", px.calls())
	}
	// The ID is free again.
	dk.launchErr = nil
	if _, err := m.Launch(ctx, containerizer.Spec{ContainerID: "d1", Docker: &containerizer.DockerSpec{}}); err != nil {
		t.Errorf("Launch after a failed Launch: %v", err)
	}

	// Nobody accepts a Docker spec.
	m = containerizer.NewComposite(newFake("posix", false))
	_, err := m.Launch(ctx, containerizer.Spec{ContainerID: "d2", Docker: &containerizer.DockerSpec{Image: "x"}})
	if !errors.Is(err, containerizer.ErrUnsupported) || !strings.Contains(err.Error(), "--containerizers=docker,mesos") || !strings.Contains(err.Error(), "(posix)") {
		t.Errorf("Launch = %v, want ErrUnsupported naming posix and --containerizers=docker,mesos", err)
	}
	if _, err := m.Wait(ctx, "d2"); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Wait after an unsupported Launch: %v", err)
	}
}

func TestCompositeRecover(t *testing.T) {
	ctx := context.Background()
	dk, px := newFake("docker", true), newFake("posix", false)
	m := containerizer.NewComposite(dk, px)
	err := m.Recover(ctx, []containerizer.Checkpoint{
		{ContainerID: "d1", Kind: "docker"}, {ContainerID: "p1", Kind: "posix"},
		{ContainerID: "p2", Kind: "posix"}, {ContainerID: "x1", Kind: "cgroups"},
	})
	if err == nil || !strings.Contains(err.Error(), `"cgroups"`) {
		t.Errorf("Recover = %v, want an error about the cgroups checkpoint", err)
	}
	for id, want := range map[string]string{"d1": "docker", "p1": "posix", "p2": "posix"} {
		if term, err := m.Wait(ctx, id); err != nil || term.Message != want {
			t.Errorf("Wait(%s) = %+v, %v; want it routed to %s", id, term, err, want)
		}
	}
	if _, err := m.Wait(ctx, "x1"); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Wait(x1): %v", err)
	}
	// Every containerizer recovers, also one without checkpoints (docker
	// cleans up orphans then); Recover is idempotent.
	m2 := containerizer.NewComposite(newFake("docker", true), px)
	if err := m2.Recover(ctx, []containerizer.Checkpoint{{ContainerID: "p1", Kind: "posix"}}); err != nil {
		t.Fatal(err)
	}
	if err := m2.Recover(ctx, []containerizer.Checkpoint{{ContainerID: "p1", Kind: "posix"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Wait(ctx, "p1"); err != nil {
		t.Error(err)
	}
}

// TestCompositeRecoverPosixUnderCgroups: an agent that ran with posix
// isolation and now runs docker,mesos with cgroups keeps its tasks.
func TestCompositeRecoverPosixUnderCgroups(t *testing.T) {
	ctx := context.Background()
	m := containerizer.NewComposite(newFake("docker", true), newFake("cgroups", false))
	if err := m.Recover(ctx, []containerizer.Checkpoint{{ContainerID: "old", Kind: "posix"}}); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if term, err := m.Wait(ctx, "old"); err != nil || term.Message != "cgroups" {
		t.Fatalf("Wait(old) = %+v, %v; want it routed to cgroups", term, err)
	}
}

func TestCompositeOnlyPosixRejectsDocker(t *testing.T) {
	if runtime.GOOS != "linux" {
		ci.SkipOrFail(t, "posix needs Linux")
	}
	m := containerizer.NewComposite(containerizer.NewPosix(nil))
	spec := containerizer.Spec{
		ContainerID: "ct-docker-on-posix", Sandbox: t.TempDir(), RunDir: t.TempDir(),
		Shell: true, Value: "true", Docker: &containerizer.DockerSpec{Image: "busybox"},
	}
	_, err := m.Launch(context.Background(), spec)
	if !errors.Is(err, containerizer.ErrUnsupported) || !strings.Contains(err.Error(), "--containerizers=docker,mesos") {
		t.Errorf("Launch = %v, want ErrUnsupported mentioning --containerizers=docker,mesos", err)
	}
}

package engine

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon/app"
)

// roleDriver is a fakeDriver that also changes the framework's roles.
type roleDriver struct {
	*fakeDriver
	mu      sync.Mutex
	current []string
	calls   [][]string
	fail    bool
}

func (d *roleDriver) UpdateRoles(_ context.Context, roles []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, slices.Clone(roles))
	if d.fail {
		return errors.New("master unavailable")
	}
	d.current = slices.Clone(roles)
	return nil
}

func (d *roleDriver) state() (current []string, calls int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.current), len(d.calls)
}

// TestEngineSubscribesWithAppRoles: the engine keeps the framework
// subscribed with every role its apps and live tasks use, launches a
// role's instances only from resources allocated to that role, and drops a
// role once nothing uses it.
func TestEngineSubscribesWithAppRoles(t *testing.T) {
	st, err := store.OpenEmbedded(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := newHarness(t, st, &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)})
	d := &roleDriver{fakeDriver: h.d, fail: true}
	h.e.Subscribed(h.ctx, d, "fw-1", "master")

	h.e.Tick(h.ctx)
	if cur, calls := d.state(); calls != 1 || cur != nil {
		t.Fatalf("after a failed update: roles %v, %d calls", cur, calls)
	}
	d.mu.Lock()
	d.fail = false
	d.mu.Unlock()
	h.e.Tick(h.ctx) // retried
	h.e.Tick(h.ctx) // nothing changed: no call
	if cur, calls := d.state(); calls != 2 || !slices.Equal(cur, []string{"*"}) {
		t.Fatalf("roles %v after %d calls, want [*] after 2", cur, calls)
	}

	h.deploy(`{"id":"/dev/api","cmd":"sleep 100","cpus":0.5,"mem":64,"role":"dev"}`)
	if cur, _ := d.state(); !slices.Equal(cur, []string{"*", "dev"}) {
		t.Fatalf("roles %v, want [* dev]", cur)
	}
	if got := h.e.Roles(); !slices.Equal(got, []string{"*", "dev"}) {
		t.Errorf("Roles() = %v", got)
	}

	// An offer allocated to "*" cannot serve the dev app.
	star := offer("o-star", 4)
	star.AllocationInfo = &mesos.AllocationInfo{Role: "*"}
	for i := range star.Resources {
		star.Resources[i].AllocationInfo = &mesos.AllocationInfo{Role: "*"}
	}
	h.e.Offers(h.ctx, d, []mesos.Offer{star})
	if n := len(h.d.launched); n != 0 {
		t.Fatalf("launched %d tasks from an offer for role *", n)
	}
	// An offer for dev with reserved and unreserved resources: the task
	// takes the reservation first, all allocated to dev.
	res, err := mesos.ParseResources("cpus(dev):0.5;mem(dev):64;cpus:2;mem:1024;ports:[31000-31010]", "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range res {
		res[i].AllocationInfo = &mesos.AllocationInfo{Role: "dev"}
	}
	dev := mesos.Offer{ID: mesos.OfferID{Value: "o-dev"}, AgentID: mesos.AgentID{Value: "agent-1"}, Hostname: "h1",
		Resources: res, AllocationInfo: &mesos.AllocationInfo{Role: "dev"}}
	h.e.Offers(h.ctx, d, []mesos.Offer{dev})
	if n := len(h.d.launched); n != 1 {
		t.Fatalf("launched %d tasks from the dev offer, want 1", n)
	}
	task := h.d.launched[0]
	for _, r := range task.Resources {
		if r.AllocationInfo == nil || r.AllocationInfo.Role != "dev" {
			t.Errorf("resource %s not allocated to dev", mesos.Resources{r})
		}
		if (r.Name == "cpus" || r.Name == "mem") && r.ReservationRole() != "dev" {
			t.Errorf("resource %s not from the dev reservation", mesos.Resources{r})
		}
	}
	h.update(task.TaskID.Value, mesos.TaskRunning)

	// Removing the app keeps the role while its task lives.
	if _, err := h.e.Deploy(h.ctx, Change{Apps: []string{"/dev/api"}, Force: true, Apply: func(root app.Group) (app.Group, error) {
		return RemoveApp(root, "/dev/api"), nil
	}}); err != nil {
		t.Fatal(err)
	}
	h.e.Tick(h.ctx)
	if cur, _ := d.state(); !slices.Equal(cur, []string{"*", "dev"}) {
		t.Fatalf("roles %v while the dev task runs, want [* dev]", cur)
	}
	h.update(task.TaskID.Value, mesos.TaskKilled)
	h.e.Tick(h.ctx)
	if cur, _ := d.state(); !slices.Equal(cur, []string{"*"}) {
		t.Fatalf("roles %v once nothing uses dev, want [*]", cur)
	}
}

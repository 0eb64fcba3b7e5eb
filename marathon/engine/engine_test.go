package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/events"
	"github.com/strata-sched/strata/marathon/state"
)

// fakeDriver records the calls the engine makes to the master.
type fakeDriver struct {
	mu        sync.Mutex
	launched  []mesos.TaskInfo
	kills     []string
	declined  int
	revives   int
	reconcile int
}

func (f *fakeDriver) Accept(_ context.Context, _ []mesos.OfferID, ops []mesos.Operation, _ *mesos.Filters) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, op := range ops {
		f.launched = append(f.launched, op.Launch.TaskInfos...)
	}
	return nil
}
func (f *fakeDriver) Decline(context.Context, []mesos.OfferID, *mesos.Filters) error {
	f.mu.Lock()
	f.declined++
	f.mu.Unlock()
	return nil
}
func (f *fakeDriver) Kill(_ context.Context, id mesos.TaskID, _ *mesos.AgentID, _ *mesos.KillPolicy) error {
	f.mu.Lock()
	f.kills = append(f.kills, id.Value)
	f.mu.Unlock()
	return nil
}
func (f *fakeDriver) Revive(context.Context, ...string) error {
	f.mu.Lock()
	f.revives++
	f.mu.Unlock()
	return nil
}
func (f *fakeDriver) Suppress(context.Context, ...string) error { return nil }
func (f *fakeDriver) Reconcile(context.Context, []mesos.ReconcileTask) error {
	f.mu.Lock()
	f.reconcile++
	f.mu.Unlock()
	return nil
}

// clock is a manual clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t     *testing.T
	st    store.Store
	e     *Engine
	d     *fakeDriver
	clock *clock
	ctx   context.Context
}

// newStoreAndClock is an embedded store closed at cleanup and a manual
// clock at 2024-01-01.
func newStoreAndClock(t *testing.T) (store.Store, *clock) {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, &clock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func newHarness(t *testing.T, st store.Store, clk *clock) *harness {
	t.Helper()
	e, err := New(Config{Repo: state.NewRepo(st, "", 0), Bus: events.NewBus(0, clk.Now), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, e: e, d: &fakeDriver{}, clock: clk, ctx: ctx}
	e.Subscribed(ctx, h.d, "fw-1", "master")
	return h
}

func (h *harness) deploy(js string) Result {
	h.t.Helper()
	a, err := app.Normalize([]byte(js))
	if err != nil {
		h.t.Fatal(err)
	}
	res, err := h.e.Deploy(h.ctx, Change{Apps: []string{a.ID}, Apply: func(root app.Group) (app.Group, error) {
		return PutApp(root, a), nil
	}})
	if err != nil {
		h.t.Fatal(err)
	}
	h.e.Tick(h.ctx)
	return res
}

func offer(id string, cpus float64) mesos.Offer {
	res, _ := mesos.ParseResources(fmt.Sprintf("cpus:%v;mem:4096;disk:1000;ports:[31000-31100]", cpus), "")
	return mesos.Offer{ID: mesos.OfferID{Value: id}, AgentID: mesos.AgentID{Value: "agent-1"}, Hostname: "h1", Resources: res}
}

func (h *harness) update(taskID string, s mesos.TaskState) {
	h.e.Update(h.ctx, h.d, mesos.TaskStatus{TaskID: mesos.TaskID{Value: taskID}, State: s, AgentID: &mesos.AgentID{Value: "agent-1"}})
	h.e.Tick(h.ctx)
}

func (h *harness) deployments() int {
	ds, err := h.e.Deployments()
	if err != nil {
		h.t.Fatal(err)
	}
	return len(ds)
}

// TestEngineLifecycle walks an app through launch, restart of Marathon,
// orphan handling, scale-down by killSelection and failure backoff, with a
// fake master and a manual clock.
func TestEngineLifecycle(t *testing.T) {
	st, clk := newStoreAndClock(t)
	h := newHarness(t, st, clk)

	h.deploy(`{"id":"/a","cmd":"sleep 100","cpus":1,"mem":64,"instances":3}`)
	h.e.Offers(h.ctx, h.d, []mesos.Offer{offer("o1", 1.5)})
	if len(h.d.launched) != 1 {
		t.Fatalf("launched %d from a 1.5-cpu offer, want 1", len(h.d.launched))
	}
	q, _ := h.e.Queue()
	if len(q) != 1 || q[0].Count != 2 {
		t.Fatalf("queue %+v", q)
	}
	h.e.Offers(h.ctx, h.d, []mesos.Offer{offer("o2", 0.5)})
	q, _ = h.e.Queue()
	if q[0].Summary.UnusedOffersCount != 1 || q[0].Message == "" {
		t.Fatalf("queue after a too-small offer: %+v", q[0])
	}
	t.Logf("queue message: %s", q[0].Message)
	for _, id := range []string{"o3", "o3b"} {
		clk.Add(time.Second)
		h.e.Offers(h.ctx, h.d, []mesos.Offer{offer(id, 1)})
	}
	if len(h.d.launched) != 3 {
		t.Fatalf("launched %d, want 3", len(h.d.launched))
	}
	for i, ti := range h.d.launched {
		clk.Add(time.Second)
		h.update(ti.TaskID.Value, mesos.TaskRunning)
		_ = i
	}
	if n := h.deployments(); n != 0 {
		t.Fatalf("%d deployments after all tasks run", n)
	}

	// A new engine on the same store knows the tasks, launches nothing and
	// kills nothing.
	h2 := newHarness(t, st, clk)
	if known := h2.e.KnownTasks(); len(known) != 3 {
		t.Fatalf("known tasks after reload: %v", known)
	}
	h2.e.Offers(h2.ctx, h2.d, []mesos.Offer{offer("o4", 4)})
	h2.e.Tick(h2.ctx)
	if len(h2.d.launched) != 0 || len(h2.d.kills) != 0 {
		t.Fatalf("after reload: launched %d killed %v", len(h2.d.launched), h2.d.kills)
	}
	for _, ti := range h.d.launched {
		h2.update(ti.TaskID.Value, mesos.TaskRunning) // reconciliation answers
	}
	// A task it does not know is killed.
	h2.update("a.00000000-0000-4000-8000-000000000001", mesos.TaskRunning)
	if len(h2.d.kills) != 1 || h2.d.kills[0] != "a.00000000-0000-4000-8000-000000000001" {
		t.Fatalf("orphan kills %v", h2.d.kills)
	}

	// Scale down to 1: the two youngest go.
	h2.deploy(`{"id":"/a","cmd":"sleep 100","cpus":1,"mem":64,"instances":1}`)
	h2.e.Tick(h2.ctx)
	youngest := map[string]bool{h.d.launched[1].TaskID.Value: true, h.d.launched[2].TaskID.Value: true}
	if len(h2.d.kills) != 3 || !youngest[h2.d.kills[1]] || !youngest[h2.d.kills[2]] {
		t.Fatalf("scale-down kills %v, want %v", h2.d.kills[1:], youngest)
	}
	for id := range youngest {
		h2.update(id, mesos.TaskKilled)
	}
	if n := h2.deployments(); n != 0 {
		t.Fatalf("scale-down deployment still running")
	}

	// The last task fails: the replacement waits for the backoff.
	h2.update(h.d.launched[0].TaskID.Value, mesos.TaskFailed)
	q, _ = h2.e.Queue()
	if len(q) != 1 || q[0].Overdue || q[0].TimeLeftSeconds != 1 {
		t.Fatalf("queue after a failure: %+v", q)
	}
	before := len(h2.d.launched)
	h2.e.Offers(h2.ctx, h2.d, []mesos.Offer{offer("o5", 4)})
	if len(h2.d.launched) != before {
		t.Fatal("launched during the backoff")
	}
	clk.Add(2 * time.Second)
	h2.e.Offers(h2.ctx, h2.d, []mesos.Offer{offer("o6", 4)})
	if len(h2.d.launched) != before+1 {
		t.Fatal("not relaunched after the backoff")
	}
}

// TestUnreachableStrategy: an unreachable task counts until
// inactiveAfterSeconds (then a replacement is launched) and is killed at
// expungeAfterSeconds.
func TestUnreachableStrategy(t *testing.T) {
	st, clk := newStoreAndClock(t)
	h := newHarness(t, st, clk)
	h.deploy(`{"id":"/u","cmd":"sleep 100","cpus":0.1,"mem":16,"unreachableStrategy":{"inactiveAfterSeconds":5,"expungeAfterSeconds":10}}`)
	h.e.Offers(h.ctx, h.d, []mesos.Offer{offer("o1", 1)})
	id := h.d.launched[0].TaskID.Value
	h.update(id, mesos.TaskRunning)
	h.update(id, mesos.TaskUnreachable)
	if q, _ := h.e.Queue(); len(q) != 0 {
		t.Fatalf("replacement before inactiveAfterSeconds: %+v", q)
	}
	clk.Add(6 * time.Second)
	if q, _ := h.e.Queue(); len(q) != 1 || q[0].Count != 1 {
		t.Fatalf("no replacement after inactiveAfterSeconds: %+v", q)
	}
	clk.Add(5 * time.Second)
	h.e.Tick(h.ctx)
	if len(h.d.kills) != 1 || h.d.kills[0] != id {
		t.Fatalf("kills after expungeAfterSeconds: %v", h.d.kills)
	}
}

// TestRemovedAppTasksKilled: tasks of an app that is gone without a
// deployment stopping them (a forced cancel) are killed.
func TestRemovedAppTasksKilled(t *testing.T) {
	st, clk := newStoreAndClock(t)
	h := newHarness(t, st, clk)
	h.deploy(`{"id":"/r","cmd":"sleep 100","cpus":0.1,"mem":16}`)
	h.e.Offers(h.ctx, h.d, []mesos.Offer{offer("o1", 1)})
	id := h.d.launched[0].TaskID.Value
	h.update(id, mesos.TaskRunning)
	res, err := h.e.Deploy(h.ctx, Change{Apply: func(root app.Group) (app.Group, error) { return RemoveApp(root, "/r"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.e.CancelDeployment(h.ctx, res.Plan.ID, true); err != nil {
		t.Fatal(err)
	}
	h.e.Tick(h.ctx)
	if len(h.d.kills) != 1 || h.d.kills[0] != id {
		t.Fatalf("kills %v", h.d.kills)
	}
}

// TestMaintenanceModeDeclinesOffers: offers from an agent whose maintenance
// window has started are declined, and /v2/queue says why.
func TestMaintenanceModeDeclinesOffers(t *testing.T) {
	st, clk := newStoreAndClock(t)
	h := newHarness(t, st, clk)
	h.deploy(`{"id":"/a","cmd":"sleep 100","cpus":1,"mem":64,"instances":1}`)
	o := offer("o1", 2)
	o.Unavailability = &mesos.Unavailability{Start: mesos.TimeInfo{Nanoseconds: clk.Now().Add(-time.Minute).UnixNano()}}
	h.e.Offers(h.ctx, h.d, []mesos.Offer{o})
	if len(h.d.launched) != 0 || h.d.declined != 1 {
		t.Fatalf("offer from an agent in maintenance: launched %d, declined %d", len(h.d.launched), h.d.declined)
	}
	q, _ := h.e.Queue()
	if len(q) != 1 || !strings.Contains(q[0].Message, "AgentMaintenance") {
		t.Fatalf("queue: %+v", q)
	}
	// The same agent's offer without a window is used.
	h.e.Offers(h.ctx, h.d, []mesos.Offer{offer("o2", 2)})
	if len(h.d.launched) != 1 {
		t.Fatalf("launched %d from a normal offer", len(h.d.launched))
	}
}

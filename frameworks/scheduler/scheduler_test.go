package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
	"github.com/strata-sched/strata/frameworks/scheduler/schedulertest"
)

func next(t *testing.T, ch <-chan schedulertest.Request) schedulertest.Request {
	t.Helper()
	return schedulertest.Next(t, ch)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func baseConfig(master string, h scheduler.Handler) scheduler.Config {
	return scheduler.Config{
		Master:     master,
		Framework:  mesos.FrameworkInfo{User: "root", Name: "test-fw", FailoverTimeout: 3600},
		Handler:    h,
		Logger:     quietLogger(),
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
	}
}

// run starts c.Run and returns a channel with its result; the test's
// cleanup cancels it and waits.
func run(t *testing.T, c *scheduler.Client) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		errc <- c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return errc
}

func newClient(t *testing.T, cfg scheduler.Config) *scheduler.Client {
	t.Helper()
	c, err := scheduler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newMaster(t *testing.T, cfg schedulertest.Config) *schedulertest.Master {
	m := schedulertest.NewMaster(cfg)
	t.Cleanup(m.Close)
	return m
}

func TestSubscribeOffersLaunchAndAutoAck(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	subscribed := make(chan *mesos.EventSubscribedBody, 10)
	updates := make(chan mesos.TaskStatus, 10)
	launchErr := make(chan error, 1)
	h := scheduler.HandlerFuncs{
		SubscribedFunc: func(_ context.Context, _ *scheduler.Client, ev *mesos.EventSubscribedBody) { subscribed <- ev },
		OffersFunc: func(ctx context.Context, c *scheduler.Client, offers []mesos.Offer) {
			o := offers[0]
			res, _, ok := scheduler.Take(o.Resources, map[string]float64{"cpus": 1, "mem": 128})
			if !ok {
				launchErr <- errors.New("offer too small")
				return
			}
			launchErr <- c.Launch(ctx, o.ID, []mesos.TaskInfo{scheduler.CommandTask("t", "t-1", o, res, "echo hi")}, nil)
		},
		UpdateFunc: func(_ context.Context, _ *scheduler.Client, st mesos.TaskStatus) { updates <- st },
	}
	cfg := baseConfig(m.Addr(), h)
	cfg.AutoAck = true
	c := newClient(t, cfg)
	if err := c.Decline(context.Background(), []mesos.OfferID{{Value: "o"}}, nil); !errors.Is(err, scheduler.ErrNotSubscribed) {
		t.Fatalf("Decline before subscribing: got %v, want ErrNotSubscribed", err)
	}
	run(t, c)

	sub := next(t, m.Subscribes())
	if got := sub.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("SUBSCRIBE Content-Type = %q", got)
	}
	if got := sub.Header.Get("Accept"); got != "application/json" {
		t.Errorf("SUBSCRIBE Accept = %q", got)
	}
	if _, ok := sub.Header["Mesos-Stream-Id"]; ok {
		t.Errorf("SUBSCRIBE carries Mesos-Stream-Id")
	}
	if sub.Call.FrameworkID != nil || sub.Call.Subscribe.FrameworkInfo.ID != nil {
		t.Errorf("first SUBSCRIBE of a new framework carries a framework ID: %+v", sub.Call)
	}
	if got := sub.Call.Subscribe.FrameworkInfo.Roles; !slices.Equal(got, []string{"*"}) {
		t.Errorf("roles = %v, want default [*]", got)
	}
	ev := schedulertest.Next(t, subscribed)
	if ev.FrameworkID.Value != "fw-1" || c.FrameworkID() != "fw-1" {
		t.Fatalf("subscribed as %q / FrameworkID() %q, want fw-1", ev.FrameworkID.Value, c.FrameworkID())
	}

	if err := m.Send(schedulertest.OffersEvent(schedulertest.Offer("o-1", "fw-1", "a-1", 4, 1024))); err != nil {
		t.Fatal(err)
	}
	if err := schedulertest.Next(t, launchErr); err != nil {
		t.Fatalf("Launch: %v", err)
	}
	acc := next(t, m.Calls())
	if acc.Call.Type != mesos.CallAccept || acc.Header.Get("Mesos-Stream-Id") != m.StreamID() ||
		acc.Header.Get("Content-Type") != "application/json" || acc.Call.FrameworkID.Value != "fw-1" {
		t.Fatalf("ACCEPT call = %+v, headers %v", acc.Call, acc.Header)
	}
	ops := acc.Call.Accept.Operations
	if len(ops) != 1 || ops[0].Type != mesos.OpLaunch || len(ops[0].Launch.TaskInfos) != 1 {
		t.Fatalf("operations = %+v", ops)
	}
	task := ops[0].Launch.TaskInfos[0]
	if task.AgentID.Value != "a-1" || task.Command.GetValue() != "echo hi" || mesos.Resources(task.Resources).Scalar("cpus") != 1 {
		t.Fatalf("task = %+v", task)
	}
	for _, r := range task.Resources {
		if r.AllocationRole() != "*" {
			t.Errorf("task resource %s lacks the offer's allocation_info", r.Name)
		}
	}

	// An update with uuid is acknowledged, one without (master-generated)
	// is not: the next call after both is the ack of the third.
	withUUID := schedulertest.Status("t-1", "a-1", mesos.TaskRunning, true)
	noUUID := schedulertest.Status("t-1", "a-1", mesos.TaskRunning, false)
	finished := schedulertest.Status("t-1", "a-1", mesos.TaskFinished, true)
	for _, st := range []mesos.TaskStatus{withUUID, noUUID, finished} {
		if err := m.Send(schedulertest.UpdateEvent(st)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []mesos.TaskStatus{withUUID, finished} {
		ack := next(t, m.Calls())
		if ack.Call.Type != mesos.CallAcknowledge {
			t.Fatalf("got %s, want ACKNOWLEDGE", ack.Call.Type)
		}
		if a := ack.Call.Acknowledge; string(a.UUID) != string(want.UUID) || a.TaskID.Value != "t-1" || a.AgentID.Value != "a-1" {
			t.Fatalf("ACKNOWLEDGE %+v, want uuid %x", a, want.UUID)
		}
		if ack.Header.Get("Mesos-Stream-Id") != m.StreamID() {
			t.Fatalf("ACKNOWLEDGE stream id %q", ack.Header.Get("Mesos-Stream-Id"))
		}
	}
	for range 3 {
		schedulertest.Next(t, updates)
	}
}

type memStore struct {
	mu    sync.Mutex
	id    string
	saves []string
}

func (s *memStore) Load(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id, nil
}

func (s *memStore) Save(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id = id
	s.saves = append(s.saves, id)
	return nil
}

func (s *memStore) Saves() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.saves)
}

func TestResubscribeAfterStreamDropIsFailover(t *testing.T) {
	m := newMaster(t, schedulertest.Config{FrameworkID: "fw-7"})
	disconnected := make(chan error, 10)
	subscribed := make(chan string, 10)
	h := scheduler.HandlerFuncs{
		SubscribedFunc: func(_ context.Context, _ *scheduler.Client, ev *mesos.EventSubscribedBody) {
			subscribed <- ev.FrameworkID.Value
		},
		DisconnectedFunc: func(ctx context.Context, c *scheduler.Client, err error) {
			if err := c.Decline(ctx, []mesos.OfferID{{Value: "o"}}, nil); !errors.Is(err, scheduler.ErrNotSubscribed) {
				t.Errorf("call while disconnected: %v, want ErrNotSubscribed", err)
			}
			disconnected <- err
		},
	}
	store := &memStore{}
	cfg := baseConfig(m.URL(), h)
	cfg.FrameworkIDStore = store
	run(t, newClient(t, cfg))

	next(t, m.Subscribes())
	schedulertest.Next(t, subscribed)
	m.DropStream()
	if err := schedulertest.Next(t, disconnected); err == nil {
		t.Fatal("Disconnected with nil error")
	}
	sub := next(t, m.Subscribes())
	if sub.Call.FrameworkID == nil || sub.Call.FrameworkID.Value != "fw-7" ||
		sub.Call.Subscribe.FrameworkInfo.ID == nil || sub.Call.Subscribe.FrameworkInfo.ID.Value != "fw-7" {
		t.Fatalf("re-SUBSCRIBE without the framework ID: %+v", sub.Call)
	}
	if _, ok := sub.Header["Mesos-Stream-Id"]; ok {
		t.Errorf("re-SUBSCRIBE carries Mesos-Stream-Id")
	}
	if id := schedulertest.Next(t, subscribed); id != "fw-7" {
		t.Fatalf("re-subscribed as %q", id)
	}
	if got := store.Saves(); !slices.Equal(got, []string{"fw-7"}) {
		t.Fatalf("store saves = %v, want [fw-7] (saved once, not again on failover)", got)
	}
}

func TestFrameworkIDStoreLoadedBeforeFirstSubscribe(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	cfg := baseConfig(m.Addr(), scheduler.HandlerFuncs{})
	cfg.FrameworkIDStore = &memStore{id: "fw-old"}
	run(t, newClient(t, cfg))
	sub := next(t, m.Subscribes())
	if sub.Call.FrameworkID == nil || sub.Call.FrameworkID.Value != "fw-old" {
		t.Fatalf("SUBSCRIBE framework_id = %+v, want fw-old", sub.Call.FrameworkID)
	}
}

func TestFollowsRedirectToLeader(t *testing.T) {
	for _, tc := range []struct {
		name     string
		location func(leader *schedulertest.Master) string
	}{
		{"scheme-relative host:port", func(l *schedulertest.Master) string { return "//" + l.Addr() }},
		{"scheme-relative with path", func(l *schedulertest.Master) string { return "//" + l.Addr() + "/api/v1/scheduler" }},
		{"full URL", func(l *schedulertest.Master) string { return l.URL() + "/api/v1/scheduler" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leader := newMaster(t, schedulertest.Config{})
			var standbyHits sync.WaitGroup
			standbyHits.Add(1)
			var once sync.Once
			standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				once.Do(standbyHits.Done)
				w.Header().Set("Location", tc.location(leader))
				w.WriteHeader(http.StatusTemporaryRedirect)
			}))
			t.Cleanup(standby.Close)
			subscribed := make(chan struct{}, 1)
			h := scheduler.HandlerFuncs{SubscribedFunc: func(ctx context.Context, c *scheduler.Client, _ *mesos.EventSubscribedBody) {
				if err := c.Revive(ctx); err != nil {
					t.Errorf("Revive: %v", err)
				}
				subscribed <- struct{}{}
			}}
			run(t, newClient(t, baseConfig(standby.URL, h)))
			standbyHits.Wait()
			next(t, leader.Subscribes())
			schedulertest.Next(t, subscribed)
			if call := next(t, leader.Calls()); call.Call.Type != mesos.CallRevive {
				t.Fatalf("leader got %s, want REVIVE", call.Call.Type)
			}
		})
	}
}

func TestMasterListTriedInTurn(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadAddr := strings.TrimPrefix(dead.URL, "http://")
	dead.Close() // connection refused from now on
	m := newMaster(t, schedulertest.Config{})
	run(t, newClient(t, baseConfig(deadAddr+","+m.Addr(), scheduler.HandlerFuncs{})))
	next(t, m.Subscribes())
}

func TestHeartbeatLossTriggersResubscribe(t *testing.T) {
	m := newMaster(t, schedulertest.Config{HeartbeatInterval: 0.05, SilentHeartbeats: true})
	disconnected := make(chan error, 10)
	run(t, newClient(t, baseConfig(m.Addr(), scheduler.HandlerFuncs{
		DisconnectedFunc: func(_ context.Context, _ *scheduler.Client, err error) { disconnected <- err },
	})))
	next(t, m.Subscribes())
	// The fake keeps the connection open but silent; only the client's
	// heartbeat watchdog can end it.
	err := schedulertest.Next(t, disconnected)
	if err == nil || !strings.Contains(err.Error(), "heartbeat") {
		t.Fatalf("Disconnected error = %v, want a heartbeat timeout", err)
	}
	sub := next(t, m.Subscribes())
	if sub.Call.FrameworkID == nil || sub.Call.FrameworkID.Value != "fw-1" {
		t.Fatalf("re-SUBSCRIBE framework_id = %+v", sub.Call.FrameworkID)
	}
}

func TestHeartbeatsDelivered(t *testing.T) {
	m := newMaster(t, schedulertest.Config{HeartbeatInterval: 0.01})
	beats := make(chan struct{}, 100)
	run(t, newClient(t, baseConfig(m.Addr(), scheduler.HandlerFuncs{
		HeartbeatFunc: func(context.Context, *scheduler.Client) {
			select {
			case beats <- struct{}{}:
			default:
			}
		},
	})))
	for range 3 {
		schedulertest.Next(t, beats)
	}
}

func TestSubscribeClientErrorStopsRun(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	m.SetReply(func(r schedulertest.Request) (int, string) {
		return http.StatusBadRequest, "Failed to validate scheduler::Call: Expecting 'framework_info.user'\n"
	})
	errc := run(t, newClient(t, baseConfig(m.Addr(), scheduler.HandlerFuncs{})))
	err := <-errc
	var apiErr *scheduler.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Call != mesos.CallSubscribe ||
		!strings.Contains(err.Error(), "Expecting 'framework_info.user'") || !strings.Contains(err.Error(), "400") {
		t.Fatalf("Run error = %v, want an APIError naming 400 and the body", err)
	}
}

func TestSubscribe503IsRetried(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	var mu sync.Mutex
	refusals := 3
	m.SetReply(func(r schedulertest.Request) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if refusals > 0 {
			refusals--
			return http.StatusServiceUnavailable, "No leader elected"
		}
		return 0, ""
	})
	subscribed := make(chan struct{}, 1)
	run(t, newClient(t, baseConfig(m.Addr(), scheduler.HandlerFuncs{
		SubscribedFunc: func(context.Context, *scheduler.Client, *mesos.EventSubscribedBody) { subscribed <- struct{}{} },
	})))
	for range 4 {
		next(t, m.Subscribes())
	}
	schedulertest.Next(t, subscribed)
}

func TestCallErrorCarriesStatusAndBody(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	subscribed := make(chan *scheduler.Client, 1)
	run(t, newClient(t, baseConfig(m.Addr(), scheduler.HandlerFuncs{
		SubscribedFunc: func(_ context.Context, c *scheduler.Client, _ *mesos.EventSubscribedBody) { subscribed <- c },
	})))
	c := schedulertest.Next(t, subscribed)
	m.SetReply(func(r schedulertest.Request) (int, string) {
		if r.Call.Type == mesos.CallDecline {
			return http.StatusBadRequest, "Failed to validate scheduler::Call: Expecting 'decline' to be present"
		}
		return 0, ""
	})
	err := c.Decline(context.Background(), []mesos.OfferID{{Value: "o-1"}}, scheduler.RefuseSeconds(30))
	var apiErr *scheduler.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Body, "Expecting 'decline'") {
		t.Fatalf("Decline error = %v", err)
	}
	// UPDATE_FRAMEWORK expects 200; the fake answers 200.
	info := mesos.FrameworkInfo{User: "root", Name: "renamed", Roles: []string{"web"}}
	if err := c.UpdateFramework(context.Background(), info); err != nil {
		t.Fatalf("UpdateFramework: %v", err)
	}
	up := next(t, m.Calls())
	if up.Call.UpdateFramework.FrameworkInfo.ID.Value != "fw-1" || up.Call.UpdateFramework.FrameworkInfo.Name != "renamed" {
		t.Fatalf("UPDATE_FRAMEWORK = %+v", up.Call.UpdateFramework.FrameworkInfo)
	}
}

func TestSuppressedRolesSurviveResubscription(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	subscribed := make(chan *scheduler.Client, 10)
	cfg := baseConfig(m.Addr(), scheduler.HandlerFuncs{
		SubscribedFunc: func(_ context.Context, c *scheduler.Client, _ *mesos.EventSubscribedBody) { subscribed <- c },
	})
	cfg.Framework.Roles = []string{"a", "b"}
	cfg.Framework.Capabilities = []mesos.Capability{{Type: mesos.CapMultiRole}}
	run(t, newClient(t, cfg))
	next(t, m.Subscribes())
	c := schedulertest.Next(t, subscribed)
	if err := c.Suppress(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	next(t, m.Calls())
	m.DropStream()
	sub := next(t, m.Subscribes())
	if got := sub.Call.Subscribe.SuppressedRoles; !slices.Equal(got, []string{"b"}) {
		t.Fatalf("re-SUBSCRIBE suppressed_roles = %v, want [b]", got)
	}
	c = schedulertest.Next(t, subscribed)
	if err := c.Revive(context.Background()); err != nil {
		t.Fatal(err)
	}
	next(t, m.Calls())
	m.DropStream()
	if got := next(t, m.Subscribes()).Call.Subscribe.SuppressedRoles; len(got) != 0 {
		t.Fatalf("after REVIVE, suppressed_roles = %v", got)
	}
}

func TestFrameworkRemovedStopsRun(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	errorsSeen := make(chan string, 1)
	subscribed := make(chan struct{}, 1)
	errc := run(t, newClient(t, baseConfig(m.Addr(), scheduler.HandlerFuncs{
		SubscribedFunc: func(context.Context, *scheduler.Client, *mesos.EventSubscribedBody) { subscribed <- struct{}{} },
		ErrorFunc:      func(_ context.Context, _ *scheduler.Client, msg string) { errorsSeen <- msg },
	})))
	schedulertest.Next(t, subscribed)
	m.RemoveFramework("fw-1")
	if msg := schedulertest.Next(t, errorsSeen); msg != "Framework has been removed" {
		t.Fatalf("Error handler got %q", msg)
	}
	if err := schedulertest.Next(t, errc); !errors.Is(err, scheduler.ErrFrameworkRemoved) {
		t.Fatalf("Run = %v, want ErrFrameworkRemoved", err)
	}
}

func TestTeardownStopsRunCleanly(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	store := &memStore{}
	cfg := baseConfig(m.Addr(), scheduler.HandlerFuncs{
		SubscribedFunc: func(ctx context.Context, c *scheduler.Client, _ *mesos.EventSubscribedBody) {
			if err := c.Teardown(ctx); err != nil {
				t.Errorf("Teardown: %v", err)
			}
		},
	})
	cfg.FrameworkIDStore = store
	c := newClient(t, cfg)
	errc := run(t, c)
	if err := schedulertest.Next(t, errc); err != nil {
		t.Fatalf("Run after Teardown = %v, want nil", err)
	}
	if call := next(t, m.Calls()); call.Call.Type != mesos.CallTeardown {
		t.Fatalf("got %s, want TEARDOWN", call.Call.Type)
	}
	if got := store.Saves(); !slices.Equal(got, []string{"fw-1", ""}) {
		t.Fatalf("store saves = %v, want [fw-1 \"\"]", got)
	}
	if c.FrameworkID() != "" {
		t.Fatalf("FrameworkID after teardown = %q", c.FrameworkID())
	}
}

func TestRunTwiceConcurrently(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	c := newClient(t, baseConfig(m.Addr(), scheduler.HandlerFuncs{}))
	run(t, c)
	next(t, m.Subscribes())
	if err := c.Run(context.Background()); !errors.Is(err, scheduler.ErrAlreadyRunning) {
		t.Fatalf("second Run = %v", err)
	}
}

func TestExplicitReconciliationAfterSubscribe(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	known := []mesos.ReconcileTask{
		{TaskID: mesos.TaskID{Value: "t-1"}, AgentID: &mesos.AgentID{Value: "a-1"}},
		{TaskID: mesos.TaskID{Value: "t-2"}},
	}
	run(t, newClient(t, baseConfig(m.Addr(), scheduler.HandlerFuncs{
		KnownTasksFunc: func() []mesos.ReconcileTask { return known },
	})))
	next(t, m.Subscribes())
	first := next(t, m.Calls())
	if first.Call.Type != mesos.CallReconcile || len(first.Call.Reconcile.Tasks) != 2 {
		t.Fatalf("first call = %+v, want RECONCILE of 2 tasks", first.Call)
	}
	if err := m.Send(schedulertest.UpdateEvent(schedulertest.Status("t-1", "a-1", mesos.TaskRunning, false))); err != nil {
		t.Fatal(err)
	}
	// Retries keep coming until t-2 is answered; t-1 drops out once its
	// answer has been read (possibly after one more retry).
	for {
		call := next(t, m.Calls())
		if call.Call.Type != mesos.CallReconcile {
			t.Fatalf("got %s, want RECONCILE", call.Call.Type)
		}
		if tasks := call.Call.Reconcile.Tasks; len(tasks) == 1 {
			if tasks[0].TaskID.Value != "t-2" {
				t.Fatalf("retry asks about %s, want t-2", tasks[0].TaskID.Value)
			}
			break
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  scheduler.Config
		want string
	}{
		{"no master", scheduler.Config{Framework: mesos.FrameworkInfo{User: "u", Name: "n"}, Handler: scheduler.HandlerFuncs{}}, "Master is required"},
		{"bad scheme", scheduler.Config{Master: "ftp://m:5050", Framework: mesos.FrameworkInfo{User: "u", Name: "n"}, Handler: scheduler.HandlerFuncs{}}, "scheme"},
		{"no user", scheduler.Config{Master: "m:5050", Framework: mesos.FrameworkInfo{Name: "n"}, Handler: scheduler.HandlerFuncs{}}, "User"},
		{"no handler", scheduler.Config{Master: "m:5050", Framework: mesos.FrameworkInfo{User: "u", Name: "n"}}, "Handler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scheduler.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

func TestAcknowledgeRefusesUpdatesWithoutUUID(t *testing.T) {
	c := newClient(t, baseConfig("m:5050", scheduler.HandlerFuncs{}))
	err := c.Acknowledge(context.Background(), schedulertest.Status("t", "a", mesos.TaskRunning, false))
	if err == nil || !strings.Contains(err.Error(), "no uuid") {
		t.Fatalf("Acknowledge = %v", err)
	}
}

// TestAutoAckBurst: a burst of updates is acknowledged, every one, by the
// ack workers, while the event loop keeps delivering updates.
func TestAutoAckBurst(t *testing.T) {
	m := newMaster(t, schedulertest.Config{})
	const n = 300
	updates := make(chan mesos.TaskStatus, n)
	h := scheduler.HandlerFuncs{UpdateFunc: func(_ context.Context, _ *scheduler.Client, st mesos.TaskStatus) { updates <- st }}
	cfg := baseConfig(m.Addr(), h)
	cfg.AutoAck = true
	c := newClient(t, cfg)
	run(t, c)
	next(t, m.Subscribes())
	for i := range n {
		id := fmt.Sprintf("t-%d", i)
		if err := m.Send(schedulertest.UpdateEvent(mesos.TaskStatus{TaskID: mesos.TaskID{Value: id}, State: mesos.TaskRunning,
			AgentID: &mesos.AgentID{Value: "a-1"}, UUID: []byte(fmt.Sprintf("%016d", i))})); err != nil {
			t.Fatal(err)
		}
	}
	acked := map[string]bool{}
	for len(acked) < n {
		req := next(t, m.Calls())
		if req.Call.Type != mesos.CallAcknowledge {
			t.Fatalf("unexpected call %s", req.Call.Type)
		}
		if acked[req.Call.Acknowledge.TaskID.Value] {
			t.Fatalf("task %s acknowledged twice", req.Call.Acknowledge.TaskID.Value)
		}
		acked[req.Call.Acknowledge.TaskID.Value] = true
	}
	if len(updates) != n {
		t.Fatalf("%d updates delivered, want %d", len(updates), n)
	}
}

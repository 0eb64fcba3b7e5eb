package executor_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/mesos/recordio"
	"github.com/strata-sched/strata/frameworks/executor"
	"github.com/strata-sched/strata/frameworks/scheduler/schedulertest"
)

// fakeAgent serves /api/v1/executor: each SUBSCRIBE gets a stream that
// starts with SUBSCRIBED and then carries what the test sends.
type fakeAgent struct {
	srv   *httptest.Server
	subs  chan mesos.ExecutorCall
	calls chan mesos.ExecutorCall

	mu     sync.Mutex
	events chan []byte
	drop   chan struct{}
}

func newFakeAgent(t *testing.T) *fakeAgent {
	a := &fakeAgent{subs: make(chan mesos.ExecutorCall, 100), calls: make(chan mesos.ExecutorCall, 100)}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAgent) endpoint() string { return strings.TrimPrefix(a.srv.URL, "http://") }

func (a *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != executor.Path || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request line or content type", http.StatusBadRequest)
		return
	}
	var call mesos.ExecutorCall
	if err := json.NewDecoder(r.Body).Decode(&call); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if call.ExecutorID.Value != "ex-1" || call.FrameworkID.Value != "fw-1" {
		http.Error(w, "unknown executor", http.StatusBadRequest)
		return
	}
	if call.Type != mesos.ExecCallSubscribe {
		a.calls <- call
		w.WriteHeader(http.StatusAccepted)
		return
	}
	events, drop := make(chan []byte, 100), make(chan struct{})
	a.mu.Lock()
	a.events, a.drop = events, drop
	a.mu.Unlock()
	a.subs <- call
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	write := func(b []byte) {
		_, _ = w.Write(recordio.Frame(b))
		_ = rc.Flush()
	}
	write([]byte(`{"type":"SUBSCRIBED","subscribed":{"executor_info":{"executor_id":{"value":"ex-1"}},"framework_info":{"user":"u","name":"fw"},"agent_info":{"hostname":"agent-1"}}}`))
	for {
		select {
		case b := <-events:
			write(b)
		case <-drop:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (a *fakeAgent) send(t *testing.T, ev string) {
	t.Helper()
	a.mu.Lock()
	ch := a.events
	a.mu.Unlock()
	ch <- []byte(ev)
}

func (a *fakeAgent) dropStream() {
	a.mu.Lock()
	defer a.mu.Unlock()
	close(a.drop)
}

func config(endpoint string, h executor.Handler) executor.Config {
	return executor.Config{
		FrameworkID:            "fw-1",
		ExecutorID:             "ex-1",
		AgentEndpoint:          endpoint,
		Checkpoint:             true,
		SubscriptionBackoffMax: 20 * time.Millisecond,
		Handler:                h,
		Logger:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func start(t *testing.T, cfg executor.Config) (*executor.Executor, <-chan error) {
	t.Helper()
	e, err := executor.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		errc <- e.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return e, errc
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("MESOS_FRAMEWORK_ID", "fw-1")
	t.Setenv("MESOS_EXECUTOR_ID", "ex-1")
	t.Setenv("MESOS_AGENT_ENDPOINT", "10.0.0.1:5051")
	t.Setenv("MESOS_CHECKPOINT", "1")
	t.Setenv("MESOS_RECOVERY_TIMEOUT", "15mins")
	t.Setenv("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs")
	t.Setenv("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs")
	t.Setenv("MESOS_DIRECTORY", "/var/lib/strata/sandbox")
	cfg, err := executor.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := executor.Config{FrameworkID: "fw-1", ExecutorID: "ex-1", AgentEndpoint: "10.0.0.1:5051", Checkpoint: true,
		RecoveryTimeout: 15 * time.Minute, SubscriptionBackoffMax: 2 * time.Second, ShutdownGracePeriod: 5 * time.Second,
		Directory: "/var/lib/strata/sandbox"}
	if cfg.FrameworkID != want.FrameworkID || cfg.ExecutorID != want.ExecutorID || cfg.AgentEndpoint != want.AgentEndpoint ||
		cfg.Checkpoint != want.Checkpoint || cfg.RecoveryTimeout != want.RecoveryTimeout ||
		cfg.SubscriptionBackoffMax != want.SubscriptionBackoffMax || cfg.ShutdownGracePeriod != want.ShutdownGracePeriod ||
		cfg.Directory != want.Directory {
		t.Fatalf("ConfigFromEnv = %+v", cfg)
	}

	t.Setenv("MESOS_EXECUTOR_ID", "")
	t.Setenv("MESOS_RECOVERY_TIMEOUT", "15 fortnights")
	_, err = executor.ConfigFromEnv()
	if err == nil || !strings.Contains(err.Error(), "MESOS_EXECUTOR_ID") || !strings.Contains(err.Error(), "MESOS_RECOVERY_TIMEOUT") {
		t.Fatalf("ConfigFromEnv error = %v, want both bad variables named", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"15mins": 15 * time.Minute, "2secs": 2 * time.Second, "500ms": 500 * time.Millisecond,
		"1.5hrs": 90 * time.Minute, "1days": 24 * time.Hour, "1weeks": 7 * 24 * time.Hour, "3m": 3 * time.Minute,
	} {
		if got, err := executor.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "secs", "5 parsecs", "1.2.3secs"} {
		if _, err := executor.ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q): no error", bad)
		}
	}
}

func TestLaunchUpdateAndResendAfterReconnect(t *testing.T) {
	agent := newFakeAgent(t)
	subscribed := make(chan executor.Subscription, 10)
	launched := make(chan mesos.TaskStatus, 10)
	acked := make(chan []byte, 10)
	h := executor.HandlerFuncs{
		SubscribedFunc: func(_ context.Context, _ *executor.Executor, s executor.Subscription) { subscribed <- s },
		LaunchFunc: func(ctx context.Context, e *executor.Executor, task mesos.TaskInfo) {
			st, err := e.Update(ctx, mesos.TaskStatus{TaskID: task.TaskID, State: mesos.TaskRunning})
			if err != nil {
				t.Errorf("Update: %v", err)
			}
			launched <- st
		},
		AcknowledgedFunc: func(_ context.Context, _ *executor.Executor, _ mesos.TaskID, uuid []byte) { acked <- uuid },
	}
	e, _ := start(t, config(agent.endpoint(), h))

	sub := schedulertest.Next(t, agent.subs)
	if sub.Subscribe == nil || len(sub.Subscribe.UnacknowledgedTasks) != 0 || len(sub.Subscribe.UnacknowledgedUpdates) != 0 {
		t.Fatalf("first SUBSCRIBE = %+v", sub.Subscribe)
	}
	if s := schedulertest.Next(t, subscribed); s.AgentInfo.Hostname != "agent-1" || s.ExecutorInfo.ExecutorID.Value != "ex-1" {
		t.Fatalf("Subscription = %+v", s)
	}

	agent.send(t, `{"type":"LAUNCH","launch":{"task":{"name":"t","task_id":{"value":"t-1"},"agent_id":{"value":"a-1"}}}}`)
	sent := schedulertest.Next(t, launched)
	up := schedulertest.Next(t, agent.calls)
	st := up.Update.Status
	if up.Type != mesos.ExecCallUpdate || len(st.UUID) != 16 || st.Source != mesos.SourceExecutor || st.Timestamp <= 0 ||
		st.ExecutorID == nil || st.ExecutorID.Value != "ex-1" || st.TaskID.Value != "t-1" || string(st.UUID) != string(sent.UUID) {
		t.Fatalf("UPDATE = %+v", up)
	}

	// The agent restarts before acknowledging: task and update are resent.
	agent.dropStream()
	sub = schedulertest.Next(t, agent.subs)
	if n := len(sub.Subscribe.UnacknowledgedTasks); n != 1 || sub.Subscribe.UnacknowledgedTasks[0].TaskID.Value != "t-1" {
		t.Fatalf("re-SUBSCRIBE unacknowledged_tasks = %+v", sub.Subscribe.UnacknowledgedTasks)
	}
	if u := sub.Subscribe.UnacknowledgedUpdates; len(u) != 1 || string(u[0].Status.UUID) != string(st.UUID) || u[0].FrameworkID.Value != "fw-1" {
		t.Fatalf("re-SUBSCRIBE unacknowledged_updates = %+v", u)
	}
	schedulertest.Next(t, subscribed)

	// Once acknowledged, neither is resent.
	b, _ := json.Marshal(map[string]any{"type": "ACKNOWLEDGED", "acknowledged": map[string]any{"task_id": map[string]string{"value": "t-1"}, "uuid": st.UUID}})
	agent.send(t, string(b))
	if got := schedulertest.Next(t, acked); string(got) != string(st.UUID) {
		t.Fatalf("Acknowledged uuid %x", got)
	}
	if err := e.SendMessage(context.Background(), []byte("hello")); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if msg := schedulertest.Next(t, agent.calls); msg.Type != mesos.ExecCallMessage || string(msg.Message.Data) != "hello" {
		t.Fatalf("MESSAGE = %+v", msg)
	}
	agent.dropStream()
	sub = schedulertest.Next(t, agent.subs)
	if len(sub.Subscribe.UnacknowledgedTasks) != 0 || len(sub.Subscribe.UnacknowledgedUpdates) != 0 {
		t.Fatalf("SUBSCRIBE after ACKNOWLEDGED resends %+v", sub.Subscribe)
	}
}

func TestWithoutCheckpointDisconnectEndsRun(t *testing.T) {
	agent := newFakeAgent(t)
	cfg := config(agent.endpoint(), executor.HandlerFuncs{})
	cfg.Checkpoint = false
	_, errc := start(t, cfg)
	schedulertest.Next(t, agent.subs)
	agent.dropStream()
	if err := schedulertest.Next(t, errc); !errors.Is(err, executor.ErrDisconnected) {
		t.Fatalf("Run = %v, want ErrDisconnected", err)
	}
}

func TestCheckpointGivesUpAfterRecoveryTimeout(t *testing.T) {
	agent := newFakeAgent(t)
	cfg := config(agent.endpoint(), executor.HandlerFuncs{})
	cfg.RecoveryTimeout = 100 * time.Millisecond
	e, errc := start(t, cfg)
	schedulertest.Next(t, agent.subs)
	agent.srv.CloseClientConnections()
	agent.srv.Close() // the agent does not come back
	if err := schedulertest.Next(t, errc); !errors.Is(err, executor.ErrRecoveryTimeout) {
		t.Fatalf("Run = %v, want ErrRecoveryTimeout", err)
	}
	// Updates made while disconnected are kept (and would be resent).
	if _, err := e.Update(context.Background(), mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t"}, State: mesos.TaskFailed}); !errors.Is(err, executor.ErrNotConnected) {
		t.Fatalf("Update while disconnected = %v, want ErrNotConnected", err)
	}
}

func TestShutdownEndsRun(t *testing.T) {
	agent := newFakeAgent(t)
	shut := make(chan struct{}, 1)
	_, errc := start(t, config(agent.endpoint(), executor.HandlerFuncs{
		ShutdownFunc: func(context.Context, *executor.Executor) { shut <- struct{}{} },
	}))
	schedulertest.Next(t, agent.subs)
	agent.send(t, `{"type":"SHUTDOWN"}`)
	schedulertest.Next(t, shut)
	if err := schedulertest.Next(t, errc); err != nil {
		t.Fatalf("Run after SHUTDOWN = %v, want nil", err)
	}
}

func TestSubscribeRefused(t *testing.T) {
	agent := newFakeAgent(t)
	cfg := config(agent.endpoint(), executor.HandlerFuncs{})
	cfg.ExecutorID = "stranger"
	_, errc := start(t, cfg)
	err := schedulertest.Next(t, errc)
	var apiErr *executor.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(err.Error(), "unknown executor") {
		t.Fatalf("Run = %v, want a 400 APIError with the body", err)
	}
}

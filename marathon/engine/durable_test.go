package engine

import (
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/health"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestFailuresSurviveRestart: an app's lastTaskFailure and launch backoff
// are the same for a new engine on the same store, the backoff keeps
// blocking launches there, and its reset and the app's removal are
// persisted too.
func TestFailuresSurviveRestart(t *testing.T) {
	st := openStore(t)
	clk := &clock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := newHarness(t, st, clk)
	h.deploy(`{"id":"/crash","cmd":"exit 1","cpus":0.1,"mem":16,"backoffSeconds":10,"backoffFactor":2,"maxLaunchDelaySeconds":300}`)
	for i := range 2 {
		h.e.Offers(h.ctx, h.d, []mesos.Offer{offer("o", 1)})
		if len(h.d.launched) != i+1 {
			t.Fatalf("launch %d: launched %d", i+1, len(h.d.launched))
		}
		h.e.Update(h.ctx, h.d, mesos.TaskStatus{TaskID: h.d.launched[i].TaskID, State: mesos.TaskFailed, Message: "exit 1",
			AgentID: &mesos.AgentID{Value: "agent-1"}})
		if i == 0 {
			clk.Add(11 * time.Second) // past the first delay (10 s)
		}
	}
	// Two failures: the delay is 20 s, from now.
	clk.Add(5 * time.Second)
	wantFailed := h.d.launched[1].TaskID.Value

	h2 := newHarness(t, st, clk)
	h2.e.Tick(h2.ctx) // resumes the deployment
	ai, ok, err := h2.e.App("/crash", EmbedLastTaskFailure)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if f := ai.LastTaskFailure; f == nil || f.TaskID != wantFailed || f.State != string(mesos.TaskFailed) || f.Message != "exit 1" {
		t.Fatalf("lastTaskFailure after restart: %+v", f)
	}
	q, _ := h2.e.Queue()
	if len(q) != 1 || q[0].Overdue || q[0].TimeLeftSeconds != 15 {
		t.Fatalf("queue after restart: %+v", q)
	}
	h2.e.Offers(h2.ctx, h2.d, []mesos.Offer{offer("o", 1)})
	if len(h2.d.launched) != 0 {
		t.Fatal("a restart relaunched a crash-looping app before its delay ended")
	}

	// DELETE /v2/queue/crash/delay is persisted: the next engine is overdue.
	if ok, err := h2.e.ResetDelay("/crash"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	h3 := newHarness(t, st, clk)
	h3.e.Tick(h3.ctx)
	if q, _ := h3.e.Queue(); len(q) != 1 || !q[0].Overdue || q[0].TimeLeftSeconds != 0 {
		t.Fatalf("queue after reset and restart: %+v", q)
	}
	if ai, _, _ := h3.e.App("/crash", EmbedLastTaskFailure); ai.LastTaskFailure == nil {
		t.Fatal("resetting the delay forgot lastTaskFailure")
	}

	// Removing the app removes its record.
	res, err := h3.e.Deploy(h3.ctx, Change{Force: true, Apps: []string{"/crash"}, Apply: func(root app.Group) (app.Group, error) { return RemoveApp(root, "/crash"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	h3.e.Tick(h3.ctx)
	if h3.e.HasDeployment(res.Plan.ID) {
		t.Fatal("removal deployment still running")
	}
	if kvs, _ := st.List(h3.ctx, "marathon/app-failures/"); len(kvs) != 0 {
		t.Fatalf("failure records left after the app's removal: %v", kvs)
	}
}

// TestHealthSurvivesRestart: Marathon health check results are shown the
// same after a restart, and failures counted before it count after it: a
// task with maxConsecutiveFailures 3 is killed on the 4th failure in a
// row even with a restart after the 2nd. Successes in a row write nothing.
func TestHealthSurvivesRestart(t *testing.T) {
	st := openStore(t)
	clk := &clock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := newHarness(t, st, clk)
	h.deploy(`{"id":"/web","cmd":"sleep 100","cpus":0.1,"mem":16,
	  "healthChecks":[{"protocol":"HTTP","path":"/","gracePeriodSeconds":0,"intervalSeconds":1,"maxConsecutiveFailures":3}]}`)
	h.e.Offers(h.ctx, h.d, []mesos.Offer{offer("o", 1)})
	id := h.d.launched[0].TaskID.Value
	h.update(id, mesos.TaskRunning)
	result := func(h *harness, ok bool) {
		clk.Add(time.Second)
		r := health.Result{OK: ok, At: clk.Now()}
		if !ok {
			r.Cause = "GET / answered 503"
		}
		h.e.healthResult(id, 0, r)
	}
	version := func() uint64 {
		kv, err := st.Get(h.ctx, "marathon/instances/"+id)
		if err != nil {
			t.Fatal(err)
		}
		return kv.Version
	}
	result(h, true)
	v := version()
	for range 5 {
		result(h, true)
	}
	if version() != v {
		t.Fatal("successes in a row rewrote the instance")
	}
	firstSuccess := clk.Now().Add(-5 * time.Second)

	h2 := newHarness(t, st, clk)
	ai, _, _ := h2.e.App("/web", EmbedTasks|EmbedCounts)
	if ai.TasksHealthy == nil || *ai.TasksHealthy != 1 || len(ai.Tasks) != 1 || len(ai.Tasks[0].HealthCheckResults) != 1 {
		t.Fatalf("after restart: healthy %v tasks %+v", ai.TasksHealthy, ai.Tasks)
	}
	hr := ai.Tasks[0].HealthCheckResults[0]
	if !hr.Alive || hr.FirstSuccess == nil || *hr.FirstSuccess != Timestamp(firstSuccess) || hr.ConsecutiveFailures != 0 {
		t.Fatalf("health result after restart: %+v", hr)
	}

	result(h2, false)
	result(h2, false)
	h3 := newHarness(t, st, clk)
	ai, _, _ = h3.e.App("/web", EmbedTasks|EmbedCounts)
	if hr := ai.Tasks[0].HealthCheckResults[0]; hr.Alive || hr.ConsecutiveFailures != 2 || hr.LastFailureCause == nil || *hr.LastFailureCause != "GET / answered 503" {
		t.Fatalf("failing health result after restart: %+v", hr)
	}
	if ai.TasksUnhealthy == nil || *ai.TasksUnhealthy != 1 {
		t.Fatalf("unhealthy count after restart: %v", ai.TasksUnhealthy)
	}
	h = newHarness(t, st, clk) // one more restart changes nothing
	result(h, false)
	h.e.Tick(h.ctx)
	if len(h.d.kills) != 0 {
		t.Fatalf("killed after 3 failures: %v", h.d.kills)
	}
	result(h, false)
	h.e.Tick(h.ctx)
	if len(h.d.kills) != 1 || h.d.kills[0] != id {
		t.Fatalf("kills after the 4th failure: %v", h.d.kills)
	}
}

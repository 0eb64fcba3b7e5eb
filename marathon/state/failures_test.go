package state

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/health"
)

func openRepo(t *testing.T) (*Repo, store.Store) {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewRepo(st, "", 0), st
}

// TestAppFailuresRoundTrip: failure records load with their app, go with
// it, and records of apps that no longer exist are dropped at Load.
func TestAppFailuresRoundTrip(t *testing.T) {
	r, st := openRepo(t)
	ctx := context.Background()
	a, err := app.Normalize([]byte(`{"id":"/g/web","cmd":"exit 1"}`))
	if err != nil {
		t.Fatal(err)
	}
	a.Version = "2024-01-01T00:00:00.000Z"
	if err := r.PutApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 1, 0, 1, 0, 0, time.UTC)
	rec := AppFailures{AppID: a.ID,
		LastTaskFailure: &app.TaskFailure{AppID: a.ID, TaskID: "g_web.1", State: "TASK_FAILED", Message: "exit 1", Timestamp: "2024-01-01T00:01:00.000Z", Version: a.Version},
		Backoff:         &Backoff{Version: a.Version, DelayMillis: 2300, Until: t0.Add(2300 * time.Millisecond), LastFailure: t0}}
	orphan := AppFailures{AppID: "/gone", LastTaskFailure: &app.TaskFailure{AppID: "/gone"}}
	for _, f := range []AppFailures{rec, orphan} {
		if err := r.PutAppFailures(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := r.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Failures[a.ID]; !reflect.DeepEqual(got, rec) {
		t.Fatalf("loaded %+v\nwant %+v", got, rec)
	}
	if _, ok := snap.Failures["/gone"]; ok {
		t.Fatal("record of a missing app loaded")
	}
	if kvs, _ := st.List(ctx, "marathon/app-failures/"); len(kvs) != 1 {
		t.Fatalf("orphan record not deleted: %d records", len(kvs))
	}
	if got := snap.Failures[a.ID].Backoff.Delay(); got != 2300*time.Millisecond {
		t.Fatalf("delay %v", got)
	}

	// An empty record deletes; so does deleting the app.
	if err := r.PutAppFailures(ctx, AppFailures{AppID: a.ID}); err != nil {
		t.Fatal(err)
	}
	if snap, _ := r.Load(ctx); len(snap.Failures) != 0 {
		t.Fatalf("empty record kept: %+v", snap.Failures)
	}
	if err := r.PutAppFailures(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteApp(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if kvs, _ := st.List(ctx, "marathon/app-failures/"); len(kvs) != 0 {
		t.Fatalf("record left after DeleteApp: %v", kvs)
	}
}

// TestInstanceHealthRoundTrip: health results stored with an instance
// load unchanged; an instance without them stores no health field.
func TestInstanceHealthRoundTrip(t *testing.T) {
	r, st := openRepo(t)
	ctx := context.Background()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	hs := []health.Status{{FirstSuccess: t0, LastSuccess: t0.Add(time.Second), LastFailure: t0.Add(2 * time.Second), ConsecutiveFailures: 2, LastFailureCause: "GET / answered 503"}, {}}
	in := Instance{TaskID: "web.1", AppID: "/web", State: mesos.TaskRunning, Goal: GoalRunning, StagedAt: t0, Health: hs}
	plain := Instance{TaskID: "web.2", AppID: "/web", Goal: GoalRunning, StagedAt: t0}
	for _, x := range []Instance{in, plain} {
		if err := r.PutInstance(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := r.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Instances) != 2 || !reflect.DeepEqual(snap.Instances[0].Health, hs) || snap.Instances[1].Health != nil {
		t.Fatalf("instances %+v", snap.Instances)
	}
	kv, _ := st.Get(ctx, "marathon/instances/web.2")
	if string(kv.Value) == "" || strings.Contains(string(kv.Value), `"health"`) {
		t.Fatalf("instance without health results stores %s", kv.Value)
	}
}

// TestEventSubscribers: registering is idempotent, the list is sorted,
// removing an unknown URL changes nothing.
func TestEventSubscribers(t *testing.T) {
	r, _ := openRepo(t)
	ctx := context.Background()
	if urls, err := r.EventSubscribers(ctx); err != nil || len(urls) != 0 || urls == nil {
		t.Fatalf("empty list %v %v", urls, err)
	}
	steps := []struct {
		add     bool
		url     string
		changed bool
		want    []string
	}{
		{true, "http://b:1/event", true, []string{"http://b:1/event"}},
		{true, "http://a:1/event", true, []string{"http://a:1/event", "http://b:1/event"}},
		{true, "http://b:1/event", false, []string{"http://a:1/event", "http://b:1/event"}},
		{false, "http://c:1/event", false, []string{"http://a:1/event", "http://b:1/event"}},
		{false, "http://a:1/event", true, []string{"http://b:1/event"}},
		{false, "http://b:1/event", true, []string{}},
	}
	for i, s := range steps {
		var changed bool
		var err error
		if s.add {
			changed, err = r.AddEventSubscriber(ctx, s.url)
		} else {
			changed, err = r.RemoveEventSubscriber(ctx, s.url)
		}
		if err != nil || changed != s.changed {
			t.Fatalf("step %d: changed %v err %v, want %v", i, changed, err, s.changed)
		}
		if got, _ := r.EventSubscribers(ctx); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d: %v, want %v", i, got, s.want)
		}
	}
}

package primes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler/schedulertest"
)

// fakeDriver records calls; launchErr fails the next Launch.
type fakeDriver struct {
	mu        sync.Mutex
	launched  []mesos.TaskInfo
	declined  []mesos.Filters
	revives   int
	launchErr error
}

func (d *fakeDriver) Launch(_ context.Context, _ mesos.OfferID, tasks []mesos.TaskInfo, _ *mesos.Filters) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.launchErr; err != nil {
		d.launchErr = nil
		return err
	}
	d.launched = append(d.launched, tasks...)
	return nil
}

func (d *fakeDriver) Decline(_ context.Context, _ []mesos.OfferID, f *mesos.Filters) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f == nil {
		f = &mesos.Filters{}
	}
	d.declined = append(d.declined, *f)
	return nil
}

func (d *fakeDriver) Revive(context.Context, ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.revives++
	return nil
}

func report(t *testing.T, h http.Handler, task string, count uint64) {
	t.Helper()
	body, _ := json.Marshal(Report{TaskID: task, Count: count})
	req := httptest.NewRequest(http.MethodPost, "/result", bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("report answered %d: %s", rec.Code, rec.Body)
	}
}

func isOver(f *Framework) bool {
	select {
	case <-f.Over():
		return true
	default:
		return false
	}
}

func TestFrameworkRunsJobToTheEnd(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	j := newTestJob(t, 2)
	f := NewFramework(j, log)
	d := &fakeDriver{launchErr: errors.New("403 not subscribed")}

	// The first launch fails: the ranges return to pending, nothing lost.
	f.Offers(ctx, d, []mesos.Offer{schedulertest.Offer("o-1", "fw", "a-1", 4, 4096)})
	if len(d.launched) != 0 || j.Pending() != 2 {
		t.Fatalf("after failed launch: launched %d, pending %d", len(d.launched), j.Pending())
	}
	f.Offers(ctx, d, []mesos.Offer{
		schedulertest.Offer("o-2", "fw", "a-1", 4, 4096),
		schedulertest.Offer("o-3", "fw", "a-2", 4, 4096),
	})
	if len(d.launched) != 2 || len(d.declined) != 1 || d.declined[0].Refuse() != idleRefuse {
		t.Fatalf("launched %d, declined %+v; want both ranges on o-2 and o-3 declined for %ds", len(d.launched), d.declined, idleRefuse)
	}

	// Worker 0 crashes: its range is relaunched after a revive.
	f.Update(ctx, d, status("primes-0-2", mesos.TaskFailed))
	if d.revives != 1 {
		t.Fatalf("revives = %d", d.revives)
	}
	f.Offers(ctx, d, []mesos.Offer{schedulertest.Offer("o-4", "fw", "a-1", 1, 128)})
	if len(d.launched) != 3 || d.launched[2].TaskID.Value != "primes-0-3" {
		t.Fatalf("relaunch = %+v", d.launched)
	}

	report(t, f, "primes-1-2", 16)
	f.Update(ctx, d, status("primes-1-2", mesos.TaskFinished))
	if isOver(f) {
		t.Fatal("over with one range left")
	}
	report(t, f, "primes-0-3", 9)
	report(t, f, "primes-0-3", 9) // a retried POST is harmless
	if !isOver(f) {
		t.Fatal("not over with every range counted")
	}
	if total, err := f.Result(); total != 25 || err != nil {
		t.Fatalf("Result = %d, %v", total, err)
	}
}

func TestFrameworkOverOnFailure(t *testing.T) {
	ctx := context.Background()
	j, err := NewJob(JobConfig{From: 1, To: 10, Tasks: 1, CPUs: 1, Mem: 1, MaxRetries: -1, Executable: "primes"})
	if err != nil {
		t.Fatal(err)
	}
	f := NewFramework(j, slog.New(slog.NewTextHandler(io.Discard, nil)))
	d := &fakeDriver{}
	f.Offers(ctx, d, []mesos.Offer{schedulertest.Offer("o-1", "fw", "a-1", 1, 128)})
	f.Update(ctx, d, status("primes-0-1", mesos.TaskLost))
	if !isOver(f) {
		t.Fatal("not over after the only range failed with retries off")
	}
	if _, err := f.Result(); err == nil {
		t.Fatal("no error")
	}
	if d.revives != 0 {
		t.Fatal("revived for a failed job")
	}
}

func TestWorkPrintsAndReports(t *testing.T) {
	got := make(chan Report, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rep Report
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			t.Error(err)
		}
		got <- rep
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var out bytes.Buffer
	if err := Work(context.Background(), Range{1, 100}, srv.URL, "primes-0-1", &out, srv.Client()); err != nil {
		t.Fatal(err)
	}
	if out.String() != "25\n" {
		t.Fatalf("stdout = %q", out.String())
	}
	if rep := <-got; rep != (Report{TaskID: "primes-0-1", From: 1, To: 100, Count: 25}) {
		t.Fatalf("report = %+v", rep)
	}
}

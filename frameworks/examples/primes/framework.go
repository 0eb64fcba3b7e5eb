package primes

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
)

// Driver is what the framework needs of a scheduler client
// (*scheduler.Client implements it).
type Driver interface {
	Launch(ctx context.Context, offerID mesos.OfferID, tasks []mesos.TaskInfo, filters *mesos.Filters) error
	Decline(ctx context.Context, offerIDs []mesos.OfferID, filters *mesos.Filters) error
	Revive(ctx context.Context, roles ...string) error
}

var _ Driver = (*scheduler.Client)(nil)

// Report is what a worker POSTs to the framework's result URL.
type Report struct {
	TaskID string `json:"task_id"`
	From   uint64 `json:"from"`
	To     uint64 `json:"to"`
	Count  uint64 `json:"count"`
}

// idleRefuse is how long offers are declined for while nothing is pending;
// Revive clears it when a range needs running again.
const idleRefuse = 60

// Framework is the shell around a Job: it turns offers into launches and
// declines, status updates and worker reports into Job transitions, and
// says when the job is over. Its methods are safe for concurrent use.
type Framework struct {
	log *slog.Logger

	mu       sync.Mutex
	job      *Job
	over     chan struct{}
	overOnce sync.Once
}

// NewFramework wraps job.
func NewFramework(job *Job, log *slog.Logger) *Framework {
	return &Framework{job: job, log: log, over: make(chan struct{})}
}

// Over is closed when every range is counted or the job has failed.
func (f *Framework) Over() <-chan struct{} { return f.over }

// Result returns the total so far and the job's error.
func (f *Framework) Result() (total uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.job.Total(), f.job.Err()
}

// checkOver closes Over when the job is done or failed; f.mu must be held.
func (f *Framework) checkOver() {
	if f.job.Done() || f.job.Err() != nil {
		f.overOnce.Do(func() { close(f.over) })
	}
}

// Offers launches pending ranges on offers and declines the rest.
func (f *Framework) Offers(ctx context.Context, d Driver, offers []mesos.Offer) {
	for _, o := range offers {
		f.mu.Lock()
		tasks := f.job.Plan(o)
		idle := f.job.Pending() == 0
		f.mu.Unlock()
		if len(tasks) == 0 {
			filters := (*mesos.Filters)(nil)
			if idle {
				filters = scheduler.RefuseSeconds(idleRefuse)
			}
			if err := d.Decline(ctx, []mesos.OfferID{o.ID}, filters); err != nil {
				f.log.Warn("decline failed", "offer", o.ID.Value, "err", err)
			}
			continue
		}
		if err := d.Launch(ctx, o.ID, tasks, nil); err != nil {
			f.log.Warn("launch failed; ranges go back to pending", "offer", o.ID.Value, "tasks", len(tasks), "err", err)
			f.mu.Lock()
			f.job.LaunchFailed(tasks)
			f.mu.Unlock()
			continue
		}
		for _, t := range tasks {
			f.log.Info("launched", "task", t.TaskID.Value, "agent", o.Hostname)
		}
	}
}

// Update applies a status update and revives offers if a range needs
// running again.
func (f *Framework) Update(ctx context.Context, d Driver, st mesos.TaskStatus) {
	f.mu.Lock()
	before := f.job.Pending()
	f.job.Update(st)
	after := f.job.Pending()
	f.checkOver()
	failed := f.job.Err()
	f.mu.Unlock()
	if st.State.IsTerminal() && st.State != mesos.TaskFinished {
		f.log.Warn("task ended badly", "task", st.TaskID.Value, "state", st.State, "reason", st.Reason, "message", st.Message)
	}
	if after > before && failed == nil {
		if err := d.Revive(ctx); err != nil {
			f.log.Warn("revive failed", "err", err)
		}
	}
}

// KnownTasks lists launched tasks, for reconciliation after (re)subscribing.
func (f *Framework) KnownTasks() []mesos.ReconcileTask {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.job.KnownTasks()
}

// ServeHTTP accepts a worker's Report (POST, JSON).
func (f *Framework) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST a JSON report", http.StatusMethodNotAllowed)
		return
	}
	var rep Report
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&rep); err != nil {
		http.Error(w, "bad report: "+err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	err := f.job.Result(rep.TaskID, rep.Count)
	counted, ranges := f.job.Counted(), f.job.Ranges()
	f.checkOver()
	f.mu.Unlock()
	if err != nil {
		// Duplicates are harmless: answer 200 so the worker does not retry.
		f.log.Info("ignoring report", "task", rep.TaskID, "err", err)
	} else {
		f.log.Info("counted", "task", rep.TaskID, "range", Range{rep.From, rep.To}, "primes", rep.Count, "done", counted, "of", ranges)
	}
	w.WriteHeader(http.StatusNoContent)
}

// Handler adapts the Framework to scheduler.Handler, with auto-ack left
// to the client and reconciliation of launched tasks turned on.
func (f *Framework) Handler() scheduler.Handler {
	return scheduler.HandlerFuncs{
		OffersFunc: func(ctx context.Context, c *scheduler.Client, offers []mesos.Offer) { f.Offers(ctx, c, offers) },
		UpdateFunc: func(ctx context.Context, c *scheduler.Client, st mesos.TaskStatus) { f.Update(ctx, c, st) },
		ErrorFunc: func(_ context.Context, _ *scheduler.Client, msg string) {
			f.log.Error("master error", "message", msg)
		},
		KnownTasksFunc: f.KnownTasks,
	}
}

func (f *Framework) launches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.job.Launches()
}

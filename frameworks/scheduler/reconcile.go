package scheduler

import (
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// Reconciler decides one round of explicit task reconciliation as Mesos
// recommends (docs/reconciliation.md): ask the master about every task the
// framework knows, then ask again with truncated exponential backoff about
// those that have not had an UPDATE since the round started. It does no
// I/O and reads no clock; the Client drives it (see TaskLister), and a
// framework with its own loop can drive it too. It is not safe for
// concurrent use.
type Reconciler struct {
	order    []mesos.TaskID
	pending  map[mesos.TaskID]mesos.ReconcileTask
	wait     time.Duration
	maxWait  time.Duration
	next     time.Time
	attempts int
}

// NewReconciler starts a round for tasks. The first retry comes minWait
// after the first ask, doubling up to maxWait.
func NewReconciler(tasks []mesos.ReconcileTask, minWait, maxWait time.Duration) *Reconciler {
	r := &Reconciler{pending: make(map[mesos.TaskID]mesos.ReconcileTask, len(tasks)), wait: minWait, maxWait: max(minWait, maxWait)}
	for _, t := range tasks {
		if _, dup := r.pending[t.TaskID]; !dup {
			r.order = append(r.order, t.TaskID)
		}
		r.pending[t.TaskID] = t
	}
	return r
}

// Observe records an UPDATE for a task: it is not asked about again.
func (r *Reconciler) Observe(taskID mesos.TaskID) { delete(r.pending, taskID) }

// Done reports whether every task has had an update.
func (r *Reconciler) Done() bool { return len(r.pending) == 0 }

// Attempts returns how many RECONCILE calls Due has asked for.
func (r *Reconciler) Attempts() int { return r.attempts }

// Due returns the tasks to send in a RECONCILE call at now (nil when none
// is due yet or the round is done) and when Due should be called next
// (zero when the round is done).
func (r *Reconciler) Due(now time.Time) (ask []mesos.ReconcileTask, next time.Time) {
	if r.Done() {
		return nil, time.Time{}
	}
	if now.Before(r.next) {
		return nil, r.next
	}
	kept := r.order[:0]
	for _, id := range r.order {
		if t, ok := r.pending[id]; ok {
			ask = append(ask, t)
			kept = append(kept, id)
		}
	}
	r.order = kept
	r.next = now.Add(r.wait)
	r.wait = min(2*r.wait, r.maxWait)
	r.attempts++
	return ask, r.next
}

package engine

import (
	"context"
	"slices"
	"time"

	"github.com/strata-sched/strata/marathon/sched"
	"github.com/strata-sched/strata/marathon/state"
)

// What survives a restart or a change of leader besides apps, deployments
// and instances: an app's lastTaskFailure and launch backoff (one record
// per app, written when a task fails and when the backoff is reset) and
// each instance's Marathon health check results (written with the
// instance when health.NeedsStore says the change matters). All of it is
// written under e.mu, before the decision it records takes effect.

// storeFailures persists the failure record of app id. Records of apps
// that no longer exist are not written (their tasks may still end after
// the app's removal).
func (e *Engine) storeFailures(ctx context.Context, id string, rt *appRT) {
	if _, ok := e.appIdx[id]; !ok {
		return
	}
	rec := state.AppFailures{AppID: id, LastTaskFailure: rt.lastFailure}
	if b := rt.backoff; b.Delay > 0 {
		rec.Backoff = &state.Backoff{Version: b.Version, DelayMillis: b.Delay.Milliseconds(), Until: b.Until.UTC(), LastFailure: b.LastFailure.UTC()}
	}
	if err := e.repo.PutAppFailures(ctx, rec); err != nil {
		e.log.Warn("cannot store the app's last failure and backoff; a restart would forget them", "app", id, "err", err)
	}
}

// resetBackoff forgets app id's launch delay, in memory and in the store.
func (e *Engine) resetBackoff(ctx context.Context, id string, rt *appRT) {
	if rt.backoff == (sched.Backoff{}) {
		return
	}
	rt.backoff = sched.Backoff{}
	e.storeFailures(ctx, id, rt)
}

// restoreFailures installs the failure records read at load.
func (e *Engine) restoreFailures(recs map[string]state.AppFailures) {
	for id, rec := range recs {
		if _, ok := e.appIdx[id]; !ok {
			continue
		}
		rt := e.rt(id)
		rt.lastFailure = rec.LastTaskFailure
		if b := rec.Backoff; b != nil && b.DelayMillis > 0 {
			rt.backoff = sched.Backoff{Version: b.Version, Delay: time.Duration(b.DelayMillis) * time.Millisecond, Until: b.Until, LastFailure: b.LastFailure}
		}
	}
}

// storeHealth persists the instance with its current health results.
func (e *Engine) storeHealth(ctx context.Context, in *inst) {
	in.Health = slices.Clone(in.health)
	if err := e.repo.PutInstance(ctx, in.Instance); err != nil {
		e.log.Warn("cannot store health check results", "task", in.TaskID, "err", err)
	}
}

package sched

import (
	"math"
	"time"

	"github.com/strata-sched/strata/marathon/app"
)

// Backoff is an app's launch delay (RateLimiter): after a task fails, the
// next launch waits backoffSeconds, and each further failure multiplies the
// delay by backoffFactor, up to maxLaunchDelaySeconds. The zero value is
// "no delay". The engine persists it (state.AppFailures) at every change,
// so a restart or a new leader keeps a crash-looping app waiting; the reset
// rules (new version deployed, DELETE /v2/queue/{id}/delay, no failure for
// maxLaunchDelaySeconds) are the engine's and are persisted the same way.
type Backoff struct {
	// Version is the app version whose failure set the delay.
	Version string
	// Delay is the current delay; 0 when none.
	Delay time.Duration
	// Until is when launches may resume.
	Until time.Time
	// LastFailure is when the delay was last increased.
	LastFailure time.Time
}

// Failed returns the backoff after a failure of one of a's tasks at now.
func (b Backoff) Failed(a *app.App, now time.Time) Backoff {
	base := time.Duration(deref(a.BackoffSeconds, app.DefaultBackoffSeconds)) * time.Second
	factor := deref(a.BackoffFactor, app.DefaultBackoffFactor)
	maxDelay := time.Duration(deref(a.MaxLaunchDelaySeconds, app.DefaultMaxLaunchDelaySeconds)) * time.Second
	d := base
	if b.Delay > 0 {
		d = time.Duration(math.Min(float64(b.Delay)*factor, float64(maxDelay)))
	}
	d = min(d, maxDelay)
	return Backoff{Version: a.Version, Delay: d, Until: now.Add(d), LastFailure: now}
}

// Blocked reports whether launches must wait at now, and how long.
func (b Backoff) Blocked(now time.Time) (bool, time.Duration) {
	if b.Delay == 0 || !now.Before(b.Until) {
		return false, 0
	}
	return true, b.Until.Sub(now)
}

// Expired reports whether the delay should be forgotten at now: no failure
// for longer than maxLaunchDelaySeconds (cleanUpOverdueDelays).
func (b Backoff) Expired(a *app.App, now time.Time) bool {
	if b.Delay == 0 {
		return false
	}
	maxDelay := time.Duration(deref(a.MaxLaunchDelaySeconds, app.DefaultMaxLaunchDelaySeconds)) * time.Second
	return now.After(b.LastFailure.Add(maxDelay))
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

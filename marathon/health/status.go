package health

import (
	"time"

	"github.com/strata-sched/strata/marathon/app"
)

// Result is the outcome of one probe.
type Result struct {
	OK bool
	// Informational is a 1xx answer (ignored with ignoreHttp1xx).
	Informational bool
	// Cause says why a probe failed.
	Cause string
	At    time.Time
}

// Status is one check's state for one task. It is persisted with the
// instance (see NeedsStore), hence the JSON tags.
type Status struct {
	ConsecutiveFailures int       `json:"consecutiveFailures,omitempty"`
	FirstSuccess        time.Time `json:"firstSuccess,omitzero"`
	LastSuccess         time.Time `json:"lastSuccess,omitzero"`
	LastFailure         time.Time `json:"lastFailure,omitzero"`
	LastFailureCause    string    `json:"lastFailureCause,omitempty"`
}

// Alive reports whether the last success is later than the last failure.
func (s Status) Alive() bool {
	return !s.LastSuccess.IsZero() && (s.LastFailure.IsZero() || s.LastSuccess.After(s.LastFailure))
}

// Verdict is what a result means.
type Verdict struct {
	// Ignored: the result changed nothing (grace period, not running,
	// 1xx with ignoreHttp1xx).
	Ignored bool
	// Failed: a failure was counted (failed_health_check_event).
	Failed bool
	// Kill: the task has failed too many times in a row.
	Kill bool
}

// Observe applies one result. running says whether the task is
// TASK_RUNNING and runningSince when it became so.
func (s Status) Observe(hc app.HealthCheck, r Result, running bool, runningSince time.Time) (Status, Verdict) {
	if r.Informational && hc.IgnoreHTTP1xx != nil && *hc.IgnoreHTTP1xx {
		return s, Verdict{Ignored: true}
	}
	if r.OK {
		if s.FirstSuccess.IsZero() {
			s.FirstSuccess = r.At
		}
		s.LastSuccess = r.At
		s.ConsecutiveFailures = 0
		return s, Verdict{}
	}
	grace := time.Duration(hc.GracePeriodSeconds) * time.Second
	if !running || (s.FirstSuccess.IsZero() && r.At.Before(runningSince.Add(grace))) {
		return s, Verdict{Ignored: true}
	}
	v := Verdict{Failed: true}
	if hc.MaxConsecutiveFailures > 0 && s.ConsecutiveFailures >= hc.MaxConsecutiveFailures {
		v.Kill = true
	}
	s.ConsecutiveFailures++
	s.LastFailure = r.At
	s.LastFailureCause = r.Cause
	return s, v
}

// HasResult reports whether a result was counted at all.
func (s Status) HasResult() bool { return !s.LastSuccess.IsZero() || !s.LastFailure.IsZero() }

// NeedsStore reports whether going from prev to next is a change worth
// persisting. Successes in a row, the steady state, write nothing; what is
// written is every change of the verdict (the first result, alive
// flipping, the first success) and each counted failure on the way to a
// kill (at most maxConsecutiveFailures+1 per streak), so that after a
// restart healthCheckResults read as before and a task that was failing is
// killed after exactly as many failures as without the restart. With
// maxConsecutiveFailures 0 (never kill) failures in a row write nothing
// after the first.
func NeedsStore(hc app.HealthCheck, prev, next Status) bool {
	switch {
	case prev.HasResult() != next.HasResult(),
		prev.Alive() != next.Alive(),
		prev.FirstSuccess.IsZero() != next.FirstSuccess.IsZero():
		return true
	case next.ConsecutiveFailures > prev.ConsecutiveFailures:
		return hc.MaxConsecutiveFailures > 0 && next.ConsecutiveFailures <= hc.MaxConsecutiveFailures+1
	}
	return false
}

// JSON renders the status as Marathon's health result for instanceID.
func (s Status) JSON(instanceID string) app.HealthResult {
	ts := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		v := t.UTC().Format("2006-01-02T15:04:05.000Z")
		return &v
	}
	var cause *string
	if s.LastFailureCause != "" {
		c := s.LastFailureCause
		cause = &c
	}
	return app.HealthResult{
		Alive: s.Alive(), ConsecutiveFailures: s.ConsecutiveFailures,
		FirstSuccess: ts(s.FirstSuccess), LastSuccess: ts(s.LastSuccess), LastFailure: ts(s.LastFailure),
		LastFailureCause: cause, InstanceID: instanceID,
	}
}

// FirstProbeAfter is when the first probe of a check runs after the task
// is seen running: min(interval, 5 s).
func FirstProbeAfter(hc app.HealthCheck) time.Duration {
	return min(time.Duration(hc.IntervalSeconds)*time.Second, 5*time.Second)
}

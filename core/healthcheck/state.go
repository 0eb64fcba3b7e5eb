package healthcheck

import (
	"time"
)

// HealthResult is the outcome of one health probe that matters to the
// task's status.
type HealthResult struct {
	Healthy             bool
	ConsecutiveFailures int
	Kill                bool   // the task must be killed (failures reached the limit after the grace period)
	Message             string // e.g. "HTTP health check failed: connection refused"
}

// healthPolicy holds the parts of a HealthCheck that interpret results.
type healthPolicy struct {
	gracePeriod time.Duration
	maxFailures uint32 // consecutive_failures
}

// healthState decides what each probe result means for a task's health
// (Mesos' HealthChecker: src/checks/health_checker.cpp). It does no I/O and
// reads no clock: the caller passes the time of each observation.
type healthState struct {
	policy       healthPolicy
	start        time.Time // when checking began (the grace period counts from here, delay included)
	initializing bool      // no success yet
	failures     int       // consecutive failures that counted
	killed       bool
	last         HealthResult
}

func newHealthState(p healthPolicy, start time.Time) *healthState {
	return &healthState{policy: p, start: start, initializing: true}
}

// Observe records one probe result at now and returns the task's health
// and whether the result must be reported: on the first success, on a
// success after failures, and on every failure that counts. Failures before
// the first success are ignored (not counted, not reported) while now is
// within the grace period of start. Once a result carried Kill, the state
// is final: Observe returns that result again and never reports.
func (s *healthState) Observe(success bool, msg string, now time.Time) (HealthResult, bool) {
	if s.killed {
		return s.last, false
	}
	if success {
		report := s.initializing || s.failures > 0
		s.initializing = false
		s.failures = 0
		s.last = HealthResult{Healthy: true, Message: msg}
		return s.last, report
	}
	if s.initializing && s.policy.gracePeriod > 0 && now.Sub(s.start) <= s.policy.gracePeriod {
		return HealthResult{Healthy: false, Message: msg}, false
	}
	s.failures++
	s.killed = uint32(s.failures) >= s.policy.maxFailures
	s.last = HealthResult{Healthy: false, ConsecutiveFailures: s.failures, Kill: s.killed, Message: msg}
	return s.last, true
}

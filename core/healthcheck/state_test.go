package healthcheck

import (
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// step is one observation and what it must yield.
type step struct {
	at      time.Duration // since start
	success bool
	report  bool
	want    HealthResult // Message is not compared
}

func ok() HealthResult          { return HealthResult{Healthy: true} }
func failed(n int) HealthResult { return HealthResult{ConsecutiveFailures: n} }
func killed(n int) HealthResult { return HealthResult{ConsecutiveFailures: n, Kill: true} }
func ignored() HealthResult     { return HealthResult{} }

func TestHealthState(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name   string
		policy healthPolicy
		steps  []step
	}{
		{
			name:   "first success is reported, later successes are not",
			policy: healthPolicy{gracePeriod: 10 * s, maxFailures: 3},
			steps: []step{
				{at: 15 * s, success: true, report: true, want: ok()},
				{at: 25 * s, success: true, report: false, want: ok()},
				{at: 35 * s, success: true, report: false, want: ok()},
			},
		},
		{
			name:   "every counted failure is reported; a success after failures is reported and resets",
			policy: healthPolicy{gracePeriod: 10 * s, maxFailures: 3},
			steps: []step{
				{at: 15 * s, success: true, report: true, want: ok()},
				{at: 25 * s, report: true, want: failed(1)},
				{at: 35 * s, report: true, want: failed(2)},
				{at: 45 * s, success: true, report: true, want: ok()},
				{at: 55 * s, report: true, want: failed(1)},
			},
		},
		{
			name:   "failures before the first success are ignored within the grace period",
			policy: healthPolicy{gracePeriod: 30 * s, maxFailures: 3},
			steps: []step{
				{at: 10 * s, report: false, want: ignored()},
				{at: 20 * s, report: false, want: ignored()},
				{at: 30 * s, report: false, want: ignored()}, // the boundary itself is still grace
				{at: 30*s + 1, report: true, want: failed(1)},
				{at: 40 * s, report: true, want: failed(2)},
			},
		},
		{
			name:   "a first success ends the grace period early",
			policy: healthPolicy{gracePeriod: 60 * s, maxFailures: 3},
			steps: []step{
				{at: 5 * s, report: false, want: ignored()},
				{at: 10 * s, success: true, report: true, want: ok()},
				{at: 15 * s, report: true, want: failed(1)},
			},
		},
		{
			name:   "the grace period includes the delay: a first probe after it counts",
			policy: healthPolicy{gracePeriod: 10 * s, maxFailures: 3},
			steps: []step{
				{at: 15 * s, report: true, want: failed(1)},
			},
		},
		{
			name:   "no grace period: the first failure counts",
			policy: healthPolicy{gracePeriod: 0, maxFailures: 3},
			steps: []step{
				{at: 0, report: true, want: failed(1)},
			},
		},
		{
			name:   "kill at consecutive_failures, exactly once; the state is final",
			policy: healthPolicy{gracePeriod: 10 * s, maxFailures: 3},
			steps: []step{
				{at: 5 * s, report: false, want: ignored()},
				{at: 15 * s, report: true, want: failed(1)},
				{at: 25 * s, report: true, want: failed(2)},
				{at: 35 * s, report: true, want: killed(3)},
				{at: 45 * s, report: false, want: killed(3)},
				{at: 55 * s, success: true, report: false, want: killed(3)},
			},
		},
		{
			name:   "ignored failures do not count towards the kill",
			policy: healthPolicy{gracePeriod: 20 * s, maxFailures: 2},
			steps: []step{
				{at: 0, report: false, want: ignored()},
				{at: 10 * s, report: false, want: ignored()},
				{at: 20 * s, report: false, want: ignored()},
				{at: 30 * s, report: true, want: failed(1)},
				{at: 40 * s, report: true, want: killed(2)},
			},
		},
		{
			name:   "a success in between restarts the count",
			policy: healthPolicy{gracePeriod: 0, maxFailures: 2},
			steps: []step{
				{at: 0, report: true, want: failed(1)},
				{at: 10 * s, success: true, report: true, want: ok()},
				{at: 20 * s, report: true, want: failed(1)},
				{at: 30 * s, report: true, want: killed(2)},
			},
		},
		{
			name:   "consecutive_failures 1 kills on the first counted failure",
			policy: healthPolicy{gracePeriod: 10 * s, maxFailures: 1},
			steps: []step{
				{at: 5 * s, report: false, want: ignored()},
				{at: 15 * s, report: true, want: killed(1)},
			},
		},
		{
			name:   "consecutive_failures 0 kills on the first counted failure, as in Mesos",
			policy: healthPolicy{gracePeriod: 0, maxFailures: 0},
			steps: []step{
				{at: 0, success: true, report: true, want: ok()},
				{at: 10 * s, report: true, want: killed(1)},
			},
		},
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newHealthState(tt.policy, start)
			for i, sp := range tt.steps {
				msg := "probe message"
				got, report := st.Observe(sp.success, msg, start.Add(sp.at))
				if report != sp.report {
					t.Errorf("step %d (at %s, success %v): report = %v, want %v", i, sp.at, sp.success, report, sp.report)
				}
				cmp := got
				cmp.Message = ""
				if cmp != sp.want {
					t.Errorf("step %d (at %s, success %v): result = %+v, want %+v", i, sp.at, sp.success, got, sp.want)
				}
				if got.Message != msg {
					t.Errorf("step %d: message %q, want the probe's", i, got.Message)
				}
			}
		})
	}
}

func TestSchedules(t *testing.T) {
	tests := []struct {
		delay, interval, timeout float64
		want                     schedule
	}{
		{15, 10, 20, schedule{15 * time.Second, 10 * time.Second, 20 * time.Second}},
		{0, 0, 0, schedule{0, 10 * time.Second, 20 * time.Second}}, // zero interval/timeout take the defaults
		{-1, -1, -1, schedule{0, 10 * time.Second, 20 * time.Second}},
		{0.5, 0.25, 1.5, schedule{500 * time.Millisecond, 250 * time.Millisecond, 1500 * time.Millisecond}},
	}
	for _, tt := range tests {
		if got := newSchedule(tt.delay, tt.interval, tt.timeout, 10, 20); got != tt.want {
			t.Errorf("newSchedule(%v, %v, %v) = %+v, want %+v", tt.delay, tt.interval, tt.timeout, got, tt.want)
		}
	}
}

func TestValidateHealthCheck(t *testing.T) {
	dbl := func(f float64) *mesos.Double { d := mesos.Double(f); return &d }
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		hc   mesos.HealthCheck
		ok   bool
	}{
		{"http", mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: 80, Path: "/h"}}, true},
		{"https", mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: 443, Scheme: "https"}}, true},
		{"tcp", mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: 80}}, true},
		{"command", mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: str("true")}}, true},
		{"type inferred", mesos.HealthCheck{HTTP: &mesos.HTTPCheckInfo{Port: 80}}, true},
		{"no type, two probes", mesos.HealthCheck{HTTP: &mesos.HTTPCheckInfo{Port: 80}, TCP: &mesos.TCPCheckInfo{Port: 80}}, false},
		{"http without http", mesos.HealthCheck{Type: "HTTP"}, false},
		{"bad scheme", mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: 80, Scheme: "ftp"}}, false},
		{"bad path", mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: 80, Path: "h"}}, false},
		{"no port", mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{}}, false},
		{"port too big", mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: 70000}}, false},
		{"command without value", mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{}}, false},
		{"unknown type", mesos.HealthCheck{Type: "UDP"}, false},
		{"negative delay", mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: 80}, DelaySeconds: dbl(-1)}, false},
		{"negative grace", mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: 80}, GracePeriodSeconds: dbl(-1)}, false},
	}
	for _, tt := range tests {
		if err := ValidateHealthCheck(tt.hc); (err == nil) != tt.ok {
			t.Errorf("%s: ValidateHealthCheck = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestValidateCheck(t *testing.T) {
	var http mesos.CheckInfo
	http.Type = "HTTP"
	http.HTTP = &struct {
		Port uint32 `json:"port"`
		Path string `json:"path,omitempty"`
	}{Port: 80}
	if err := ValidateCheck(http); err != nil {
		t.Errorf("valid HTTP check: %v", err)
	}
	if err := ValidateCheck(mesos.CheckInfo{Type: "TCP"}); err == nil {
		t.Error("TCP check without tcp accepted")
	}
	if err := ValidateCheck(mesos.CheckInfo{Type: "COMMAND"}); err == nil {
		t.Error("COMMAND check without a command accepted")
	}
}

// BenchmarkHealthStateObserve is the decision an agent makes per probe per
// task (1,000 tasks with a 10 s interval: 100 per second).
func BenchmarkHealthStateObserve(b *testing.B) {
	st := newHealthState(healthPolicy{gracePeriod: 10 * time.Second, maxFailures: 1 << 30}, time.Unix(0, 0))
	now := time.Unix(100, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		st.Observe(i%3 != 0, "HTTP health check failed: connection refused", now)
		i++
	}
}

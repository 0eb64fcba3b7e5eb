package healthcheck

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// fakeProbe replays a script of outcomes: 'o' succeeds, 'x' fails, 't'
// blocks until the probe's context ends (a timeout). Past the end of the
// script it keeps succeeding. It records when each probe started.
type fakeProbe struct {
	script string
	starts []time.Duration
	t0     time.Time
}

func (f *fakeProbe) probe(ctx context.Context) (bool, string) {
	i := len(f.starts)
	f.starts = append(f.starts, time.Since(f.t0))
	c := byte('o')
	if i < len(f.script) {
		c = f.script[i]
	}
	switch c {
	case 'x':
		return false, fmt.Sprintf("probe %d failed", i)
	case 't':
		<-ctx.Done()
		return false, "cancelled"
	}
	return true, fmt.Sprintf("probe %d passed", i)
}

// timed is a report with the fake time it was made at.
type timed struct {
	at time.Duration
	r  HealthResult
}

func TestRunHealthSchedule(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name    string
		sch     schedule
		pol     healthPolicy
		script  string
		runFor  time.Duration // cancel after this long (0: until Kill)
		starts  []time.Duration
		reports []timed
	}{
		{
			name:   "defaults: delay 15, interval 10; only the first success is reported",
			sch:    schedule{15 * s, 10 * s, 20 * s},
			pol:    healthPolicy{10 * s, 3},
			script: "ooo",
			runFor: 40 * s,
			starts: []time.Duration{15 * s, 25 * s, 35 * s},
			reports: []timed{
				{15 * s, HealthResult{Healthy: true, Message: "probe 0 passed"}},
			},
		},
		{
			name:   "three failures after a success kill, and the runner stops",
			sch:    schedule{15 * s, 10 * s, 20 * s},
			pol:    healthPolicy{10 * s, 3},
			script: "oxxx",
			starts: []time.Duration{15 * s, 25 * s, 35 * s, 45 * s},
			reports: []timed{
				{15 * s, HealthResult{Healthy: true, Message: "probe 0 passed"}},
				{25 * s, HealthResult{ConsecutiveFailures: 1, Message: "probe 1 failed"}},
				{35 * s, HealthResult{ConsecutiveFailures: 2, Message: "probe 2 failed"}},
				{45 * s, HealthResult{ConsecutiveFailures: 3, Kill: true, Message: "probe 3 failed"}},
			},
		},
		{
			name:   "failures in the grace period (delay included) are ignored",
			sch:    schedule{5 * s, 10 * s, 20 * s},
			pol:    healthPolicy{20 * s, 2},
			script: "xxxx", // at 5 and 15 ignored; 25 and 35 count
			starts: []time.Duration{5 * s, 15 * s, 25 * s, 35 * s},
			reports: []timed{
				{25 * s, HealthResult{ConsecutiveFailures: 1, Message: "probe 2 failed"}},
				{35 * s, HealthResult{ConsecutiveFailures: 2, Kill: true, Message: "probe 3 failed"}},
			},
		},
		{
			name:   "a timeout is a failure; the interval counts from the end of the probe",
			sch:    schedule{0, 10 * s, 3 * s},
			pol:    healthPolicy{0, 2},
			script: "ottx",
			starts: []time.Duration{0, 10 * s, 23 * s},
			reports: []timed{
				{0, HealthResult{Healthy: true, Message: "probe 0 passed"}},
				{13 * s, HealthResult{ConsecutiveFailures: 1, Message: "HTTP health check timed out after 3s"}},
				{26 * s, HealthResult{ConsecutiveFailures: 2, Kill: true, Message: "HTTP health check timed out after 3s"}},
			},
		},
		{
			name:   "recovery is reported",
			sch:    schedule{0, 1 * s, 1 * s},
			pol:    healthPolicy{0, 3},
			script: "oxxoo",
			runFor: 4*s + 500*time.Millisecond,
			starts: []time.Duration{0, 1 * s, 2 * s, 3 * s, 4 * s},
			reports: []timed{
				{0, HealthResult{Healthy: true, Message: "probe 0 passed"}},
				{1 * s, HealthResult{ConsecutiveFailures: 1, Message: "probe 1 failed"}},
				{2 * s, HealthResult{ConsecutiveFailures: 2, Message: "probe 2 failed"}},
				{3 * s, HealthResult{Healthy: true, Message: "probe 3 passed"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.runFor > 0 {
					time.AfterFunc(tt.runFor, cancel)
				}
				t0 := time.Now()
				fp := &fakeProbe{script: tt.script, t0: t0}
				var got []timed
				runHealth(ctx, tt.sch, tt.pol, "HTTP health check", fp.probe, func(r HealthResult) {
					got = append(got, timed{time.Since(t0), r})
				})
				if fmt.Sprint(fp.starts) != fmt.Sprint(tt.starts) {
					t.Errorf("probes started at %v, want %v", fp.starts, tt.starts)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.reports) {
					t.Errorf("reports:\n got %v\nwant %v", got, tt.reports)
				}
			})
		})
	}
}

// Cancelling during a probe ends the runner without a report.
func TestRunHealthCancelDuringProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(2*time.Second, cancel)
		fp := &fakeProbe{script: "t", t0: time.Now()}
		reports := 0
		runHealth(ctx, schedule{time.Second, time.Second, time.Minute}, healthPolicy{0, 1}, "TCP health check", fp.probe,
			func(HealthResult) { reports++ })
		if reports != 0 || len(fp.starts) != 1 {
			t.Fatalf("reports = %d, probes = %d; want 0, 1", reports, len(fp.starts))
		}
		if el := time.Since(fp.t0); el != 2*time.Second {
			t.Fatalf("returned after %s, want 2s", el)
		}
	})
}

// The exported RunHealth with a COMMAND check, defaults and all, on the
// fake clock.
func TestRunHealthCommandDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		target := Target{RunCommand: func(ctx context.Context, cmd mesos.CommandInfo) (int, error) {
			calls++
			if cmd.GetValue() != "check.sh" {
				t.Errorf("command = %q", cmd.GetValue())
			}
			if calls == 1 {
				return 0, nil
			}
			return 1, nil
		}}
		v := "check.sh"
		hc := mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: &v}}
		t0 := time.Now()
		var got []timed
		RunHealth(t.Context(), hc, target, func(r HealthResult) { got = append(got, timed{time.Since(t0), r}) })
		want := []timed{
			{15 * time.Second, HealthResult{Healthy: true, Message: "COMMAND health check passed"}},
			{25 * time.Second, HealthResult{ConsecutiveFailures: 1, Message: "COMMAND health check failed: command exited with status 1"}},
			{35 * time.Second, HealthResult{ConsecutiveFailures: 2, Message: "COMMAND health check failed: command exited with status 1"}},
			{45 * time.Second, HealthResult{ConsecutiveFailures: 3, Kill: true, Message: "COMMAND health check failed: command exited with status 1"}},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("reports:\n got %v\nwant %v", got, want)
		}
	})
}

// A COMMAND check without a runner fails (it is not silently healthy).
func TestRunHealthNoRunner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := "true"
		hc := mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: &v}}
		var last HealthResult
		RunHealth(t.Context(), hc, Target{}, func(r HealthResult) { last = r })
		if !last.Kill || !strings.Contains(last.Message, "no command runner") {
			t.Fatalf("last = %+v", last)
		}
	})
}

// An invalid check fails every probe with the validation error.
func TestRunHealthInvalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var last HealthResult
		RunHealth(t.Context(), mesos.HealthCheck{Type: "HTTP"}, Target{}, func(r HealthResult) { last = r })
		if !last.Kill || !strings.Contains(last.Message, "invalid health check") {
			t.Fatalf("last = %+v", last)
		}
	})
}

func TestRunCheckReportsEveryResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(36*time.Second, cancel)
		codes := []int{0, 0, 3}
		calls := 0
		target := Target{RunCommand: func(ctx context.Context, cmd mesos.CommandInfo) (int, error) {
			calls++
			if calls == 4 {
				<-ctx.Done() // times out
				return -1, ctx.Err()
			}
			return codes[calls-1], nil
		}}
		v := "x"
		var ci mesos.CheckInfo
		ci.Type = "COMMAND"
		ci.Command = &struct {
			Command *mesos.CommandInfo `json:"command,omitempty"`
		}{Command: &mesos.CommandInfo{Value: &v}}
		t1 := mesos.Double(1)
		ci.DelaySeconds = &t1
		var got []string
		t0 := time.Now()
		RunCheck(ctx, ci, target, func(st mesos.CheckStatusInfo) {
			s := fmt.Sprintf("%s@%s:", st.Type, time.Since(t0))
			if st.Command == nil {
				s += "no command"
			} else if st.Command.ExitCode == nil {
				s += "empty"
			} else {
				s += fmt.Sprint(*st.Command.ExitCode)
			}
			got = append(got, s)
		})
		// delay 1, interval 10, timeout 20: 1, 11, 21, 31 (times out at 51: cancelled first at 36)
		want := []string{"COMMAND@1s:0", "COMMAND@11s:0", "COMMAND@21s:3"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestRunCheckTimeoutIsEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var got []mesos.CheckStatusInfo
		probe := func(ctx context.Context) mesos.CheckStatusInfo {
			<-ctx.Done()
			st := emptyCheckStatus(TypeTCP)
			f := false
			st.TCP.Succeeded = &f // what a careless probe might say; the runner knows better
			return st
		}
		runCheck(ctx, schedule{0, time.Second, 2 * time.Second}, TypeTCP, probe, func(st mesos.CheckStatusInfo) {
			got = append(got, st)
			cancel()
		})
		if len(got) != 1 || got[0].Type != TypeTCP || got[0].TCP == nil || got[0].TCP.Succeeded != nil {
			t.Fatalf("got %+v, want one TCP status without a result", got)
		}
	})
}

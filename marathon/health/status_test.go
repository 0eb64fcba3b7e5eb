package health

import (
	"testing"
	"time"

	"github.com/strata-sched/strata/marathon/app"
)

func hc(maxFail, grace int) app.HealthCheck {
	return app.HealthCheck{Protocol: app.ProtoHTTP, MaxConsecutiveFailures: maxFail, GracePeriodSeconds: grace, IntervalSeconds: 10, TimeoutSeconds: 5}
}

// TestKillOnMaxPlusOne pins down the counting rule: the kill comes on the
// (maxConsecutiveFailures+1)-th consecutive counted failure.
func TestKillOnMaxPlusOne(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, max := range []int{1, 3, 5} {
		var s Status
		s, _ = s.Observe(hc(max, 0), Result{OK: true, At: t0}, true, t0)
		killedAt := 0
		for i := 1; i <= max+2 && killedAt == 0; i++ {
			var v Verdict
			s, v = s.Observe(hc(max, 0), Result{Cause: "boom", At: t0.Add(time.Duration(i) * time.Second)}, true, t0)
			if !v.Failed {
				t.Fatalf("max %d failure %d not counted", max, i)
			}
			if v.Kill {
				killedAt = i
			}
		}
		if killedAt != max+1 {
			t.Errorf("max %d: killed on failure %d, want %d", max, killedAt, max+1)
		}
		if s.Alive() {
			t.Errorf("max %d: still alive after failures", max)
		}
	}
}

func TestObserve(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	yes := true
	tests := []struct {
		name    string
		check   app.HealthCheck
		results []Result
		running bool
		wantV   []Verdict
		alive   bool
		fails   int
	}{
		{"zero max never kills", hc(0, 0), []Result{{At: at(1)}, {At: at(2)}, {At: at(3)}, {At: at(4)}, {At: at(5)}}, true,
			[]Verdict{{Failed: true}, {Failed: true}, {Failed: true}, {Failed: true}, {Failed: true}}, false, 5},
		{"grace ignores failures before first success", hc(1, 10), []Result{{At: at(1)}, {At: at(5)}, {At: at(11)}}, true,
			[]Verdict{{Ignored: true}, {Ignored: true}, {Failed: true}}, false, 1},
		{"grace ends at first success", hc(1, 100), []Result{{OK: true, At: at(1)}, {At: at(2)}, {At: at(3)}}, true,
			[]Verdict{{}, {Failed: true}, {Failed: true, Kill: true}}, false, 2},
		{"not running ignored", hc(1, 0), []Result{{At: at(1)}, {At: at(2)}}, false,
			[]Verdict{{Ignored: true}, {Ignored: true}}, false, 0},
		{"success resets", hc(2, 0), []Result{{At: at(1)}, {At: at(2)}, {OK: true, At: at(3)}, {At: at(4)}}, true,
			[]Verdict{{Failed: true}, {Failed: true}, {}, {Failed: true}}, false, 1},
		{"alive after success", hc(2, 0), []Result{{At: at(1)}, {OK: true, At: at(2)}}, true,
			[]Verdict{{Failed: true}, {}}, true, 0},
		{"1xx ignored", app.HealthCheck{MaxConsecutiveFailures: 1, IgnoreHTTP1xx: &yes}, []Result{{Informational: true, At: at(1)}}, true,
			[]Verdict{{Ignored: true}}, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Status
			for i, r := range tc.results {
				var v Verdict
				s, v = s.Observe(tc.check, r, tc.running, t0)
				if v != tc.wantV[i] {
					t.Errorf("result %d: verdict %+v, want %+v", i, v, tc.wantV[i])
				}
			}
			if s.Alive() != tc.alive || s.ConsecutiveFailures != tc.fails {
				t.Errorf("alive %v fails %d, want %v %d", s.Alive(), s.ConsecutiveFailures, tc.alive, tc.fails)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC)
	var s Status
	s, _ = s.Observe(hc(3, 0), Result{OK: true, At: t0}, true, t0)
	j := s.JSON("a.marathon-1")
	if !j.Alive || *j.FirstSuccess != "2024-01-02T03:04:05.006Z" || j.LastFailure != nil || j.InstanceID != "a.marathon-1" {
		t.Errorf("%+v", j)
	}
}

// TestNeedsStore: what is persisted is a change of verdict and the
// failures on the way to a kill; a steady state writes nothing.
func TestNeedsStore(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ok := Status{FirstSuccess: t0, LastSuccess: t0.Add(time.Second)}
	failing := func(n int) Status {
		return Status{FirstSuccess: t0, LastSuccess: t0.Add(time.Second), LastFailure: t0.Add(2 * time.Second), ConsecutiveFailures: n, LastFailureCause: "x"}
	}
	neverOK := Status{LastFailure: t0, ConsecutiveFailures: 1}
	for _, c := range []struct {
		name       string
		maxFail    int
		prev, next Status
		want       bool
	}{
		{"first success", 3, Status{}, ok, true},
		{"first failure, no success yet", 3, Status{}, neverOK, true},
		{"success again", 3, ok, Status{FirstSuccess: t0, LastSuccess: t0.Add(5 * time.Second)}, false},
		{"alive flips to failing", 3, ok, failing(1), true},
		{"second failure counts toward the kill", 3, failing(1), failing(2), true},
		{"the killing failure", 3, failing(3), failing(4), true},
		{"failures after the kill threshold", 3, failing(4), failing(5), false},
		{"never kill: failures in a row", 0, failing(1), failing(2), false},
		{"recovers", 3, failing(2), Status{FirstSuccess: t0, LastSuccess: t0.Add(9 * time.Second), LastFailure: t0.Add(2 * time.Second)}, true},
	} {
		if got := NeedsStore(hc(c.maxFail, 0), c.prev, c.next); got != c.want {
			t.Errorf("%s: NeedsStore = %v, want %v", c.name, got, c.want)
		}
	}
}

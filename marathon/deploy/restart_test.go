package deploy

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/strata-sched/strata/marathon/app"
)

func TestRestartStrategy(t *testing.T) {
	tests := []struct {
		n          int
		minH, maxO float64
		resident   bool
		old        int
		want       Strategy
	}{
		// deployments.md worked examples.
		{3, 0.7, 1, false, 3, Strategy{MinHealthy: 3, MaxCapacity: 6, KillImmediately: 0, OldAtStart: 3}},
		{10, 0.5, 0, false, 10, Strategy{MinHealthy: 5, MaxCapacity: 10, KillImmediately: 5, OldAtStart: 10}},
		{10, 1, 1, false, 10, Strategy{MinHealthy: 10, MaxCapacity: 20, KillImmediately: 0, OldAtStart: 10}},
		// minHealthy == maxCapacity <= old: one extra instance allowed.
		{3, 1, 0, false, 3, Strategy{MinHealthy: 3, MaxCapacity: 4, KillImmediately: 0, OldAtStart: 3}},
		// ... or, resident, one killed below minHealthy.
		{3, 1, 0, true, 3, Strategy{MinHealthy: 3, MaxCapacity: 3, KillImmediately: 1, OldAtStart: 3}},
		// Scaling down while restarting: leftovers are killed at once.
		{2, 1, 1, false, 5, Strategy{MinHealthy: 2, MaxCapacity: 4, KillImmediately: 3, OldAtStart: 5}},
		// 0/0: everything old can go at once.
		{4, 0, 0, false, 4, Strategy{MinHealthy: 0, MaxCapacity: 4, KillImmediately: 4, OldAtStart: 4}},
		{10, 0.7, 0, false, 10, Strategy{MinHealthy: 7, MaxCapacity: 10, KillImmediately: 3, OldAtStart: 10}},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("n%d_%v_%v_res%v_old%d", tc.n, tc.minH, tc.maxO, tc.resident, tc.old)
		t.Run(name, func(t *testing.T) {
			got := RestartStrategy(tc.n, app.UpgradeStrategy{MinimumHealthCapacity: tc.minH, MaximumOverCapacity: tc.maxO}, tc.resident, tc.old)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func cands(prefix string, n int, healthy bool) []Candidate {
	out := make([]Candidate, n)
	for i := range out {
		out[i] = Candidate{TaskID: fmt.Sprintf("%s%d", prefix, i), StagedAt: time.Unix(int64(i), 0), Running: true, Healthy: healthy}
	}
	return out
}

func TestDecideRestart(t *testing.T) {
	s1010 := RestartStrategy(10, app.UpgradeStrategy{MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0}, false, 10)
	s33 := RestartStrategy(3, app.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}, false, 3)
	s310 := RestartStrategy(3, app.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 0}, false, 3)
	mixed := append(cands("h", 2, true), Candidate{TaskID: "sick", StagedAt: time.Unix(9, 0), Running: true})
	tests := []struct {
		name string
		v    RestartView
		want RestartDecision
	}{
		{"0.5/0 start: kill 5, no room to launch", RestartView{N: 10, Strategy: s1010, OldRunning: cands("o", 10, true), OldAlive: 10},
			RestartDecision{Kill: []string{"o0", "o1", "o2", "o3", "o4"}}},
		{"0.5/0 after 5 terminated: launch 5", RestartView{N: 10, Strategy: s1010, OldRunning: cands("o", 5, true), OldAlive: 5},
			RestartDecision{Launch: 5}},
		{"0.5/0 one new ready: kill one more", RestartView{N: 10, Strategy: s1010, OldRunning: cands("o", 5, true), OldAlive: 5, NewStarted: 5, NewReady: 1},
			RestartDecision{Kill: []string{"o0"}}},
		{"1/1 start: launch all", RestartView{N: 3, Strategy: s33, OldRunning: cands("o", 3, true), OldAlive: 3},
			RestartDecision{Launch: 3}},
		{"1/1 two ready: kill two", RestartView{N: 3, Strategy: s33, OldRunning: cands("o", 3, true), OldAlive: 3, NewStarted: 3, NewReady: 2},
			RestartDecision{Kill: []string{"o0", "o1"}}},
		{"1/0 start: one extra", RestartView{N: 3, Strategy: s310, OldRunning: cands("o", 3, true), OldAlive: 3},
			RestartDecision{Launch: 1}},
		{"1/0 killed one still alive: no launch", RestartView{N: 3, Strategy: s310, OldRunning: cands("o", 2, true), OldAlive: 3, NewStarted: 1, NewReady: 1},
			RestartDecision{}},
		{"unhealthy first", RestartView{N: 3, Strategy: s33, OldRunning: mixed, OldAlive: 3, NewStarted: 3, NewReady: 1},
			RestartDecision{Kill: []string{"sick"}}},
		{"done", RestartView{N: 3, Strategy: s33, NewStarted: 3, NewReady: 3}, RestartDecision{Done: true}},
		{"not done while old alive", RestartView{N: 3, Strategy: s33, OldAlive: 1, NewStarted: 3, NewReady: 3}, RestartDecision{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DecideRestart(tc.v)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRestartProperties simulates rolling restarts with random strategies,
// sizes and event orders and checks the invariants of §2.8: healthy
// instances never drop below minHealthy (unless the strategy kills below
// it on purpose), capacity never exceeds maxCapacity, and the restart
// always finishes with N new instances and no old one.
func TestRestartProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 2000; iter++ {
		n := 1 + rng.IntN(12)
		old := rng.IntN(15)
		us := app.UpgradeStrategy{MinimumHealthCapacity: float64(rng.IntN(11)) / 10, MaximumOverCapacity: float64(rng.IntN(11)) / 10}
		s := RestartStrategy(n, us, false, old)
		type inst struct {
			id                string
			new, ready, dying bool
		}
		var insts []*inst
		for i := 0; i < old; i++ {
			insts = append(insts, &inst{id: fmt.Sprint("o", i), ready: true})
		}
		next := 0
		floor := min(s.MinHealthy, old-s.KillImmediately) // healthy instances the plan promises to keep
		for round := 0; ; round++ {
			if round > 10000 {
				t.Fatalf("iter %d (n=%d old=%d %+v): no progress", iter, n, old, us)
			}
			v := RestartView{N: n, Strategy: s}
			for _, in := range insts {
				switch {
				case !in.new:
					v.OldAlive++
					if !in.dying {
						v.OldRunning = append(v.OldRunning, Candidate{TaskID: in.id, Running: true, Healthy: true})
					}
				default:
					v.NewStarted++
					if in.ready {
						v.NewReady++
					}
				}
			}
			d := DecideRestart(v)
			if d.Done {
				if v.NewReady != n || v.OldAlive != 0 {
					t.Fatalf("done with %+v", v)
				}
				break
			}
			for _, id := range d.Kill {
				for _, in := range insts {
					if in.id == id {
						in.dying = true
					}
				}
			}
			for i := 0; i < d.Launch; i++ {
				insts = append(insts, &inst{id: fmt.Sprint("n", next), new: true})
				next++
			}
			if len(insts) > max(s.MaxCapacity, old) {
				t.Fatalf("iter %d: %d instances exceed max capacity %d", iter, len(insts), s.MaxCapacity)
			}
			healthy := 0
			for _, in := range insts {
				if in.ready && !in.dying {
					healthy++
				}
			}
			if healthy < min(floor, n) && healthy < v.NewReady+len(v.OldRunning)-len(d.Kill) {
				t.Fatalf("iter %d: healthy %d below %d", iter, healthy, floor)
			}
			// One random event: a dying old instance terminates, or a new one gets ready.
			var choices []func()
			for i, in := range insts {
				switch {
				case in.dying:
					choices = append(choices, func() { insts = append(insts[:i:i], insts[i+1:]...) })
				case in.new && !in.ready:
					choices = append(choices, func() { in.ready = true })
				}
			}
			if len(choices) == 0 {
				continue
			}
			choices[rng.IntN(len(choices))]()
		}
	}
}

func TestScaleDown(t *testing.T) {
	active := []Candidate{
		{TaskID: "a", StagedAt: time.Unix(1, 0), Running: true, Healthy: true},
		{TaskID: "b", StagedAt: time.Unix(2, 0), Running: true, Healthy: true},
		{TaskID: "c", StagedAt: time.Unix(3, 0), Running: true, Healthy: true},
		{TaskID: "d", StagedAt: time.Unix(4, 0), Running: false},
		{TaskID: "e", StagedAt: time.Unix(5, 0), Running: true, Healthy: false},
	}
	tests := []struct {
		name   string
		n      int
		toKill []string
		sel    string
		want   []string
	}{
		{"nothing", 5, nil, "", nil},
		{"staging then unhealthy first", 3, nil, app.KillYoungestFirst, []string{"d", "e"}},
		{"youngest", 1, nil, app.KillYoungestFirst, []string{"d", "e", "c", "b"}},
		{"oldest", 1, nil, app.KillOldestFirst, []string{"d", "e", "a", "b"}},
		{"explicit first", 4, []string{"a"}, app.KillYoungestFirst, []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ScaleDown(active, tc.n, tc.toKill, tc.sel); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

package allocator

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func mustRes(tb testing.TB, s string) mesos.Resources {
	tb.Helper()
	rs, err := mesos.ParseResources(s, "")
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

func mkAgent(tb testing.TB, id, res string) Agent {
	rs := mustRes(tb, res)
	return Agent{ID: id, Hostname: id, Total: rs, Available: rs.Clone(), Active: true, GPU: rs.Scalar("gpus") > 0}
}

func mkFw(id string, roles ...string) Framework {
	return Framework{ID: id, Roles: roles, Active: true}
}

// held returns an Allocated map with res held in role.
func held(tb testing.TB, role, res string) map[string]mesos.Resources {
	return map[string]mesos.Resources{role: mustRes(tb, res).Allocate(role)}
}

// offered sums, per framework, scalar name over its offers.
func offered(res Result, name string) map[string]float64 {
	out := map[string]float64{}
	for _, o := range res.Offers {
		out[o.FrameworkID] = math.Round((out[o.FrameworkID]+o.Resources.Scalar(name))*1000) / 1000
	}
	return out
}

// served lists "framework@agent(role)" in offer order.
func served(res Result) []string {
	var out []string
	for _, o := range res.Offers {
		out = append(out, fmt.Sprintf("%s@%s(%s)", o.FrameworkID, o.AgentID, o.Role))
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDRFPaperExample replays the example of Ghodsi et al., "Dominant
// Resource Fairness" (NSDI'11), §4: 9 CPUs and 18 GB; A runs tasks of
// <1 CPU, 4 GB>, B tasks of <3 CPUs, 1 GB>. Each cycle the offered framework
// launches one task (declining nothing) or, when its task does not fit,
// declines with a refusal filter; the run ends when no offer is made.
// Progressive filling gives A three tasks and B two, both at a dominant share
// of 2/3.
func TestDRFPaperExample(t *testing.T) {
	for _, tc := range []struct {
		name   string
		roleOf map[string]string
	}{
		{"frameworks in one role", map[string]string{"A": "*", "B": "*"}},
		{"frameworks in two roles", map[string]string{"A": "ra", "B": "rb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tasks := map[string]mesos.Resources{"A": mustRes(t, "cpus:1;mem:4096"), "B": mustRes(t, "cpus:3;mem:1024")}
			s := &Snapshot{
				Now:        t0,
				Agents:     []Agent{mkAgent(t, "pool", "cpus:9;mem:18432")},
				Frameworks: []Framework{mkFw("A", tc.roleOf["A"]), mkFw("B", tc.roleOf["B"])},
			}
			launched := map[string]int{}
			var order []string
			for range 20 {
				res := Allocate(s, nil)
				if len(res.Offers) == 0 {
					break
				}
				if len(res.Offers) != 1 {
					t.Fatalf("one agent, %d offers", len(res.Offers))
				}
				o := res.Offers[0]
				fw := &s.Frameworks[map[string]int{"A": 0, "B": 1}[o.FrameworkID]]
				task := tasks[fw.ID]
				if !o.Resources.Unallocated().Contains(task) {
					s.Filters = append(s.Filters, Filter{FrameworkID: fw.ID, Role: o.Role, AgentID: o.AgentID,
						Resources: o.Resources.Unallocated(), Expires: t0.Add(5 * time.Second)})
					continue
				}
				launched[fw.ID]++
				order = append(order, fw.ID)
				fw.Allocated = map[string]mesos.Resources{o.Role: fw.Allocated[o.Role].Plus(task.Allocate(o.Role))}
				s.Agents[0].Available = s.Agents[0].Available.Minus(task)
			}
			if launched["A"] != 3 || launched["B"] != 2 {
				t.Fatalf("launched %v (order %v), want A:3 B:2", launched, order)
			}
			if want := []string{"A", "B", "A", "B", "A"}; !equalStrings(order, want) {
				t.Errorf("launch order %v, want %v", order, want)
			}
			if tc.roleOf["A"] != tc.roleOf["B"] {
				res := Allocate(s, nil)
				for _, r := range []string{"ra", "rb"} {
					if got := res.Shares[r]; math.Abs(got-2.0/3) > 1e-9 {
						t.Errorf("share of %s = %v, want 2/3", r, got)
					}
				}
			}
		})
	}
}

// TestWeights: a role with weight 2 ends up with twice the agents of a role
// with weight 1, and their weighted shares are equal.
func TestWeights(t *testing.T) {
	s := &Snapshot{Now: t0, Weights: map[string]float64{"heavy": 2}}
	for i := range 300 {
		s.Agents = append(s.Agents, mkAgent(t, fmt.Sprintf("a%03d", i), "cpus:1;mem:1024"))
	}
	s.Frameworks = []Framework{mkFw("h", "heavy"), mkFw("l", "light")}
	res := Allocate(s, nil)
	n := map[string]int{}
	for _, o := range res.Offers {
		n[o.Role]++
	}
	if n["heavy"]+n["light"] != 300 || math.Abs(float64(n["heavy"]-2*n["light"])) > 2 {
		t.Fatalf("offers per role %v, want heavy ≈ 2 × light", n)
	}
	if d := math.Abs(res.Shares["heavy"] - res.Shares["light"]); d > 2.0/300 {
		t.Errorf("weighted shares %v differ by %v", res.Shares, d)
	}
}

// TestAllocate covers the rules one scenario at a time.
func TestAllocate(t *testing.T) {
	later := t0.Add(5 * time.Second)
	for _, tc := range []struct {
		name  string
		snap  func(t *testing.T) *Snapshot
		check func(t *testing.T, s *Snapshot, res Result)
	}{
		{
			name: "agent goes whole to the lowest share, next framework gets nothing left",
			snap: func(t *testing.T) *Snapshot {
				a, b := mkFw("a", "*"), mkFw("b", "*")
				a.Allocated = held(t, "*", "cpus:1;mem:128")
				return &Snapshot{Now: t0, Agents: []Agent{mkAgent(t, "x", "cpus:4;mem:4096;ports:[31000-32000]")}, Frameworks: []Framework{a, b}}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"b@x(*)"}) {
					t.Fatalf("served %v", got)
				}
				o := res.Offers[0].Resources
				if !o.Unallocated().Contains(s.Agents[0].Available) || !s.Agents[0].Available.Contains(o.Unallocated()) {
					t.Errorf("offer %v, want all of %v", o, s.Agents[0].Available)
				}
				for _, r := range o {
					if r.AllocationRole() != "*" {
						t.Errorf("resource %v lacks allocation_info.role", r.String())
					}
				}
				if got := res.Skipped["a"][ReasonNothingLeft]; got != 1 {
					t.Errorf("a skipped %v", res.Skipped["a"])
				}
			},
		},
		{
			name: "suppressed role gets nothing",
			snap: func(t *testing.T) *Snapshot {
				a, b := mkFw("a", "x"), mkFw("b", "y")
				a.Suppressed = map[string]bool{"x": true}
				return &Snapshot{Now: t0, Agents: []Agent{mkAgent(t, "1", "cpus:1;mem:128"), mkAgent(t, "2", "cpus:1;mem:128")}, Frameworks: []Framework{a, b}}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"b@1(y)", "b@2(y)"}) {
					t.Errorf("served %v", got)
				}
				if got := res.Skipped["a"][ReasonSuppressed]; got != 2 {
					t.Errorf("a skipped %v", res.Skipped["a"])
				}
			},
		},
		{
			name: "refusal filter blocks the resources it covers",
			snap: func(t *testing.T) *Snapshot {
				s := &Snapshot{Now: t0, Agents: []Agent{mkAgent(t, "x", "cpus:4;mem:4096")}, Frameworks: []Framework{mkFw("a", "*"), mkFw("b", "*")}}
				s.Filters = []Filter{{FrameworkID: "a", Role: "*", AgentID: "x", Resources: mustRes(t, "cpus:4;mem:4096"), Expires: later}}
				return s
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"b@x(*)"}) {
					t.Errorf("served %v", got)
				}
				if got := res.Skipped["a"][ReasonFiltered]; got != 1 {
					t.Errorf("a skipped %v", res.Skipped["a"])
				}
			},
		},
		{
			name: "refusal filter expires",
			snap: func(t *testing.T) *Snapshot {
				s := &Snapshot{Now: later, Agents: []Agent{mkAgent(t, "x", "cpus:4;mem:4096")}, Frameworks: []Framework{mkFw("a", "*")}}
				s.Filters = []Filter{{FrameworkID: "a", Role: "*", AgentID: "x", Resources: mustRes(t, "cpus:4;mem:4096"), Expires: later}}
				return s
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"a@x(*)"}) {
					t.Errorf("served %v", got)
				}
			},
		},
		{
			name: "refusal filter does not cover grown resources",
			snap: func(t *testing.T) *Snapshot {
				s := &Snapshot{Now: t0, Agents: []Agent{mkAgent(t, "x", "cpus:4;mem:4096")}, Frameworks: []Framework{mkFw("a", "*")}}
				s.Filters = []Filter{{FrameworkID: "a", Role: "*", AgentID: "x", Resources: mustRes(t, "cpus:2;mem:4096").Allocate("*"), Expires: later}}
				return s
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"a@x(*)"}) {
					t.Errorf("served %v", got)
				}
			},
		},
		{
			name: "refusal filter is per role and agent",
			snap: func(t *testing.T) *Snapshot {
				s := &Snapshot{Now: t0, Agents: []Agent{mkAgent(t, "x", "cpus:4;mem:4096"), mkAgent(t, "y", "cpus:4;mem:4096")}, Frameworks: []Framework{mkFw("a", "r1", "r2")}}
				s.Filters = []Filter{{FrameworkID: "a", Role: "r1", AgentID: "x", Resources: mustRes(t, "cpus:4;mem:4096"), Expires: later}}
				return s
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"a@x(r2)", "a@y(r1)"}) {
					t.Errorf("served %v", got)
				}
			},
		},
		{
			name: "below default min allocatable",
			snap: func(t *testing.T) *Snapshot {
				return &Snapshot{Now: t0, Agents: []Agent{mkAgent(t, "tiny", "cpus:0.005;mem:16;disk:1024"), mkAgent(t, "memonly", "mem:64")}, Frameworks: []Framework{mkFw("a", "*")}}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"a@memonly(*)"}) {
					t.Errorf("served %v", got)
				}
				if got := res.Skipped["a"][ReasonBelowMinimum]; got != 1 {
					t.Errorf("a skipped %v", res.Skipped["a"])
				}
			},
		},
		{
			name: "snapshot and framework min allocatable",
			snap: func(t *testing.T) *Snapshot {
				a, b := mkFw("a", "*"), mkFw("b", "*")
				a.MinAllocatable = map[string][]map[string]float64{"*": {{"cpus": 2}}}
				return &Snapshot{
					Now:            t0,
					Agents:         []Agent{mkAgent(t, "1", "cpus:1;mem:1024"), mkAgent(t, "2", "cpus:1;mem:256"), mkAgent(t, "3", "cpus:2;mem:2048")},
					Frameworks:     []Framework{a, b},
					MinAllocatable: []map[string]float64{{"cpus": 1, "mem": 512}},
				}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				// 1: a needs 2 cpus, b takes it. 2: too little memory for b.
				// 3: a is now the lowest share and has its 2 cpus.
				if got := served(res); !equalStrings(got, []string{"b@1(*)", "a@3(*)"}) {
					t.Errorf("served %v", got)
				}
				if a, b := res.Skipped["a"][ReasonBelowMinimum], res.Skipped["b"][ReasonBelowMinimum]; a != 2 || b != 1 {
					t.Errorf("skipped %v", res.Skipped)
				}
			},
		},
		{
			name: "reservations go to their role and its descendants only",
			snap: func(t *testing.T) *Snapshot {
				return &Snapshot{
					Now: t0,
					Agents: []Agent{
						mkAgent(t, "x", "cpus:2;mem:1024;cpus(eng):4;mem(eng):2048"),
						mkAgent(t, "y", "cpus(eng/backend):1;mem(eng/backend):512"),
					},
					Frameworks: []Framework{mkFw("ads", "ads"), mkFw("engx", "engineering"), mkFw("be", "eng/backend")},
				}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"ads@x(ads)", "be@x(eng/backend)", "be@y(eng/backend)"}) {
					t.Fatalf("served %v", got)
				}
				if got := res.Offers[0].Resources; got.Scalar("cpus") != 2 || got[0].IsReserved() {
					t.Errorf("ads got %v, want the unreserved part", got)
				}
				if got := res.Offers[1].Resources; got.Scalar("cpus") != 4 || got[0].ReservationRole() != "eng" || got[0].AllocationRole() != "eng/backend" {
					t.Errorf("eng/backend got %v, want eng's reservation", got)
				}
			},
		},
		{
			name: "a parent role does not get its child's reservation",
			snap: func(t *testing.T) *Snapshot {
				return &Snapshot{Now: t0, Agents: []Agent{mkAgent(t, "y", "cpus(eng/backend):1;mem(eng/backend):512")}, Frameworks: []Framework{mkFw("eng", "eng")}}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if len(res.Offers) != 0 {
					t.Errorf("served %v", served(res))
				}
				if got := res.Skipped["eng"][ReasonNothingLeft]; got != 1 {
					t.Errorf("skipped %v", res.Skipped)
				}
			},
		},
		{
			name: "quota limit caps unreserved scalars",
			snap: func(t *testing.T) *Snapshot {
				return &Snapshot{
					Now:        t0,
					Agents:     []Agent{mkAgent(t, "1", "cpus:2;mem:1024"), mkAgent(t, "2", "cpus:2;mem:1024"), mkAgent(t, "3", "cpus:2;mem:1024")},
					Frameworks: []Framework{mkFw("a", "lim")},
					Quotas:     map[string]Quota{"lim": {Limits: map[string]float64{"cpus": 3}}},
				}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := offered(res, "cpus")["a"]; got != 3 {
					t.Errorf("offered %v cpus, want the limit 3", got)
				}
				// Memory has no limit: the third agent is offered without cpus.
				if got := offered(res, "mem")["a"]; got != 3072 {
					t.Errorf("offered %v mem", got)
				}
			},
		},
		{
			name: "quota limit reached",
			snap: func(t *testing.T) *Snapshot {
				a, b := mkFw("a", "lim"), mkFw("b", "other")
				a.Allocated = held(t, "lim", "cpus:3;mem:1024")
				b.Allocated = held(t, "other", "cpus:2;mem:1024")
				return &Snapshot{
					Now:        t0,
					Agents:     []Agent{mkAgent(t, "1", "cpus:2;mem:1024;ports:[31000-31010]")},
					Frameworks: []Framework{a, b},
					Quotas:     map[string]Quota{"lim": {Limits: map[string]float64{"cpus": 3, "mem": 1024}}},
					Weights:    map[string]float64{"lim": 100},
				}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"b@1(other)"}) {
					t.Errorf("served %v", got)
				}
				if got := res.Skipped["a"][ReasonQuotaLimit]; got != 1 {
					t.Errorf("skipped %v", res.Skipped)
				}
			},
		},
		{
			name: "quota guarantee is served before fair share",
			snap: func(t *testing.T) *Snapshot {
				q := mkFw("q", "q")
				q.Allocated = held(t, "q", "mem:10240")
				used := mkAgent(t, "used", "cpus:2;mem:4096")
				used.Available = nil
				agents := []Agent{used}
				for i := range 4 {
					agents = append(agents, mkAgent(t, fmt.Sprint(i), "cpus:2;mem:4096"))
				}
				return &Snapshot{
					Now: t0, Agents: agents, Frameworks: []Framework{q, mkFw("r", "r")},
					Quotas: map[string]Quota{"q": {Guarantees: map[string]float64{"cpus": 4}}},
				}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				// Without the guarantee r would get agents 0, 1 and 2.
				if got := served(res); !equalStrings(got, []string{"q@0(q)", "q@1(q)", "r@2(r)", "r@3(r)"}) {
					t.Errorf("served %v", got)
				}
			},
		},
		{
			name: "stage 1 bursts above the guarantee up to the limit",
			snap: func(t *testing.T) *Snapshot {
				return &Snapshot{
					Now: t0, Agents: []Agent{mkAgent(t, "x", "cpus:4;mem:1024")}, Frameworks: []Framework{mkFw("q", "q"), mkFw("r", "r")},
					Quotas: map[string]Quota{"q": {Guarantees: map[string]float64{"cpus": 1}, Limits: map[string]float64{"cpus": 3}}},
				}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"q@x(q)", "r@x(r)"}) {
					t.Fatalf("served %v", got)
				}
				if q, r := res.Offers[0].Resources, res.Offers[1].Resources; q.Scalar("cpus") != 3 || q.Scalar("mem") != 1024 || r.Scalar("cpus") != 1 {
					t.Errorf("q got %v, r got %v", q, r)
				}
			},
		},
		{
			name: "stage 1 holds back headroom for other guarantees",
			snap: func(t *testing.T) *Snapshot {
				return &Snapshot{
					Now:        t0,
					Agents:     []Agent{mkAgent(t, "x", "cpus:4;mem:1024"), mkAgent(t, "y", "cpus:4;mem:1024")},
					Frameworks: []Framework{mkFw("a", "a"), mkFw("b", "b")},
					Quotas: map[string]Quota{
						"a": {Guarantees: map[string]float64{"cpus": 1}},
						"b": {Guarantees: map[string]float64{"cpus": 6}},
					},
				}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				// a: its 1 cpu plus the 1 nobody's guarantee needs; b: the
				// rest of x and all of y.
				want := []string{"a@x(a)", "b@x(b)", "b@y(b)"}
				if got := served(res); !equalStrings(got, want) {
					t.Fatalf("served %v, want %v", got, want)
				}
				if got := offered(res, "cpus"); got["a"] != 2 || got["b"] != 6 {
					t.Errorf("cpus offered %v", got)
				}
			},
		},
		{
			name: "headroom for another role's guarantee is held back",
			snap: func(t *testing.T) *Snapshot {
				return &Snapshot{
					Now:        t0,
					Agents:     []Agent{mkAgent(t, "1", "cpus:2;mem:1024"), mkAgent(t, "2", "cpus:2;mem:1024"), mkAgent(t, "3", "cpus:2;mem:1024")},
					Frameworks: []Framework{mkFw("r", "r")},
					Quotas:     map[string]Quota{"q": {Guarantees: map[string]float64{"cpus": 4, "mem": 2048}}},
				}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := offered(res, "cpus")["r"]; got != 2 {
					t.Errorf("r offered %v cpus, want 6 - 4 held for q", got)
				}
				if got := res.Skipped["r"][ReasonQuotaHeadroom]; got != 2 {
					t.Errorf("skipped %v", res.Skipped)
				}
			},
		},
		{
			name: "GPU agents only to GPU-aware frameworks",
			snap: func(t *testing.T) *Snapshot {
				g := mkFw("b-gpu", "*")
				g.GPUAware = true
				return &Snapshot{
					Now:        t0,
					Agents:     []Agent{mkAgent(t, "gpu", "cpus:4;mem:4096;gpus:1"), mkAgent(t, "plain", "cpus:4;mem:4096")},
					Frameworks: []Framework{mkFw("a-plain", "*"), g},
				}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"b-gpu@gpu(*)", "a-plain@plain(*)"}) {
					t.Errorf("served %v", got)
				}
				if got := res.Skipped["a-plain"][ReasonGPUAgent]; got != 1 {
					t.Errorf("skipped %v", res.Skipped)
				}
			},
		},
		{
			name: "inactive agents and frameworks are skipped",
			snap: func(t *testing.T) *Snapshot {
				off := mkAgent(t, "off", "cpus:4;mem:4096")
				off.Active = false
				idle := mkFw("a-idle", "*", "x")
				idle.Active = false
				return &Snapshot{Now: t0, Agents: []Agent{off, mkAgent(t, "on", "cpus:4;mem:4096")}, Frameworks: []Framework{idle, mkFw("b", "*")}}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"b@on(*)"}) {
					t.Errorf("served %v", got)
				}
				if got := res.Skipped["a-idle"][ReasonFrameworkInactive]; got != 4 {
					t.Errorf("skipped %v, want 2 agents × 2 roles", res.Skipped)
				}
				if got := res.Skipped["b"][ReasonAgentInactive]; got != 1 {
					t.Errorf("skipped %v", res.Skipped)
				}
			},
		},
		{
			name: "multi-role framework gets one offer per role",
			snap: func(t *testing.T) *Snapshot {
				return &Snapshot{
					Now:        t0,
					Agents:     []Agent{mkAgent(t, "x", "cpus:2;mem:1024;cpus(r2):2;mem(r2):1024"), mkAgent(t, "y", "cpus:2;mem:1024"), mkAgent(t, "z", "cpus:2;mem:1024")},
					Frameworks: []Framework{mkFw("m", "r1", "r2")},
				}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"m@x(r1)", "m@x(r2)", "m@y(r1)", "m@z(r2)"}) {
					t.Errorf("served %v", got)
				}
				for _, o := range res.Offers {
					for _, r := range o.Resources {
						if r.AllocationRole() != o.Role {
							t.Errorf("offer for %s carries %s", o.Role, r.String())
						}
					}
				}
			},
		},
		{
			name: "roles are ordered by the share of their subtree",
			snap: func(t *testing.T) *Snapshot {
				ea, eb, ads := mkFw("ea", "eng/a"), mkFw("eb", "eng/b"), mkFw("ads", "ads")
				ea.Allocated = held(t, "eng/a", "cpus:4")
				ads.Allocated = held(t, "ads", "cpus:3")
				var agents []Agent
				for i := range 4 {
					agents = append(agents, mkAgent(t, fmt.Sprint(i), "cpus:4;mem:4096"))
				}
				return &Snapshot{Now: t0, Agents: agents, Frameworks: []Framework{ea, eb, ads}}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				// ads (3/16) goes before eng (4/16) although eng/b holds
				// nothing (a flat sort would start with eb), then eng (4/16)
				// before ads (7/16), and so on.
				want := []string{"ads@0(ads)", "eb@1(eng/b)", "ads@2(ads)", "ea@3(eng/a)"}
				if got := served(res); !equalStrings(got, want) {
					t.Errorf("served %v, want %v", got, want)
				}
				if got, want := res.Shares["eng"], 12.0/16; math.Abs(got-want) > 1e-9 {
					t.Errorf("share of eng %v, want %v", got, want)
				}
			},
		},
		{
			name: "frameworks of a role with child roles compete with them as one",
			snap: func(t *testing.T) *Snapshot {
				p, c := mkFw("p", "eng"), mkFw("c", "eng/backend")
				p.Allocated = held(t, "eng", "cpus:1")
				return &Snapshot{Now: t0, Agents: []Agent{mkAgent(t, "0", "cpus:4;mem:1024"), mkAgent(t, "1", "cpus:4;mem:1024")}, Frameworks: []Framework{p, c}}
			},
			check: func(t *testing.T, s *Snapshot, res Result) {
				if got := served(res); !equalStrings(got, []string{"c@0(eng/backend)", "p@1(eng)"}) {
					t.Errorf("served %v", got)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.snap(t)
			res := Allocate(s, nil)
			tc.check(t, s, res)
			checkInvariants(t, s, res)
		})
	}
}

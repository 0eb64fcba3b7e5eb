package allocator

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
)

// benchSnapshot is the setup of Mesos' own allocator benchmarks: identical
// agents cpus:2;mem:1024;disk:4096;ports:[31000-32000], frameworks in role
// "*", all active, no filters. With held, every framework already holds some
// allocation (1 to 4 × cpus:0.5;mem:256), so shares start unequal.
func benchSnapshot(tb testing.TB, agents, frameworks int, held bool) *Snapshot {
	tb.Helper()
	agentRes, err := mesos.ParseResources("cpus:2;mem:1024;disk:4096;ports:[31000-32000]", "")
	if err != nil {
		tb.Fatal(err)
	}
	task, err := mesos.ParseResources("cpus:0.5;mem:256", "")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Snapshot{}
	for i := range agents {
		s.Agents = append(s.Agents, Agent{
			ID:        fmt.Sprintf("agent-%05d", i),
			Hostname:  fmt.Sprintf("host-%05d", i),
			Total:     agentRes.Clone(),
			Available: agentRes.Clone(),
			Active:    true,
		})
	}
	for i := range frameworks {
		f := Framework{ID: fmt.Sprintf("framework-%04d", i), Roles: []string{"*"}, Active: true}
		if held {
			var rs mesos.Resources
			for range i%4 + 1 {
				rs = rs.Plus(task.Allocate("*"))
			}
			f.Allocated = map[string]mesos.Resources{"*": rs}
		}
		s.Frameworks = append(s.Frameworks, f)
	}
	return s
}

func BenchmarkAllocate(b *testing.B) {
	for _, size := range []struct{ agents, frameworks int }{{1000, 100}, {10000, 1000}} {
		for _, held := range []bool{false, true} {
			name := fmt.Sprintf("agents=%d,frameworks=%d", size.agents, size.frameworks)
			if held {
				name += ",allocated"
			}
			b.Run(name, func(b *testing.B) {
				s := benchSnapshot(b, size.agents, size.frameworks, held)
				rng := rand.New(rand.NewPCG(1, 2))
				b.ReportAllocs()
				for b.Loop() {
					res := Allocate(s, rng)
					if len(res.Offers) != size.agents {
						b.Fatalf("%d offers, want one per agent (%d)", len(res.Offers), size.agents)
					}
				}
			})
		}
	}
}

package master

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// benchMaster is a master holding agents × tasksPerAgent running tasks of
// one framework, built directly (no HTTP), for the state endpoints'
// benchmarks.
func benchMaster(b *testing.B, agents, tasksPerAgent int) *Master {
	b.Helper()
	st, err := store.OpenEmbedded(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	m, err := New(Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	f := &framework{id: "fw-1", info: mesos.FrameworkInfo{Name: "bench", User: "root", Roles: []string{"*"}},
		connected: true, active: true, registered: now,
		tasks: map[string]*task{}, unreachable: map[string]*task{}, offers: map[string]*offer{}, suppressed: map[string]bool{}}
	m.frameworks[f.id] = f
	res, _ := mesos.ParseResources("cpus:0.01;mem:1", "")
	total, _ := mesos.ParseResources("cpus:8;mem:16384;disk:100000;ports:[31000-32000]", "")
	for i := range agents {
		id := fmt.Sprintf("agent-%05d", i)
		a := &agent{id: id, info: mesos.AgentInfo{Hostname: "host-" + id, Port: 5051, Resources: total, ID: &mesos.AgentID{Value: id}},
			total: total, available: total, tasks: map[taskKey]*task{}, executors: map[string]map[string]mesos.ExecutorInfo{},
			connected: true, active: true, registered: now, version: "bench"}
		m.agents[id] = a
		for j := range tasksPerAgent {
			tid := fmt.Sprintf("%s-task-%d", id, j)
			t := &task{role: "*", launched: now}
			t.Task = mesos.Task{Name: tid, TaskID: mesos.TaskID{Value: tid}, FrameworkID: mesos.FrameworkID{Value: f.id},
				AgentID: mesos.AgentID{Value: id}, State: mesos.TaskRunning, Resources: res,
				Statuses: []mesos.TaskStatus{{TaskID: mesos.TaskID{Value: tid}, State: mesos.TaskRunning, Timestamp: timestamp(now)}}}
			f.tasks[tid] = t
			a.tasks[taskKey{f.id, tid}] = t
		}
	}
	return m
}

// BenchmarkMasterState is GET /master/state at 10,000 agents and 100,000
// tasks (issue 4's scale point), end to end through the handler.
func BenchmarkMasterState(b *testing.B) {
	for _, size := range []struct{ agents, tasks int }{{1000, 10}, {10000, 10}} {
		b.Run(fmt.Sprintf("agents=%d,tasks=%d", size.agents, size.agents*size.tasks), func(b *testing.B) {
			m := benchMaster(b, size.agents, size.tasks)
			h := m.Handler()
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/master/state", nil))
				if rec.Code != 200 {
					b.Fatalf("GET /master/state: %d", rec.Code)
				}
				n = int64(rec.Body.Len())
			}
			b.SetBytes(n)
			b.ReportMetric(float64(n)/(1<<20), "MiB/response")
		})
	}
}

// BenchmarkMasterStateParts separates building the view under the lock
// (what blocks the master) from encoding it.
func BenchmarkMasterStateParts(b *testing.B) {
	m := benchMaster(b, 10000, 10)
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			m.mu.Lock()
			_ = m.stateV0()
			m.mu.Unlock()
		}
	})
	st := m.stateV0()
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if err := json.NewEncoder(io.Discard).Encode(st); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package agent

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// BenchmarkLaunch200 launches 200 `sleep 600` command tasks through the fake
// master and the posix containerizer and reports the time until all are
// RUNNING and the agent's memory per running task (heap and goroutine
// stacks, after GC, acknowledgements applied).
func BenchmarkLaunch200(b *testing.B) {
	const n = 200
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fm := newFakeMaster(b)
		fm.latest = map[string]mesos.TaskState{}
		ta := startAgent(b, fm, b.TempDir(), nil)
		ta.waitRegistered()
		fw := testFramework(fmt.Sprintf("bench-%d", i))
		tasks := make([]mesos.AgentEvent, n)
		for j := range tasks {
			tasks[j] = runTaskEvent(fw, shellTask(fmt.Sprintf("sleep-%d", j), "sleep 600"))
		}
		runtime.GC()
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)

		b.StartTimer()
		start := time.Now()
		for _, ev := range tasks {
			fm.send(ev)
		}
		fm.waitFor("all RUNNING", 5*time.Minute, func() bool {
			running := 0
			for _, s := range fm.latest {
				if s == mesos.TaskRunning {
					running++
				}
			}
			return running == n
		})
		elapsed := time.Since(start)
		b.StopTimer()

		waitUntil(b, "acknowledgements applied", func() bool {
			ta.mu.Lock()
			defer ta.mu.Unlock()
			for _, t := range ta.tasks {
				if len(t.stream.pending) > 0 || t.state != mesos.TaskRunning {
					return false
				}
			}
			return len(ta.tasks) == n
		})
		runtime.GC()
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		heap := (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / n
		stack := (float64(m1.StackInuse) - float64(m0.StackInuse)) / n
		b.ReportMetric(elapsed.Seconds(), "s-to-all-running")
		b.ReportMetric(n/elapsed.Seconds(), "tasks/s")
		b.ReportMetric(heap, "heap-B/task")
		b.ReportMetric(stack, "stack-B/task")

		ev := mesos.AgentEvent{Type: mesos.AgentEventShutdownFramework}
		ev.ShutdownFramework = &struct {
			FrameworkID mesos.FrameworkID `json:"framework_id"`
		}{*fw.ID}
		fm.send(ev)
		waitUntil(b, "tasks killed", func() bool {
			var st stateJSON
			ta.getJSON("/state", &st)
			return len(st.Frameworks) == 0
		})
		ta.stop()
	}
}

// BenchmarkLaunch1000NoProcesses launches 1,000 command tasks through the
// fake master with a containerizer that starts no process: the agent's own
// cost per launch (checkpoint files, group syncs, status updates and their
// acknowledgements), without the process creation a real containerizer adds.
func BenchmarkLaunch1000NoProcesses(b *testing.B) {
	const n = 1000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fm := newFakeMaster(b)
		fm.latest = map[string]mesos.TaskState{}
		ta := startAgent(b, fm, b.TempDir(), func(c *Config) { c.Containerizer = newFakeContainerizer() })
		ta.waitRegistered()
		fw := testFramework(fmt.Sprintf("bench-%d", i))
		tasks := make([]mesos.AgentEvent, n)
		for j := range tasks {
			tasks[j] = runTaskEvent(fw, shellTask(fmt.Sprintf("sleep-%d", j), "sleep 600"))
		}
		b.StartTimer()
		start := time.Now()
		for _, ev := range tasks {
			fm.send(ev)
		}
		fm.waitFor("all RUNNING", 5*time.Minute, func() bool {
			running := 0
			for _, s := range fm.latest {
				if s == mesos.TaskRunning {
					running++
				}
			}
			return running == n
		})
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(elapsed.Seconds(), "s-to-all-running")
		b.ReportMetric(n/elapsed.Seconds(), "tasks/s")
		ta.stop()
	}
}

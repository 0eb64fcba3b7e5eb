package agent

import (
	"bufio"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-sched/strata/core/mesos"
)

// metricDef names one metric of /metrics/snapshot and whether it is a
// counter (else a gauge) for Prometheus.
type metricDef struct {
	name    string
	counter bool
}

// metricDefs lists every metric the agent publishes (Mesos' names,
// docs/monitoring.md).
func metricDefs() []metricDef {
	g := func(n string) metricDef { return metricDef{name: n} }
	c := func(n string) metricDef { return metricDef{name: n, counter: true} }
	defs := []metricDef{
		g("slave/registered"), g("slave/uptime_secs"),
		g("slave/frameworks_active"),
		g("slave/executors_registering"), g("slave/executors_running"), g("slave/executors_terminating"),
		c("slave/executors_terminated"),
		g("slave/tasks_staging"), g("slave/tasks_starting"), g("slave/tasks_running"), g("slave/tasks_killing"),
		c("slave/tasks_finished"), c("slave/tasks_failed"), c("slave/tasks_killed"), c("slave/tasks_lost"),
		c("slave/tasks_error"), c("slave/tasks_dropped"), c("slave/tasks_gone"),
		c("slave/recovery_errors"), g("slave/recovery_time_secs"),
		c("slave/container_launch_errors"),
		c("slave/valid_status_updates"), c("slave/invalid_status_updates"),
		c("slave/valid_framework_messages"), c("slave/invalid_framework_messages"),
		g("slave/executor_directory_max_allowed_age_secs"),
		c("gc/path_removals_succeeded"), c("gc/path_removals_failed"), g("gc/path_removals_pending"),
		c("containerizer/fetcher/task_fetches_succeeded"), c("containerizer/fetcher/task_fetches_failed"),
		g("containerizer/fetcher/cache_size_total_bytes"), g("containerizer/fetcher/cache_size_used_bytes"),
		g("system/cpus_total"), g("system/load_1min"), g("system/load_5min"), g("system/load_15min"),
		g("system/mem_total_bytes"), g("system/mem_free_bytes"),
	}
	for _, r := range []string{"cpus", "mem", "disk", "gpus"} {
		defs = append(defs, g("slave/"+r+"_total"), g("slave/"+r+"_used"), g("slave/"+r+"_percent"))
	}
	return defs
}

// metricsSnapshot computes every metric.
func (a *Agent) metricsSnapshot() map[string]float64 {
	m := make(map[string]float64, 64)
	a.mu.Lock()
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	m["slave/registered"] = b2f(a.conn != nil)
	m["slave/uptime_secs"] = time.Since(a.startTime).Seconds()
	m["slave/frameworks_active"] = float64(len(a.frameworks))
	var used mesos.Resources
	execs := map[executorState]int{}
	tasks := map[mesos.TaskState]int{}
	for _, fw := range a.frameworks {
		for _, ex := range fw.executors {
			execs[ex.state]++
			if ex.state != execTerminated {
				used = used.Plus(ex.allResources())
			}
			for _, t := range ex.tasks {
				tasks[t.state]++
			}
			for _, t := range ex.queued {
				tasks[t.state]++
			}
		}
	}
	m["slave/executors_registering"] = float64(execs[execRegistering])
	m["slave/executors_running"] = float64(execs[execRunning])
	m["slave/executors_terminating"] = float64(execs[execTerminating])
	m["slave/tasks_staging"] = float64(tasks[mesos.TaskStaging])
	m["slave/tasks_starting"] = float64(tasks[mesos.TaskStarting])
	m["slave/tasks_running"] = float64(tasks[mesos.TaskRunning])
	m["slave/tasks_killing"] = float64(tasks[mesos.TaskKilling])
	c := a.counters
	m["slave/executors_terminated"] = float64(c.executorsTerminated)
	m["slave/tasks_finished"] = float64(c.tasksFinished)
	m["slave/tasks_failed"] = float64(c.tasksFailed)
	m["slave/tasks_killed"] = float64(c.tasksKilled)
	m["slave/tasks_lost"] = float64(c.tasksLost)
	m["slave/tasks_error"] = float64(c.tasksError)
	m["slave/tasks_dropped"] = float64(c.tasksDropped)
	m["slave/tasks_gone"] = float64(c.tasksGone)
	m["slave/recovery_errors"] = float64(c.recoveryErrors)
	m["slave/recovery_time_secs"] = c.recoveryTime.Seconds()
	m["slave/container_launch_errors"] = float64(c.containerLaunchErrors)
	m["slave/valid_status_updates"] = float64(c.validStatusUpdates)
	m["slave/invalid_status_updates"] = float64(c.invalidStatusUpdates)
	m["slave/valid_framework_messages"] = float64(c.validFrameworkMessages)
	m["slave/invalid_framework_messages"] = float64(c.invalidFrameworkMessages)
	m["slave/executor_directory_max_allowed_age_secs"] = a.cfg.GCDelay.Seconds()
	m["gc/path_removals_succeeded"] = float64(c.gcSucceeded)
	m["gc/path_removals_failed"] = float64(c.gcFailed)
	m["gc/path_removals_pending"] = float64(a.gc.pending())
	for _, r := range []string{"cpus", "mem", "disk", "gpus"} {
		total, u := a.total.Scalar(r), used.Scalar(r)
		m["slave/"+r+"_total"] = total
		m["slave/"+r+"_used"] = u
		m["slave/"+r+"_percent"] = 0
		if total > 0 {
			m["slave/"+r+"_percent"] = u / total
		}
	}
	a.mu.Unlock()

	m["system/cpus_total"] = float64(runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		for i, name := range []string{"system/load_1min", "system/load_5min", "system/load_15min"} {
			if i < len(f) {
				m[name], _ = strconv.ParseFloat(f[i], 64)
			}
		}
	}
	fs := a.cfg.Fetcher.Stats()
	m["containerizer/fetcher/task_fetches_succeeded"] = float64(fs.TaskFetchesSucceeded)
	m["containerizer/fetcher/task_fetches_failed"] = float64(fs.TaskFetchesFailed)
	m["containerizer/fetcher/cache_size_total_bytes"] = float64(fs.CacheSizeTotalBytes)
	m["containerizer/fetcher/cache_size_used_bytes"] = float64(fs.CacheSizeUsedBytes)
	total, free := memInfo()
	m["system/mem_total_bytes"] = total
	m["system/mem_free_bytes"] = free
	return m
}

// memInfo reads MemTotal and MemAvailable (bytes) from /proc/meminfo.
func memInfo() (total, free float64) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			free = v * 1024
		}
	}
	return total, free
}

func (a *Agent) serveMetricsSnapshot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, a.metricsSnapshot())
}

// metricsCollector exposes the snapshot to Prometheus: "slave/tasks_running"
// becomes strata_slave_tasks_running.
type metricsCollector struct{ a *Agent }

func promName(name string) string {
	return "strata_" + strings.NewReplacer("/", "_", "-", "_").Replace(name)
}

func (c metricsCollector) desc(d metricDef) *prometheus.Desc {
	return prometheus.NewDesc(promName(d.name), "Mesos agent metric "+d.name, nil, nil)
}

func (c metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range metricDefs() {
		ch <- c.desc(d)
	}
}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.a.metricsSnapshot()
	for _, d := range metricDefs() {
		t := prometheus.GaugeValue
		if d.counter {
			t = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.desc(d), t, snap[d.name])
	}
}

package master

import (
	"bufio"
	"math"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strata-sched/strata/core/mesos"
)

// This file serves the master's metrics: Mesos' flat /metrics/snapshot
// (reference/mesos.md §3.4; gauges computed from state when asked, counters
// from m.metrics) and the same values for Prometheus on /metrics.

// defaultCounters are reported as 0 until they first move, so dashboards
// and alerts find them from the start.
var defaultCounters = []string{
	"master/tasks_finished", "master/tasks_failed", "master/tasks_killed", "master/tasks_lost",
	"master/tasks_error", "master/tasks_dropped", "master/tasks_gone", "master/tasks_gone_by_operator",
	"master/slave_registrations", "master/slave_reregistrations", "master/slave_removals",
	"master/slave_removals/reason_unhealthy", "master/slave_unreachable_completed",
	"master/valid_status_updates", "master/invalid_status_updates", "master/dropped_messages",
	"master/messages_launch_tasks", "master/messages_decline_offers", "master/messages_kill_task",
	"master/messages_status_update", "master/messages_status_update_acknowledgement",
	"master/messages_reconcile_tasks", "allocator/mesos/allocation_runs",
}

// snapshotResources are the resources with master/<name>_{total,used,percent} metrics.
var snapshotResources = []string{"cpus", "mem", "disk", "gpus"}

// metricsSnapshot returns every metric and the set of names that are
// counters (monotonic; the rest are gauges).
func (m *Master) metricsSnapshot() (map[string]float64, map[string]bool) {
	m.mu.Lock()
	vals, counters := m.masterMetrics()
	m.mu.Unlock()
	addSystemMetrics(vals)
	for k, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			vals[k] = 0 // JSON has no NaN or Inf
		}
	}
	return vals, counters
}

// masterMetrics computes the master's metrics; m.mu held.
func (m *Master) masterMetrics() (map[string]float64, map[string]bool) {
	v := map[string]float64{}
	counters := map[string]bool{}
	for _, name := range defaultCounters {
		v[name], counters[name] = 0, true
	}
	for name, x := range m.metrics.values {
		v[name], counters[name] = x, true
	}
	v["master/elected"] = 1
	v["master/uptime_secs"] = m.now().Sub(m.startTime).Seconds()

	// Cluster resources.
	total, totalRev := map[string]float64{}, map[string]float64{}
	used, usedRev := map[string]float64{}, map[string]float64{}
	offered := map[string]float64{}
	split := func(rs mesos.Resources, plain, rev map[string]float64) {
		for i := range rs {
			r := &rs[i]
			if r.Type != mesos.SCALAR || r.Scalar == nil {
				continue
			}
			if r.Revocable != nil {
				rev[r.Name] += r.Scalar.Value
			} else {
				plain[r.Name] += r.Scalar.Value
			}
		}
	}
	activeAgents, connectedAgents := 0, 0
	for _, a := range m.agents {
		split(a.total, total, totalRev)
		split(agentUsed(a), used, usedRev)
		if a.connected && a.active {
			activeAgents++
		}
		if a.connected {
			connectedAgents++
		}
	}
	for _, o := range m.offers {
		split(o.resources, offered, map[string]float64{})
	}
	percent := func(u, t float64) float64 {
		if t <= 0 {
			return 0
		}
		return u / t
	}
	for _, n := range snapshotResources {
		v["master/"+n+"_total"] = roundQuantity(total[n])
		v["master/"+n+"_used"] = roundQuantity(used[n])
		v["master/"+n+"_percent"] = percent(used[n], total[n])
		v["master/"+n+"_revocable_total"] = roundQuantity(totalRev[n])
		v["master/"+n+"_revocable_used"] = roundQuantity(usedRev[n])
		v["master/"+n+"_revocable_percent"] = percent(usedRev[n], totalRev[n])
		v["allocator/mesos/resources/"+n+"/total"] = roundQuantity(total[n])
		v["allocator/mesos/resources/"+n+"/offered_or_allocated"] = roundQuantity(used[n] + offered[n])
	}

	// Agents and frameworks.
	v["master/slaves_active"] = float64(activeAgents)
	v["master/slaves_inactive"] = float64(len(m.agents) - activeAgents)
	v["master/slaves_connected"] = float64(connectedAgents)
	v["master/slaves_disconnected"] = float64(len(m.agents) - connectedAgents)
	v["master/slaves_unreachable"] = float64(len(m.unreachable))
	var fwActive, fwConnected float64
	tasks := map[mesos.TaskState]float64{}
	unreachable := 0
	for _, f := range m.frameworks {
		if f.active {
			fwActive++
		}
		if f.connected {
			fwConnected++
		}
		for _, t := range f.tasks {
			tasks[t.State]++
		}
		unreachable += len(f.unreachable)
	}
	v["master/frameworks_active"] = fwActive
	v["master/frameworks_inactive"] = float64(len(m.frameworks)) - fwActive
	v["master/frameworks_connected"] = fwConnected
	v["master/frameworks_disconnected"] = float64(len(m.frameworks)) - fwConnected
	v["master/outstanding_offers"] = float64(len(m.offers))
	v["master/tasks_staging"] = tasks[mesos.TaskStaging]
	v["master/tasks_starting"] = tasks[mesos.TaskStarting]
	v["master/tasks_running"] = tasks[mesos.TaskRunning]
	v["master/tasks_killing"] = tasks[mesos.TaskKilling]
	v["master/tasks_unreachable"] = float64(unreachable)
	v["master/event_queue_messages"] = 0
	v["master/event_queue_dispatches"] = 0
	v["master/event_queue_http_requests"] = 0
	v["registrar/log/recovered"] = 1

	// Allocator timings over the retained window of runs.
	runs := m.metrics.allocMs
	v["allocator/mesos/allocation_run_ms/count"] = float64(len(runs))
	if len(runs) > 0 {
		sorted := append([]float64(nil), runs...)
		sort.Float64s(sorted)
		const p = "allocator/mesos/allocation_run_ms"
		v[p] = runs[len(runs)-1]
		v[p+"/min"] = sorted[0]
		v[p+"/max"] = sorted[len(sorted)-1]
		for _, q := range []struct {
			name string
			q    float64
		}{{"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p999", 0.999}, {"p9999", 0.9999}} {
			v[p+"/"+q.name] = percentile(sorted, q.q)
		}
	}

	// Per-role shares and quota.
	usages := m.roleUsages()
	for _, role := range m.knownRoles(usages) {
		held := sumQuantities(
			subtreeSum(usages, role, func(u *roleUsage) map[string]float64 { return u.allocated }),
			subtreeSum(usages, role, func(u *roleUsage) map[string]float64 { return u.offered }))
		share := 0.0
		for name, x := range held {
			if total[name] > 0 {
				share = max(share, x/total[name])
			}
		}
		v["allocator/mesos/roles/"+role+"/shares/dominant"] = share
		q, ok := m.quotas[role]
		if !ok {
			continue
		}
		prefix := "allocator/mesos/quota/roles/" + role + "/resources/"
		for name, x := range q.Guarantees {
			v[prefix+name+"/guarantee"] = x
		}
		for name, x := range q.Limits {
			v[prefix+name+"/limit"] = x
		}
		for name := range quotaNames(q) {
			v[prefix+name+"/offered_or_allocated"] = held[name]
		}
	}
	return v, counters
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// addSystemMetrics adds system/* metrics from /proc (Linux); what cannot
// be read is left out.
func addSystemMetrics(v map[string]float64) {
	v["system/cpus_total"] = float64(runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		for i, name := range []string{"system/load_1min", "system/load_5min", "system/load_15min"} {
			if i < len(f) {
				if x, err := strconv.ParseFloat(f[i], 64); err == nil {
					v[name] = x
				}
			}
		}
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return
	}
	defer f.Close()
	mem := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 {
			if x, err := strconv.ParseFloat(fields[1], 64); err == nil {
				mem[strings.TrimSuffix(fields[0], ":")] = x * 1024 // kB
			}
		}
	}
	if x, ok := mem["MemTotal"]; ok {
		v["system/mem_total_bytes"] = x
	}
	if x, ok := mem["MemAvailable"]; ok {
		v["system/mem_free_bytes"] = x
	} else if x, ok := mem["MemFree"]; ok {
		v["system/mem_free_bytes"] = x
	}
}

// serveSnapshot is GET /metrics/snapshot: a flat {"name": number} object.
func (m *Master) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	vals, _ := m.metricsSnapshot()
	writeV0(w, r, vals)
}

// metricList renders the snapshot for GET_METRICS, sorted by name.
func (m *Master) metricList() []mesos.Metric {
	vals, _ := m.metricsSnapshot()
	out := make([]mesos.Metric, 0, len(vals))
	for name, x := range vals {
		out = append(out, mesos.Metric{Name: name, Value: x})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// prometheusHandler serves /metrics from a registry of this master's own
// (no global registry): the snapshot plus Go runtime and process metrics.
func (m *Master) prometheusHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		snapshotCollector{m},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// snapshotCollector exports the /metrics/snapshot values, named
// strata_<name with invalid characters replaced by '_'>. It is an
// unchecked collector (Describe sends nothing): the set of names follows
// the state (roles, quota).
type snapshotCollector struct{ m *Master }

func (snapshotCollector) Describe(chan<- *prometheus.Desc) {}

func (c snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	vals, counters := c.m.metricsSnapshot()
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for _, name := range names {
		pn := promName(name)
		if seen[pn] {
			continue // two snapshot names sanitised to the same name: keep the first
		}
		seen[pn] = true
		typ := prometheus.GaugeValue
		if counters[name] {
			typ = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(pn, "Mesos metric "+name+".", nil, nil), typ, vals[name])
	}
}

// promName maps a Mesos metric name to a Prometheus one:
// "master/tasks_running" -> "strata_master_tasks_running".
func promName(name string) string {
	var b strings.Builder
	b.Grow(len("strata_") + len(name))
	b.WriteString("strata_")
	for _, c := range name {
		if c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

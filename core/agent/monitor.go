package agent

import (
	"context"
	"net/http"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/mesos"
)

// statisticsJSON is one entry of /monitor/statistics.
type statisticsJSON struct {
	ExecutorID   string             `json:"executor_id"`
	ExecutorName string             `json:"executor_name"`
	FrameworkID  string             `json:"framework_id"`
	Source       string             `json:"source"`
	Statistics   resourceStatistics `json:"statistics"`
}

// resourceStatistics is Mesos' ResourceStatistics: what every
// containerizer measures, the limits, and what only the cgroups
// containerizer measures (omitted when zero).
type resourceStatistics struct {
	Timestamp          float64 `json:"timestamp"`
	CPUsUserTimeSecs   float64 `json:"cpus_user_time_secs"`
	CPUsSystemTimeSecs float64 `json:"cpus_system_time_secs"`
	CPUsLimit          float64 `json:"cpus_limit"`
	MemRSSBytes        uint64  `json:"mem_rss_bytes"`
	MemLimitBytes      uint64  `json:"mem_limit_bytes"`
	Processes          int     `json:"processes"`

	Threads               int     `json:"threads,omitempty"`
	CPUsNrPeriods         uint64  `json:"cpus_nr_periods,omitempty"`
	CPUsNrThrottled       uint64  `json:"cpus_nr_throttled,omitempty"`
	CPUsThrottledTimeSecs float64 `json:"cpus_throttled_time_secs,omitempty"`
	MemSoftLimitBytes     uint64  `json:"mem_soft_limit_bytes,omitempty"`
	MemTotalBytes         uint64  `json:"mem_total_bytes,omitempty"`
	MemCacheBytes         uint64  `json:"mem_cache_bytes,omitempty"`
	DiskLimitBytes        uint64  `json:"disk_limit_bytes,omitempty"`
	DiskUsedBytes         uint64  `json:"disk_used_bytes,omitempty"`
}

// containerSample is a run whose containers are to be sampled, collected
// under the agent's lock and sampled outside it.
type containerSample struct {
	fwID, exID, exName, source string
	containerID                string // the run's container
	parentID                   string // for a nested (task group) container
	pid                        int
	// cpus and mem are the resources the run was given: the limits when
	// the containerizer applies none of its own.
	cpus, mem float64
	// containers are sampled and summed (a default executor's tasks).
	containers []string
}

// runSamples lists the live runs' containers. With nested, a default
// executor's task containers are listed on their own too. Called with a.mu
// held.
func (a *Agent) runSamples(nested bool) []containerSample {
	var out []containerSample
	for _, fw := range sortedFrameworks(a.frameworks) {
		for _, ex := range sortedExecutors(fw.executors) {
			if ex.state == execTerminated {
				continue
			}
			res := ex.allResources()
			s := containerSample{fwID: fw.id, exID: ex.id, exName: ex.info.Name, source: ex.info.Source,
				containerID: ex.containerID, pid: ex.pid, cpus: res.Scalar("cpus"), mem: res.Scalar("mem")}
			switch ex.kind {
			case kindDefault:
				var nestedSamples []containerSample
				for _, t := range sortedTasks(ex.tasks) {
					if t.phase != phaseRunning {
						continue
					}
					s.containers = append(s.containers, t.containerID)
					if nested {
						rs := mesos.Resources(t.info.Resources)
						nestedSamples = append(nestedSamples, containerSample{fwID: fw.id, exID: ex.id, exName: ex.info.Name,
							source: ex.info.Source, containerID: t.containerID, parentID: ex.containerID, pid: t.pid,
							cpus: rs.Scalar("cpus"), mem: rs.Scalar("mem"), containers: []string{t.containerID}})
					}
				}
				out = append(out, s)
				out = append(out, nestedSamples...)
				continue
			default:
				if !ex.containerEnded && ex.pid > 0 {
					s.containers = append(s.containers, ex.containerID)
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// sample sums the usage of s's containers; ok is false when none could be
// sampled.
func (a *Agent) sample(ctx context.Context, s containerSample) (st resourceStatistics, ok bool) {
	var limits containerizer.Usage
	for _, cid := range s.containers {
		u, err := a.cz.Usage(ctx, cid)
		if err != nil {
			continue
		}
		ok = true
		st.CPUsUserTimeSecs += u.CPUsUserTimeSecs
		st.CPUsSystemTimeSecs += u.CPUsSystemTimeSecs
		st.MemRSSBytes += u.MemRSSBytes
		st.Processes += u.Processes
		st.Threads += u.Threads
		st.CPUsNrPeriods += u.CPUsNrPeriods
		st.CPUsNrThrottled += u.CPUsNrThrottled
		st.CPUsThrottledTimeSecs += u.CPUsThrottledTimeSecs
		st.MemTotalBytes += u.MemTotalBytes
		st.MemCacheBytes += u.MemCacheBytes
		st.DiskUsedBytes += u.DiskUsedBytes
		limits.CPUsLimit += u.CPUsLimit
		limits.MemLimitBytes += u.MemLimitBytes
		limits.MemSoftLimitBytes += u.MemSoftLimitBytes
		limits.DiskLimitBytes += u.DiskLimitBytes
		if ts := unixSeconds(u.Timestamp); ts > st.Timestamp {
			st.Timestamp = ts
		}
	}
	// The limits the containerizer applies, else the resources given.
	st.CPUsLimit, st.MemLimitBytes = s.cpus, uint64(s.mem*1024*1024)
	if limits.CPUsLimit > 0 {
		st.CPUsLimit = limits.CPUsLimit
	}
	if limits.MemLimitBytes > 0 {
		st.MemLimitBytes = limits.MemLimitBytes
	}
	st.MemSoftLimitBytes, st.DiskLimitBytes = limits.MemSoftLimitBytes, limits.DiskLimitBytes
	return st, ok
}

// serveStatistics is /monitor/statistics: resource usage and limits per
// running executor, from the containerizer (a default executor sums its
// tasks' containers).
func (a *Agent) serveStatistics(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	samples := a.runSamples(false)
	a.mu.Unlock()
	out := make([]statisticsJSON, 0, len(samples))
	for _, s := range samples {
		st, ok := a.sample(r.Context(), s)
		if !ok {
			continue
		}
		out = append(out, statisticsJSON{ExecutorID: s.exID, ExecutorName: s.exName, FrameworkID: s.fwID,
			Source: s.source, Statistics: st})
	}
	writeJSON(w, out)
}

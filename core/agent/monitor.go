package agent

import "net/http"

// statisticsJSON is one entry of /monitor/statistics.
type statisticsJSON struct {
	ExecutorID   string         `json:"executor_id"`
	ExecutorName string         `json:"executor_name"`
	FrameworkID  string         `json:"framework_id"`
	Source       string         `json:"source"`
	Statistics   statisticsData `json:"statistics"`
}

type statisticsData struct {
	Timestamp          float64 `json:"timestamp"`
	CPUsUserTimeSecs   float64 `json:"cpus_user_time_secs"`
	CPUsSystemTimeSecs float64 `json:"cpus_system_time_secs"`
	CPUsLimit          float64 `json:"cpus_limit"`
	MemRSSBytes        uint64  `json:"mem_rss_bytes"`
	MemLimitBytes      uint64  `json:"mem_limit_bytes"`
	Processes          int     `json:"processes"`
}

// serveStatistics is /monitor/statistics: resource usage per running
// executor, from the containerizer (a default executor sums its tasks'
// containers).
func (a *Agent) serveStatistics(w http.ResponseWriter, r *http.Request) {
	type sample struct {
		entry      statisticsJSON
		containers []string
	}
	var samples []sample
	a.mu.Lock()
	for _, fw := range sortedFrameworks(a.frameworks) {
		for _, ex := range sortedExecutors(fw.executors) {
			if ex.state == execTerminated {
				continue
			}
			res := ex.allResources()
			s := sample{entry: statisticsJSON{
				ExecutorID:   ex.id,
				ExecutorName: ex.info.Name,
				FrameworkID:  fw.id,
				Source:       ex.info.Source,
				Statistics: statisticsData{
					CPUsLimit:     res.Scalar("cpus"),
					MemLimitBytes: uint64(res.Scalar("mem") * 1024 * 1024),
				},
			}}
			switch ex.kind {
			case kindDefault:
				for _, t := range sortedTasks(ex.tasks) {
					if t.phase == phaseRunning {
						s.containers = append(s.containers, t.containerID)
					}
				}
			default:
				if !ex.containerEnded {
					s.containers = append(s.containers, ex.containerID)
				}
			}
			samples = append(samples, s)
		}
	}
	ctx := r.Context()
	a.mu.Unlock()

	out := make([]statisticsJSON, 0, len(samples))
	for _, s := range samples {
		st := &s.entry.Statistics
		ok := false
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
			if ts := unixSeconds(u.Timestamp); ts > st.Timestamp {
				st.Timestamp = ts
			}
		}
		if ok {
			out = append(out, s.entry)
		}
	}
	writeJSON(w, out)
}

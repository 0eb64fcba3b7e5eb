package master

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/strata-sched/strata/core/mesos"
)

// StandbyHandler serves a master that is not the leader, as Mesos'
// standbys do: API calls are redirected (307, Location //leader/path) to the
// leader, or answered 503 while no leader is known; /master/redirect points
// at the leader; /master/state and /metrics/snapshot describe this standby
// and name the leader. leader returns the current leader, nil when unknown.
func StandbyHandler(self mesos.MasterInfo, started time.Time, leader func() *mesos.MasterInfo) http.Handler {
	r := chi.NewRouter()
	redirect := func(w http.ResponseWriter, req *http.Request) {
		l := leader()
		if l == nil || l.ID == self.ID {
			// No leader known, or this master was just elected and is
			// still recovering the registry: both last about a second
			// (a ZooKeeper watch, a keys-only registry read), so clients
			// may come back after one second instead of backing off.
			w.Header().Set("Retry-After", "1")
			textError(w, http.StatusServiceUnavailable, "No leading master is elected yet; retry shortly")
			return
		}
		loc := "//" + l.HostPort() + req.URL.Path
		if req.URL.RawQuery != "" {
			loc += "?" + req.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}
	state := func(w http.ResponseWriter, req *http.Request) {
		out := map[string]any{
			"version": self.Version, "id": self.ID, "pid": self.PID, "hostname": self.Hostname,
			"start_time": timestamp(started), "elected": false,
			"activated_slaves": 0, "deactivated_slaves": 0, "unreachable_slaves": 0,
			"slaves": []any{}, "frameworks": []any{}, "completed_frameworks": []any{},
			"orphan_tasks": []any{}, "unregistered_frameworks": []any{},
		}
		if l := leader(); l != nil {
			out["leader"] = l.PID
			out["leader_info"] = l
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	}
	r.Get("/master/state", state)
	r.Get("/master/state.json", state)
	r.Get("/state", state)
	r.Get("/state.json", state)
	r.Get("/master/redirect", func(w http.ResponseWriter, req *http.Request) {
		l := leader()
		if l == nil {
			w.Header().Set("Retry-After", "1")
			textError(w, http.StatusServiceUnavailable, "No leading master is elected yet; retry shortly")
			return
		}
		w.Header().Set("Location", "//"+l.HostPort()+strings.TrimPrefix(req.URL.Path, "/master/redirect"))
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	r.Get("/health", ok)
	r.Get("/master/health", ok)
	r.Get("/version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": self.Version})
	})
	r.Get("/metrics/snapshot", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]float64{"master/elected": 0, "master/uptime_secs": time.Since(started).Seconds()})
	})
	r.NotFound(redirect)
	r.MethodNotAllowed(redirect)
	return r
}

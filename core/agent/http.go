package agent

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes builds the agent's router. Mesos serves its agent endpoints both
// at the root and under the libprocess ID /slave(1); both work here.
func (a *Agent) routes() http.Handler {
	r := chi.NewRouter()
	r.HandleFunc("/api/v1/executor", a.serveExecutorAPI) // checks the method itself, with Mesos' message
	r.HandleFunc("/api/v1", a.serveOperatorAPI)
	r.HandleFunc("/slave(1)/api/v1", a.serveOperatorAPI)

	for _, prefix := range []string{"", "/slave(1)"} {
		r.Get(prefix+"/state", a.serveState)
		r.Get(prefix+"/state.json", a.serveState)
		r.Get(prefix+"/flags", a.serveFlags)
		r.Get(prefix+"/health", a.serveHealth)
		r.Get(prefix+"/monitor/statistics", a.serveStatistics)
		r.Get(prefix+"/monitor/statistics.json", a.serveStatistics)
	}
	r.Get("/version", a.serveVersion)
	r.Get("/files/browse", a.serveBrowse)
	r.Get("/files/browse.json", a.serveBrowse)
	r.Get("/files/read", a.serveRead)
	r.Get("/files/read.json", a.serveRead)
	r.Get("/files/download", a.serveDownload)
	r.Get("/files/download.json", a.serveDownload)
	r.Get("/metrics/snapshot", a.serveMetricsSnapshot)
	r.Handle("/metrics", promhttp.HandlerFor(a.prom, promhttp.HandlerOpts{}))
	return r
}

// writeJSON answers 200 with v as JSON (Mesos' endpoints accept ?jsonp=,
// which Strata does not implement).
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.Encode(v)
}

func (a *Agent) serveHealth(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }

func (a *Agent) serveFlags(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"flags": a.cfg.Flags})
}

func (a *Agent) serveVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{
		"version":    a.cfg.Version,
		"build_date": "",
		"build_time": 0,
		"build_user": "",
	})
}

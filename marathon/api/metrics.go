package api

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/strata-sched/strata/marathon/engine"
	"github.com/strata-sched/strata/marathon/events"
)

// Metrics serves /metrics (Marathon's JSON: counters, gauges, ...) and
// /metrics/prometheus from the same values, on a registry of its own.
type Metrics struct {
	e        *engine.Engine
	bus      *events.Bus
	requests atomic.Uint64
	errors   atomic.Uint64
	reg      *prometheus.Registry
	cb       *events.Callbacks // nil without callback subscribers
}

// NewMetrics builds the metrics of an engine and bus.
func NewMetrics(e *engine.Engine, bus *events.Bus) *Metrics {
	m := &Metrics{e: e, bus: bus, reg: prometheus.NewRegistry()}
	counter := func(name, help string, f func(engine.Stats) uint64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(e.Snapshot())) }))
	}
	gauge := func(name, help string, f func(engine.Stats) int) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(f(e.Snapshot())) }))
	}
	for _, c := range m.counters() {
		counter(c.prom, c.help, c.get)
	}
	for _, g := range m.gauges() {
		gauge(g.prom, g.help, g.get)
	}
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "marathon_http_requests_total", Help: "HTTP requests served."},
		func() float64 { return float64(m.requests.Load()) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "marathon_http_responses_5xx_total", Help: "HTTP 5xx answers."},
		func() float64 { return float64(m.errors.Load()) }))
	return m
}

type counterDef struct {
	json, prom, help string
	get              func(engine.Stats) uint64
}

type gaugeDef struct {
	json, prom, help string
	get              func(engine.Stats) int
}

func (m *Metrics) counters() []counterDef {
	return []counterDef{
		{"marathon.mesos.offers.processed.counter", "marathon_mesos_offers_processed_total", "Offers processed.", func(s engine.Stats) uint64 { return s.OffersProcessed }},
		{"marathon.mesos.offers.declined.counter", "marathon_mesos_offers_declined_total", "Offers declined.", func(s engine.Stats) uint64 { return s.OffersDeclined }},
		{"marathon.tasks.launched.counter", "marathon_tasks_launched_total", "Tasks launched.", func(s engine.Stats) uint64 { return s.TasksLaunched }},
		{"marathon.tasks.kills.counter", "marathon_tasks_kills_total", "Kill calls sent.", func(s engine.Stats) uint64 { return s.KillsSent }},
		{"marathon.mesos.task-updates.counter", "marathon_mesos_task_updates_total", "Task status updates received.", func(s engine.Stats) uint64 { return s.StatusUpdates }},
		{"marathon.deployments.counter", "marathon_deployments_total", "Deployments started.", func(s engine.Stats) uint64 { return s.DeploymentsStarted }},
		{"marathon.deployments.success.counter", "marathon_deployments_success_total", "Deployments finished.", func(s engine.Stats) uint64 { return s.DeploymentsSucceeded }},
		{"marathon.deployments.cancelled.counter", "marathon_deployments_cancelled_total", "Deployments cancelled.", func(s engine.Stats) uint64 { return s.DeploymentsCancelled }},
		{"marathon.health-checks.kills.counter", "marathon_health_checks_kills_total", "Tasks killed for failing health checks.", func(s engine.Stats) uint64 { return s.HealthKills }},
	}
}

func (m *Metrics) gauges() []gaugeDef {
	lead := func(s engine.Stats) int {
		if s.Leading {
			return 1
		}
		return 0
	}
	return []gaugeDef{
		{"marathon.apps.active.gauge", "marathon_apps_active", "Apps defined.", func(s engine.Stats) int { return s.Apps }},
		{"marathon.groups.active.gauge", "marathon_groups_active", "Groups defined.", func(s engine.Stats) int { return s.Groups }},
		{"marathon.instances.launched.gauge", "marathon_instances_launched", "Instances known (not terminal).", func(s engine.Stats) int { return s.Instances }},
		{"marathon.instances.running.gauge", "marathon_instances_running", "Instances running.", func(s engine.Stats) int { return s.Running }},
		{"marathon.instances.staged.gauge", "marathon_instances_staged", "Instances staging.", func(s engine.Stats) int { return s.Staged }},
		{"marathon.instances.healthy.gauge", "marathon_instances_healthy", "Instances healthy.", func(s engine.Stats) int { return s.Healthy }},
		{"marathon.deployments.active.gauge", "marathon_deployments_active", "Deployments running.", func(s engine.Stats) int { return s.Deployments }},
		{"marathon.instances.launch-queue.gauge", "marathon_instances_launch_queue", "Instances waiting to be launched.", func(s engine.Stats) int { return s.QueueSize }},
		{"marathon.leadership.gauge", "marathon_leadership", "1 while this instance leads.", lead},
	}
}

// count counts requests and 5xx answers.
func (m *Metrics) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.requests.Add(1)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if sw.status >= 500 {
			m.errors.Add(1)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (m *Metrics) serveJSON(w http.ResponseWriter, r *http.Request) {
	st := m.e.Snapshot()
	counters := map[string]any{}
	for _, c := range m.counters() {
		counters[c.json] = map[string]uint64{"count": c.get(st)}
	}
	counters["marathon.http.requests.counter"] = map[string]uint64{"count": m.requests.Load()}
	counters["marathon.http.responses.5xx.counter"] = map[string]uint64{"count": m.errors.Load()}
	pub, dropped := m.bus.Stats()
	counters["marathon.events.published.counter"] = map[string]uint64{"count": pub}
	counters["marathon.http.event-streams.slow-consumers-closed.counter"] = map[string]uint64{"count": dropped}
	if m.cb != nil {
		cs := m.cb.Stats()
		for _, c := range callbackCounters() {
			counters[c.json] = map[string]uint64{"count": c.get(cs)}
		}
	}
	gauges := map[string]any{}
	for _, g := range m.gauges() {
		gauges[g.json] = map[string]int{"value": g.get(st)}
	}
	gauges["marathon.http.event-streams.active.gauge"] = map[string]int{"value": m.bus.Subscribers()}
	writeJSON(w, http.StatusOK, map[string]any{
		"version": "4.0.0", "counters": counters, "gauges": gauges,
		"histograms": map[string]any{}, "meters": map[string]any{}, "timers": map[string]any{},
	})
}

func (m *Metrics) servePrometheus(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// addCallbacks adds the HTTP callback subscribers' delivery counters
// (/v2/eventSubscriptions).
func (m *Metrics) addCallbacks(cb *events.Callbacks) {
	m.cb = cb
	for _, c := range callbackCounters() {
		get := c.get
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.prom, Help: c.help},
			func() float64 { return float64(get(cb.Stats())) }))
	}
}

type callbackCounter struct {
	json, prom, help string
	get              func(events.CallbackStats) uint64
}

func callbackCounters() []callbackCounter {
	return []callbackCounter{
		{"marathon.http.event-callbacks.delivered.counter", "marathon_http_event_callbacks_delivered_total", "Events POSTed to callback subscribers (2xx answers).", func(s events.CallbackStats) uint64 { return s.Delivered }},
		{"marathon.http.event-callbacks.failed.counter", "marathon_http_event_callbacks_failed_total", "Failed POST attempts to callback subscribers.", func(s events.CallbackStats) uint64 { return s.Failed }},
		{"marathon.http.event-callbacks.skipped.counter", "marathon_http_event_callbacks_skipped_total", "Events not sent to a paused callback subscriber.", func(s events.CallbackStats) uint64 { return s.Skipped }},
		{"marathon.http.event-callbacks.overflows.counter", "marathon_http_event_callbacks_overflows_total", "Times a callback subscriber fell too far behind and lost events.", func(s events.CallbackStats) uint64 { return s.Overflows }},
	}
}

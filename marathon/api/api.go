// Package api is Marathon's REST API (/v2/*, /ping, /metrics) on chi: one
// file per resource, one error mapping (writeError), and one parse
// function per kind of path whose ids contain slashes (paths.go). Handlers
// validate the request's shape with marathon/app and hand changes to the
// engine; the engine decides and stores before the handler answers.
package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/engine"
	"github.com/strata-sched/strata/marathon/events"
)

// Leadership is what the API needs to know about leader election.
type Leadership interface {
	IsLeader() bool
	// Leader returns the leader's host:port.
	Leader(ctx context.Context) (string, error)
	// Abdicate gives leadership up.
	Abdicate(ctx context.Context) error
}

// Info is the static part of GET /v2/info.
type Info struct {
	Name, Version, Buildref string
	Master, FrameworkName   string
	Role, User, Hostname    string
	ZK                      string
	HTTPPort                int
	FailoverTimeout         time.Duration
	ServicePortMin          int
	ServicePortMax          int
}

// Config configures the API.
type Config struct {
	Engine *engine.Engine
	Bus    *events.Bus
	Leader Leadership
	Info   Info
	// App normalizes request bodies.
	App    app.Config
	Logger *slog.Logger
	// Heartbeat of the event stream (default 10s).
	Heartbeat time.Duration
	// Metrics renders /metrics and /metrics/prometheus.
	Metrics *Metrics
	// Callbacks serves /v2/eventSubscriptions (nil: answered with 400).
	Callbacks *events.Callbacks
	// LevelVar is the level of the logger, switched by POST /logging
	// (nil: the level cannot be changed).
	LevelVar *slog.LevelVar
}

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 10 << 20

type server struct {
	cfg    Config
	e      *engine.Engine
	log    *slog.Logger
	cache  appJSONCache
	levels levelSwitch
}

// New returns the API handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(cfg.Engine, cfg.Bus)
		if cfg.Callbacks != nil {
			cfg.Metrics.addCallbacks(cfg.Callbacks)
		}
	}
	s := &server{cfg: cfg, e: cfg.Engine, log: cfg.Logger}
	r := chi.NewRouter()
	r.Use(s.recoverer, noCache, bodyLimit, cfg.Metrics.count)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, message{"URI not found"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, message{fmt.Sprintf("Method %s is not allowed on %s", r.Method, r.URL.Path)})
	})

	r.Get("/ping", s.ping)
	r.Head("/ping", s.ping)
	r.Get("/metrics", cfg.Metrics.serveJSON)
	r.Get("/metrics/prometheus", cfg.Metrics.servePrometheus)
	r.Get("/logging", s.getLogging)
	r.Post("/logging", s.postLogging)

	r.Get("/v2/info", s.info)
	r.Get("/v2/leader", s.getLeader)
	r.Delete("/v2/leader", s.deleteLeader)

	r.Get("/v2/apps", s.listApps)
	r.Post("/v2/apps", s.createApp)
	r.Put("/v2/apps", s.putApps)
	r.Patch("/v2/apps", s.patchApps)
	r.HandleFunc("/v2/apps/*", s.appsSubtree)

	r.Get("/v2/tasks", s.listTasks)
	r.Post("/v2/tasks/delete", s.deleteTasks)

	r.Get("/v2/deployments", s.listDeployments)
	r.Delete("/v2/deployments/{id}", s.deleteDeployment)

	r.HandleFunc("/v2/groups", s.groups)
	r.HandleFunc("/v2/groups/*", s.groups)

	r.Get("/v2/queue", s.queue)
	r.Delete("/v2/queue/*", s.deleteQueueDelay)

	r.Method(http.MethodGet, "/v2/events", cfg.Bus.Handler(cfg.Heartbeat, cfg.Logger))
	r.Get("/v2/eventSubscriptions", s.listSubscriptions)
	r.Post("/v2/eventSubscriptions", s.subscribe)
	r.Delete("/v2/eventSubscriptions", s.unsubscribe)

	pods := func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusNotFound, message{"Pods are not supported: Strata's Marathon runs apps only (use /v2/apps)."})
	}
	r.HandleFunc("/v2/pods", pods)
	r.HandleFunc("/v2/pods/*", pods)
	return r
}

// noCache sets Marathon's cache headers on every answer.
func noCache(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
		w.Header().Set("Pragma", "no-cache")
		w.Header().Set("Expires", "0")
		next.ServeHTTP(w, r)
	})
}

func bodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in API handler", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeJSON(w, http.StatusInternalServerError, message{fmt.Sprint("internal error: ", v)})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// readBody reads the request body.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, &engine.BadRequestError{Message: "cannot read the request body: " + err.Error()}
	}
	return b, nil
}

// boolParam reads a boolean query parameter ("true"/"false"/"1"/"0").
func boolParam(r *http.Request, name string, def bool) bool {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def
	}
	return b
}

// embeds parses embed parameters: "apps.", "app." and "group.apps."
// prefixes are interchangeable; unknown values are ignored.
func embeds(r *http.Request) (engine.Embed, map[string]bool) {
	var emb engine.Embed
	raw := map[string]bool{}
	for _, v := range r.URL.Query()["embed"] {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			raw[part] = true
			name := part
			for _, p := range []string{"group.apps.", "apps.", "app."} {
				if strings.HasPrefix(name, p) {
					name = strings.TrimPrefix(name, p)
					break
				}
			}
			switch name {
			case "tasks":
				emb |= engine.EmbedTasks
			case "counts", "count":
				emb |= engine.EmbedCounts
			case "deployments":
				emb |= engine.EmbedDeployments
			case "readiness":
				emb |= engine.EmbedReadiness
			case "lastTaskFailure":
				emb |= engine.EmbedLastTaskFailure
			case "taskStats":
				emb |= engine.EmbedTaskStats
			case "failures":
				emb |= engine.EmbedTasks | engine.EmbedLastTaskFailure | engine.EmbedCounts | engine.EmbedDeployments
			}
		}
	}
	return emb, raw
}

// deploymentResult writes the DR body and header.
func deploymentResult(w http.ResponseWriter, status int, res engine.Result) {
	w.Header().Set("Marathon-Deployment-Id", res.Plan.ID)
	writeJSON(w, status, struct {
		DeploymentID string `json:"deploymentId"`
		Version      string `json:"version"`
	}{res.Plan.ID, res.Plan.Version})
}

func origin(r *http.Request) *engine.Origin {
	ip := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip = h
	}
	return &engine.Origin{ClientIP: ip, URI: r.URL.RequestURI()}
}

func (s *server) ping(w http.ResponseWriter, r *http.Request) {
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/plain") {
		writeRaw(w, http.StatusOK, []byte(`"pong"`))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, "pong\n")
	}
}

func (s *server) info(w http.ResponseWriter, r *http.Request) {
	in := s.cfg.Info
	leader, _ := s.cfg.Leader.Leader(r.Context())
	var leaderVal any
	if leader != "" {
		leaderVal = leader
	}
	fid := s.e.FrameworkID()
	var fidVal any
	if fid != "" {
		fidVal = fid
	}
	var zk any
	if in.ZK != "" {
		zk = in.ZK
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": in.Name, "version": in.Version, "buildref": in.Buildref,
		"elected": s.cfg.Leader.IsLeader(), "leader": leaderVal, "frameworkId": fidVal,
		"marathon_config": map[string]any{
			"master": in.Master, "framework_name": in.FrameworkName, "mesos_role": in.Role, "mesos_user": in.User,
			"hostname": in.Hostname, "failover_timeout": int64(in.FailoverTimeout.Seconds()),
			"local_port_min": in.ServicePortMin, "local_port_max": in.ServicePortMax,
			"checkpoint": true, "executor": "//cmd", "ha": true, "leader_proxy_connection_timeout_ms": 5000,
			"leader_proxy_read_timeout_ms": 10000, "mesos_leader_ui_url": in.Master, "webui_url": nil,
			"task_launch_timeout": 300000, "task_reservation_timeout": 20000, "reconciliation_initial_delay": 15000,
			"reconciliation_interval": 600000, "mesos_heartbeat_interval": 15000, "mesos_heartbeat_failure_threshold": 5,
			"decline_offer_duration": 120000, "max_instances_per_offer": 100, "features": []string{},
			"access_control_allow_origin": nil, "default_network_name": nil, "event_stream_max_outstanding_messages": 1024,
		},
		"zookeeper_config": map[string]any{
			"zk": zk, "zk_timeout": 10000, "zk_session_timeout": 10000, "zk_max_versions": 50,
		},
		"http_config":      map[string]any{"http_port": in.HTTPPort, "https_port": 8443},
		"event_subscriber": s.eventSubscriber(r),
		"storage_config":   map[string]any{"storage_backend": "core/store"},
	})
}

func (s *server) getLeader(w http.ResponseWriter, r *http.Request) {
	leader, err := s.cfg.Leader.Leader(r.Context())
	if err != nil || leader == "" {
		writeJSON(w, http.StatusNotFound, message{"There is no leader"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"leader": leader})
}

func (s *server) deleteLeader(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Leader.IsLeader() {
		writeJSON(w, http.StatusNotFound, message{"There is no leader"})
		return
	}
	writeJSON(w, http.StatusOK, message{"Leadership abdicated"})
	go func() {
		// Answer first, as Marathon does (it exits ~500 ms later).
		time.Sleep(200 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.cfg.Leader.Abdicate(ctx); err != nil {
			s.log.Warn("abdication failed", "err", err)
		}
	}()
}

// decodeJSON decodes a non-app body, mapping errors to Marathon's 400.
func decodeJSON(b []byte, v any) error {
	if len(strings.TrimSpace(string(b))) == 0 {
		return &app.SyntaxError{Message: "Please specify data in JSON format", Detail: "No content to map due to end-of-input"}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &app.SyntaxError{Message: "Invalid JSON", Detail: err.Error()}
	}
	return nil
}

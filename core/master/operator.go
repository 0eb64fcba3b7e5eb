package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/strata-sched/strata/core/allocator"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// This file serves the operator-facing HTTP surface: the v1 operator API
// (POST /api/v1, reference/mesos.md §3.2), the v0 JSON endpoints (§3.3;
// the read-only ones are rendered in state.go) and the metrics endpoints
// (metrics.go). Changes that touch the registry (weights, quota, gone
// agents) are written to the store before the 2xx leaves, and m.mu is never
// held while the store is written or a response is sent.

const (
	// maxOperatorSubscribers is --max_operator_event_stream_subscribers.
	maxOperatorSubscribers = 1000
	// registryTimeout is --registry_store_timeout.
	registryTimeout = 20 * time.Second
	// reasonAgentRemovedByOperator is Mesos' REASON_SLAVE_REMOVED_BY_OPERATOR.
	reasonAgentRemovedByOperator = "REASON_SLAVE_REMOVED_BY_OPERATOR"
)

// operatorAPI holds what the operator handlers need beyond the master's
// state. One exists per router (Handler call).
type operatorAPI struct {
	m *Master

	// regMu serialises the registry read-modify-writes of operator calls
	// (weights, quota, gone agents), so that a stored value and m's copy
	// cannot be applied in different orders while m.mu is released for
	// the store write.
	regMu sync.Mutex

	// logMu guards the SET_LOGGING_LEVEL override: the level to restore
	// (nil when no override is active) and the generation of the revert
	// timer, so that only the newest override's timer reverts.
	logMu       sync.Mutex
	logOriginal *slog.Level
	logGen      uint64
	logTimer    *time.Timer
}

// opError is an operator call's failure: an HTTP status and the plain-text
// body Mesos answers with.
type opError struct {
	code int
	msg  string
}

func (e *opError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &opError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &opError{http.StatusConflict, fmt.Sprintf(format, args...)}
}

// writeOpError maps an operator call's error to its response: an *opError
// carries its status; anything else is a registry failure (503, retryable).
func writeOpError(w http.ResponseWriter, err error) {
	var oe *opError
	if errors.As(err, &oe) {
		textError(w, oe.code, oe.msg)
		return
	}
	textError(w, http.StatusServiceUnavailable, "Registry write failed: "+err.Error())
}

// routeOperator registers the operator API, the v0 endpoints and metrics.
func (m *Master) routeOperator(r chi.Router) {
	op := &operatorAPI{m: m}
	r.Post("/api/v1", op.serveAPI)
	// Not HandleFunc: in chi it would replace the POST handler too.
	for _, meth := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead} {
		r.Method(meth, "/api/v1", methodNotAllowed("POST"))
	}

	state := m.serveV0(func() any { return m.stateV0() })
	for _, p := range []string{"/master/state", "/master/state.json", "/state", "/state.json"} {
		r.Get(p, state)
	}
	r.Get("/master/state-summary", m.serveV0(func() any { return m.stateSummaryV0() }))
	r.Get("/master/frameworks", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("framework_id")
		m.serveV0(func() any { return m.frameworksV0(id) })(w, r)
	})
	r.Get("/master/slaves", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("slave_id")
		m.serveV0(func() any { return m.slavesV0(id) })(w, r)
	})
	r.Get("/master/tasks", func(w http.ResponseWriter, r *http.Request) {
		q := parseTasksQuery(r)
		m.serveV0(func() any { return m.tasksV0Query(q) })(w, r)
	})
	r.Get("/master/roles", m.serveV0(func() any { return m.rolesV0() }))
	r.Get("/master/flags", func(w http.ResponseWriter, r *http.Request) {
		flags := map[string]string{}
		maps.Copy(flags, m.cfg.Flags)
		writeV0(w, r, map[string]any{"flags": flags})
	})
	health := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }
	r.Get("/master/health", health)
	r.Get("/health", health)
	r.Get("/version", func(w http.ResponseWriter, r *http.Request) {
		writeV0(w, r, map[string]any{"version": m.cfg.Version, "build_date": buildDate,
			"build_time": buildTime(), "build_user": buildUser, "git_sha": gitSHA})
	})
	r.Get("/master/redirect", m.serveRedirect)
	r.Post("/master/teardown", m.serveTeardown)
	r.Get("/master/weights", m.serveV0(func() any { return m.weightInfos() }))
	r.Put("/master/weights", op.servePutWeights)
	r.Get("/master/quota", m.serveV0(func() any { return m.quotaStatus() }))
	op.routeMaintenance(r)

	r.Get("/metrics/snapshot", m.serveSnapshot)
	r.Handle("/metrics", m.prometheusHandler())
}

// serveRedirect is GET /master/redirect: 307 to the leader (this master).
func (m *Master) serveRedirect(w http.ResponseWriter, r *http.Request) {
	host := m.info.Hostname
	if host == "" {
		host = m.cfg.IP
	}
	w.Header().Set("Location", "//"+net.JoinHostPort(host, strconv.Itoa(m.cfg.Port))+"/")
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// serveTeardown is POST /master/teardown with frameworkId= in the form
// body or the query.
func (m *Master) serveTeardown(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		textError(w, http.StatusBadRequest, "Unable to parse request body: "+err.Error())
		return
	}
	id := r.Form.Get("frameworkId")
	if id == "" {
		textError(w, http.StatusBadRequest, "Missing 'frameworkId' query parameter in the request body")
		return
	}
	if err := m.Teardown(id); err != nil {
		textError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

// servePutWeights is PUT /master/weights with a JSON array of WeightInfo.
func (op *operatorAPI) servePutWeights(w http.ResponseWriter, r *http.Request) {
	var infos []mesos.WeightInfo
	if !decodeBody(w, r, &infos, "weights") {
		return
	}
	if err := op.updateWeights(infos); err != nil {
		writeOpError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// alloc sets *p to a new T and returns it; it lets the anonymous payload
// structs of mesos.OperatorResponse be filled without restating their types.
func alloc[T any](p **T) *T {
	*p = new(T)
	return *p
}

// serveAPI is POST /api/v1, the v1 operator API.
func (op *operatorAPI) serveAPI(w http.ResponseWriter, r *http.Request) {
	if !checkMediaTypes(w, r) {
		return
	}
	var call mesos.OperatorCall
	if !decodeBody(w, r, &call, "master::Call") {
		return
	}
	m := op.m
	resp := mesos.OperatorResponse{Type: call.Type}
	// respond answers 200 with resp (built by fill) marshalled under m.mu
	// when locked is set, since the v1 views share the state's slices.
	respond := func(locked bool, fill func()) {
		if locked {
			m.mu.Lock()
		}
		fill()
		b, err := json.Marshal(resp)
		if locked {
			m.mu.Unlock()
		}
		if err != nil {
			textError(w, http.StatusInternalServerError, "Failed to encode response: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(b)
	}
	// done answers a state-changing call: code on success, else its error.
	done := func(err error, code int) {
		if err != nil {
			writeOpError(w, err)
			return
		}
		w.WriteHeader(code)
	}
	missing := func(field string) {
		textError(w, http.StatusBadRequest, fmt.Sprintf("Expecting '%s' to be present", field))
	}

	switch call.Type {
	case "":
		missing("type")
	case "GET_HEALTH":
		respond(false, func() { alloc(&resp.GetHealth).Healthy = true })
	case "GET_FLAGS":
		respond(false, func() { resp.GetFlags = &mesos.GetFlags{Flags: m.flagList()} })
	case "GET_VERSION":
		respond(false, func() {
			v := alloc(&resp.GetVersion)
			v.VersionInfo.Version, v.VersionInfo.GitSHA = m.cfg.Version, gitSHA
			v.VersionInfo.BuildDate, v.VersionInfo.BuildTime, v.VersionInfo.BuildUser = buildDate, buildTime(), buildUser
		})
	case "GET_METRICS":
		respond(false, func() { resp.GetMetrics = &mesos.GetMetrics{Metrics: m.metricList()} })
	case "GET_LOGGING_LEVEL":
		respond(false, func() { alloc(&resp.GetLoggingLevel).Level = op.loggingLevel() })
	case "SET_LOGGING_LEVEL":
		if call.SetLoggingLevel == nil {
			missing("set_logging_level")
			return
		}
		done(op.setLoggingLevel(call.SetLoggingLevel.Level,
			time.Duration(call.SetLoggingLevel.Duration.Nanoseconds)), http.StatusOK)
	case "GET_STATE":
		respond(true, func() { st := m.getState(); resp.GetState = &st })
	case "GET_AGENTS":
		respond(true, func() { v := m.getAgents(); resp.GetAgents = &v })
	case "GET_FRAMEWORKS":
		respond(true, func() { v := m.getFrameworks(); resp.GetFrameworks = &v })
	case "GET_EXECUTORS":
		respond(true, func() { v := m.getExecutors(); resp.GetExecutors = &v })
	case "GET_TASKS":
		respond(true, func() { v := m.getTasks(); resp.GetTasks = &v })
	case "GET_ROLES":
		respond(true, func() { v := m.getRoles(); resp.GetRoles = &v })
	case "GET_MASTER":
		respond(true, func() {
			g := alloc(&resp.GetMaster)
			g.MasterInfo, g.StartTime, g.ElectedTime = m.info, secs(m.startTime), secs(m.electedAt)
		})
	case "GET_WEIGHTS":
		respond(true, func() { alloc(&resp.GetWeights).WeightInfos = m.weightInfos() })
	case "UPDATE_WEIGHTS":
		if call.UpdateWeights == nil {
			missing("update_weights")
			return
		}
		done(op.updateWeights(call.UpdateWeights.WeightInfos), http.StatusOK)
	case "GET_QUOTA":
		respond(true, func() { alloc(&resp.GetQuota).Status = m.quotaStatus() })
	case "UPDATE_QUOTA":
		if call.UpdateQuota == nil {
			missing("update_quota")
			return
		}
		done(op.updateQuota(call.UpdateQuota.Force, call.UpdateQuota.QuotaConfigs), http.StatusOK)
	case "RESERVE_RESOURCES":
		if call.ReserveResources == nil {
			missing("reserve_resources")
			return
		}
		b := call.ReserveResources
		done(m.reserveResources(b.AgentID.Value, b.Source, b.Resources), http.StatusAccepted)
	case "UNRESERVE_RESOURCES":
		if call.UnreserveResources == nil {
			missing("unreserve_resources")
			return
		}
		b := call.UnreserveResources
		done(m.unreserveResources(b.AgentID.Value, b.Resources), http.StatusAccepted)
	case "TEARDOWN":
		if call.Teardown == nil || call.Teardown.FrameworkID.Value == "" {
			missing("teardown.framework_id")
			return
		}
		if err := m.Teardown(call.Teardown.FrameworkID.Value); err != nil {
			textError(w, http.StatusBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusOK)
	case "MARK_AGENT_GONE":
		if call.MarkAgentGone == nil || call.MarkAgentGone.AgentID.Value == "" {
			missing("mark_agent_gone.agent_id")
			return
		}
		done(op.markAgentGone(call.MarkAgentGone.AgentID.Value), http.StatusOK)
	case "DEACTIVATE_AGENT":
		if call.DeactivateAgent == nil || call.DeactivateAgent.AgentID.Value == "" {
			missing("deactivate_agent.agent_id")
			return
		}
		done(m.setAgentActive(call.DeactivateAgent.AgentID.Value, false), http.StatusOK)
	case "REACTIVATE_AGENT":
		if call.ReactivateAgent == nil || call.ReactivateAgent.AgentID.Value == "" {
			missing("reactivate_agent.agent_id")
			return
		}
		done(op.reactivateAgent(call.ReactivateAgent.AgentID.Value), http.StatusOK)
	case "DRAIN_AGENT":
		if call.DrainAgent == nil || call.DrainAgent.AgentID.Value == "" {
			missing("drain_agent.agent_id")
			return
		}
		done(op.drainAgent(call.DrainAgent.AgentID.Value, call.DrainAgent.MaxGracePeriod, call.DrainAgent.MarkGone), http.StatusOK)
	case "SUBSCRIBE":
		m.serveOperatorSubscribe(w, r)
	case "GET_MAINTENANCE_STATUS":
		respond(true, func() { alloc(&resp.GetMaintenanceStatus).Status = m.maintenanceStatus() })
	case "GET_MAINTENANCE_SCHEDULE":
		respond(true, func() { alloc(&resp.GetMaintenanceSchedule).Schedule = m.maint.schedule })
	case "UPDATE_MAINTENANCE_SCHEDULE":
		if call.UpdateMaintenanceSchedule == nil {
			missing("update_maintenance_schedule")
			return
		}
		done(op.updateMaintenanceSchedule(call.UpdateMaintenanceSchedule.Schedule), http.StatusOK)
	case "START_MAINTENANCE":
		if call.StartMaintenance == nil {
			missing("start_maintenance")
			return
		}
		done(op.startMaintenance(call.StartMaintenance.Machines), http.StatusOK)
	case "STOP_MAINTENANCE":
		if call.StopMaintenance == nil {
			missing("stop_maintenance")
			return
		}
		done(op.stopMaintenance(call.StopMaintenance.Machines), http.StatusOK)
	case "LIST_FILES", "READ_FILE", "GET_OPERATIONS", "CREATE_VOLUMES", "DESTROY_VOLUMES",
		"GROW_VOLUME", "SHRINK_VOLUME", "SET_QUOTA", "REMOVE_QUOTA":
		textError(w, http.StatusNotImplemented, fmt.Sprintf("Operator call '%s' is not supported by this master", call.Type))
	default:
		textError(w, http.StatusBadRequest, fmt.Sprintf("Failed to validate master::Call: unknown call type '%s'", call.Type))
	}
}

// flagList is GET_FLAGS' flags, sorted by name.
func (m *Master) flagList() []mesos.Flag {
	out := make([]mesos.Flag, 0, len(m.cfg.Flags))
	for k, v := range m.cfg.Flags {
		out = append(out, mesos.Flag{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ---- operator SUBSCRIBE ----

// serveOperatorSubscribe streams SUBSCRIBED (the full state) and then the
// events m.publish* emit, until the client goes away.
func (m *Master) serveOperatorSubscribe(w http.ResponseWriter, r *http.Request) {
	s := newStream(newStreamID())
	m.mu.Lock()
	if len(m.opSubs) >= maxOperatorSubscribers {
		m.mu.Unlock()
		textError(w, http.StatusServiceUnavailable, fmt.Sprintf("Too many subscribers (limit %d)", maxOperatorSubscribers))
		return
	}
	ev := mesos.OperatorEvent{Type: "SUBSCRIBED"}
	sub := alloc(&ev.Subscribed)
	sub.GetState, sub.HeartbeatIntervalSeconds = m.getState(), m.cfg.HeartbeatInterval.Seconds()
	// Queued and registered under one lock: no event can slip in between.
	s.Send(ev)
	s.Send(map[string]string{"type": "HEARTBEAT"})
	m.opSubs[s] = true
	m.mu.Unlock()

	startStream(w, s)
	s.serve(w, r)

	m.mu.Lock()
	delete(m.opSubs, s)
	m.mu.Unlock()
}

// ---- logging level ----

// loggingLevel maps the slog level to Mesos' glog verbosity: 1 at debug, else 0.
func (op *operatorAPI) loggingLevel() uint32 {
	if lv := op.m.cfg.LevelVar; lv != nil && lv.Level() <= slog.LevelDebug {
		return 1
	}
	return 0
}

// setLoggingLevel is SET_LOGGING_LEVEL: verbosity 0 is slog's info level,
// 1 and more its debug level; after d the level reverts to what it was
// before the first override (a newer override restarts the clock). Without
// Config.LevelVar the call is accepted and has no effect.
func (op *operatorAPI) setLoggingLevel(level uint32, d time.Duration) error {
	if d <= 0 {
		return badRequest("Expecting 'set_logging_level.duration' to be positive")
	}
	lv := op.m.cfg.LevelVar
	if lv == nil {
		op.m.log.Warn("SET_LOGGING_LEVEL ignored: the log level is not adjustable (no Config.LevelVar)")
		return nil
	}
	target := slog.LevelInfo
	if level >= 1 {
		target = slog.LevelDebug
	}
	op.logMu.Lock()
	defer op.logMu.Unlock()
	if op.logOriginal == nil {
		orig := lv.Level()
		op.logOriginal = &orig
	}
	lv.Set(target)
	op.logGen++
	if op.logTimer != nil {
		op.logTimer.Stop()
		op.logTimer = nil
	}
	if target == *op.logOriginal {
		op.logOriginal = nil
		return nil
	}
	gen := op.logGen
	op.logTimer = time.AfterFunc(d, func() {
		op.logMu.Lock()
		defer op.logMu.Unlock()
		if op.logGen != gen || op.logOriginal == nil {
			return
		}
		lv.Set(*op.logOriginal)
		op.logOriginal, op.logTimer = nil, nil
	})
	op.m.log.Info("logging level changed", "level", target, "verbosity", level, "duration", d)
	return nil
}

// ---- registry writes ----

// persist writes one registry value; the caller holds op.regMu, not m.mu.
func (op *operatorAPI) persist(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	if _, err := op.m.cfg.Store.Put(ctx, key, b, store.AnyVersion); err != nil {
		op.m.log.Error("registry write failed", "key", key, "err", err)
		return err
	}
	return nil
}

// ---- weights ----

// weightInfos lists the configured weights sorted by role; m.mu held.
func (m *Master) weightInfos() []mesos.WeightInfo {
	out := make([]mesos.WeightInfo, 0, len(m.weights))
	for role, w := range m.weights {
		out = append(out, mesos.WeightInfo{Role: role, Weight: w})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Role < out[j].Role })
	return out
}

// updateWeights validates and applies UPDATE_WEIGHTS / PUT /weights: all
// or nothing, stored in the registry before m's copy changes.
func (op *operatorAPI) updateWeights(infos []mesos.WeightInfo) error {
	m := op.m
	update := map[string]float64{}
	for _, wi := range infos {
		if err := mesos.ValidateRole(wi.Role); err != nil {
			return badRequest("Invalid role '%s': %v", wi.Role, err)
		}
		if !(wi.Weight > 0) || math.IsInf(wi.Weight, 0) {
			return badRequest("Invalid weight '%v' for role '%s': weights must be positive and finite", wi.Weight, wi.Role)
		}
		if !m.whitelisted(wi.Role) {
			return badRequest("Role '%s' is not on the roles whitelist", wi.Role)
		}
		update[wi.Role] = wi.Weight
	}
	if len(update) == 0 {
		return nil
	}
	op.regMu.Lock()
	defer op.regMu.Unlock()
	m.mu.Lock()
	merged := maps.Clone(m.weights)
	m.mu.Unlock()
	if merged == nil {
		merged = map[string]float64{}
	}
	maps.Copy(merged, update)
	if err := op.persist(keyWeights, merged); err != nil {
		return err
	}
	m.mu.Lock()
	maps.Copy(m.weights, update)
	m.mu.Unlock()
	m.log.Info("weights updated", "weights", update)
	m.requestAllocation()
	return nil
}

func (m *Master) whitelisted(role string) bool {
	if len(m.cfg.Roles) == 0 || role == "*" {
		return true
	}
	for _, r := range m.cfg.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// ---- quota ----

// quotaStatus is GET_QUOTA's status and GET /master/quota; m.mu held.
// infos carries the deprecated QuotaInfo (guarantees) for older clients.
func (m *Master) quotaStatus() (st struct {
	Infos   []json.RawMessage   `json:"infos,omitempty"`
	Configs []mesos.QuotaConfig `json:"configs,omitempty"`
}) {
	roles := make([]string, 0, len(m.quotas))
	for role := range m.quotas {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	for _, role := range roles {
		q := m.quotas[role]
		st.Configs = append(st.Configs, mesos.QuotaConfig{Role: role, Guarantees: scalarMap(q.Guarantees), Limits: scalarMap(q.Limits)})
		if len(q.Guarantees) > 0 {
			info, _ := json.Marshal(struct {
				Role      string           `json:"role"`
				Guarantee []mesos.Resource `json:"guarantee"`
			}{role, quantitiesResources(q.Guarantees)})
			st.Infos = append(st.Infos, info)
		}
	}
	return st
}

// quotaNames is the set of resource names a quota mentions.
func quotaNames(q allocator.Quota) map[string]bool {
	out := map[string]bool{}
	for n := range q.Guarantees {
		out[n] = true
	}
	for n := range q.Limits {
		out[n] = true
	}
	return out
}

// Largest quota values Mesos accepts (src/master/quota.cpp).
const (
	maxQuotaMemDisk = 1024 * 1024 * 1024 * 1024 // 1 exabyte in megabytes
	maxQuotaOther   = 1e12
)

// quotaFromConfig validates one QuotaConfig's shape (quota.cpp validate).
func (m *Master) quotaFromConfig(c mesos.QuotaConfig) (allocator.Quota, error) {
	if c.Role == "" {
		return allocator.Quota{}, badRequest("Invalid QuotaConfig: 'QuotaConfig.role' must be set")
	}
	if !m.whitelisted(c.Role) {
		return allocator.Quota{}, badRequest("Invalid QuotaConfig: '%s' is not on the roles whitelist", c.Role)
	}
	if strings.Contains(c.Role, "/") {
		return allocator.Quota{}, badRequest("Updating quota on nested role '%s' is not supported yet", c.Role)
	}
	if err := mesos.ValidateRole(c.Role); err != nil {
		return allocator.Quota{}, badRequest("Invalid QuotaConfig: Invalid 'QuotaConfig.role': %v", err)
	}
	convert := func(what string, in map[string]mesos.Scalar) (map[string]float64, error) {
		if len(in) == 0 {
			return nil, nil
		}
		out := make(map[string]float64, len(in))
		for name, s := range in {
			v := s.Value
			switch {
			case name == "":
				return nil, badRequest("Invalid QuotaConfig: empty resource name in 'QuotaConfig.%s'", what)
			case math.IsInf(v, 0) || math.IsNaN(v):
				return nil, badRequest("Invalid QuotaConfig: Invalid %s configuration {'%s': %v}: Infinite values not supported", what, name, v)
			case v < 0:
				return nil, badRequest("Invalid QuotaConfig: Invalid %s configuration {'%s': %v}: Negative values not supported", what, name, v)
			case (name == "mem" || name == "disk") && v > maxQuotaMemDisk:
				return nil, badRequest("Invalid QuotaConfig: Invalid 'QuotaConfig.%s': {'%s': %v} is invalid: values greater than 1 exabyte (%d) are not supported", what, name, v, int64(maxQuotaMemDisk))
			case name != "mem" && name != "disk" && v > maxQuotaOther:
				return nil, badRequest("Invalid QuotaConfig: Invalid 'QuotaConfig.%s': {'%s': %v} is invalid: values greater than 1 trillion are not supported", what, name, v)
			}
			out[name] = roundQuantity(v)
		}
		return out, nil
	}
	var q allocator.Quota
	var err error
	if q.Guarantees, err = convert("guarantees", c.Guarantees); err != nil {
		return q, err
	}
	if q.Limits, err = convert("limits", c.Limits); err != nil {
		return q, err
	}
	for name, g := range q.Guarantees {
		if l, ok := q.Limits[name]; ok && g > l {
			return q, badRequest("Invalid QuotaConfig: 'QuotaConfig.guarantees' %s is not contained within the 'QuotaConfig.limits' %s",
				formatQuantities(q.Guarantees), formatQuantities(q.Limits))
		}
	}
	return q, nil
}

// formatQuantities renders quantities as Mesos does: "cpus:1; mem:128".
func formatQuantities(q map[string]float64) string {
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, n+":"+strconv.FormatFloat(q[n], 'f', -1, 64))
	}
	return strings.Join(parts, "; ")
}

// nonScalarNames are resource names some agent offers as ranges, sets or
// text (plus "ports"); quota only applies to scalars. m.mu held.
func (m *Master) nonScalarNames() map[string]bool {
	out := map[string]bool{"ports": true}
	for _, a := range m.agents {
		for _, r := range a.total {
			if r.Type != mesos.SCALAR {
				out[r.Name] = true
			}
		}
	}
	return out
}

type quotaUpdate struct {
	role  string
	quota allocator.Quota
}

func (u quotaUpdate) isDefault() bool {
	return len(u.quota.Guarantees) == 0 && len(u.quota.Limits) == 0
}

// checkQuota applies Mesos' state-dependent UPDATE_QUOTA checks (unless
// force): no role may already consume more than its new limits, and the
// guarantees of all roles must fit in the cluster. m.mu held.
func (m *Master) checkQuota(updates []quotaUpdate, force bool) error {
	nonScalar := m.nonScalarNames()
	for _, u := range updates {
		for name := range quotaNames(u.quota) {
			if nonScalar[name] {
				return badRequest("Invalid QuotaConfig: resource '%s' is not a scalar resource; quota supports scalar resources only", name)
			}
		}
	}
	if force {
		return nil
	}
	usages := m.roleUsages()
	for _, u := range updates {
		consumed := consumedQuota(usages, u.role)
		for name, limit := range u.quota.Limits {
			if consumed[name] > limit {
				return badRequest("Invalid QuotaConfig: Role '%s' is already consuming '%s'; this is more than the requested limits '%s' (use 'force' flag to bypass this check)",
					u.role, formatQuantities(consumed), formatQuantities(u.quota.Limits))
			}
		}
	}
	merged := maps.Clone(m.quotas)
	if merged == nil {
		merged = map[string]allocator.Quota{}
	}
	for _, u := range updates {
		merged[u.role] = u.quota
	}
	guarantees, capacity := map[string]float64{}, map[string]float64{}
	for _, q := range merged {
		for n, v := range q.Guarantees {
			guarantees[n] += v
		}
	}
	for _, a := range m.agents {
		addQuantities(capacity, a.total, nil)
	}
	for n, g := range guarantees {
		if roundQuantity(g) > roundQuantity(capacity[n]) {
			return badRequest("Invalid QuotaConfig: total quota guarantees '%s' exceed cluster capacity '%s' (use 'force' flag to bypass this check)",
				formatQuantities(guarantees), formatQuantities(capacity))
		}
	}
	return nil
}

// updateQuota validates and applies UPDATE_QUOTA (all or nothing): the new
// quotas are stored in the registry, then applied, then offers are
// rescinded (best effort, as Mesos does) so roles fit their limits and
// guarantees can be met.
func (op *operatorAPI) updateQuota(force bool, configs []mesos.QuotaConfig) error {
	m := op.m
	var updates []quotaUpdate
	for _, c := range configs {
		q, err := m.quotaFromConfig(c)
		if err != nil {
			return err
		}
		updates = append(updates, quotaUpdate{c.Role, q})
	}
	if len(updates) == 0 {
		return nil
	}
	op.regMu.Lock()
	defer op.regMu.Unlock()
	m.mu.Lock()
	if err := m.checkQuota(updates, force); err != nil {
		m.mu.Unlock()
		return err
	}
	merged := maps.Clone(m.quotas)
	m.mu.Unlock()
	if merged == nil {
		merged = map[string]allocator.Quota{}
	}
	for _, u := range updates {
		if u.isDefault() {
			delete(merged, u.role)
		} else {
			merged[u.role] = u.quota
		}
	}
	if err := op.persist(keyQuotas, merged); err != nil {
		return err
	}
	m.mu.Lock()
	for _, u := range updates {
		if u.isDefault() {
			delete(m.quotas, u.role)
		} else {
			m.quotas[u.role] = u.quota
		}
	}
	for _, u := range updates {
		m.enforceQuota(u)
	}
	m.mu.Unlock()
	m.log.Info("quota updated", "roles", len(updates), "force", force)
	m.requestAllocation()
	return nil
}

// sortedOffers returns the outstanding offers ordered by ID.
func (m *Master) sortedOffers(keep func(*offer) bool) []*offer {
	var out []*offer
	for _, o := range m.offers {
		if keep(o) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// enforceQuota rescinds offers after a quota update (Mesos'
// QuotaHandler::_update): first the role's own offers until what it
// consumes plus what it is offered fits its limits, then other roles'
// offers until the role's guarantees could be met. m.mu held.
func (m *Master) enforceQuota(u quotaUpdate) {
	usages := m.roleUsages()
	held := sumQuantities(consumedQuota(usages, u.role),
		subtreeSum(usages, u.role, func(r *roleUsage) map[string]float64 { return r.offered }))
	within := func(have, limits map[string]float64) bool {
		for name, l := range limits {
			if roundQuantity(have[name]) > l {
				return false
			}
		}
		return true
	}
	covers := func(have, want map[string]float64) bool {
		for name, g := range want {
			if roundQuantity(have[name]) < g {
				return false
			}
		}
		return true
	}
	for _, o := range m.sortedOffers(func(o *offer) bool { return inSubtree(o.role, u.role) }) {
		if within(held, u.quota.Limits) {
			break
		}
		q := map[string]float64{}
		addQuantities(q, o.resources, nil)
		for name, v := range q {
			held[name] -= v
		}
		m.rescindOffer(o, false)
	}
	if len(u.quota.Guarantees) == 0 {
		return
	}
	rescinded := map[string]float64{}
	for _, o := range m.sortedOffers(func(o *offer) bool { return !inSubtree(o.role, u.role) }) {
		if covers(sumQuantities(rescinded, held), u.quota.Guarantees) {
			break
		}
		addQuantities(rescinded, o.resources, nil)
		m.rescindOffer(o, false)
	}
}

// ---- reservations ----

// operatorResources validates the resources of an operator reservation
// call: well-formed, not revocable, in post-refinement form without
// allocation_info, each dynamically reserved (the top of its stack).
func operatorResources(what string, in []mesos.Resource) (mesos.Resources, error) {
	if len(in) == 0 {
		return nil, badRequest("Invalid %s operation: no resources specified", what)
	}
	rs := mesos.Resources(in)
	if err := rs.Validate(); err != nil {
		return nil, badRequest("Invalid %s operation: %v", what, err)
	}
	norm := rs.Unallocated()
	for i := range norm {
		r := &norm[i]
		n := len(r.Reservations)
		switch {
		case r.Revocable != nil:
			return nil, badRequest("Invalid %s operation: revocable resource %s cannot be reserved", what, r.String())
		case n == 0 || r.Reservations[n-1].Type != "DYNAMIC":
			return nil, badRequest("Invalid %s operation: resource %s is not dynamically reserved", what, r.String())
		}
		top := r.Reservations[n-1].Role
		if err := mesos.ValidateRole(top); err != nil || top == "*" {
			return nil, badRequest("Invalid %s operation: invalid reservation role '%s'", what, top)
		}
		if n > 1 && !strings.HasPrefix(top, r.Reservations[n-2].Role+"/") {
			return nil, badRequest("Invalid %s operation: a refined reservation's role '%s' must be a sub-role of '%s'", what, top, r.Reservations[n-2].Role)
		}
	}
	return norm, nil
}

// popReservation removes the innermost reservation of every resource.
func popReservation(rs mesos.Resources) mesos.Resources {
	var out mesos.Resources
	for _, r := range rs.Clone() {
		r.Reservations = r.Reservations[:len(r.Reservations)-1]
		if len(r.Reservations) == 0 {
			r.Reservations = nil
		}
		out = out.Plus(mesos.Resources{r})
	}
	return out
}

// withoutReservations drops every reservation (for comparing quantities).
func withoutReservations(rs mesos.Resources) mesos.Resources {
	var out mesos.Resources
	for _, r := range rs.Clone() {
		r.Reservations = nil
		out = out.Plus(mesos.Resources{r})
	}
	return out
}

// reservableAgent returns the registered, connected agent id; m.mu held.
func (m *Master) reservableAgent(id string) (*agent, error) {
	if id == "" {
		return nil, badRequest("Expecting 'agent_id' to be present")
	}
	a := m.agents[id]
	if a == nil {
		return nil, badRequest("No agent found with specified ID")
	}
	if !a.connected {
		// The agent would not hear the new total and would overwrite it
		// when it re-registers.
		return nil, conflict("Agent %s is disconnected; retry once it has re-registered", id)
	}
	return a, nil
}

// makeAvailable rescinds the agent's outstanding offers, one at a time and
// only those holding part of want, until want is available. m.mu held.
func (m *Master) makeAvailable(a *agent, want mesos.Resources) bool {
	if a.available.Contains(want) {
		return true
	}
	for _, o := range m.sortedOffers(func(o *offer) bool { return o.agent == a.id }) {
		if want.Minus(o.resources.Unallocated()).Contains(want) {
			continue // holds none of want
		}
		m.rescindOffer(o, false)
		if a.available.Contains(want) {
			return true
		}
	}
	return a.available.Contains(want)
}

// reserveResources is RESERVE_RESOURCES: resources (each dynamically
// reserved) are carved out of source, or, without source, out of the same
// resources one reservation level down; they must be free on the agent.
func (m *Master) reserveResources(agentID string, source, resources []mesos.Resource) error {
	to, err := operatorResources("RESERVE", resources)
	if err != nil {
		return err
	}
	from := popReservation(to)
	if len(source) > 0 {
		src := mesos.Resources(source)
		if err := src.Validate(); err != nil {
			return badRequest("Invalid RESERVE operation: invalid 'source': %v", err)
		}
		from = src.Unallocated()
		a, b := withoutReservations(from), withoutReservations(to)
		if !a.Contains(b) || !b.Contains(a) {
			return badRequest("Invalid RESERVE operation: 'source' %s and 'resources' %s differ in quantity", from, to)
		}
	}
	return m.changeReservation("reserve", agentID, from, to)
}

// changeReservation turns from into to on an agent, rescinding offers
// that hold part of from first. verb names the call in messages.
func (m *Master) changeReservation(verb, agentID string, from, to mesos.Resources) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Offers rescinded to make room go back to the allocator either way.
	defer m.requestAllocation()
	a, err := m.reservableAgent(agentID)
	if err != nil {
		return err
	}
	if !m.makeAvailable(a, from) {
		return conflict("Insufficient resources to %s: %s is not available on agent %s (available: %s)", verb, from, a.id, a.available)
	}
	m.applyReservation(a, from, to)
	m.log.Info("operator changed a reservation", "verb", verb, "agent", a.id, "from", from.String(), "to", to.String())
	return nil
}

// unreserveResources is UNRESERVE_RESOURCES: dynamically reserved resources
// that no task uses go back one reservation level (to unreserved).
func (m *Master) unreserveResources(agentID string, resources []mesos.Resource) error {
	from, err := operatorResources("UNRESERVE", resources)
	if err != nil {
		return err
	}
	for i := range from {
		if d := from[i].Disk; d != nil && d.Persistence != nil {
			return badRequest("Invalid UNRESERVE operation: resource %s is a persistent volume; destroy it first", from[i].String())
		}
	}
	return m.changeReservation("unreserve", agentID, from, popReservation(from))
}

// ---- agents ----

// setAgentActive is DEACTIVATE_AGENT / REACTIVATE_AGENT. A deactivated
// agent keeps its tasks but gets no offers; its outstanding offers are
// rescinded.
func (m *Master) setAgentActive(id string, active bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[id]
	if a == nil {
		if _, unreachable := m.unreachable[id]; unreachable || m.admitted[id] {
			return conflict("Agent %s is not registered; it can be (de)activated once it re-registers", id)
		}
		return badRequest("Unknown agent")
	}
	if active {
		if a.active {
			return badRequest("Agent is not deactivated")
		}
		a.active = true
		m.log.Info("agent reactivated by operator", "agent", id)
		m.requestAllocation()
		return nil
	}
	if !a.active {
		return nil
	}
	a.active = false
	m.rescindAgentOffers(a)
	m.log.Info("agent deactivated by operator", "agent", id)
	return nil
}

// markAgentGone is MARK_AGENT_GONE: the agent is recorded as gone in the
// registry, then removed like an unreachable agent; it may never come back
// and its partition-aware tasks become TASK_GONE_BY_OPERATOR.
func (op *operatorAPI) markAgentGone(id string) error {
	m := op.m
	op.regMu.Lock()
	defer op.regMu.Unlock()
	m.mu.Lock()
	_, unreachable := m.unreachable[id]
	known := m.agents[id] != nil || unreachable || m.admitted[id]
	gone := m.gone[id]
	m.mu.Unlock()
	if gone {
		return nil
	}
	if !known {
		return &opError{http.StatusNotFound, fmt.Sprintf("Agent '%s' not found", id)}
	}
	now := m.now()
	if err := op.persist(keyGone+id, map[string]int64{"timestamp_ns": now.UnixNano()}); err != nil {
		return err
	}
	m.mu.Lock()
	if a := m.agents[id]; a != nil {
		m.markUnreachable(a, "marked gone by operator")
	}
	m.gone[id] = true
	delete(m.unreachable, id)
	m.goneTasks(id, now)
	m.mu.Unlock()
	m.log.Warn("agent marked gone by operator", "agent", id)

	// The agent is gone, not unreachable; Recover does not read this key,
	// so a failed delete only leaves clutter.
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	if err := m.cfg.Store.Delete(ctx, keyUnreachable+id, store.AnyVersion); err != nil {
		m.log.Warn("could not clear the unreachable mark of a gone agent", "agent", id, "err", err)
	}
	return nil
}

// goneTasks moves the unreachable tasks of a gone agent to
// TASK_GONE_BY_OPERATOR (they exist only for partition-aware frameworks;
// the others were told TASK_LOST when the agent was removed). m.mu held.
func (m *Master) goneTasks(agentID string, now time.Time) {
	aid := mesos.AgentID{Value: agentID}
	msg := "Agent " + agentID + " was marked gone by an operator"
	for _, f := range m.sortedFrameworks() {
		for _, t := range sortedTasks(f.unreachable) {
			if t.AgentID.Value != agentID {
				continue
			}
			delete(f.unreachable, t.TaskID.Value)
			t.State = mesos.TaskGoneByOperator
			st := mesos.TaskStatus{TaskID: t.TaskID, State: mesos.TaskGoneByOperator, Source: mesos.SourceMaster,
				Reason: reasonAgentRemovedByOperator, Message: msg, AgentID: &aid, ExecutorID: t.ExecutorID,
				Timestamp: timestamp(now)}
			t.Statuses = append(t.Statuses, mesos.TaskStatus{TaskID: t.TaskID, State: st.State, Source: st.Source,
				Reason: st.Reason, Message: msg, Timestamp: st.Timestamp})
			m.sendMasterUpdate(f, t.TaskID, &aid, mesos.TaskGoneByOperator, reasonAgentRemovedByOperator, msg)
			m.publishTaskUpdated(t, st)
			m.retireTask(f, t)
		}
	}
}

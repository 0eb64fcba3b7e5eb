package master

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// serveScheduler is POST /api/v1/scheduler.
func (m *Master) serveScheduler(w http.ResponseWriter, r *http.Request) {
	if !checkMediaTypes(w, r) {
		return
	}
	var call mesos.Call
	if !decodeBody(w, r, &call, "Call protobuf") {
		return
	}
	if err := validateCall(&call); err != nil {
		textError(w, http.StatusBadRequest, "Failed to validate scheduler::Call: "+err.Error())
		return
	}
	m.countCall(call.Type)
	if call.Type == mesos.CallSubscribe {
		if r.Header.Get("Mesos-Stream-Id") != "" {
			textError(w, http.StatusBadRequest, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
			return
		}
		m.subscribe(w, r, &call)
		return
	}
	m.mu.Lock()
	f := m.frameworks[call.FrameworkID.Value]
	if f == nil || !f.connected {
		m.mu.Unlock()
		textError(w, http.StatusForbidden, fmt.Sprintf("Framework '%s' is not subscribed", call.FrameworkID.Value))
		return
	}
	if sid := r.Header.Get("Mesos-Stream-Id"); sid != f.stream.id {
		m.mu.Unlock()
		textError(w, http.StatusForbidden, fmt.Sprintf("The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", sid, f.id))
		return
	}
	code, msg := m.handleCall(f, &call)
	m.mu.Unlock()
	if code == http.StatusOK || code == http.StatusAccepted {
		w.WriteHeader(code)
		return
	}
	textError(w, code, msg)
}

// validateCall checks the shape of a call before any state is touched.
func validateCall(c *mesos.Call) error {
	need := func(ok bool, field string) error {
		if !ok {
			return fmt.Errorf("Expecting '%s' to be present", field)
		}
		return nil
	}
	if c.Type != mesos.CallSubscribe {
		if c.FrameworkID == nil || c.FrameworkID.Value == "" {
			return fmt.Errorf("Expecting 'framework_id' to be present")
		}
	}
	switch c.Type {
	case mesos.CallSubscribe:
		if err := need(c.Subscribe != nil && c.Subscribe.FrameworkInfo != nil, "subscribe.framework_info"); err != nil {
			return err
		}
		return validateFrameworkInfo(c.Subscribe.FrameworkInfo, c.FrameworkID)
	case mesos.CallTeardown, mesos.CallRequest, mesos.CallReconcileOperations, mesos.CallAcknowledgeOperationStatus:
		return nil
	case mesos.CallAccept:
		return need(c.Accept != nil, "accept")
	case mesos.CallDecline:
		return need(c.Decline != nil, "decline")
	case mesos.CallAcceptInverseOffers:
		return need(c.AcceptInverseOffers != nil, "accept_inverse_offers")
	case mesos.CallDeclineInverseOffers:
		return need(c.DeclineInverseOffers != nil, "decline_inverse_offers")
	case mesos.CallRevive, mesos.CallSuppress:
		return nil
	case mesos.CallKill:
		if err := need(c.Kill != nil, "kill"); err != nil {
			return err
		}
		return need(c.Kill.TaskID.Value != "", "kill.task_id")
	case mesos.CallShutdown:
		if err := need(c.Shutdown != nil, "shutdown"); err != nil {
			return err
		}
		return need(c.Shutdown.ExecutorID.Value != "" && c.Shutdown.AgentID.Value != "", "shutdown.executor_id and shutdown.agent_id")
	case mesos.CallAcknowledge:
		if err := need(c.Acknowledge != nil, "acknowledge"); err != nil {
			return err
		}
		if len(c.Acknowledge.UUID) != 16 {
			return fmt.Errorf("Expecting 'acknowledge.uuid' to be a 16-byte UUID, got %d bytes", len(c.Acknowledge.UUID))
		}
		return need(c.Acknowledge.TaskID.Value != "" && c.Acknowledge.AgentID.Value != "", "acknowledge.task_id and acknowledge.agent_id")
	case mesos.CallReconcile:
		return need(c.Reconcile != nil, "reconcile")
	case mesos.CallMessage:
		if err := need(c.Message != nil, "message"); err != nil {
			return err
		}
		return need(c.Message.AgentID.Value != "" && c.Message.ExecutorID.Value != "", "message.agent_id and message.executor_id")
	case mesos.CallUpdateFramework:
		if err := need(c.UpdateFramework != nil && c.UpdateFramework.FrameworkInfo != nil, "update_framework.framework_info"); err != nil {
			return err
		}
		return validateFrameworkInfo(c.UpdateFramework.FrameworkInfo, c.FrameworkID)
	case "":
		return fmt.Errorf("Expecting 'type' to be present")
	default:
		return fmt.Errorf("Unknown call type '%s'", c.Type)
	}
}

func validateFrameworkInfo(fi *mesos.FrameworkInfo, callID *mesos.FrameworkID) error {
	if fi.Name == "" {
		return fmt.Errorf("'FrameworkInfo.name' must be set")
	}
	if fi.FailoverTimeout < 0 {
		return fmt.Errorf("'FrameworkInfo.failover_timeout' must be non-negative, got %v", float64(fi.FailoverTimeout))
	}
	if fi.Role != "" && len(fi.Roles) > 0 {
		return fmt.Errorf("'FrameworkInfo.role' and 'FrameworkInfo.roles' cannot both be set")
	}
	if len(fi.Roles) > 1 && !fi.HasCapability(mesos.CapMultiRole) {
		return fmt.Errorf("'FrameworkInfo.roles' has several roles but the framework lacks the MULTI_ROLE capability")
	}
	seen := map[string]bool{}
	for _, role := range fi.EffectiveRoles() {
		if err := mesos.ValidateRole(role); err != nil {
			return fmt.Errorf("invalid role: %w", err)
		}
		if seen[role] {
			return fmt.Errorf("'FrameworkInfo.roles' contains duplicate role '%s'", role)
		}
		seen[role] = true
	}
	if callID != nil && fi.ID != nil && callID.Value != fi.ID.Value {
		return fmt.Errorf("'framework_id' differs from 'subscribe.framework_info.id'")
	}
	if fi.ID != nil && fi.ID.Value == "" {
		return fmt.Errorf("'FrameworkInfo.id' must not be empty when set")
	}
	return nil
}

// subscribe handles SUBSCRIBE: register a new framework or fail over an
// existing one to this connection, then serve its event stream.
func (m *Master) subscribe(w http.ResponseWriter, r *http.Request, call *mesos.Call) {
	info := *call.Subscribe.FrameworkInfo
	if len(m.cfg.Roles) > 0 {
		for _, role := range info.EffectiveRoles() {
			if role != "*" && !slices.Contains(m.cfg.Roles, role) {
				textError(w, http.StatusBadRequest, fmt.Sprintf("Failed to validate scheduler::Call: role '%s' is not in the master's --roles whitelist", role))
				return
			}
		}
	}
	s := newStream(newStreamID())

	m.mu.Lock()
	now := m.now()
	var f *framework
	if info.ID != nil {
		id := info.ID.Value
		for _, c := range m.completed {
			if c.id == id {
				m.mu.Unlock()
				startStream(w, s)
				s.Send(mesos.Event{Type: mesos.EventError, Error: &mesos.EventErrorBody{Message: "Framework has been removed"}})
				s.Close()
				s.serve(w, r)
				return
			}
		}
		f = m.frameworks[id]
	}
	if f == nil {
		id := m.ids.Framework()
		if info.ID != nil {
			id = *info.ID
		}
		info.ID = &id
		f = &framework{
			id: id.Value, info: info, registered: now,
			tasks: map[string]*task{}, unreachable: map[string]*task{}, offers: map[string]*offer{},
			suppressed: map[string]bool{},
		}
		m.frameworks[f.id] = f
		m.log.Info("framework subscribed", "framework", f.id, "name", info.Name, "roles", info.EffectiveRoles())
		m.publishFramework("FRAMEWORK_ADDED", f)
	} else {
		// Failover: the newest subscription wins.
		if f.stream != nil && f.connected {
			f.stream.Send(mesos.Event{Type: mesos.EventError, Error: &mesos.EventErrorBody{Message: "Framework failed over"}})
			f.stream.Close()
		}
		// user and checkpoint cannot change on re-subscription.
		info.User, info.Checkpoint = f.info.User, f.info.Checkpoint
		if f.recovered {
			info.User, info.Checkpoint = call.Subscribe.FrameworkInfo.User, call.Subscribe.FrameworkInfo.Checkpoint
		}
		m.updateFrameworkInfo(f, info)
		f.reregistered = now
		f.recovered = false
		m.log.Info("framework re-subscribed", "framework", f.id, "name", info.Name)
		m.publishFramework("FRAMEWORK_UPDATED", f)
	}
	f.stream, f.connected, f.active = s, true, true
	f.disconnectedAt = time.Time{}
	f.suppressed = map[string]bool{}
	for _, role := range call.Subscribe.SuppressedRoles {
		f.suppressed[role] = true
	}
	s.Send(mesos.Event{Type: mesos.EventSubscribed, Subscribed: &mesos.EventSubscribedBody{
		FrameworkID:              mesos.FrameworkID{Value: f.id},
		HeartbeatIntervalSeconds: m.cfg.HeartbeatInterval.Seconds(),
		MasterInfo:               &m.info,
	}})
	s.Send(mesos.Event{Type: mesos.EventHeartbeat})
	m.mu.Unlock()
	m.requestAllocation()

	startStream(w, s)
	s.serve(w, r)

	m.mu.Lock()
	if f.stream == s && f.connected {
		m.disconnectFramework(f)
	}
	m.mu.Unlock()
}

// disconnectFramework marks f disconnected: its offers are rescinded and its
// failover timeout starts (0 removes it at once, as Mesos does).
func (m *Master) disconnectFramework(f *framework) {
	f.connected, f.active = false, false
	f.disconnectedAt = m.now()
	f.unregistered = f.disconnectedAt
	for _, o := range f.offers {
		m.removeOffer(o)
	}
	m.log.Info("framework disconnected", "framework", f.id, "failover_timeout_secs", float64(f.info.FailoverTimeout))
	if f.info.FailoverTimeout <= 0 {
		m.removeFramework(f, "framework disconnected with failover_timeout 0")
		return
	}
	m.publishFramework("FRAMEWORK_UPDATED", f)
}

func (m *Master) updateFrameworkInfo(f *framework, info mesos.FrameworkInfo) {
	id := mesos.FrameworkID{Value: f.id}
	info.ID = &id
	f.info = info
	// Offers for roles the framework left are rescinded.
	for _, o := range f.offers {
		if !slices.Contains(info.EffectiveRoles(), o.role) {
			m.rescindOffer(o, false)
		}
	}
}

// handleCall runs one non-SUBSCRIBE call for f with m.mu held and returns the
// HTTP status to answer (202 unless the call is synchronous or invalid).
func (m *Master) handleCall(f *framework, c *mesos.Call) (int, string) {
	switch c.Type {
	case mesos.CallTeardown:
		m.log.Info("framework asked for teardown", "framework", f.id)
		m.removeFramework(f, "framework called TEARDOWN")
	case mesos.CallAccept:
		m.accept(f, c.Accept)
	case mesos.CallDecline:
		m.decline(f, c.Decline.OfferIDs, c.Decline.Filters)
	case mesos.CallRevive:
		m.revive(f, c.Revive)
	case mesos.CallSuppress:
		roles := f.info.EffectiveRoles()
		if c.Suppress != nil && len(c.Suppress.Roles) > 0 {
			roles = c.Suppress.Roles
		}
		for _, role := range roles {
			f.suppressed[role] = true
		}
	case mesos.CallKill:
		m.kill(f, c.Kill)
	case mesos.CallShutdown:
		if a := m.agents[c.Shutdown.AgentID.Value]; a != nil {
			ev := mesos.AgentEvent{Type: mesos.AgentEventShutdownExecutor}
			ev.ShutdownExecutor = &struct {
				FrameworkID mesos.FrameworkID `json:"framework_id"`
				ExecutorID  mesos.ExecutorID  `json:"executor_id"`
			}{mesos.FrameworkID{Value: f.id}, c.Shutdown.ExecutorID}
			a.stream.Send(ev)
		}
	case mesos.CallAcknowledge:
		return m.acknowledge(f, c.Acknowledge)
	case mesos.CallReconcile:
		m.reconcile(f, c.Reconcile.Tasks)
	case mesos.CallMessage:
		a := m.agents[c.Message.AgentID.Value]
		if a == nil || !a.connected {
			m.metrics.inc("master/dropped_messages")
			break
		}
		ev := mesos.AgentEvent{Type: mesos.AgentEventMessage}
		ev.Message = &struct {
			FrameworkID mesos.FrameworkID `json:"framework_id"`
			ExecutorID  mesos.ExecutorID  `json:"executor_id"`
			Data        []byte            `json:"data"`
		}{mesos.FrameworkID{Value: f.id}, c.Message.ExecutorID, c.Message.Data}
		a.stream.Send(ev)
	case mesos.CallUpdateFramework:
		info := *c.UpdateFramework.FrameworkInfo
		if info.User != f.info.User || info.Checkpoint != f.info.Checkpoint || info.Principal != f.info.Principal {
			return http.StatusBadRequest, "Failed to validate scheduler::Call: 'user', 'checkpoint' and 'principal' cannot be changed by UPDATE_FRAMEWORK"
		}
		m.updateFrameworkInfo(f, info)
		f.suppressed = map[string]bool{}
		for _, role := range c.UpdateFramework.SuppressedRoles {
			f.suppressed[role] = true
		}
		for _, a := range m.agents {
			if a.connected && len(a.executors[f.id]) > 0 {
				ev := mesos.AgentEvent{Type: mesos.AgentEventUpdateFramework}
				ev.UpdateFramework = &struct {
					FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
				}{f.info}
				a.stream.Send(ev)
			}
		}
		m.publishFramework("FRAMEWORK_UPDATED", f)
		m.requestAllocation()
		return http.StatusOK, ""
	case mesos.CallAcceptInverseOffers:
		m.answerInverseOffers(f, c.AcceptInverseOffers, mesos.InverseOfferAccept)
	case mesos.CallDeclineInverseOffers:
		m.answerInverseOffers(f, c.DeclineInverseOffers, mesos.InverseOfferDecline)
	case mesos.CallRequest, mesos.CallReconcileOperations, mesos.CallAcknowledgeOperationStatus:
		// Accepted and ignored, as the built-in allocator does.
	}
	return http.StatusAccepted, ""
}

func (m *Master) revive(f *framework, body *mesos.CallRolesBody) {
	roles := f.info.EffectiveRoles()
	if body != nil && len(body.Roles) > 0 {
		roles = body.Roles
	}
	for _, role := range roles {
		delete(f.suppressed, role)
	}
	kept := m.filters[:0]
	for _, flt := range m.filters {
		if flt.FrameworkID == f.id && slices.Contains(roles, flt.Role) {
			continue
		}
		kept = append(kept, flt)
	}
	m.filters = kept
	m.requestAllocation()
}

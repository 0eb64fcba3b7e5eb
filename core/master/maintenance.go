package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// This file holds Mesos' maintenance primitives (reference/mesos.md §4.7,
// Mesos docs/maintenance.md): a schedule of windows puts machines in
// DRAINING mode (offers from them carry an unavailability, frameworks with
// tasks there get inverse offers and answer them), START_MAINTENANCE takes
// machines DOWN (their agents are shut down and removed, and cannot
// register again) and STOP_MAINTENANCE brings them back UP. The schedule
// and the DOWN machines live in the registry; inverse-offer answers are
// soft state, as in Mesos (new inverse offers are sent after a failover).

// keyMaintenance is the registry key of the schedule and the DOWN machines.
const keyMaintenance = "registry/maintenance"

// machineDownMessage is what removed agents and their tasks are told.
const machineDownMessage = "Operator initiated 'Machine DOWN'"

// maintenance is the master's maintenance state; m.mu guards it.
type maintenance struct {
	schedule mesos.MaintenanceSchedule // machine IDs normalized
	down     map[mesos.MachineID]bool
	// inverse holds the outstanding inverse offers by ID; outstanding
	// indexes them by (framework, agent): at most one each.
	inverse     map[string]*inverseOffer
	outstanding map[fwAgent]string
	// statuses are the frameworks' last answers per draining machine.
	statuses map[mesos.MachineID]map[string]mesos.InverseOfferStatus
	// refused holds when a framework that answered may get the next
	// inverse offer for an agent (the answer's refuse_seconds).
	refused map[fwAgent]time.Time

	// drains are the agents being drained (DRAIN_AGENT), by agent ID;
	// drainOp finishes drains (registry writes, mark gone) off m.mu.
	drains  map[string]*mesos.DrainInfo
	drainOp *operatorAPI
}

type fwAgent struct{ fw, agent string }

type inverseOffer struct {
	id, fw, agent string
	machine       mesos.MachineID
}

// maintenanceRecord is the registry value at keyMaintenance.
type maintenanceRecord struct {
	Schedule mesos.MaintenanceSchedule `json:"schedule"`
	Down     []mesos.MachineID         `json:"down,omitempty"`
}

func (mt *maintenance) init() {
	if mt.down == nil {
		mt.down = map[mesos.MachineID]bool{}
		mt.inverse = map[string]*inverseOffer{}
		mt.outstanding = map[fwAgent]string{}
		mt.statuses = map[mesos.MachineID]map[string]mesos.InverseOfferStatus{}
		mt.refused = map[fwAgent]time.Time{}
		mt.drains = map[string]*mesos.DrainInfo{}
	}
}

// recoverMaintenance loads the schedule and the DOWN machines; m.mu held.
func (m *Master) recoverMaintenance(ctx context.Context) error {
	m.maint.init()
	if err := m.recoverDrains(ctx); err != nil {
		return err
	}
	kv, err := m.cfg.Store.Get(ctx, keyMaintenance)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("master: reading registry maintenance schedule: %w", err)
	}
	var rec maintenanceRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		return fmt.Errorf("master: registry maintenance schedule: %w", err)
	}
	m.maint.schedule = rec.Schedule
	for _, id := range rec.Down {
		m.maint.down[id.Normalize()] = true
	}
	return nil
}

// remoteIP is the IP address a request came from.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// machineOf finds the schedule entry an agent with hostname and ip runs on
// and its window's unavailability; m.mu held.
func (m *Master) machineOf(hostname, ip string) (mesos.MachineID, mesos.Unavailability, bool) {
	for _, w := range m.maint.schedule.Windows {
		for _, id := range w.MachineIDs {
			if id.Matches(hostname, ip) {
				return id, w.Unavailability, true
			}
		}
	}
	return mesos.MachineID{}, mesos.Unavailability{}, false
}

// downMachine reports whether an agent with hostname and ip runs on a
// machine that is DOWN for maintenance; m.mu held.
func (m *Master) downMachine(hostname, ip string) (mesos.MachineID, bool) {
	id, _, ok := m.machineOf(hostname, ip)
	return id, ok && m.maint.down[id]
}

// agentUnavailability is the unavailability offers from a carry: set while
// its machine is scheduled for maintenance; m.mu held.
func (m *Master) agentUnavailability(a *agent) *mesos.Unavailability {
	id, u, ok := m.machineOf(a.info.Hostname, a.ip)
	if !ok || m.maint.down[id] {
		return nil
	}
	return &u
}

// sendInverseOffers offers every framework with tasks or executors on an
// agent of a draining machine an inverse offer for that agent, unless one
// is outstanding or its last answer's filter has not expired; m.mu held.
func (m *Master) sendInverseOffers() {
	if len(m.maint.schedule.Windows) == 0 {
		return
	}
	m.maint.init()
	now := m.now()
	byFw := map[string][]mesos.InverseOffer{}
	for _, id := range sortedAgentIDs(m.agents) {
		a := m.agents[id]
		if !a.connected {
			continue
		}
		mid, u, ok := m.machineOf(a.info.Hostname, a.ip)
		if !ok || m.maint.down[mid] {
			continue
		}
		for _, fid := range frameworksOn(a) {
			f := m.frameworks[fid]
			if f == nil || !f.connected || !f.active {
				continue
			}
			key := fwAgent{fid, a.id}
			if _, out := m.maint.outstanding[key]; out {
				continue
			}
			if until, ok := m.maint.refused[key]; ok && now.Before(until) {
				continue
			}
			delete(m.maint.refused, key)
			io := &inverseOffer{id: m.ids.Offer().Value, fw: fid, agent: a.id, machine: mid}
			m.maint.inverse[io.id] = io
			m.maint.outstanding[key] = io.id
			st := m.maint.statuses[mid]
			if st == nil {
				st = map[string]mesos.InverseOfferStatus{}
				m.maint.statuses[mid] = st
			}
			if _, answered := st[fid]; !answered {
				st[fid] = mesos.InverseOfferStatus{Status: mesos.InverseOfferUnknown,
					FrameworkID: mesos.FrameworkID{Value: fid}, Timestamp: mesos.TimeInfo{Nanoseconds: now.UnixNano()}}
			}
			aid := mesos.AgentID{Value: a.id}
			byFw[fid] = append(byFw[fid], mesos.InverseOffer{
				ID: mesos.OfferID{Value: io.id}, FrameworkID: mesos.FrameworkID{Value: fid}, AgentID: &aid,
				Unavailability: u,
				URL: &mesos.URL{Scheme: "http", Address: mesos.Address{Hostname: a.info.Hostname, IP: a.ip, Port: a.info.Port},
					Path: "/slave(1)"},
			})
		}
	}
	for fid, ios := range byFw {
		m.metrics.add("master/messages_inverse_offers", float64(len(ios)))
		m.frameworks[fid].stream.Send(mesos.Event{Type: mesos.EventInverseOffers,
			InverseOffers: &mesos.EventInverseOffersBody{InverseOffers: ios}})
	}
}

// frameworksOn lists, sorted, the frameworks with live tasks or executors on a.
func frameworksOn(a *agent) []string {
	set := map[string]bool{}
	for k, t := range a.tasks {
		if !t.State.IsTerminal() {
			set[k.fw] = true
		}
	}
	for fid, execs := range a.executors {
		if len(execs) > 0 {
			set[fid] = true
		}
	}
	out := make([]string, 0, len(set))
	for fid := range set {
		out = append(out, fid)
	}
	sort.Strings(out)
	return out
}

// answerInverseOffers is ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS:
// the answer is recorded for the maintenance status and the next inverse
// offer for that agent waits for the filter's refuse_seconds. Unknown IDs
// are ignored, as Mesos does; m.mu held.
func (m *Master) answerInverseOffers(f *framework, body *mesos.CallInverseOffersBody, status string) {
	m.maint.init()
	now := m.now()
	refuse := time.Duration(body.Filters.Refuse() * float64(time.Second))
	for _, id := range body.InverseOfferIDs {
		io := m.maint.inverse[id.Value]
		if io == nil || io.fw != f.id {
			continue
		}
		m.dropInverseOffer(io)
		if st := m.maint.statuses[io.machine]; st != nil {
			st[f.id] = mesos.InverseOfferStatus{Status: status, FrameworkID: mesos.FrameworkID{Value: f.id},
				Timestamp: mesos.TimeInfo{Nanoseconds: now.UnixNano()}}
		}
		m.maint.refused[fwAgent{f.id, io.agent}] = now.Add(refuse)
	}
}

func (m *Master) dropInverseOffer(io *inverseOffer) {
	delete(m.maint.inverse, io.id)
	delete(m.maint.outstanding, fwAgent{io.fw, io.agent})
}

// rescindInverseOffers withdraws the outstanding inverse offers for which
// match holds and tells their frameworks; m.mu held.
func (m *Master) rescindInverseOffers(match func(*inverseOffer) bool) {
	ids := make([]string, 0, len(m.maint.inverse))
	for id, io := range m.maint.inverse {
		if match(io) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		io := m.maint.inverse[id]
		m.dropInverseOffer(io)
		if f := m.frameworks[io.fw]; f != nil && f.connected {
			f.stream.Send(mesos.Event{Type: mesos.EventRescindInverseOffer,
				RescindInverseOffer: &mesos.EventRescindInverseOfferBody{InverseOfferID: mesos.OfferID{Value: id}}})
		}
	}
}

// maintenanceStatus is GET_MAINTENANCE_STATUS and /master/maintenance/status;
// m.mu held.
func (m *Master) maintenanceStatus() mesos.MaintenanceStatus {
	var st mesos.MaintenanceStatus
	for _, w := range m.maint.schedule.Windows {
		for _, id := range w.MachineIDs {
			if m.maint.down[id] {
				st.DownMachines = append(st.DownMachines, id)
				continue
			}
			dm := mesos.DrainingMachine{ID: id}
			for _, s := range m.maint.statuses[id] {
				dm.Statuses = append(dm.Statuses, s)
			}
			sort.Slice(dm.Statuses, func(i, j int) bool {
				return dm.Statuses[i].FrameworkID.Value < dm.Statuses[j].FrameworkID.Value
			})
			st.DrainingMachines = append(st.DrainingMachines, dm)
		}
	}
	return st
}

// scheduled reports whether id (normalized) is in the schedule; m.mu held.
func (m *Master) scheduled(id mesos.MachineID) bool {
	for _, w := range m.maint.schedule.Windows {
		if slices.Contains(w.MachineIDs, id) {
			return true
		}
	}
	return false
}

// downList is the DOWN machines, sorted; m.mu held.
func (m *Master) downList(down map[mesos.MachineID]bool) []mesos.MachineID {
	out := make([]mesos.MachineID, 0, len(down))
	for id := range down {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Hostname != out[j].Hostname {
			return out[i].Hostname < out[j].Hostname
		}
		return out[i].IP < out[j].IP
	})
	return out
}

// normalizeSchedule lower-cases every hostname.
func normalizeSchedule(s mesos.MaintenanceSchedule) mesos.MaintenanceSchedule {
	out := mesos.MaintenanceSchedule{}
	for _, w := range s.Windows {
		nw := mesos.MaintenanceWindow{Unavailability: w.Unavailability}
		for _, id := range w.MachineIDs {
			nw.MachineIDs = append(nw.MachineIDs, id.Normalize())
		}
		out.Windows = append(out.Windows, nw)
	}
	return out
}

// updateMaintenanceSchedule is UPDATE_MAINTENANCE_SCHEDULE and POST
// /master/maintenance/schedule: validate, store, then apply. Machines that
// enter the schedule go DRAINING, machines that leave it go UP; agents
// whose unavailability changed have their offers and inverse offers
// rescinded so that new ones carry the new window.
func (op *operatorAPI) updateMaintenanceSchedule(s mesos.MaintenanceSchedule) error {
	if err := s.Validate(); err != nil {
		return badRequest("%s", err.Error())
	}
	s = normalizeSchedule(s)
	m := op.m
	op.regMu.Lock()
	defer op.regMu.Unlock()
	m.mu.Lock()
	m.maint.init()
	in := map[mesos.MachineID]bool{}
	for _, w := range s.Windows {
		for _, id := range w.MachineIDs {
			in[id] = true
		}
	}
	for _, id := range m.downList(m.maint.down) {
		if !in[id] {
			m.mu.Unlock()
			return badRequest("Machine '%s' is deactivated and cannot be removed from the schedule", id)
		}
	}
	rec := maintenanceRecord{Schedule: s, Down: m.downList(m.maint.down)}
	m.mu.Unlock()
	if err := op.persist(keyMaintenance, rec); err != nil {
		return err
	}

	m.mu.Lock()
	before := map[string]*mesos.Unavailability{}
	for id, a := range m.agents {
		before[id] = m.agentUnavailability(a)
	}
	m.maint.schedule = s
	for mid := range m.maint.statuses {
		if !in[mid] {
			delete(m.maint.statuses, mid)
		}
	}
	for id, a := range m.agents {
		if sameUnavailability(before[id], m.agentUnavailability(a)) {
			continue
		}
		m.rescindAgentOffers(a)
		m.rescindInverseOffers(func(io *inverseOffer) bool { return io.agent == id })
	}
	m.log.Info("maintenance schedule updated", "windows", len(s.Windows), "machines", len(in))
	m.mu.Unlock()
	m.requestAllocation()
	return nil
}

func sameUnavailability(a, b *mesos.Unavailability) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Start != b.Start || (a.Duration == nil) != (b.Duration == nil) {
		return false
	}
	return a.Duration == nil || *a.Duration == *b.Duration
}

// checkMachines validates a START/STOP_MAINTENANCE list against the
// current modes: every machine scheduled and in mode want. m.mu held.
func (m *Master) checkMachines(ids []mesos.MachineID, wantDown bool) error {
	if err := mesos.ValidateMachineList(ids); err != nil {
		return badRequest("%s", err.Error())
	}
	for _, id := range ids {
		n := id.Normalize()
		if !m.scheduled(n) {
			return badRequest("Machine '%s' is not part of a maintenance schedule", id)
		}
		if m.maint.down[n] != wantDown {
			if wantDown {
				return badRequest("Machine '%s' is not in DOWN mode and cannot be brought up", id)
			}
			return badRequest("Machine '%s' is not in DRAINING mode and cannot be brought down", id)
		}
	}
	return nil
}

// startMaintenance is START_MAINTENANCE and POST /master/machine/down: the
// machines go DOWN; their agents are told to shut down (killing their
// tasks) and are removed, their tasks reported TASK_LOST.
func (op *operatorAPI) startMaintenance(ids []mesos.MachineID) error {
	m := op.m
	op.regMu.Lock()
	defer op.regMu.Unlock()
	m.mu.Lock()
	m.maint.init()
	if err := m.checkMachines(ids, false); err != nil {
		m.mu.Unlock()
		return err
	}
	down := map[mesos.MachineID]bool{}
	for id := range m.maint.down {
		down[id] = true
	}
	for _, id := range ids {
		down[id.Normalize()] = true
	}
	rec := maintenanceRecord{Schedule: m.maint.schedule, Down: m.downList(down)}
	m.mu.Unlock()
	if err := op.persist(keyMaintenance, rec); err != nil {
		return err
	}

	m.mu.Lock()
	m.maint.down = down
	var removed []string
	for _, id := range sortedAgentIDs(m.agents) {
		a := m.agents[id]
		if _, isDown := m.downMachine(a.info.Hostname, a.ip); isDown {
			m.removeAgentForMaintenance(a)
			removed = append(removed, id)
		}
	}
	for _, id := range ids {
		delete(m.maint.statuses, id.Normalize())
	}
	m.log.Warn("maintenance started: machines down", "machines", len(ids), "agents_removed", len(removed))
	m.mu.Unlock()

	// The removed agents leave the registry; a failed delete only means
	// they are recovered (and must re-register) after a failover.
	for _, id := range removed {
		ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
		if err := m.cfg.Store.Delete(ctx, keyAgents+id, store.AnyVersion); err != nil && !errors.Is(err, store.ErrNotFound) {
			m.log.Warn("could not remove an agent of a DOWN machine from the registry", "agent", id, "err", err)
		}
		cancel()
	}
	return nil
}

// stopMaintenance is STOP_MAINTENANCE and POST /master/machine/up: the
// machines go UP and leave the schedule; their agents may register again.
func (op *operatorAPI) stopMaintenance(ids []mesos.MachineID) error {
	m := op.m
	op.regMu.Lock()
	defer op.regMu.Unlock()
	m.mu.Lock()
	m.maint.init()
	if err := m.checkMachines(ids, true); err != nil {
		m.mu.Unlock()
		return err
	}
	up := map[mesos.MachineID]bool{}
	for _, id := range ids {
		up[id.Normalize()] = true
	}
	var s mesos.MaintenanceSchedule
	for _, w := range m.maint.schedule.Windows {
		nw := mesos.MaintenanceWindow{Unavailability: w.Unavailability}
		for _, id := range w.MachineIDs {
			if !up[id] {
				nw.MachineIDs = append(nw.MachineIDs, id)
			}
		}
		if len(nw.MachineIDs) > 0 {
			s.Windows = append(s.Windows, nw)
		}
	}
	down := map[mesos.MachineID]bool{}
	for id := range m.maint.down {
		if !up[id] {
			down[id] = true
		}
	}
	rec := maintenanceRecord{Schedule: s, Down: m.downList(down)}
	m.mu.Unlock()
	if err := op.persist(keyMaintenance, rec); err != nil {
		return err
	}
	m.mu.Lock()
	m.maint.schedule, m.maint.down = s, down
	m.log.Info("maintenance stopped: machines up", "machines", len(ids))
	m.mu.Unlock()
	return nil
}

// removeAgentForMaintenance shuts an agent of a DOWN machine down: every
// framework's executors and tasks on it are killed, the agent is refused
// (its Run ends), and the master forgets it: tasks go TASK_LOST with
// REASON_SLAVE_REMOVED, frameworks get FAILURE. m.mu held.
func (m *Master) removeAgentForMaintenance(a *agent) {
	aid := mesos.AgentID{Value: a.id}
	if a.connected {
		for _, fid := range frameworksOn(a) {
			m.shutdownFrameworkOn(a, fid)
		}
		a.stream.Send(mesos.AgentEvent{Type: mesos.AgentEventError, Error: &struct {
			Message string `json:"message"`
		}{machineDownMessage}})
	}
	m.rescindAgentOffers(a)
	m.rescindInverseOffers(func(io *inverseOffer) bool { return io.agent == a.id })
	msg := "Agent " + a.id + " removed: " + machineDownMessage
	for k, t := range a.tasks {
		f := m.frameworks[k.fw]
		if f == nil || t.State.IsTerminal() {
			continue
		}
		m.releaseTask(t)
		t.State = mesos.TaskLost
		m.sendMasterUpdate(f, t.TaskID, &aid, mesos.TaskLost, mesos.ReasonAgentRemoved, msg)
		m.retireTask(f, t)
	}
	for _, f := range m.frameworks {
		if f.connected {
			f.stream.Send(mesos.Event{Type: mesos.EventFailure, Failure: &mesos.EventFailureBody{AgentID: &aid}})
		}
	}
	if a.stream != nil {
		a.stream.Close()
	}
	a.connected = false
	delete(m.agents, a.id)
	delete(m.admitted, a.id)
	m.metrics.inc("master/slave_removals")
	m.metrics.inc("master/slave_removals/reason_unregistered")
	m.log.Warn("agent removed: its machine is DOWN for maintenance", "agent", a.id, "hostname", a.info.Hostname)
	m.publishAgentRemoved(a.id)
}

func sortedAgentIDs(agents map[string]*agent) []string {
	ids := make([]string, 0, len(agents))
	for id := range agents {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// ---- v0 endpoints ----

// routeMaintenance registers Mesos' maintenance endpoints, under /master/
// and at the top level as Mesos' delegate serves them.
func (op *operatorAPI) routeMaintenance(r chi.Router) {
	m := op.m
	for _, prefix := range []string{"/master", ""} {
		r.Get(prefix+"/maintenance/schedule", m.serveV0(func() any { return m.maint.schedule }))
		r.Post(prefix+"/maintenance/schedule", func(w http.ResponseWriter, r *http.Request) {
			var s mesos.MaintenanceSchedule
			if !readV0Body(w, r, &s) {
				return
			}
			op.answerV0(w, op.updateMaintenanceSchedule(s))
		})
		r.Get(prefix+"/maintenance/status", m.serveV0(func() any { return m.maintenanceStatus() }))
		r.Post(prefix+"/machine/down", func(w http.ResponseWriter, r *http.Request) {
			var ids []mesos.MachineID
			if !readV0Body(w, r, &ids) {
				return
			}
			op.answerV0(w, op.startMaintenance(ids))
		})
		r.Post(prefix+"/machine/up", func(w http.ResponseWriter, r *http.Request) {
			var ids []mesos.MachineID
			if !readV0Body(w, r, &ids) {
				return
			}
			op.answerV0(w, op.stopMaintenance(ids))
		})
	}
}

// readV0Body decodes a v0 endpoint's JSON body; a 400 names the problem.
func readV0Body(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		textError(w, http.StatusBadRequest, "Failed to read request body: "+err.Error())
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		textError(w, http.StatusBadRequest, "Failed to parse JSON body: "+err.Error())
		return false
	}
	return true
}

// answerV0 answers a state-changing v0 call: 200, or the error's status.
func (op *operatorAPI) answerV0(w http.ResponseWriter, err error) {
	if err != nil {
		writeOpError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

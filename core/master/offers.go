package master

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/strata-sched/strata/core/allocator"
	"github.com/strata-sched/strata/core/mesos"
)

// allocate runs one allocation cycle and sends the resulting offers.
func (m *Master) allocate() {
	m.mu.Lock()
	defer m.mu.Unlock()
	snap := m.snapshot()
	if len(snap.Agents) == 0 || len(snap.Frameworks) == 0 {
		return
	}
	start := time.Now()
	res := allocator.Allocate(snap, m.cfg.Rand)
	m.metrics.observeAllocation(time.Since(start))
	byFw := map[string][]mesos.Offer{}
	for _, d := range res.Offers {
		f, a := m.frameworks[d.FrameworkID], m.agents[d.AgentID]
		if f == nil || a == nil {
			continue
		}
		o := &offer{id: m.ids.Offer().Value, fw: f.id, agent: a.id, role: d.Role, resources: d.Resources, created: m.now()}
		m.offers[o.id] = o
		f.offers[o.id] = o
		if a.offers == nil {
			a.offers = map[string]*offer{}
		}
		a.offers[o.id] = o
		a.available = a.available.Minus(d.Resources.Unallocated())
		byFw[f.id] = append(byFw[f.id], m.offerMessage(o, f, a))
	}
	for fid, offers := range byFw {
		f := m.frameworks[fid]
		m.metrics.add("master/messages_offers", float64(len(offers)))
		f.stream.Send(mesos.Event{Type: mesos.EventOffers, Offers: &mesos.EventOffersBody{Offers: offers}})
	}
	m.sendInverseOffers()
}

// snapshot builds the allocator's input from the master's state.
func (m *Master) snapshot() *allocator.Snapshot {
	s := &allocator.Snapshot{
		Now:            m.now(),
		Weights:        m.weights,
		Quotas:         m.quotas,
		Filters:        m.filters,
		MinAllocatable: m.cfg.MinAllocatable,
	}
	ids := make([]string, 0, len(m.agents))
	for id := range m.agents {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := m.agents[id]
		if !a.connected || !a.active {
			continue
		}
		s.Agents = append(s.Agents, allocator.Agent{
			ID: a.id, Hostname: a.info.Hostname, Total: a.total, Available: a.available,
			Active: true, GPU: a.total.Scalar("gpus") > 0,
		})
	}
	fids := make([]string, 0, len(m.frameworks))
	for id := range m.frameworks {
		fids = append(fids, id)
	}
	sort.Strings(fids)
	for _, id := range fids {
		f := m.frameworks[id]
		if !f.active || !f.connected {
			continue
		}
		s.Frameworks = append(s.Frameworks, allocator.Framework{
			ID: f.id, Roles: f.info.EffectiveRoles(), Suppressed: f.suppressed, Active: true,
			GPUAware: f.info.HasCapability(mesos.CapGPUResources), Allocated: m.frameworkAllocation(f),
		})
	}
	return s
}

// frameworkAllocation is what f holds per role: its tasks' and its offers' resources.
func (m *Master) frameworkAllocation(f *framework) map[string]mesos.Resources {
	out := map[string]mesos.Resources{}
	for _, t := range f.tasks {
		if !t.State.IsTerminal() {
			out[t.role] = out[t.role].Accumulate(t.Resources)
		}
	}
	for _, o := range f.offers {
		out[o.role] = out[o.role].Accumulate(o.resources)
	}
	return out
}

// offerMessage renders an offer for framework f.
func (m *Master) offerMessage(o *offer, f *framework, a *agent) mesos.Offer {
	res := o.resources
	if !f.info.HasCapability(mesos.CapReservationRefinement) {
		res = res.PreRefinement()
	}
	msg := mesos.Offer{
		ID:             mesos.OfferID{Value: o.id},
		FrameworkID:    mesos.FrameworkID{Value: f.id},
		AgentID:        mesos.AgentID{Value: a.id},
		Hostname:       a.info.Hostname,
		Resources:      res,
		Attributes:     a.info.Attributes,
		AllocationInfo: &mesos.AllocationInfo{Role: o.role},
		URL:            &mesos.URL{Scheme: "http", Address: mesos.Address{Hostname: a.info.Hostname, IP: a.info.Hostname, Port: a.info.Port}, Path: "/slave(1)"},
	}
	for eid := range a.executors[f.id] {
		msg.ExecutorIDs = append(msg.ExecutorIDs, mesos.ExecutorID{Value: eid})
	}
	msg.Unavailability = m.agentUnavailability(a)
	return msg
}

// removeOffer forgets an offer and returns its resources to the agent.
func (m *Master) removeOffer(o *offer) {
	delete(m.offers, o.id)
	if f := m.frameworks[o.fw]; f != nil {
		delete(f.offers, o.id)
	}
	if a := m.agents[o.agent]; a != nil {
		delete(a.offers, o.id)
		a.available = a.available.Plus(o.resources.Unallocated())
	}
}

// rescindAgentOffers rescinds every outstanding offer of a's resources.
func (m *Master) rescindAgentOffers(a *agent) {
	for _, o := range a.offers {
		m.rescindOffer(o, false)
	}
}

// rescindOffer removes an offer and tells its framework (RESCIND).
func (m *Master) rescindOffer(o *offer, timeout bool) {
	m.removeOffer(o)
	if f := m.frameworks[o.fw]; f != nil && f.connected {
		f.stream.Send(mesos.Event{Type: mesos.EventRescind, Rescind: &mesos.EventRescindBody{OfferID: mesos.OfferID{Value: o.id}}})
	}
	m.metrics.inc("master/offers_rescinded")
	if timeout {
		// A timed-out offer is not re-offered to the same framework for a moment.
		m.addFilter(o.fw, o.role, o.agent, o.resources.Unallocated(), 1)
	}
}

func (m *Master) addFilter(fw, role, agentID string, res mesos.Resources, seconds float64) {
	if seconds <= 0 || len(res) == 0 {
		return
	}
	m.filters = append(m.filters, allocator.Filter{
		FrameworkID: fw, Role: role, AgentID: agentID, Resources: res,
		Expires: m.now().Add(time.Duration(seconds * float64(time.Second))),
	})
}

func (m *Master) decline(f *framework, ids []mesos.OfferID, filters *mesos.Filters) {
	for _, id := range ids {
		o := f.offers[id.Value]
		if o == nil {
			continue // unknown or already used offers are ignored, as Mesos does
		}
		m.removeOffer(o)
		m.addFilter(f.id, o.role, o.agent, o.resources.Unallocated(), filters.Refuse())
		m.metrics.inc("master/messages_decline_offers")
	}
}

// accept handles ACCEPT: validate the offers, apply each operation in order
// and return the unused remainder to the agent behind a refusal filter.
func (m *Master) accept(f *framework, body *mesos.CallAcceptBody) {
	m.metrics.inc("master/messages_accept_offers")
	var (
		offers  []*offer
		invalid string
	)
	if len(body.OfferIDs) == 0 {
		invalid = "No offers specified"
	}
	seen := map[string]bool{}
	for _, id := range body.OfferIDs {
		o := f.offers[id.Value]
		switch {
		case seen[id.Value]:
			invalid = fmt.Sprintf("Duplicate offer %s in ACCEPT", id.Value)
		case o == nil:
			invalid = fmt.Sprintf("Offer %s is no longer valid", id.Value)
		case len(offers) > 0 && offers[0].agent != o.agent:
			invalid = fmt.Sprintf("Aggregated offers must belong to one single agent; offer %s is on %s, not %s", id.Value, o.agent, offers[0].agent)
		case len(offers) > 0 && offers[0].role != o.role:
			invalid = fmt.Sprintf("Aggregated offers must be allocated to the same role; offer %s is for %s", id.Value, o.role)
		}
		seen[id.Value] = true
		if o != nil {
			offers = append(offers, o)
		}
	}
	// Used offers are gone whether or not the ACCEPT is valid.
	for _, o := range offers {
		m.removeOffer(o)
	}
	if invalid != "" {
		m.log.Info("invalid ACCEPT", "framework", f.id, "reason", invalid)
		m.dropLaunches(f, body.Operations, invalid)
		m.metrics.inc("master/invalid_operations")
		return
	}
	a := m.agents[offers[0].agent]
	role := offers[0].role
	var remaining mesos.Resources
	for _, o := range offers {
		remaining = remaining.Plus(o.resources)
	}
	for i := range body.Operations {
		op := &body.Operations[i]
		switch op.Type {
		case mesos.OpLaunch:
			if op.Launch == nil {
				continue
			}
			for _, ti := range op.Launch.TaskInfos {
				remaining = m.launch(f, a, role, remaining, ti)
			}
		case mesos.OpLaunchGroup:
			if op.LaunchGroup == nil {
				continue
			}
			remaining = m.launchGroup(f, a, role, remaining, op.LaunchGroup.Executor, op.LaunchGroup.TaskGroup)
		case mesos.OpReserve:
			if op.Reserve != nil {
				remaining = m.reserve(f, a, role, remaining, op.Reserve.Resources)
			}
		case mesos.OpUnreserve:
			if op.Unreserve != nil {
				remaining = m.unreserve(f, a, role, remaining, op.Unreserve.Resources)
			}
		default:
			m.log.Info("unsupported offer operation", "framework", f.id, "type", op.Type)
			m.metrics.inc("master/invalid_operations")
		}
	}
	// Return the unused resources, filtered for refuse_seconds.
	m.addFilter(f.id, role, a.id, remaining.Unallocated(), body.Filters.Refuse())
}

// dropLaunches answers every task of an invalid ACCEPT with TASK_DROPPED
// (partition-aware frameworks) or TASK_LOST, reason REASON_INVALID_OFFERS.
func (m *Master) dropLaunches(f *framework, ops []mesos.Operation, msg string) {
	state := mesos.TaskLost
	if f.info.HasCapability(mesos.CapPartitionAware) {
		state = mesos.TaskDropped
	}
	for _, op := range ops {
		var tasks []mesos.TaskInfo
		if op.Launch != nil {
			tasks = op.Launch.TaskInfos
		}
		if op.LaunchGroup != nil {
			tasks = op.LaunchGroup.TaskGroup.Tasks
		}
		for _, ti := range tasks {
			m.sendMasterUpdate(f, ti.TaskID, &ti.AgentID, state, mesos.ReasonInvalidOffers, msg)
		}
	}
}

// injectAllocation sets allocation_info.role on resources that lack it.
func injectAllocation(rs mesos.Resources, role string) mesos.Resources {
	out := rs.Normalize()
	for i := range out {
		if out[i].AllocationInfo == nil {
			out[i].AllocationInfo = &mesos.AllocationInfo{Role: role}
		}
	}
	return out
}

// validateTask checks one TaskInfo against the framework and what is left of
// the offer; the error text goes into the TASK_ERROR message.
func (m *Master) validateTask(f *framework, a *agent, ti *mesos.TaskInfo, res mesos.Resources, remaining mesos.Resources) error {
	if err := mesos.ValidateID(ti.TaskID.Value); err != nil {
		return fmt.Errorf("Task ID '%s' is invalid: %w", ti.TaskID.Value, err)
	}
	if t := f.tasks[ti.TaskID.Value]; t != nil {
		return fmt.Errorf("Task has duplicate ID: %s", ti.TaskID.Value)
	}
	if ti.AgentID.Value != a.id {
		return fmt.Errorf("Task uses agent %s which is not the agent %s of the offer", ti.AgentID.Value, a.id)
	}
	if (ti.Command == nil) == (ti.Executor == nil) {
		return fmt.Errorf("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
	}
	if ti.Executor != nil {
		if err := mesos.ValidateID(ti.Executor.ExecutorID.Value); err != nil {
			return fmt.Errorf("Executor ID '%s' is invalid: %w", ti.Executor.ExecutorID.Value, err)
		}
		if ti.Executor.FrameworkID != nil && ti.Executor.FrameworkID.Value != f.id {
			return fmt.Errorf("ExecutorInfo has an invalid FrameworkID (Actual: %s vs Expected: %s)", ti.Executor.FrameworkID.Value, f.id)
		}
	}
	if err := res.Validate(); err != nil {
		return fmt.Errorf("Task uses invalid resources: %w", err)
	}
	if len(res) == 0 {
		return fmt.Errorf("Task uses no resources")
	}
	if res.Scalar("cpus") <= 0 && res.Scalar("mem") <= 0 {
		return fmt.Errorf("Task uses neither cpus nor mem; at least one is required")
	}
	if !remaining.Contains(res) {
		return fmt.Errorf("Task uses more resources %s than available %s", res, remaining)
	}
	return nil
}

// launch validates and launches one task, returning what is left of the offer.
func (m *Master) launch(f *framework, a *agent, role string, remaining mesos.Resources, ti mesos.TaskInfo) mesos.Resources {
	res := injectAllocation(ti.Resources, role)
	var execRes mesos.Resources
	newExecutor := false
	if ti.Executor != nil {
		if _, ok := a.executors[f.id][ti.Executor.ExecutorID.Value]; !ok {
			newExecutor = true
			execRes = injectAllocation(ti.Executor.Resources, role)
		}
	}
	if err := m.validateTask(f, a, &ti, res, remaining.Minus(execRes)); err != nil {
		m.log.Info("invalid task", "framework", f.id, "task", ti.TaskID.Value, "err", err)
		m.metrics.inc("master/invalid_operations")
		m.sendMasterUpdate(f, ti.TaskID, &ti.AgentID, mesos.TaskError, mesos.ReasonTaskInvalid, err.Error())
		return remaining
	}
	if newExecutor && !remaining.Contains(res.Plus(execRes)) {
		m.sendMasterUpdate(f, ti.TaskID, &ti.AgentID, mesos.TaskError, mesos.ReasonTaskInvalid,
			fmt.Sprintf("Task and its executor use more resources %s than available %s", res.Plus(execRes), remaining))
		return remaining
	}
	ti.Resources = res
	if ti.Executor != nil {
		fid := mesos.FrameworkID{Value: f.id}
		ti.Executor.FrameworkID = &fid
		ti.Executor.Resources = injectAllocation(ti.Executor.Resources, role)
		if newExecutor {
			if a.executors[f.id] == nil {
				a.executors[f.id] = map[string]mesos.ExecutorInfo{}
			}
			a.executors[f.id][ti.Executor.ExecutorID.Value] = *ti.Executor
			a.available = a.available.Minus(execRes.Unallocated())
		}
	}
	m.addTask(f, a, role, &ti)
	remaining = remaining.Minus(res).Minus(execRes)
	ev := mesos.AgentEvent{Type: mesos.AgentEventRunTask}
	ev.RunTask = &struct {
		FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
		Task          mesos.TaskInfo      `json:"task"`
	}{f.info, ti}
	a.stream.Send(ev)
	m.metrics.inc("master/messages_launch_tasks")
	return remaining
}

// addTask records a new STAGING task and charges its resources to the agent.
func (m *Master) addTask(f *framework, a *agent, role string, ti *mesos.TaskInfo) *task {
	now := m.now()
	t := &task{role: role, launched: now}
	t.Task = mesos.Task{
		Name: ti.Name, TaskID: ti.TaskID, FrameworkID: mesos.FrameworkID{Value: f.id},
		AgentID: mesos.AgentID{Value: a.id}, State: mesos.TaskStaging, Resources: ti.Resources,
		Labels: ti.Labels, Discovery: ti.Discovery, Container: ti.Container, HealthCheck: ti.HealthCheck,
		KillPolicy: ti.KillPolicy, User: f.info.User,
	}
	if ti.Executor != nil {
		eid := ti.Executor.ExecutorID
		t.ExecutorID = &eid
	} else if ti.Command != nil && ti.Command.User != nil {
		t.User = *ti.Command.User
	}
	t.Statuses = []mesos.TaskStatus{{TaskID: ti.TaskID, State: mesos.TaskStaging, Timestamp: timestamp(now)}}
	f.tasks[t.TaskID.Value] = t
	a.tasks[taskKey{f.id, t.TaskID.Value}] = t
	a.available = a.available.Minus(ti.Resources.Unallocated())
	m.publishTaskAdded(t)
	return t
}

// launchGroup validates and launches a task group (all or nothing).
func (m *Master) launchGroup(f *framework, a *agent, role string, remaining mesos.Resources, exec mesos.ExecutorInfo, group mesos.TaskGroupInfo) mesos.Resources {
	fail := func(msg string) mesos.Resources {
		for _, ti := range group.Tasks {
			m.sendMasterUpdate(f, ti.TaskID, &ti.AgentID, mesos.TaskError, mesos.ReasonTaskGroupInvalid, msg)
		}
		m.metrics.inc("master/invalid_operations")
		return remaining
	}
	if len(group.Tasks) == 0 {
		return remaining
	}
	if exec.Type != "" && exec.Type != "DEFAULT" {
		return fail("LAUNCH_GROUP requires an executor of type DEFAULT")
	}
	if err := mesos.ValidateID(exec.ExecutorID.Value); err != nil {
		return fail(fmt.Sprintf("Executor ID '%s' is invalid: %v", exec.ExecutorID.Value, err))
	}
	exec.Type = "DEFAULT"
	fid := mesos.FrameworkID{Value: f.id}
	exec.FrameworkID = &fid
	exec.Resources = injectAllocation(exec.Resources, role)
	need := mesos.Resources(nil)
	_, known := a.executors[f.id][exec.ExecutorID.Value]
	if !known {
		need = need.Plus(exec.Resources)
	}
	ids := map[string]bool{}
	for i := range group.Tasks {
		ti := &group.Tasks[i]
		if ti.Command == nil {
			return fail(fmt.Sprintf("Task '%s' in a task group must have a CommandInfo", ti.TaskID.Value))
		}
		if ti.Executor != nil {
			return fail(fmt.Sprintf("Task '%s' in a task group must not have an ExecutorInfo", ti.TaskID.Value))
		}
		if ids[ti.TaskID.Value] {
			return fail(fmt.Sprintf("Duplicate task ID '%s' in task group", ti.TaskID.Value))
		}
		ids[ti.TaskID.Value] = true
		ti.Resources = injectAllocation(ti.Resources, role)
		probe := *ti
		probe.Command = &mesos.CommandInfo{}
		if err := m.validateTask(f, a, &probe, ti.Resources, remaining.Minus(need)); err != nil {
			return fail(err.Error())
		}
		need = need.Plus(ti.Resources)
	}
	if !remaining.Contains(need) {
		return fail(fmt.Sprintf("Task group uses more resources %s than available %s", need, remaining))
	}
	if !known {
		if a.executors[f.id] == nil {
			a.executors[f.id] = map[string]mesos.ExecutorInfo{}
		}
		a.executors[f.id][exec.ExecutorID.Value] = exec
		a.available = a.available.Minus(exec.Resources.Unallocated())
	}
	for i := range group.Tasks {
		ti := &group.Tasks[i]
		eid := exec.ExecutorID
		t := m.addTask(f, a, role, ti)
		t.ExecutorID = &eid
	}
	ev := mesos.AgentEvent{Type: mesos.AgentEventRunTaskGroup}
	ev.RunTaskGroup = &struct {
		FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
		Executor      mesos.ExecutorInfo  `json:"executor"`
		TaskGroup     mesos.TaskGroupInfo `json:"task_group"`
	}{f.info, exec, group}
	a.stream.Send(ev)
	m.metrics.inc("master/messages_launch_tasks")
	return remaining.Minus(need)
}

// reserve turns unreserved resources of the offer into resources reserved
// for the offer's role (dynamic reservation) and checkpoints the agent.
func (m *Master) reserve(f *framework, a *agent, role string, remaining, want mesos.Resources) mesos.Resources {
	var from, to mesos.Resources
	for _, r := range want.Normalize() {
		top := r.ReservationRole()
		if top != role || len(r.Reservations) == 0 {
			m.log.Info("invalid RESERVE: reservation role must be the offer's role", "framework", f.id, "role", top, "offer_role", role)
			m.metrics.inc("master/invalid_operations")
			return remaining
		}
		r.Reservations[len(r.Reservations)-1].Type = "DYNAMIC"
		if r.Reservations[len(r.Reservations)-1].Principal == "" {
			r.Reservations[len(r.Reservations)-1].Principal = f.info.Principal
		}
		src := r
		src.Reservations = r.Reservations[:len(r.Reservations)-1]
		from = from.Plus(mesos.Resources{src})
		to = to.Plus(mesos.Resources{r})
	}
	from, to = injectAllocation(from, role), injectAllocation(to, role)
	if !remaining.Contains(from) {
		m.log.Info("invalid RESERVE: resources not in offer", "framework", f.id, "want", from.String())
		m.metrics.inc("master/invalid_operations")
		return remaining
	}
	m.applyReservation(a, from.Unallocated(), to.Unallocated())
	return remaining.Minus(from).Plus(to)
}

func (m *Master) unreserve(f *framework, a *agent, role string, remaining, want mesos.Resources) mesos.Resources {
	var from, to mesos.Resources
	for _, r := range want.Normalize() {
		if len(r.Reservations) == 0 || r.Reservations[len(r.Reservations)-1].Type != "DYNAMIC" {
			m.log.Info("invalid UNRESERVE: only dynamically reserved resources can be unreserved", "framework", f.id)
			m.metrics.inc("master/invalid_operations")
			return remaining
		}
		dst := r
		dst.Reservations = slices.Clone(r.Reservations[:len(r.Reservations)-1])
		from = from.Plus(mesos.Resources{r})
		to = to.Plus(mesos.Resources{dst})
	}
	from, to = injectAllocation(from, role), injectAllocation(to, role)
	if !remaining.Contains(from) {
		m.log.Info("invalid UNRESERVE: resources not in offer", "framework", f.id, "want", from.String())
		m.metrics.inc("master/invalid_operations")
		return remaining
	}
	m.applyReservation(a, from.Unallocated(), to.Unallocated())
	return remaining.Minus(from).Plus(to)
}

// applyReservation converts from into to in the agent's total and tells the
// agent to checkpoint its new total.
func (m *Master) applyReservation(a *agent, from, to mesos.Resources) {
	a.total = a.total.Minus(from).Plus(to)
	a.available = a.available.Minus(from).Plus(to)
	a.info.Resources = a.total
	ev := mesos.AgentEvent{Type: mesos.AgentEventCheckpointRes}
	ev.CheckpointResources = &struct {
		Resources mesos.Resources `json:"resources"`
	}{a.total}
	a.stream.Send(ev)
}

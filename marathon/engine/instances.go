package engine

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/deploy"
	"github.com/strata-sched/strata/marathon/health"
	"github.com/strata-sched/strata/marathon/sched"
	"github.com/strata-sched/strata/marathon/state"
)

func (in *inst) resetHealth() {
	in.health = make([]health.Status, len(in.def.HealthChecks))
	copy(in.health, in.Health) // results stored before a restart
}

func (e *Engine) addInst(in *inst) {
	e.tasks[in.TaskID] = in
	m := e.byAppT[in.AppID]
	if m == nil {
		m = map[string]*inst{}
		e.byAppT[in.AppID] = m
	}
	m[in.TaskID] = in
}

func (e *Engine) removeInst(in *inst) {
	delete(e.tasks, in.TaskID)
	if m := e.byAppT[in.AppID]; m != nil {
		delete(m, in.TaskID)
		if len(m) == 0 {
			delete(e.byAppT, in.AppID)
		}
	}
}

// instancesOf returns the app's instances (any state), in no order.
func (e *Engine) instancesOf(appID string) []*inst {
	m := e.byAppT[appID]
	out := make([]*inst, 0, len(m))
	for _, in := range m {
		out = append(out, in)
	}
	return out
}

// sortedInstancesOf is instancesOf sorted by task id (for answers).
func (e *Engine) sortedInstancesOf(appID string) []*inst {
	out := e.instancesOf(appID)
	sort.Slice(out, func(i, j int) bool { return out[i].TaskID < out[j].TaskID })
	return out
}

// tasksByApp groups every instance by app id, in no order.
func (e *Engine) tasksByApp() map[string][]*inst {
	out := make(map[string][]*inst, len(e.byAppT))
	for id := range e.byAppT {
		out[id] = e.instancesOf(id)
	}
	return out
}

// active reports whether the instance counts toward the app's instances.
func (e *Engine) active(in *inst, now time.Time) bool {
	if in.Terminal() || in.Goal != state.GoalRunning {
		return false
	}
	if in.State == mesos.TaskUnreachable && !in.UnreachableSince.IsZero() {
		us := in.def.UnreachableStrategy
		if us != nil && !us.Disabled && now.Sub(in.UnreachableSince) >= time.Duration(us.InactiveAfterSeconds)*time.Second {
			return false
		}
	}
	return true
}

// healthy reports whether a running instance passes all its health checks
// (Marathon-level ones alive, the agent's check healthy).
func (e *Engine) healthy(in *inst) bool {
	if !in.Running() || in.Goal != state.GoalRunning {
		return false
	}
	for i, hc := range in.def.HealthChecks {
		if sched.IsMarathonCheck(hc) {
			if i >= len(in.health) || !in.health[i].Alive() {
				return false
			}
		} else if in.Healthy == nil || !*in.Healthy {
			return false
		}
	}
	return true
}

// ready is healthy plus a passed readiness check, if the app has one:
// what a deployment waits for.
func (e *Engine) ready(in *inst) bool {
	if !e.healthy(in) {
		return false
	}
	if len(in.def.ReadinessChecks) > 0 && (in.ready == nil || !in.ready.Ready) {
		return false
	}
	return true
}

func (e *Engine) candidate(in *inst) deploy.Candidate {
	return deploy.Candidate{TaskID: in.TaskID, StagedAt: in.StagedAt, Running: in.Running(), Healthy: e.healthy(in)}
}

// request is one app's launch demand.
type request struct {
	app     *app.App
	rt      *appRT
	count   int
	held    bool          // an earlier step of its deployment runs first
	blocked time.Duration // backoff time left
	placed  []app.Placement
}

// Count is the demand (for callers that only want the number).
func (r request) Count() int { return r.count }

// requests computes the launch demand of every app, oldest waiting first.
// Apps without demand are omitted unless all is set.
func (e *Engine) requests(now time.Time, all bool) []request {
	byApp := e.tasksByApp()
	var out []request
	e.root.WalkApps(func(a *app.App) bool {
		rt := e.rt(a.ID)
		r := request{app: a, rt: rt}
		insts := byApp[a.ID]
		d := e.byApp[a.ID]
		step, action := -1, deploy.ActionType("")
		if d != nil {
			step, action = d.plan.StepOf(a.ID)
		}
		activeN := 0
		for _, in := range insts {
			if e.active(in, now) {
				activeN++
				r.placed = append(r.placed, in.Placement())
			}
		}
		switch {
		case d != nil && (step > d.plan.Current || (step == d.plan.Current && !d.stepStarted)):
			r.held = true
		case d != nil && step == d.plan.Current && action == deploy.RestartApplication:
			r.count = deploy.DecideRestart(e.restartView(a, d, insts)).Launch
		default:
			r.count = a.NumInstances() - activeN
		}
		if r.count < 0 {
			r.count = 0
		}
		if r.count > 0 {
			if rt.waitingSince.IsZero() {
				rt.waitingSince = now
				rt.offers.startAttempt()
			}
			if blocked, left := rt.backoff.Blocked(now); blocked {
				r.blocked = left
			}
		} else {
			rt.waitingSince = time.Time{}
		}
		if r.count > 0 || all {
			out = append(out, r)
		}
		return true
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].rt.waitingSince.Before(out[j].rt.waitingSince) })
	return out
}

// restartView gathers what DecideRestart needs for app a.
func (e *Engine) restartView(a *app.App, d *deployRT, insts []*inst) deploy.RestartView {
	v := deploy.RestartView{N: a.NumInstances(), Strategy: d.strategies[a.ID]}
	for _, in := range insts {
		if in.Terminal() {
			continue
		}
		if in.Version == a.Version {
			if in.Goal == state.GoalRunning {
				v.NewStarted++
				if e.ready(in) {
					v.NewReady++
				}
			}
			continue
		}
		v.OldAlive++
		if in.Goal == state.GoalRunning {
			v.OldRunning = append(v.OldRunning, e.candidate(in))
		}
	}
	return v
}

// requestKill sets an instance's goal to Killed; the loop sends the kill.
func (e *Engine) requestKill(ctx context.Context, in *inst, reason string, now time.Time) {
	if in.Goal == state.GoalKilled {
		return
	}
	in.Goal, in.Reason, in.KillAt = state.GoalKilled, reason, now
	if err := e.repo.PutInstance(ctx, in.Instance); err != nil {
		e.log.Error("cannot store kill decision; killing anyway", "task", in.TaskID, "err", err)
	}
	e.kick()
}

// Offers matches offers against the demand, stores the new instances and
// launches them; unused offers are declined.
func (e *Engine) Offers(ctx context.Context, d Driver, offers []mesos.Offer) {
	type launch struct {
		offer *mesos.Offer
		infos []mesos.TaskInfo
		insts []string
	}
	e.mu.Lock()
	if !e.leading {
		e.mu.Unlock()
		e.declineAll(ctx, d, offers, 5*time.Second)
		return
	}
	now := e.cfg.Now()
	all := e.requests(now, false)
	var reqs []request
	anyDemand := false
	for _, r := range all {
		anyDemand = anyDemand || r.count > 0
		if r.count > 0 && !r.held && r.blocked == 0 {
			reqs = append(reqs, r)
		}
	}
	sreqs := make([]sched.Request, len(reqs))
	for i, r := range reqs {
		sreqs[i] = sched.Request{App: r.app, Constraints: e.constraints(r.app, r.rt), Count: r.count, Placed: r.placed}
	}
	var launches []launch
	var declines []mesos.OfferID
	for i := range offers {
		o := &offers[i]
		e.metrics.OffersProcessed++
		var res sched.Result
		if !e.cfg.DisableMaintenanceMode && sched.InMaintenance(o, now, e.cfg.DrainingTime) {
			res = sched.MaintenanceResult(sreqs)
		} else {
			res = sched.MatchOffer(o, sreqs, e.cfg.MaxInstancesPerOffer, app.NewTaskID)
		}
		used := map[int]bool{}
		for _, l := range res.Launches {
			used[l.Request] = true
		}
		for k := range sreqs {
			if sreqs[k].Count <= 0 {
				continue
			}
			reqs[k].rt.offers.record(o, used[k], res.Reasons[k], now)
		}
		var lc launch
		lc.offer = o
		place := sched.OfferPlacement(o)
		for _, l := range res.Launches {
			r := &sreqs[l.Request]
			a := r.App
			in := &inst{def: a, Instance: state.Instance{
				TaskID: l.TaskID, AppID: a.ID, Version: a.Version, AgentID: o.AgentID.Value, Host: o.Hostname,
				Attributes: place.Attributes, Ports: l.HostPorts, Role: roleOf(a), Goal: state.GoalRunning, StagedAt: now,
			}}
			if dom := o.Domain; dom != nil && dom.FaultDomain != nil {
				in.Region, in.Zone = dom.FaultDomain.Region.Name, dom.FaultDomain.Zone.Name
			}
			if err := e.repo.PutInstance(ctx, in.Instance); err != nil {
				e.log.Error("cannot store new instance; not launching it", "app", a.ID, "err", err)
				continue
			}
			in.resetHealth()
			e.addInst(in)
			r.Count--
			r.Placed = append(r.Placed, place)
			lc.infos = append(lc.infos, sched.BuildTask(a, o, l))
			lc.insts = append(lc.insts, in.TaskID)
			e.metrics.TasksLaunched++
		}
		if len(lc.infos) > 0 {
			launches = append(launches, lc)
		} else {
			declines = append(declines, o.ID)
		}
	}
	left := false
	for _, r := range sreqs {
		left = left || r.Count > 0
	}
	refuse := time.Second
	if !anyDemand {
		refuse = e.cfg.DeclineRefuse
		e.declinedFor = true
	}
	e.mu.Unlock()

	for _, l := range launches {
		f := refuseFilter(time.Second)
		if !left && !anyDemand {
			f = refuseFilter(refuse)
		}
		if err := d.Accept(ctx, []mesos.OfferID{l.offer.ID}, []mesos.Operation{launchOp(l.infos)}, f); err != nil {
			e.log.Warn("launch failed; the instances are dropped", "offer", l.offer.ID.Value, "tasks", len(l.infos), "err", err)
			e.dropLaunch(ctx, l.insts)
		}
	}
	if len(declines) > 0 {
		e.mu.Lock()
		e.metrics.OffersDeclined += uint64(len(declines))
		e.mu.Unlock()
		if err := d.Decline(ctx, declines, refuseFilter(refuse)); err != nil {
			e.log.Debug("decline failed", "err", err)
		}
	}
}

func (e *Engine) declineAll(ctx context.Context, d Driver, offers []mesos.Offer, refuse time.Duration) {
	ids := make([]mesos.OfferID, len(offers))
	for i, o := range offers {
		ids[i] = o.ID
	}
	if len(ids) > 0 {
		_ = d.Decline(ctx, ids, refuseFilter(refuse))
	}
}

// dropLaunch forgets instances whose launch call failed.
func (e *Engine) dropLaunch(ctx context.Context, taskIDs []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range taskIDs {
		in, ok := e.tasks[id]
		if !ok || in.State != "" {
			continue // the master answered already
		}
		e.removeInst(in)
		if err := e.repo.DeleteInstance(ctx, id); err != nil {
			e.log.Warn("cannot delete dropped instance", "task", id, "err", err)
		}
	}
	e.kick()
}

func (e *Engine) constraints(a *app.App, rt *appRT) []app.Constraint {
	if rt.csFor != a.ID+"@"+a.Version {
		cs, err := app.ParseConstraints(a.Constraints)
		if err != nil {
			e.log.Warn("app has invalid constraints; ignoring them", "app", a.ID, "err", err)
		}
		rt.cs, rt.csFor = cs, a.ID+"@"+a.Version
	}
	return rt.cs
}

func roleOf(a *app.App) string {
	if a.Role == "" {
		return "*"
	}
	return a.Role
}

func refuseFilter(d time.Duration) *mesos.Filters {
	v := mesos.Double(d.Seconds())
	return &mesos.Filters{RefuseSeconds: &v}
}

func launchOp(infos []mesos.TaskInfo) mesos.Operation {
	op := mesos.Operation{Type: mesos.OpLaunch}
	op.Launch = &struct {
		TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
	}{TaskInfos: infos}
	return op
}

// Update applies a task status update.
func (e *Engine) Update(ctx context.Context, d Driver, st mesos.TaskStatus) {
	var orphan *killCall
	e.mu.Lock()
	if !e.leading {
		e.mu.Unlock()
		return
	}
	e.metrics.StatusUpdates++
	now := e.cfg.Now()
	in, ok := e.tasks[st.TaskID.Value]
	if !ok {
		if !st.State.IsTerminal() {
			appID, _ := app.AppIDFromTaskID(st.TaskID.Value)
			e.log.Warn("killing a task Marathon does not know", "task", st.TaskID.Value, "state", st.State)
			orphan = &killCall{taskID: st.TaskID.Value, agentID: st.AgentID}
			e.bus.Publish("unknown_instance_terminated_event", map[string]any{
				"instanceId": state.InstanceIDOf(st.TaskID.Value), "runSpecId": appID, "condition": "Unknown"})
		}
		e.mu.Unlock()
		if orphan != nil {
			_ = d.Kill(ctx, mesos.TaskID{Value: orphan.taskID}, orphan.agentID, nil)
		}
		return
	}
	e.applyStatus(ctx, in, st, now)
	e.mu.Unlock()
	e.kick()
}

func (e *Engine) applyStatus(ctx context.Context, in *inst, st mesos.TaskStatus, now time.Time) {
	prevCond := in.Condition()
	prevState := in.State
	wasHealthy := e.healthy(in)
	in.State = st.State
	persist := false
	if st.AgentID != nil && in.AgentID == "" {
		in.AgentID, persist = st.AgentID.Value, true
	}
	if st.Healthy != nil {
		h := *st.Healthy
		in.Healthy = &h
	}
	if cs := st.ContainerStatus; cs != nil {
		var ips []app.IPAddr
		for _, ni := range cs.NetworkInfos {
			for _, ip := range ni.IPAddresses {
				proto := "IPv4"
				if ip.Protocol == "IPv6" || strings.Contains(ip.IPAddress, ":") {
					proto = "IPv6"
				}
				ips = append(ips, app.IPAddr{IPAddress: ip.IPAddress, Protocol: proto})
			}
		}
		if len(ips) > 0 {
			in.IPAddresses = ips
		}
	}
	switch {
	case st.State == mesos.TaskRunning && in.StartedAt.IsZero():
		in.StartedAt, persist = now, true
	case st.State == mesos.TaskUnreachable && in.UnreachableSince.IsZero():
		in.UnreachableSince, persist = now, true
	case st.State != mesos.TaskUnreachable && !in.UnreachableSince.IsZero():
		in.UnreachableSince, persist = time.Time{}, true
	}
	if prevState == mesos.TaskRunning && st.State != mesos.TaskRunning {
		in.ready = nil
	}
	e.publishStatus(in, st)
	if in.Condition() != prevCond {
		e.bus.Publish("instance_changed_event", map[string]any{
			"instanceId": in.InstanceID(), "condition": in.Condition(), "runSpecId": in.AppID, "agentId": in.AgentID,
			"host": in.Host, "runSpecVersion": in.Version})
	}
	if now := e.healthy(in); now != wasHealthy && !st.State.IsTerminal() {
		e.publishHealthChange(in, now)
	}
	if st.State.IsTerminal() {
		e.terminated(ctx, in, st, now)
		return
	}
	if persist {
		if err := e.repo.PutInstance(ctx, in.Instance); err != nil {
			e.log.Warn("cannot store instance update", "task", in.TaskID, "err", err)
		}
	}
}

func (e *Engine) publishStatus(in *inst, st mesos.TaskStatus) {
	ips := in.IPAddresses
	if ips == nil {
		ips = []app.IPAddr{}
	}
	agent := in.AgentID
	if st.AgentID != nil {
		agent = st.AgentID.Value
	}
	e.bus.Publish("status_update_event", map[string]any{
		"slaveId": agent, "taskId": in.TaskID, "taskStatus": string(st.State), "message": st.Message,
		"appId": in.AppID, "host": in.Host, "ipAddresses": ips, "ports": hostPorts(in.Ports), "version": in.Version})
}

func (e *Engine) publishHealthChange(in *inst, healthy bool) {
	e.bus.Publish("instance_health_changed_event", map[string]any{
		"instanceId": in.InstanceID(), "runSpecId": in.AppID, "runSpecVersion": in.Version, "healthy": healthy})
	e.bus.Publish("health_status_changed_event", map[string]any{
		"appId": in.AppID, "instanceId": in.InstanceID(), "taskId": in.TaskID, "version": in.Version, "alive": healthy})
}

// terminated handles a task's terminal update: backoff and lastTaskFailure
// for failures, then the instance is forgotten.
func (e *Engine) terminated(ctx context.Context, in *inst, st mesos.TaskStatus, now time.Time) {
	rt := e.rt(in.AppID)
	failed := false
	switch st.State {
	case mesos.TaskFailed, mesos.TaskFinished, mesos.TaskError:
		failed = in.Goal == state.GoalRunning
	case mesos.TaskKilled:
		failed = in.Goal == state.GoalRunning || in.Reason == reasonHealth
	}
	record := failed || (in.Goal == state.GoalRunning && st.State != mesos.TaskFinished)
	if record {
		msg := st.Message
		if msg == "" && st.Reason != "" {
			msg = st.Reason
		}
		if in.Reason == reasonHealth {
			msg = "killed after failing health checks: " + msg
		}
		rt.lastFailure = &app.TaskFailure{AppID: in.AppID, Host: in.Host, Message: msg, State: string(st.State),
			TaskID: in.TaskID, Timestamp: Timestamp(now), Version: in.Version, SlaveID: in.AgentID}
	}
	if failed {
		if cur, ok := e.appIdx[in.AppID]; ok && cur.Version == in.Version {
			rt.backoff = rt.backoff.Failed(cur, now)
		} else {
			rt.backoff = rt.backoff.Failed(in.def, now)
		}
	}
	if record || failed {
		e.storeFailures(ctx, in.AppID, rt)
	}
	e.removeInst(in)
	if err := e.repo.DeleteInstance(ctx, in.TaskID); err != nil {
		e.log.Warn("cannot delete terminated instance", "task", in.TaskID, "err", err)
	}
}

// KnownTasks lists the non-terminal tasks for explicit reconciliation.
func (e *Engine) KnownTasks() []mesos.ReconcileTask {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []mesos.ReconcileTask
	for _, in := range e.tasks {
		if in.Terminal() {
			continue
		}
		rt := mesos.ReconcileTask{TaskID: mesos.TaskID{Value: in.TaskID}}
		if in.AgentID != "" {
			rt.AgentID = &mesos.AgentID{Value: in.AgentID}
		}
		out = append(out, rt)
	}
	slices.SortFunc(out, func(a, b mesos.ReconcileTask) int { return strings.Compare(a.TaskID.Value, b.TaskID.Value) })
	return out
}

// Subscribed records a (re-)subscription and asks the master for every
// task it knows for this framework, to find tasks Marathon does not know.
func (e *Engine) Subscribed(ctx context.Context, d Driver, frameworkID, master string) {
	e.mu.Lock()
	first := e.frameworkID != frameworkID
	e.driver, e.subscribed, e.frameworkID, e.sentRoles = d, true, frameworkID, nil
	e.mu.Unlock()
	typ := "scheduler_reregistered_event"
	if first {
		typ = "scheduler_registered_event"
	}
	e.bus.Publish(typ, map[string]any{"frameworkId": frameworkID, "master": master})
	if err := d.Reconcile(ctx, nil); err != nil {
		e.log.Warn("implicit reconciliation failed", "err", err)
	}
	e.kick()
}

// Disconnected records a lost subscription.
func (e *Engine) Disconnected() {
	e.mu.Lock()
	e.subscribed = false
	e.mu.Unlock()
	e.bus.Publish("scheduler_disconnected_event", map[string]any{"message": "lost the subscription to the master"})
}

// Message publishes a framework message from an executor.
func (e *Engine) Message(agentID, executorID string, data []byte) {
	e.bus.Publish("framework_message_event", map[string]any{"executorId": executorID, "slaveId": agentID, "message": data})
}

func hostPorts(ps []uint64) []uint64 {
	out := make([]uint64, 0, len(ps))
	for _, p := range ps {
		if p != 0 {
			out = append(out, p)
		}
	}
	return out
}

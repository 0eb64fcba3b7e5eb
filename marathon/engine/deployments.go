package engine

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/deploy"
	"github.com/strata-sched/strata/marathon/sched"
	"github.com/strata-sched/strata/marathon/state"
)

// Origin is where an API change came from (api_post_event).
type Origin struct{ ClientIP, URI string }

// Change is a change of the group tree, applied atomically.
type Change struct {
	// Apply returns the new root, given a copy of the current one that it
	// may modify. Its errors are returned as they are.
	Apply func(root app.Group) (app.Group, error)
	// Apps, if not nil, lists the only app ids Apply may have changed
	// (a hint that saves comparing every app).
	Apps []string
	// Restart lists apps whose tasks must be replaced although their
	// configuration is the same (POST /v2/apps/{id}/restart).
	Restart []string
	// ToKill names tasks that scale-downs kill first.
	ToKill map[string][]string
	Force  bool
	DryRun bool
	// Origin, if set, publishes api_post_event for the changed apps.
	Origin *Origin
}

// Result is a created (or dry-run) deployment.
type Result struct {
	Plan deploy.Plan
	Root app.Group
}

// Deploy applies a change: it computes the new tree, stamps versions,
// assigns service ports, validates, plans the deployment, checks conflicts,
// stores everything and starts the deployment.
func (e *Engine) Deploy(ctx context.Context, ch Change) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return Result{}, ErrNotLeading
	}
	old := e.root
	nu, err := ch.Apply(cloneTree(old))
	if err != nil {
		return Result{}, err
	}
	nu.ID = "/"
	app.ResolveRoles(&nu, e.cfg.Role)
	version := e.newVersion()
	if err := e.stamp(&old, &nu, version, ch.Apps, ch.Restart); err != nil {
		return Result{}, err
	}
	if err := app.ValidateRoot(nu); err != nil {
		return Result{}, err
	}
	if err := app.ValidateRoles(&old, &nu, e.cfg.Role, func(a *app.App) bool { return a.Version == version }); err != nil {
		return Result{}, err
	}
	plan, err := deploy.Compute(uuid.NewString(), version, old, nu, ch.ToKill)
	if err != nil {
		return Result{}, err
	}
	if ch.DryRun {
		return Result{Plan: plan, Root: nu}, nil
	}
	var conflicts []*deployRT
	for _, d := range e.deps {
		for _, id := range plan.AffectedApps() {
			if d.plan.Affects(id) {
				conflicts = append(conflicts, d)
				break
			}
		}
	}
	if len(conflicts) > 0 && !ch.Force {
		le := &LockedError{}
		for _, d := range conflicts {
			le.Deployments = append(le.Deployments, d.plan.ID)
		}
		return Result{}, le
	}
	if len(e.deps)-len(conflicts) >= e.cfg.MaxRunningDeployments {
		return Result{}, &TooManyDeploymentsError{Max: e.cfg.MaxRunningDeployments}
	}

	// Store: the deployment first, so that a crash before the apps are
	// written is repaired from its target at the next load.
	if len(plan.Steps) > 0 {
		if err := e.repo.PutDeployment(ctx, plan); err != nil {
			return Result{}, err
		}
	}
	oldApps := appsByID(old)
	newApps := appsByID(nu)
	var changed []app.App
	for _, id := range sortedKeys(newApps) {
		if a := newApps[id]; a.Version == version {
			changed = append(changed, *a)
			if err := e.repo.PutApp(ctx, *a); err != nil {
				return Result{}, err
			}
		}
	}
	for _, id := range sortedKeys(oldApps) {
		if _, ok := newApps[id]; !ok {
			if err := e.repo.DeleteApp(ctx, id); err != nil {
				return Result{}, err
			}
		}
	}
	if nu.Version == version {
		skel := state.Skeleton(nu)
		if err := e.repo.PutGroups(ctx, skel); err != nil {
			return Result{}, err
		}
		if err := e.repo.PutRootVersion(ctx, state.RootVersion{Version: version, Tree: skel, Apps: state.AppVersionsOf(nu)}); err != nil {
			return Result{}, err
		}
	}
	for _, d := range conflicts {
		e.dropDeployment(ctx, d, "canceled by a forced deployment "+plan.ID)
	}

	e.setRoot(nu)
	for i := range changed {
		a := changed[i]
		e.defs[a.ID+"@"+a.Version] = &a
	}
	d := &deployRT{plan: plan, strategies: map[string]deploy.Strategy{}, messages: map[string]string{}}
	e.deps = append(e.deps, d)
	e.reindex()
	e.metrics.DeploymentsStarted++

	if ch.Origin != nil {
		for _, a := range changed {
			e.bus.Publish("api_post_event", map[string]any{"clientIp": ch.Origin.ClientIP, "uri": ch.Origin.URI, "appDefinition": a})
		}
	}
	for _, a := range changed {
		var before []app.HealthCheck
		if o := oldApps[a.ID]; o != nil {
			before = o.HealthChecks
		}
		for _, hc := range a.HealthChecks {
			if !slices.ContainsFunc(before, func(x app.HealthCheck) bool { return reflect.DeepEqual(x, hc) }) {
				e.bus.Publish("add_health_check_event", map[string]any{"appId": a.ID, "version": a.Version, "healthCheck": hc})
			}
		}
		for _, hc := range before {
			if !slices.ContainsFunc(a.HealthChecks, func(x app.HealthCheck) bool { return reflect.DeepEqual(x, hc) }) {
				e.bus.Publish("remove_health_check_event", map[string]any{"appId": a.ID, "healthCheck": hc})
			}
		}
	}
	for id, o := range oldApps {
		if _, ok := newApps[id]; !ok && len(o.HealthChecks) > 0 {
			e.bus.Publish("remove_health_check_event", map[string]any{"appId": id})
		}
	}
	e.bus.Publish("group_change_success", map[string]any{"groupId": "/", "version": version})
	e.bus.Publish("deployment_info", map[string]any{"plan": planJSON(plan), "currentStep": currentStepJSON(plan)})
	e.kick()
	return Result{Plan: plan, Root: nu}, nil
}

// CancelDeployment stops a deployment. With force it is just dropped
// (202); otherwise a forced deployment reverting its apps to their
// original definitions is started and returned.
func (e *Engine) CancelDeployment(ctx context.Context, id string, force bool) (Result, error) {
	e.mu.Lock()
	if !e.leading {
		e.mu.Unlock()
		return Result{}, ErrNotLeading
	}
	var d *deployRT
	for _, x := range e.deps {
		if x.plan.ID == id {
			d = x
		}
	}
	if d == nil {
		e.mu.Unlock()
		return Result{}, &NotFoundError{Message: fmt.Sprintf("DeploymentPlan %s does not exist", id)}
	}
	if force {
		e.dropDeployment(ctx, d, "canceled")
		e.reindex()
		e.mu.Unlock()
		e.kick()
		return Result{}, nil
	}
	original := d.plan.Original
	ids := d.plan.AffectedApps()
	e.mu.Unlock()
	return e.Deploy(ctx, Change{
		Force: true, Apps: ids,
		Apply: func(root app.Group) (app.Group, error) {
			for _, aid := range ids {
				if o := original[aid]; o != nil {
					root = putApp(root, *o)
				} else {
					root = removeApp(root, aid)
				}
			}
			return root, nil
		},
	})
}

// dropDeployment forgets a deployment (cancelled). e.mu is held; the
// caller reindexes.
func (e *Engine) dropDeployment(ctx context.Context, d *deployRT, reason string) {
	if err := e.repo.DeleteDeployment(ctx, d.plan.ID); err != nil {
		e.log.Warn("cannot delete cancelled deployment", "deployment", d.plan.ID, "err", err)
	}
	e.deps = slices.DeleteFunc(e.deps, func(x *deployRT) bool { return x == d })
	e.metrics.DeploymentsCancelled++
	e.bus.Publish("deployment_failed", map[string]any{"id": d.plan.ID, "plan": planJSON(d.plan), "reason": reason})
}

// advance moves every running deployment as far as it can.
func (e *Engine) advance(ctx context.Context, now time.Time) {
	for _, d := range slices.Clone(e.deps) {
		e.progress(ctx, d, now)
	}
}

func (e *Engine) progress(ctx context.Context, d *deployRT, now time.Time) {
	for !d.plan.Done() {
		step := d.plan.Steps[d.plan.Current]
		if !d.stepStarted {
			e.startStep(d, now)
			d.stepStarted = true
		}
		done := true
		for _, a := range step.Actions {
			if !e.actionDone(ctx, d, a, now) {
				done = false
			}
		}
		if !done {
			return
		}
		e.bus.Publish("deployment_step_success", map[string]any{"plan": planJSON(d.plan), "currentStep": currentStepJSON(d.plan)})
		d.plan.Current++
		d.stepStarted = false
		d.messages = map[string]string{}
		if d.plan.Done() {
			break
		}
		if err := e.repo.PutDeployment(ctx, d.plan); err != nil {
			e.log.Warn("cannot store deployment progress", "deployment", d.plan.ID, "err", err)
		}
		e.bus.Publish("deployment_info", map[string]any{"plan": planJSON(d.plan), "currentStep": currentStepJSON(d.plan)})
	}
	if err := e.repo.DeleteDeployment(ctx, d.plan.ID); err != nil {
		e.log.Warn("cannot delete finished deployment", "deployment", d.plan.ID, "err", err)
	}
	e.deps = slices.DeleteFunc(e.deps, func(x *deployRT) bool { return x == d })
	e.reindex()
	e.metrics.DeploymentsSucceeded++
	e.bus.Publish("deployment_success", map[string]any{"id": d.plan.ID, "plan": planJSON(d.plan)})
	e.log.Info("deployment finished", "deployment", d.plan.ID, "steps", len(d.plan.Steps))
}

// startStep prepares the actions of the current step.
func (e *Engine) startStep(d *deployRT, now time.Time) {
	for _, a := range d.plan.Steps[d.plan.Current].Actions {
		if a.Action != deploy.RestartApplication {
			continue
		}
		cur, ok := e.appIdx[a.App]
		if !ok {
			continue
		}
		old := 0
		for _, in := range e.instancesOf(a.App) {
			if !in.Terminal() && in.Goal == state.GoalRunning && in.Version != cur.Version {
				old++
			}
		}
		us := app.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}
		if cur.UpgradeStrategy != nil {
			us = *cur.UpgradeStrategy
		}
		s := deploy.RestartStrategy(cur.NumInstances(), us, false, old)
		d.strategies[a.App] = s
		e.resetBackoff(e.ctx, a.App, e.rt(a.App))
		e.log.Info("rolling restart", "app", a.App, "instances", cur.NumInstances(), "old", old,
			"minHealthy", s.MinHealthy, "maxCapacity", s.MaxCapacity, "killImmediately", s.KillImmediately)
	}
}

// Kill reasons recorded on instances.
const (
	reasonHealth     = "FailedHealthChecks"
	reasonScale      = "ScalingApp"
	reasonUpgrade    = "Upgrading"
	reasonAppRemoved = "DeletingApp"
	reasonAPI        = "KillingTasksViaApi"
)

// actionDone carries an action forward (kills) and reports whether it is
// complete; it records what the action waits for.
func (e *Engine) actionDone(ctx context.Context, d *deployRT, a deploy.Action, now time.Time) bool {
	insts := e.instancesOf(a.App)
	switch a.Action {
	case deploy.StartApplication:
		return true
	case deploy.StopApplication:
		alive := 0
		for _, in := range insts {
			if !in.Terminal() {
				alive++
				e.requestKill(ctx, in, reasonAppRemoved, now)
			}
		}
		if alive > 0 {
			d.messages[a.App] = fmt.Sprintf("waiting for %s of the removed app to be killed", plural(alive, "task"))
			return false
		}
		e.bus.Publish("app_terminated_event", map[string]any{"appId": a.App})
		delete(e.apps, a.App)
		return true
	case deploy.ScaleApplication:
		cur, ok := e.appIdx[a.App]
		if !ok {
			return true
		}
		n := cur.NumInstances()
		var active []*inst
		killing := 0
		for _, in := range insts {
			switch {
			case e.active(in, now):
				active = append(active, in)
			case !in.Terminal() && in.Goal == state.GoalKilled:
				killing++
			}
		}
		if len(active) > n {
			cands := make([]deploy.Candidate, len(active))
			for i, in := range active {
				cands[i] = e.candidate(in)
			}
			for _, id := range deploy.ScaleDown(cands, n, d.plan.ToKill[a.App], cur.KillSelection) {
				e.requestKill(ctx, e.tasks[id], reasonScale, now)
			}
			d.messages[a.App] = fmt.Sprintf("killing %s to scale down to %d", plural(len(active)-n, "task"), n)
			return false
		}
		ready := 0
		for _, in := range active {
			if e.ready(in) {
				ready++
			}
		}
		switch {
		case len(active) < n:
			d.messages[a.App] = e.explainDemand(a.App, now)
			return false
		case ready < n:
			d.messages[a.App] = e.explainUnhealthy(cur, active, n-ready)
			return false
		case killing > 0:
			d.messages[a.App] = fmt.Sprintf("waiting for %s to be killed", plural(killing, "task"))
			return false
		}
		return true
	case deploy.RestartApplication:
		cur, ok := e.appIdx[a.App]
		if !ok {
			return true
		}
		v := e.restartView(cur, d, insts)
		dec := deploy.DecideRestart(v)
		for _, id := range dec.Kill {
			e.requestKill(ctx, e.tasks[id], reasonUpgrade, now)
		}
		if dec.Done {
			return true
		}
		var fresh []*inst
		for _, in := range insts {
			if in.Version == cur.Version && !in.Terminal() && in.Goal == state.GoalRunning {
				fresh = append(fresh, in)
			}
		}
		switch {
		case v.NewStarted < v.N && (dec.Launch > 0 || v.OldAlive == 0):
			d.messages[a.App] = e.explainDemand(a.App, now)
		case v.NewReady < v.N:
			d.messages[a.App] = fmt.Sprintf("%d of %d new instances ready; ", v.NewReady, v.N) + e.explainUnhealthy(cur, fresh, v.N-v.NewReady)
		default:
			d.messages[a.App] = fmt.Sprintf("waiting for %s of the old version to be killed", plural(v.OldAlive, "task"))
		}
		return false
	}
	return true
}

// explainDemand explains why an app's instances are not launched.
func (e *Engine) explainDemand(appID string, now time.Time) string {
	for _, r := range e.requests(now, false) {
		if r.app.ID == appID {
			return e.explainWaiting(r, now)
		}
	}
	return "waiting for launched tasks to start"
}

// explainUnhealthy says why instances are not healthy and ready yet.
func (e *Engine) explainUnhealthy(a *app.App, insts []*inst, missing int) string {
	for _, in := range insts {
		if e.ready(in) {
			continue
		}
		if !in.Running() {
			st := string(in.State)
			if st == "" {
				st = "TASK_STAGING"
			}
			return fmt.Sprintf("waiting for %s to become healthy: task %s on %s is %s", plural(missing, "instance"), in.TaskID, in.Host, st)
		}
		for i, hc := range in.def.HealthChecks {
			if !sched.IsMarathonCheck(hc) {
				if in.Healthy == nil {
					return fmt.Sprintf("waiting for %s to become healthy: task %s: no result yet from its %s health check run by the agent (delay %ds, grace period %ds)",
						plural(missing, "instance"), in.TaskID, hc.Protocol, hc.DelaySeconds, hc.GracePeriodSeconds)
				}
				if !*in.Healthy {
					return fmt.Sprintf("waiting for %s to become healthy: task %s fails its %s health check (run by the agent); check the command or endpoint",
						plural(missing, "instance"), in.TaskID, hc.Protocol)
				}
				continue
			}
			if i >= len(in.health) {
				continue
			}
			st := in.health[i]
			if st.Alive() {
				continue
			}
			target := fmt.Sprintf("%s port %d%s", hc.Protocol, sched.CheckPort(in.def, hc, in.Ports), pathOf(hc))
			if st.LastFailure.IsZero() {
				return fmt.Sprintf("waiting for %s to become healthy: task %s: no health check result yet (%s; first check %ds after start, grace period %ds)",
					plural(missing, "instance"), in.TaskID, target, int(minDur(hc.IntervalSeconds, 5)), hc.GracePeriodSeconds)
			}
			return fmt.Sprintf("waiting for %s to become healthy: task %s fails health check %s: %s (%d consecutive failures, killed after %d)",
				plural(missing, "instance"), in.TaskID, target, st.LastFailureCause, st.ConsecutiveFailures, hc.MaxConsecutiveFailures+1)
		}
		if len(in.def.ReadinessChecks) > 0 {
			rc := in.def.ReadinessChecks[0]
			if in.ready == nil {
				return fmt.Sprintf("waiting for %s to become ready: task %s: readiness check %q (%s %s) has no result yet", plural(missing, "instance"), in.TaskID, rc.Name, rc.Protocol, rc.Path)
			}
			resp := "no response"
			if lr := in.ready.LastResponse; lr != nil {
				resp = fmt.Sprintf("last response %d", lr.Status)
			}
			return fmt.Sprintf("waiting for %s to become ready: task %s: readiness check %q (%s %s) not passed: %s, ready on %v",
				plural(missing, "instance"), in.TaskID, rc.Name, rc.Protocol, rc.Path, resp, rc.HTTPStatusCodesForReady)
		}
	}
	return fmt.Sprintf("waiting for %s to become healthy", plural(missing, "instance"))
}

func pathOf(hc app.HealthCheck) string {
	if hc.Protocol == app.ProtoTCP {
		return ""
	}
	return " " + hc.EffectivePath()
}

func minDur(a, b int) float64 { return float64(min(a, b)) }

// stamp gives changed apps and groups of nu the new version, assigns
// service ports, and carries versions of unchanged apps over from old.
func (e *Engine) stamp(old, nu *app.Group, version string, only, restart []string) error {
	oldApps := appsByID(*old)
	var newList []*app.App
	nu.WalkApps(func(a *app.App) bool {
		newList = append(newList, a)
		return true
	})
	var oldList []app.App // built when first needed
	consider := func(id string) bool {
		return only == nil || slices.Contains(only, id) || slices.Contains(restart, id)
	}
	for _, a := range newList {
		prev := oldApps[a.ID]
		if prev != nil && (!consider(a.ID) || (!slices.Contains(restart, a.ID) && reflect.DeepEqual(*prev, *a))) {
			a.Version, a.VersionInfo = prev.Version, prev.VersionInfo
			continue
		}
		if prev == nil || slices.Contains(a.ServicePorts(), 0) || !slices.Equal(a.ServicePorts(), prev.ServicePorts()) {
			if oldList == nil {
				oldList = make([]app.App, 0, len(oldApps))
				for _, id := range sortedKeys(oldApps) {
					oldList = append(oldList, *oldApps[id])
				}
			}
			existing := make([]app.App, 0, len(newList)+len(oldList))
			for _, o := range newList {
				if o.ID != a.ID {
					existing = append(existing, *o)
				}
			}
			existing = append(existing, oldList...)
			assigned, err := e.cfg.ServicePorts.Assign(*a, existing)
			if err != nil {
				return err
			}
			*a = assigned
		}
		switch {
		case prev == nil:
			a.Version, a.VersionInfo = version, &app.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
		case slices.Contains(restart, a.ID):
			vi := app.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
			if prev.VersionInfo != nil {
				vi.LastScalingAt = prev.VersionInfo.LastScalingAt
			}
			a.Version, a.VersionInfo = version, &vi
		case deploy.ConfigChanged(*prev, *a):
			a.Version, a.VersionInfo = version, &app.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
		case prev.NumInstances() != a.NumInstances():
			vi := app.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
			if prev.VersionInfo != nil {
				vi.LastConfigChangeAt = prev.VersionInfo.LastConfigChangeAt
			}
			a.Version, a.VersionInfo = version, &vi
		default:
			a.Version, a.VersionInfo = prev.Version, prev.VersionInfo
		}
	}
	oldSigs := map[string]string{}
	oldVersions := map[string]string{}
	old.WalkGroups(func(g *app.Group) bool {
		id := app.CanonicalID(g.ID, "/")
		oldSigs[id], oldVersions[id] = groupSig(*g), g.Version
		return true
	})
	nu.WalkGroups(func(g *app.Group) bool {
		id := app.CanonicalID(g.ID, "/")
		if sig, ok := oldSigs[id]; ok && sig == groupSig(*g) && oldVersions[id] != "" {
			g.Version = oldVersions[id]
		} else {
			g.Version = version
		}
		return true
	})
	return nil
}

// groupSig identifies a group's content: its tree and app versions.
func groupSig(g app.Group) string {
	var b strings.Builder
	var walk func(g *app.Group)
	walk = func(g *app.Group) {
		b.WriteString("{")
		b.WriteString(app.CanonicalID(g.ID, "/"))
		b.WriteString(" deps=")
		b.WriteString(strings.Join(g.Dependencies, ","))
		if g.EnforceRole != nil {
			fmt.Fprintf(&b, " role=%v", *g.EnforceRole)
		}
		for i := range g.Apps {
			b.WriteString(" ")
			b.WriteString(g.Apps[i].ID)
			b.WriteString("@")
			b.WriteString(g.Apps[i].Version)
		}
		for i := range g.Groups {
			walk(&g.Groups[i])
		}
		b.WriteString("}")
	}
	walk(&g)
	return b.String()
}

// cloneTree copies the group structure (apps are values; their pointer
// fields are shared and must not be written through).
func cloneTree(g app.Group) app.Group {
	out := g
	out.Apps = slices.Clone(g.Apps)
	out.Dependencies = slices.Clone(g.Dependencies)
	out.Groups = make([]app.Group, len(g.Groups))
	for i, sub := range g.Groups {
		out.Groups[i] = cloneTree(sub)
	}
	return out
}

func appsByID(g app.Group) map[string]*app.App {
	out := map[string]*app.App{}
	g.WalkApps(func(a *app.App) bool {
		out[a.ID] = a
		return true
	})
	return out
}

// putApp puts a into the tree (replacing the app with its id), creating
// missing groups. It writes to root's group and app slices: pass a tree
// you own (Change.Apply receives a copy).
func putApp(root app.Group, a app.App) app.Group {
	g := ensureGroup(&root, app.ParentID(a.ID))
	for i := range g.Apps {
		if g.Apps[i].ID == a.ID {
			g.Apps[i] = a
			return root
		}
	}
	g.Apps = append(g.Apps, a)
	slices.SortFunc(g.Apps, func(x, y app.App) int { return strings.Compare(x.ID, y.ID) })
	return root
}

// removeApp removes app id from the tree (groups stay).
func removeApp(root app.Group, id string) app.Group {
	root = cloneTree(root)
	root.WalkGroups(func(g *app.Group) bool {
		g.Apps = slices.DeleteFunc(g.Apps, func(a app.App) bool { return a.ID == id })
		return true
	})
	return root
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// PlanJSON is a plan in the light format of events and GET /v2/deployments.
type PlanJSON struct {
	ID      string        `json:"id"`
	Steps   []deploy.Step `json:"steps"`
	Version string        `json:"version"`
}

func planJSON(p deploy.Plan) PlanJSON {
	return PlanJSON{ID: p.ID, Steps: p.Steps, Version: p.Version}
}

func currentStepJSON(p deploy.Plan) deploy.Step {
	if p.Current < len(p.Steps) {
		return p.Steps[p.Current]
	}
	return deploy.Step{Actions: []deploy.Action{}}
}

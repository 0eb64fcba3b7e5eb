package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/deploy"
	"github.com/strata-sched/strata/marathon/sched"
	"github.com/strata-sched/strata/marathon/state"
)

// Embed selects the response-only fields of AppInfo.
type Embed uint

// Embeds (embed=apps.<name>).
const (
	EmbedCounts Embed = 1 << iota
	EmbedDeployments
	EmbedTasks
	EmbedLastTaskFailure
	EmbedReadiness
	EmbedTaskStats
)

const (
	embedCounts      = EmbedCounts
	embedDeployments = EmbedDeployments
)

// stateOf is the task state the API shows.
func stateOf(in *inst) string {
	switch {
	case in.Goal == state.GoalKilled && !in.Terminal() && in.State != mesos.TaskUnreachable:
		return string(mesos.TaskKilling)
	case in.State == "":
		return string(mesos.TaskStaging)
	}
	return string(in.State)
}

// taskJSON renders an instance as Marathon's task. servicePorts fills
// servicePorts from the current app (only /v2/tasks does).
func (e *Engine) taskJSON(in *inst, servicePorts []int) app.Task {
	t := app.Task{
		AppID: in.AppID, ID: in.TaskID, Host: in.Host, SlaveID: in.AgentID, State: stateOf(in),
		StagedAt: Timestamp(in.StagedAt), Version: in.Version, Ports: hostPorts(in.Ports),
		IPAddresses: in.IPAddresses, Region: in.Region, Zone: in.Zone, Role: in.Role,
	}
	if !in.StartedAt.IsZero() {
		t.StartedAt = Timestamp(in.StartedAt)
	}
	for _, p := range servicePorts {
		t.ServicePorts = append(t.ServicePorts, uint64(p))
	}
	iid := in.InstanceID()
	for i, hc := range in.def.HealthChecks {
		if !sched.IsMarathonCheck(hc) {
			if in.Healthy != nil {
				t.HealthCheckResults = append(t.HealthCheckResults, app.HealthResult{Alive: *in.Healthy, InstanceID: iid})
			}
			continue
		}
		if i < len(in.health) {
			st := in.health[i]
			if !st.LastSuccess.IsZero() || !st.LastFailure.IsZero() {
				t.HealthCheckResults = append(t.HealthCheckResults, st.JSON(iid))
			}
		}
	}
	return t
}

// counts is app.CountTasks of the instances' task JSON, without building it.
func (e *Engine) counts(insts []*inst) app.Counts {
	var c app.Counts
	for _, in := range insts {
		if in.Terminal() {
			continue
		}
		switch stateOf(in) {
		case string(mesos.TaskStaging):
			c.Staged++
		case string(mesos.TaskRunning):
			c.Running++
		}
		has, alive := false, true
		for i, hc := range in.def.HealthChecks {
			if !sched.IsMarathonCheck(hc) {
				if in.Healthy != nil {
					has, alive = true, alive && *in.Healthy
				}
				continue
			}
			if i < len(in.health) {
				if st := in.health[i]; !st.LastSuccess.IsZero() || !st.LastFailure.IsZero() {
					has, alive = true, alive && st.Alive()
				}
			}
		}
		switch {
		case has && alive:
			c.Healthy++
		case has:
			c.Unhealthy++
		}
	}
	return c
}

// appInfo renders a with the requested embeds.
func (e *Engine) appInfo(a *app.App, insts []*inst, emb Embed) app.AppInfo {
	ai := app.AppInfo{App: *a}
	var tasks []app.Task
	if emb&(EmbedTasks|EmbedReadiness) != 0 {
		insts = slices.Clone(insts)
		sort.Slice(insts, func(i, j int) bool { return insts[i].TaskID < insts[j].TaskID })
	}
	if emb&EmbedTasks != 0 {
		tasks = make([]app.Task, 0, len(insts))
		for _, in := range insts {
			if in.Terminal() {
				continue
			}
			tasks = append(tasks, e.taskJSON(in, nil))
		}
	}
	if emb&EmbedCounts != 0 {
		ai.WithCounts(e.counts(insts))
	}
	if emb&EmbedDeployments != 0 {
		ai.Deployments = []app.Identifiable{}
		if d := e.byApp[a.ID]; d != nil {
			ai.Deployments = append(ai.Deployments, app.Identifiable{ID: d.plan.ID})
		}
	}
	if emb&EmbedTasks != 0 {
		ai.Tasks = tasks
	}
	if emb&EmbedLastTaskFailure != 0 {
		if rt := e.apps[a.ID]; rt != nil && rt.lastFailure != nil {
			f := *rt.lastFailure
			ai.LastTaskFailure = &f
		}
	}
	if emb&EmbedReadiness != 0 {
		ai.ReadinessCheckResults = []app.ReadinessCheckResult{}
		for _, in := range insts {
			if in.ready != nil {
				ai.ReadinessCheckResults = append(ai.ReadinessCheckResults, *in.ready)
			}
		}
	}
	if emb&EmbedTaskStats != 0 {
		ai.TasksStats = e.taskStats(a, insts)
	}
	return ai
}

func (e *Engine) taskStats(a *app.App, insts []*inst) *app.TasksStats {
	now := e.cfg.Now()
	stats := func(sel func(in *inst) bool) *app.Stats {
		var sub []app.Task
		var lives []float64
		for _, in := range insts {
			if in.Terminal() || !sel(in) {
				continue
			}
			sub = append(sub, e.taskJSON(in, nil))
			lives = append(lives, now.Sub(in.StagedAt).Seconds())
		}
		if len(sub) == 0 {
			return nil
		}
		c := app.CountTasks(sub)
		s := &app.Stats{Stats: app.TaskStats{Counts: app.TaskCounts{Staged: c.Staged, Running: c.Running, Healthy: c.Healthy, Unhealthy: c.Unhealthy}}}
		sort.Float64s(lives)
		sum := 0.0
		for _, l := range lives {
			sum += l
		}
		s.Stats.LifeTime = &app.TaskLifeTime{AverageSeconds: sum / float64(len(lives)), MedianSeconds: lives[len(lives)/2]}
		return s
	}
	out := &app.TasksStats{TotalSummary: stats(func(*inst) bool { return true })}
	out.WithLatestConfig = stats(func(in *inst) bool { return in.Version == a.Version })
	out.WithOutdatedConfig = stats(func(in *inst) bool { return in.Version != a.Version })
	if a.VersionInfo != nil {
		if t, err := time.Parse(timeFormat, a.VersionInfo.LastScalingAt); err == nil {
			out.StartedAfterLastScaling = stats(func(in *inst) bool { return in.StagedAt.After(t) })
		}
	}
	return out
}

// Apps returns the apps for which keep returns true (nil: all), sorted by
// id, with the embeds.
func (e *Engine) Apps(keep func(*app.App) bool, emb Embed) ([]app.AppInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return nil, ErrNotLeading
	}
	byApp := e.tasksByApp()
	var out []app.AppInfo
	e.root.WalkApps(func(a *app.App) bool {
		if keep == nil || keep(a) {
			out = append(out, e.appInfo(a, byApp[a.ID], emb))
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// App returns one app; ok is false when it does not exist.
func (e *Engine) App(id string, emb Embed) (app.AppInfo, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return app.AppInfo{}, false, ErrNotLeading
	}
	a, ok := e.appIdx[id]
	if !ok {
		return app.AppInfo{}, false, nil
	}
	return e.appInfo(a, e.instancesOf(id), emb), true, nil
}

// CurrentApp returns the current definition of an app.
func (e *Engine) CurrentApp(id string) (app.App, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return app.App{}, false, ErrNotLeading
	}
	a, ok := e.appIdx[id]
	if !ok {
		return app.App{}, false, nil
	}
	return *a, true, nil
}

// Root returns the current group tree.
func (e *Engine) Root() (app.Group, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return app.Group{}, ErrNotLeading
	}
	return e.root, nil
}

// TaskFilter selects tasks.
type TaskFilter struct {
	AppIDs []string // nil: all apps
	States []string // nil: all states (as the API shows them)
	Host   string   // "" or "*": every host
}

// Tasks returns the tasks matching f, sorted by app then task id.
// servicePorts fills servicePorts (GET /v2/tasks).
func (e *Engine) Tasks(f TaskFilter, servicePorts bool) ([]app.Task, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return nil, ErrNotLeading
	}
	var ins []*inst
	for _, in := range e.tasks {
		if in.Terminal() || (f.AppIDs != nil && !slices.Contains(f.AppIDs, in.AppID)) ||
			(f.Host != "" && f.Host != "*" && f.Host != in.Host) {
			continue
		}
		if f.States != nil && !slices.Contains(f.States, stateOf(in)) {
			continue
		}
		ins = append(ins, in)
	}
	sort.Slice(ins, func(i, j int) bool {
		if ins[i].AppID != ins[j].AppID {
			return ins[i].AppID < ins[j].AppID
		}
		return ins[i].TaskID < ins[j].TaskID
	})
	out := make([]app.Task, 0, len(ins))
	for _, in := range ins {
		var sp []int
		if servicePorts {
			if a, ok := e.appIdx[in.AppID]; ok {
				sp = a.ServicePorts()
			}
		}
		out = append(out, e.taskJSON(in, sp))
	}
	return out, nil
}

// KillTasks kills tasks (DELETE /v2/apps/{id}/tasks without scale, POST
// /v2/tasks/delete): their instances end and, while the app still wants
// them, replacements are launched. It returns the killed tasks.
func (e *Engine) KillTasks(ctx context.Context, taskIDs []string) ([]app.Task, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return nil, ErrNotLeading
	}
	now := e.cfg.Now()
	out := []app.Task{}
	for _, id := range taskIDs {
		in, ok := e.tasks[id]
		if !ok || in.Terminal() {
			continue
		}
		e.requestKill(ctx, in, reasonAPI, now)
		out = append(out, e.taskJSON(in, nil))
	}
	return out, nil
}

// TaskApp returns the app id of a known task.
func (e *Engine) TaskApp(taskID string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if in, ok := e.tasks[taskID]; ok {
		return in.AppID, true
	}
	return "", false
}

// DeploymentInfo is one element of GET /v2/deployments.
type DeploymentInfo struct {
	ID             string          `json:"id"`
	Version        string          `json:"version"`
	AffectedApps   []string        `json:"affectedApps"`
	AffectedPods   []string        `json:"affectedPods"`
	Steps          []deploy.Step   `json:"steps"`
	CurrentActions []CurrentAction `json:"currentActions"`
	CurrentStep    int             `json:"currentStep"`
	TotalSteps     int             `json:"totalSteps"`
}

// CurrentAction is an action of the step being executed. Message is a
// Strata extension saying what the action waits for.
type CurrentAction struct {
	Action                string                     `json:"action"`
	App                   string                     `json:"app"`
	ReadinessCheckResults []app.ReadinessCheckResult `json:"readinessCheckResults"`
	Message               string                     `json:"message,omitempty"`
}

// Deployments lists the running deployments, oldest first.
func (e *Engine) Deployments() ([]DeploymentInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return nil, ErrNotLeading
	}
	out := []DeploymentInfo{}
	for _, d := range e.deps {
		p := d.plan
		di := DeploymentInfo{ID: p.ID, Version: p.Version, AffectedApps: p.AffectedApps(), AffectedPods: []string{},
			Steps: p.Steps, CurrentActions: []CurrentAction{}, TotalSteps: len(p.Steps)}
		if di.AffectedApps == nil {
			di.AffectedApps = []string{}
		}
		if !p.Done() {
			di.CurrentStep = p.Current + 1
			for _, a := range p.Steps[p.Current].Actions {
				ca := CurrentAction{Action: string(a.Action), App: a.App, ReadinessCheckResults: []app.ReadinessCheckResult{}, Message: d.messages[a.App]}
				for _, in := range e.sortedInstancesOf(a.App) {
					if in.ready != nil {
						ca.ReadinessCheckResults = append(ca.ReadinessCheckResults, *in.ready)
					}
				}
				di.CurrentActions = append(di.CurrentActions, ca)
			}
		}
		out = append(out, di)
	}
	return out, nil
}

// HasDeployment reports whether a deployment is running.
func (e *Engine) HasDeployment(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range e.deps {
		if d.plan.ID == id {
			return true
		}
	}
	return false
}

// GroupInfo is a group as GET /v2/groups returns it.
type GroupInfo struct {
	ID           string        `json:"id"`
	Apps         []app.AppInfo `json:"apps"`
	Pods         []any         `json:"pods"`
	Groups       []GroupInfo   `json:"groups"`
	Dependencies []string      `json:"dependencies"`
	Version      string        `json:"version,omitempty"`
	EnforceRole  *bool         `json:"enforceRole,omitempty"`
}

// Group returns the group id with its apps (embeds emb) and subgroups
// when withApps / withGroups; ok is false when it does not exist.
func (e *Engine) Group(id string, withApps, withGroups bool, emb Embed) (GroupInfo, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return GroupInfo{}, false, ErrNotLeading
	}
	g, ok := e.root.FindGroup(id)
	if !ok {
		return GroupInfo{}, false, nil
	}
	return e.groupInfo(g, withApps, withGroups, emb, e.tasksByApp()), true, nil
}

func (e *Engine) groupInfo(g *app.Group, withApps, withGroups bool, emb Embed, byApp map[string][]*inst) GroupInfo {
	gi := GroupInfo{ID: app.CanonicalID(g.ID, "/"), Apps: []app.AppInfo{}, Pods: []any{}, Groups: []GroupInfo{},
		Dependencies: g.Dependencies, Version: g.Version, EnforceRole: g.EnforceRole}
	if gi.Dependencies == nil {
		gi.Dependencies = []string{}
	}
	if gi.EnforceRole == nil && gi.ID != "/" && app.ParentID(gi.ID) == "/" {
		f := false
		gi.EnforceRole = &f
	}
	if withApps {
		for i := range g.Apps {
			gi.Apps = append(gi.Apps, e.appInfo(&g.Apps[i], byApp[g.Apps[i].ID], emb))
		}
	}
	if withGroups {
		for i := range g.Groups {
			gi.Groups = append(gi.Groups, e.groupInfo(&g.Groups[i], withApps, withGroups, emb, byApp))
		}
	}
	return gi
}

// AppVersions lists an app's stored versions, newest first.
func (e *Engine) AppVersions(ctx context.Context, id string) ([]string, bool, error) {
	if _, ok, err := e.CurrentApp(id); err != nil || !ok {
		return nil, false, err
	}
	vs, err := e.repo.AppVersions(ctx, id)
	if err != nil {
		return nil, true, err
	}
	slices.Reverse(vs)
	return vs, true, nil
}

// AppVersion returns a stored version of an app.
func (e *Engine) AppVersion(ctx context.Context, id, version string) (app.App, bool, error) {
	a, err := e.repo.AppVersion(ctx, id, version)
	if errors.Is(err, state.ErrNotFound) {
		return app.App{}, false, nil
	}
	return a, err == nil, err
}

// RootVersions lists the stored root group versions, newest first.
func (e *Engine) RootVersions(ctx context.Context) ([]string, error) {
	vs, err := e.repo.RootVersions(ctx)
	slices.Reverse(vs)
	return vs, err
}

// RootAt returns the root group at a stored version.
func (e *Engine) RootAt(ctx context.Context, version string) (app.Group, bool, error) {
	g, missing, err := e.repo.RootAt(ctx, version)
	if errors.Is(err, state.ErrNotFound) {
		return app.Group{}, false, nil
	}
	if err != nil {
		return app.Group{}, false, err
	}
	if len(missing) > 0 {
		return app.Group{}, false, &app.MessageError{Message: fmt.Sprintf("version %s of the root group refers to app versions that were pruned: %v", version, missing)}
	}
	return g, true, nil
}

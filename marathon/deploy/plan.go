package deploy

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"

	"github.com/strata-sched/strata/marathon/app"
)

// ActionType names a deployment action as Marathon does in JSON.
type ActionType string

// The action types of app deployments (pods are not supported).
const (
	StartApplication   ActionType = "StartApplication"
	StopApplication    ActionType = "StopApplication"
	ScaleApplication   ActionType = "ScaleApplication"
	RestartApplication ActionType = "RestartApplication"
)

// Action is one action of a step.
type Action struct {
	Action ActionType `json:"action"`
	App    string     `json:"app"`
}

// Step is a set of actions executed together.
type Step struct {
	Actions []Action `json:"actions"`
}

// Plan is a deployment: its steps, and the original and target definitions
// of every app it affects (nil for "absent"), which a revert needs.
type Plan struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Steps   []Step `json:"steps"`
	// Original and Target hold the affected apps before and after; a
	// missing or nil entry means the app does not exist on that side.
	Original map[string]*app.App `json:"original"`
	Target   map[string]*app.App `json:"target"`
	// ToKill names, per app, the tasks a ScaleApplication kills first
	// (DELETE .../tasks?scale=true).
	ToKill map[string][]string `json:"toKill,omitempty"`
	// Current is the index of the step being executed; len(Steps) when
	// done. It is the only field that changes after creation.
	Current int `json:"current"`
}

// AffectedApps lists, sorted, the apps some action of the plan touches.
func (p *Plan) AffectedApps() []string {
	seen := map[string]bool{}
	for _, s := range p.Steps {
		for _, a := range s.Actions {
			seen[a.App] = true
		}
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Affects reports whether some action of the plan touches appID.
func (p *Plan) Affects(appID string) bool {
	for _, s := range p.Steps {
		for _, a := range s.Actions {
			if a.App == appID {
				return true
			}
		}
	}
	return false
}

// StepOf returns the index and type of appID's last action (the one that
// gives it its instances: an app is started with 0 instances in an early
// step and scaled in its dependency layer's step), or -1.
func (p *Plan) StepOf(appID string) (int, ActionType) {
	for i := len(p.Steps) - 1; i >= 0; i-- {
		for _, a := range p.Steps[i].Actions {
			if a.App == appID {
				return i, a.Action
			}
		}
	}
	return -1, ""
}

// Done reports whether every step has been executed.
func (p *Plan) Done() bool { return p.Current >= len(p.Steps) }

// Compute builds the plan that takes the group tree original to target
// (DeploymentPlan.apply). id and version are the new deployment's id and
// timestamp; toKill names tasks that ScaleApplication actions must kill
// first. The error is a 422 *app.ValidationError when target's dependency
// graph has a cycle.
func Compute(id, version string, original, target app.Group, toKill map[string][]string) (Plan, error) {
	orig := byID(&original)
	tgt := byID(&target)
	p := Plan{ID: id, Version: version, Original: map[string]*app.App{}, Target: map[string]*app.App{}}

	var stop, start Step
	for _, aid := range sortedKeys(orig) {
		if _, ok := tgt[aid]; !ok {
			stop.Actions = append(stop.Actions, Action{StopApplication, aid})
		}
	}
	for _, aid := range sortedKeys(tgt) {
		if _, ok := orig[aid]; !ok {
			start.Actions = append(start.Actions, Action{StartApplication, aid})
		}
	}
	steps := []Step{stop, start}

	layers, err := app.GroupLayers(target)
	if err != nil {
		return Plan{}, err
	}
	for _, layer := range layers {
		var s Step
		for _, na := range layer {
			oa, existed := orig[na.ID]
			switch {
			case existed && unchanged(*oa, na) && len(toKill[na.ID]) == 0:
				// Same version stamp: nothing to do, without comparing configs.
			case !existed:
				s.Actions = append(s.Actions, Action{ScaleApplication, na.ID})
			case NeedsRestart(*oa, na) && na.NumInstances() > 0:
				s.Actions = append(s.Actions, Action{RestartApplication, na.ID})
			case oa.NumInstances() != na.NumInstances() || NeedsRestart(*oa, na) || len(toKill[na.ID]) > 0:
				s.Actions = append(s.Actions, Action{ScaleApplication, na.ID})
			}
		}
		steps = append(steps, s)
	}
	for _, s := range steps {
		if len(s.Actions) > 0 {
			p.Steps = append(p.Steps, s)
		}
	}
	for _, aid := range p.AffectedApps() {
		p.Original[aid] = orig[aid]
		p.Target[aid] = tgt[aid]
	}
	if len(toKill) > 0 {
		p.ToKill = map[string][]string{}
		for aid, ids := range toKill {
			if p.Affects(aid) {
				p.ToKill[aid] = slices.Clone(ids)
			}
		}
	}
	if p.Steps == nil {
		p.Steps = []Step{}
	}
	return p, nil
}

// unchanged reports whether b is a carrying over a's version stamp: the
// framework gives every changed app a new version, so equal versions,
// version infos and instance counts mean "not touched".
func unchanged(a, b app.App) bool {
	return a.Version != "" && a.Version == b.Version && a.NumInstances() == b.NumInstances() &&
		(a.VersionInfo == nil) == (b.VersionInfo == nil) && (a.VersionInfo == nil || *a.VersionInfo == *b.VersionInfo)
}

// ConfigChanged reports whether b differs from a in anything but id,
// instances, version and versionInfo (AppDefinition.isUpgrade): any such
// difference, labels included, means the app's tasks must be replaced.
func ConfigChanged(a, b app.App) bool {
	return !bytes.Equal(configJSON(a), configJSON(b))
}

// NeedsRestart reports whether going from a to b replaces tasks: a
// configuration change, or a restart marker (lastConfigChangeAt moved).
func NeedsRestart(a, b app.App) bool {
	if ConfigChanged(a, b) {
		return true
	}
	return a.VersionInfo != nil && b.VersionInfo != nil && a.VersionInfo.LastConfigChangeAt != b.VersionInfo.LastConfigChangeAt
}

func configJSON(a app.App) []byte {
	a.ID, a.Instances, a.Version, a.VersionInfo = "", nil, "", nil
	b, _ := json.Marshal(a)
	return b
}

func byID(g *app.Group) map[string]*app.App {
	out := map[string]*app.App{}
	g.WalkApps(func(a *app.App) bool {
		out[a.ID] = a
		return true
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package app

import (
	"slices"
	"strings"
)

// Layers orders apps for a deployment plan: layer 0 holds the apps that
// depend on no app of the set, layer k the apps whose longest dependency
// chain within the set has length k (DeploymentPlan's per-dependency-layer
// steps). A dependency names an app id or a group path; a group path stands
// for every app below it. Dependencies on ids outside the set are ignored
// (targets need not exist). Apps within a layer are sorted by id. A cycle,
// including an app that depends on itself, is a 422 *ValidationError with
// Marathon's "Dependency graph has cyclic dependencies.".
func Layers(apps []App) ([][]App, error) {
	deps := make([][]int, len(apps))
	for i, a := range apps {
		for _, d := range a.Dependencies {
			deps[i] = append(deps[i], resolveDependency(apps, CanonicalID(d, ParentID(a.ID)))...)
		}
	}
	return layer(apps, deps)
}

// GroupLayers is Layers for every app of a group tree, with each group's
// dependencies added to all apps below it.
func GroupLayers(root Group) ([][]App, error) {
	apps := root.TransitiveApps()
	deps := make([][]int, len(apps))
	index := make(map[string]int, len(apps))
	for i, a := range apps {
		index[a.ID] = i
		for _, d := range a.Dependencies {
			deps[i] = append(deps[i], resolveDependency(apps, CanonicalID(d, ParentID(a.ID)))...)
		}
	}
	root.WalkGroups(func(g *Group) bool {
		if len(g.Dependencies) == 0 {
			return true
		}
		gid := CanonicalID(g.ID, "/")
		var targets []int
		for _, d := range g.Dependencies {
			targets = append(targets, resolveDependency(apps, CanonicalID(d, gid))...)
		}
		g.WalkApps(func(a *App) bool {
			i := index[a.ID]
			deps[i] = append(deps[i], targets...)
			return true
		})
		return true
	})
	return layer(apps, deps)
}

// resolveDependency returns the indexes of the apps a dependency id names.
func resolveDependency(apps []App, id string) []int {
	for i, a := range apps {
		if a.ID == id {
			return []int{i}
		}
	}
	var out []int
	prefix := strings.TrimSuffix(id, "/") + "/"
	for i, a := range apps {
		if strings.HasPrefix(a.ID, prefix) {
			out = append(out, i)
		}
	}
	return out
}

// layer assigns each app the length of its longest dependency chain,
// detecting cycles with a three-colour depth-first search.
func layer(apps []App, deps [][]int) ([][]App, error) {
	const (
		white = iota
		grey
		black
	)
	colour := make([]int, len(apps))
	depth := make([]int, len(apps))
	var visit func(i int) bool
	visit = func(i int) bool {
		switch colour[i] {
		case grey:
			return false
		case black:
			return true
		}
		colour[i] = grey
		for _, j := range deps[i] {
			if !visit(j) {
				return false
			}
			depth[i] = max(depth[i], depth[j]+1)
		}
		colour[i] = black
		return true
	}
	for i := range apps {
		if !visit(i) {
			var vs violations
			vs.add("/", MsgCyclicDependencies)
			return nil, vs.err(MsgNotValid)
		}
	}
	var out [][]App
	for i, a := range apps {
		for len(out) <= depth[i] {
			out = append(out, nil)
		}
		out[depth[i]] = append(out[depth[i]], a)
	}
	for _, l := range out {
		slices.SortFunc(l, func(a, b App) int { return strings.Compare(a.ID, b.ID) })
	}
	return out, nil
}

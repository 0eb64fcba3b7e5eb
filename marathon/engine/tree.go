package engine

import (
	"slices"

	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/state"
)

// PutApp returns root with a put in place of the app with its id,
// creating missing groups. It modifies root's slices: use it on a tree you
// own, such as the copy Change.Apply receives.
func PutApp(root app.Group, a app.App) app.Group { return putApp(root, a) }

// RemoveApp returns root without app id.
func RemoveApp(root app.Group, id string) app.Group { return removeApp(root, id) }

// ReplaceGroup returns root with the group g.ID replaced by g (created,
// with missing parents, when absent). g.ID "/" replaces the whole tree.
func ReplaceGroup(root app.Group, g app.Group) app.Group {
	id := app.CanonicalID(g.ID, "/")
	if id == "/" {
		g.ID = "/"
		return g
	}
	root = cloneTree(root)
	parent := ensureGroup(&root, app.ParentID(id))
	for i := range parent.Groups {
		if app.CanonicalID(parent.Groups[i].ID, "/") == id {
			parent.Groups[i] = g
			return root
		}
	}
	parent.Groups = append(parent.Groups, g)
	slices.SortFunc(parent.Groups, func(a, b app.Group) int {
		return cmpString(app.CanonicalID(a.ID, "/"), app.CanonicalID(b.ID, "/"))
	})
	return root
}

// RemoveGroup returns root without group id and everything below it ("/"
// empties the tree).
func RemoveGroup(root app.Group, id string) app.Group {
	id = app.CanonicalID(id, "/")
	if id == "/" {
		return app.Group{ID: "/", Version: root.Version}
	}
	root = cloneTree(root)
	root.WalkGroups(func(g *app.Group) bool {
		g.Groups = slices.DeleteFunc(g.Groups, func(sub app.Group) bool { return app.CanonicalID(sub.ID, "/") == id })
		return true
	})
	return root
}

func ensureGroup(root *app.Group, id string) *app.Group {
	if id == "/" || id == "" {
		return root
	}
	parent := ensureGroup(root, app.ParentID(id))
	for i := range parent.Groups {
		if app.CanonicalID(parent.Groups[i].ID, "/") == id {
			return &parent.Groups[i]
		}
	}
	parent.Groups = append(parent.Groups, app.Group{ID: id})
	return &parent.Groups[len(parent.Groups)-1]
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var _ = state.Skeleton

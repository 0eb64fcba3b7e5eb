package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Group is a node of Marathon's group tree in its GroupInfo JSON form. Apps
// and Groups hold the direct children; Pods is always empty (Strata has no
// pods) but present, as clients expect the array.
type Group struct {
	ID           string            `json:"id"`
	Apps         []App             `json:"apps"`
	Pods         []json.RawMessage `json:"pods"`
	Groups       []Group           `json:"groups"`
	Dependencies []string          `json:"dependencies"`
	Version      string            `json:"version,omitempty"`
	// EnforceRole is set for top-level groups only: when true, apps in the
	// group default to (and must use) the role named after the group.
	EnforceRole *bool `json:"enforceRole,omitempty"`
}

// MarshalJSON writes empty arrays rather than null.
func (g Group) MarshalJSON() ([]byte, error) {
	type plain Group
	p := plain(g)
	if p.Apps == nil {
		p.Apps = []App{}
	}
	if p.Pods == nil {
		p.Pods = []json.RawMessage{}
	}
	if p.Groups == nil {
		p.Groups = []Group{}
	}
	if p.Dependencies == nil {
		p.Dependencies = []string{}
	}
	return json.Marshal(p)
}

// WalkApps calls fn for every app in g and its subgroups, depth first, a
// group's own apps before its subgroups'; it stops when fn returns false.
func (g *Group) WalkApps(fn func(*App) bool) bool {
	for i := range g.Apps {
		if !fn(&g.Apps[i]) {
			return false
		}
	}
	for i := range g.Groups {
		if !g.Groups[i].WalkApps(fn) {
			return false
		}
	}
	return true
}

// WalkGroups calls fn for g and every subgroup, parents first.
func (g *Group) WalkGroups(fn func(*Group) bool) bool {
	if !fn(g) {
		return false
	}
	for i := range g.Groups {
		if !g.Groups[i].WalkGroups(fn) {
			return false
		}
	}
	return true
}

// TransitiveApps returns copies of every app in the tree (WalkApps order).
func (g Group) TransitiveApps() []App {
	var out []App
	g.WalkApps(func(a *App) bool {
		out = append(out, *a)
		return true
	})
	return out
}

// FindApp looks an app up by its absolute id.
func (g *Group) FindApp(id string) (*App, bool) {
	var found *App
	g.WalkApps(func(a *App) bool {
		if a.ID == id {
			found = a
			return false
		}
		return true
	})
	return found, found != nil
}

// FindGroup looks a group up by its absolute id ("/" is g itself when g is
// the root).
func (g *Group) FindGroup(id string) (*Group, bool) {
	id = CanonicalID(id, "/")
	var found *Group
	g.WalkGroups(func(sub *Group) bool {
		if CanonicalID(sub.ID, "/") == id {
			found = sub
			return false
		}
		return true
	})
	return found, found != nil
}

// ScaleBy multiplies the instances of every app in the tree by factor,
// rounding up (PUT /v2/groups/{id} {"scaleBy": f}).
func (g *Group) ScaleBy(factor float64) {
	g.WalkApps(func(a *App) bool {
		n := int(math.Ceil(float64(a.NumInstances()) * factor))
		a.Instances = &n
		return true
	})
}

// GroupUpdate is a parsed and normalized GroupUpdate body (POST/PUT
// /v2/groups[/{id}]). Ids are absolute. A nil Apps, Groups or Dependencies
// means "keep the current ones"; a non-nil one replaces them. Version (a
// rollback) and ScaleBy are special forms that come alone.
type GroupUpdate struct {
	ID           string
	Apps         []App
	Groups       []GroupUpdate
	Dependencies []string
	ScaleBy      *float64
	Version      string
	EnforceRole  *bool
}

type rawGroupUpdate struct {
	ID           *string          `json:"id"`
	Apps         []App            `json:"apps"`
	Groups       []rawGroupUpdate `json:"groups"`
	Dependencies []string         `json:"dependencies"`
	ScaleBy      *float64         `json:"scaleBy"`
	Version      *string          `json:"version"`
	EnforceRole  *bool            `json:"enforceRole"`
}

var groupUpdateSchema = func() *schema {
	s := tObject()
	s.fields = []field{
		optional("id", sPathID()),
		optional("apps", tArray(appSchema, uniqueItems())),
		optional("groups", tArray(s, uniqueItems())),
		optional("dependencies", tArray(sPathID(), uniqueItems())),
		optional("scaleBy", tNumber(minimum(0))),
		optional("version", tString()),
		optional("enforceRole", tBool()),
	}
	return s
}()

// Group-rule messages (state/Group.scala, RootGroup.scala, Validation.scala).
const (
	MsgNotOnlyOption      = "not allowed in conjunction with other properties."
	MsgAppsAndGroupsSame  = "Groups and Applications may not have the same identifier."
	MsgCyclicDependencies = "Dependency graph has cyclic dependencies."
	MsgAppNotInGroup      = "App has to be child of group with parent id"
	MsgGroupNotInGroup    = "Group has to be child of groups with parent id"
)

// Strata's own group message: Marathon keys apps by id and silently keeps
// the last of two apps with the same id.
const msgDuplicateApp = "An app with this id is defined more than once"

// ParseGroupUpdate is Config{}.ParseGroupUpdate.
func ParseGroupUpdate(data []byte, base string) (GroupUpdate, error) {
	return Config{}.ParseGroupUpdate(data, base)
}

// ParseGroupUpdate reads, normalizes and validates a group update body for
// the group at path base (the URL's group id, "/" for /v2/groups). The
// body's id, app ids, nested group ids and dependencies may be relative; each
// is resolved against its enclosing group. Apps are normalized as by
// NormalizeApp and must be direct children of their group. Errors are 400
// *SyntaxError or 422 *ValidationError with paths such as "/apps(0)/id" and
// "/groups(1)/apps(0)/cmd".
func (c Config) ParseGroupUpdate(data []byte, base string) (GroupUpdate, error) {
	tree, err := decodeTree(data)
	if err != nil {
		return GroupUpdate{}, err
	}
	var raw rawGroupUpdate
	if _, err := readTreeInto(tree, groupUpdateSchema, &raw, ""); err != nil {
		return GroupUpdate{}, err
	}
	base = CanonicalID(base, "/")
	var vs violations
	gu := c.groupUpdate(raw, base, true, &vs, "")
	if err := vs.err(MsgNotValid); err != nil {
		return GroupUpdate{}, err
	}
	if gu.Version == "" && gu.ScaleBy == nil {
		if _, err := GroupLayers(ApplyGroupUpdate(Group{ID: gu.ID}, gu)); err != nil {
			return GroupUpdate{}, err
		}
	}
	return gu, nil
}

// groupUpdate converts one level. parent is the path relative ids resolve
// against; outer is true for the body's top level.
func (c Config) groupUpdate(raw rawGroupUpdate, parent string, outer bool, vs *violations, prefix string) GroupUpdate {
	defined := 0
	for _, set := range []bool{raw.ID != nil, raw.Apps != nil, raw.Groups != nil, raw.Dependencies != nil,
		raw.ScaleBy != nil, raw.Version != nil, raw.EnforceRole != nil} {
		if set {
			defined++
		}
	}
	if raw.Version != nil && defined > 1 {
		vs.add(prefix+"/version", MsgNotOnlyOption)
	}
	if raw.ScaleBy != nil && defined > 1 {
		vs.add(prefix+"/scaleBy", MsgNotOnlyOption)
	}
	gu := GroupUpdate{ID: parent, ScaleBy: raw.ScaleBy, EnforceRole: raw.EnforceRole}
	if raw.Version != nil {
		gu.Version = *raw.Version
	}
	if raw.ID != nil {
		for _, msg := range rawIDViolations(*raw.ID) {
			vs.add(prefix+"/id", msg)
		}
		gu.ID = CanonicalID(*raw.ID, parent)
	}
	switch {
	case outer:
	case raw.ID == nil:
		vs.add(prefix+"/id", msgIDEmpty)
	case ParentID(gu.ID) != parent || gu.ID == parent:
		vs.add(prefix+"/id", MsgGroupNotInGroup)
	}
	segs := segments(gu.ID)
	if gu.EnforceRole != nil && *gu.EnforceRole && len(segs) != 1 {
		vs.addf(prefix+"/enforceRole", "enforceRole can only be set for top-level groups, and %s is not top-level", gu.ID)
	}

	cfg := c
	if raw.EnforceRole != nil && *raw.EnforceRole && len(segs) == 1 {
		cfg.groupRole = segs[0]
	}
	if raw.Dependencies != nil {
		gu.Dependencies = make([]string, len(raw.Dependencies))
		for i, d := range raw.Dependencies {
			gu.Dependencies[i] = CanonicalID(d, gu.ID)
			for _, msg := range IDViolations(gu.Dependencies[i]) {
				vs.add(fmt.Sprintf("%s/dependencies(%d)", prefix, i), msg)
			}
		}
	}
	ids := map[string]bool{}
	if raw.Apps != nil {
		gu.Apps = make([]App, 0, len(raw.Apps))
		for i, a := range raw.Apps {
			p := fmt.Sprintf("%s/apps(%d)", prefix, i)
			na, err := cfg.NormalizeApp(a, gu.ID)
			if err != nil {
				var ve *ValidationError
				if errors.As(err, &ve) {
					vs.merge(p, ve.Violations)
				}
				continue
			}
			if ParentID(na.ID) != gu.ID {
				vs.addf(p+"/id", "Identifier is not child of '%s'", gu.ID)
			}
			if ids[na.ID] {
				vs.add(p+"/id", msgDuplicateApp)
			}
			ids[na.ID] = true
			gu.Apps = append(gu.Apps, na)
		}
	}
	if raw.Groups != nil {
		gu.Groups = make([]GroupUpdate, 0, len(raw.Groups))
		clash := false
		for i, rg := range raw.Groups {
			p := fmt.Sprintf("%s/groups(%d)", prefix, i)
			sub := cfg.groupUpdate(rg, gu.ID, false, vs, p)
			if ids[sub.ID] {
				clash = true
			}
			gu.Groups = append(gu.Groups, sub)
		}
		if clash {
			vs.add(joinPath(prefix, "/"), MsgAppsAndGroupsSame)
		}
	}
	return gu
}

// rawIDViolations checks an id as written in a body (it may be relative):
// segment pattern and reserved last segment.
func rawIDViolations(id string) []string {
	var out []string
	for _, msg := range IDViolations(id) {
		if msg != msgIDNotAbsolute && msg != msgIDEmpty {
			out = append(out, msg)
		}
	}
	return out
}

// ApplyGroupUpdate returns current with a structural update applied
// (UpdateGroupStructureOp): listed apps replace the group's apps, listed
// subgroups replace its subgroups (existing ones are updated recursively,
// new ones created, unlisted ones removed), and absent lists keep what is
// there. Versions are left to the caller. u must not be a scale or rollback.
func ApplyGroupUpdate(current Group, u GroupUpdate) Group {
	g := Group{
		ID:           u.ID,
		Apps:         current.Apps,
		Groups:       current.Groups,
		Dependencies: current.Dependencies,
		Version:      current.Version,
		EnforceRole:  current.EnforceRole,
	}
	if u.EnforceRole != nil {
		g.EnforceRole = u.EnforceRole
	}
	if u.Apps != nil {
		g.Apps = slices.Clone(u.Apps)
	}
	if u.Dependencies != nil {
		g.Dependencies = slices.Clone(u.Dependencies)
	}
	if u.Groups != nil {
		g.Groups = make([]Group, 0, len(u.Groups))
		for _, sub := range u.Groups {
			cur := Group{ID: sub.ID}
			for _, existing := range current.Groups {
				if CanonicalID(existing.ID, "/") == sub.ID {
					cur = existing
				}
			}
			g.Groups = append(g.Groups, ApplyGroupUpdate(cur, sub))
		}
	}
	return g
}

// ValidateRoot checks the invariants of a whole group tree after an update:
// every app and group sits directly in the group whose id is its parent, no
// id is used twice, an app and a group never share an id, and the
// dependency graph (app and group dependencies) has no cycle.
func ValidateRoot(root Group) error {
	var vs violations
	seen := map[string]string{}
	var visit func(g *Group)
	visit = func(g *Group) {
		gid := CanonicalID(g.ID, "/")
		for _, a := range g.Apps {
			p := "/apps/" + strings.TrimPrefix(a.ID, "/")
			if ParentID(a.ID) != gid {
				vs.add(p, MsgAppNotInGroup)
			}
			if _, dup := seen[a.ID]; dup {
				vs.add(p, msgDuplicateApp)
			}
			seen[a.ID] = "app"
		}
		for i := range g.Groups {
			sub := &g.Groups[i]
			sid := CanonicalID(sub.ID, "/")
			if ParentID(sid) != gid || sid == gid {
				vs.add("/groups/"+strings.TrimPrefix(sid, "/"), MsgGroupNotInGroup)
			}
			if kind, dup := seen[sid]; dup && kind == "app" {
				vs.add("/", MsgAppsAndGroupsSame)
			}
			seen[sid] = "group"
			visit(sub)
		}
	}
	visit(&root)
	if err := vs.err(MsgNotValid); err != nil {
		return err
	}
	_, err := GroupLayers(root)
	return err
}

package app

import (
	"fmt"
	"slices"
	"strings"
)

// Roles say which Mesos roles an app may run as (Marathon 1.9+ multi-role,
// RoleSettings.forService): an app directly in the root group may only use
// --mesos_role; an app below a top-level group G may use G's name and, unless
// G enforces its role (enforceRole=true), --mesos_role too. The role an app
// has before the change always stays valid, so that turning enforcement on
// does not make existing apps invalid.
type Roles struct {
	// Default is the role of an app that names none: G's name when G
	// enforces its role, else --mesos_role.
	Default string
	// Valid lists the allowed roles in Marathon's order (--mesos_role, the
	// group's role, the existing role), without duplicates.
	Valid []string
}

// RolesFor returns the roles the app id may use in the tree root (the tree
// after the change, so that a top-level group created or switched to
// enforceRole by the same request counts). mesosRole is --mesos_role ("*"
// when empty); existing is the app's role before the change ("" for a new
// app).
func RolesFor(root *Group, id, mesosRole, existing string) Roles {
	if mesosRole == "" {
		mesosRole = "*"
	}
	segs := segments(CanonicalID(id, "/"))
	var r Roles
	if len(segs) < 2 {
		r = Roles{Default: mesosRole, Valid: []string{mesosRole}}
	} else {
		top := segs[0]
		enforced := false
		if g, ok := root.FindGroup("/" + top); ok && g.EnforceRole != nil {
			enforced = *g.EnforceRole
		}
		if enforced {
			r = Roles{Default: top, Valid: []string{top}}
		} else {
			r = Roles{Default: mesosRole, Valid: []string{mesosRole, top}}
		}
	}
	if existing != "" {
		r.Valid = append(r.Valid, existing)
	}
	r.Valid = uniqueInOrder(r.Valid)
	return r
}

func uniqueInOrder(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ResolveRoles gives every app of nu without a role (normalization leaves
// it empty below a group when the request names none) the default role of
// its place in nu: the top-level group's name when that group enforces its
// role, else mesosRole. Call it on the tree a request produces, before
// comparing it with the current tree.
func ResolveRoles(nu *Group, mesosRole string) {
	nu.WalkApps(func(a *App) bool {
		if a.Role == "" {
			a.Role = RolesFor(nu, a.ID, mesosRole, "").Default
		}
		return true
	})
}

// ValidateRoles checks the role of every app of nu for which changed
// returns true against RolesFor (with its role in old as the existing one),
// and its acceptedResourceRoles against that role. The error is a 422
// *ValidationError with Marathon's wording: path "/role", "got dev2,
// expected one of: [*, dev]".
func ValidateRoles(old, nu *Group, mesosRole string, changed func(*App) bool) error {
	var vs violations
	nu.WalkApps(func(a *App) bool {
		if !changed(a) {
			return true
		}
		existing := ""
		if prev, ok := old.FindApp(a.ID); ok {
			existing = prev.Role
		}
		r := RolesFor(nu, a.ID, mesosRole, existing)
		if !slices.Contains(r.Valid, a.Role) {
			vs.add("/role", roleNotValid(a.Role, r.Valid))
		}
		if a.AcceptedResourceRoles != nil {
			validateAcceptedRoles(a.AcceptedResourceRoles, a.Role, &vs)
		}
		return true
	})
	return vs.err(MsgNotValid)
}

// roleNotValid is wix-accord's "in" violation as Marathon renders it.
func roleNotValid(role string, valid []string) string {
	return fmt.Sprintf("got %s, expected one of: [%s]", role, strings.Join(valid, ", "))
}

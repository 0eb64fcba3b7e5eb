package engine

import (
	"context"
	"slices"
)

// RoleUpdater is implemented by a Driver that can change the roles the
// framework is subscribed with (UPDATE_FRAMEWORK). The engine calls it from
// its loop whenever the set of roles its apps and tasks use changes, before
// it revives offers for them. UpdateRoles with the roles already in effect
// must be a cheap no-op.
type RoleUpdater interface {
	UpdateRoles(ctx context.Context, roles []string) error
}

// Roles returns the roles the framework must be subscribed with: the
// framework's role (--mesos_role), the role of every app and the role of
// every task still alive, sorted. Empty before the state is loaded.
func (e *Engine) Roles() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return nil
	}
	return e.roles()
}

// roles is Roles under e.mu.
func (e *Engine) roles() []string {
	set := map[string]bool{e.cfg.Role: true}
	for _, a := range e.appIdx {
		set[roleOf(a)] = true
	}
	for _, in := range e.tasks {
		if in.Role != "" && !in.Terminal() {
			set[in.Role] = true
		}
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// syncRoles asks the driver to subscribe with roles when they differ from
// what it last accepted. It runs outside e.mu.
func (e *Engine) syncRoles(ctx context.Context, d Driver, roles []string) {
	ru, ok := d.(RoleUpdater)
	if !ok {
		return
	}
	e.mu.Lock()
	same := slices.Equal(e.sentRoles, roles)
	e.mu.Unlock()
	if same {
		return
	}
	if err := ru.UpdateRoles(ctx, roles); err != nil {
		e.log.Warn("updating the framework's roles failed; will retry", "roles", roles, "err", err)
		return
	}
	e.log.Info("subscribed roles", "roles", roles)
	e.mu.Lock()
	e.sentRoles = roles
	e.mu.Unlock()
}

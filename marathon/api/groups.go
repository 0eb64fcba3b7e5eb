package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/engine"
)

func groupNotFound(id string) error { return notFound(fmt.Sprintf("Group '%s' does not exist", id)) }

// groups serves /v2/groups and everything below it.
func (s *server) groups(w http.ResponseWriter, r *http.Request) {
	gp := parseGroupPath(strings.TrimPrefix(r.URL.Path, "/v2/groups"))
	switch {
	case r.Method == http.MethodGet && gp.apps:
		s.groupApps(w, r, gp)
	case r.Method == http.MethodGet && gp.verList:
		s.groupVersions(w, r, gp)
	case r.Method == http.MethodGet && gp.version != "":
		s.groupAtVersion(w, r, gp)
	case r.Method == http.MethodGet:
		s.getGroup(w, r, gp)
	case r.Method == http.MethodPost && !gp.apps && !gp.verList && gp.version == "":
		s.createGroup(w, r, gp)
	case r.Method == http.MethodPut && !gp.apps && !gp.verList && gp.version == "":
		s.updateGroup(w, r, gp)
	case r.Method == http.MethodPatch && !gp.apps && !gp.verList && gp.version == "":
		s.patchGroup(w, r, gp)
	case r.Method == http.MethodDelete && !gp.apps && !gp.verList && gp.version == "":
		s.deleteGroup(w, r, gp)
	default:
		writeJSON(w, http.StatusMethodNotAllowed, message{fmt.Sprintf("Method %s is not allowed on %s", r.Method, r.URL.Path)})
	}
}

// GET /v2/groups[/{id}]?embed=: by default with subgroups and apps.
func (s *server) getGroup(w http.ResponseWriter, r *http.Request, gp groupPath) {
	emb, raw := embeds(r)
	withApps, withGroups := true, true
	if len(r.URL.Query()["embed"]) > 0 {
		withApps = raw["group.apps"] || emb != 0
		withGroups = raw["group.groups"]
	}
	gi, ok, err := s.e.Group(gp.id, withApps, withGroups, emb)
	switch {
	case err != nil:
		writeError(w, err)
	case !ok:
		writeError(w, groupNotFound(gp.id))
	default:
		writeJSON(w, http.StatusOK, gi)
	}
}

// GET /v2/groups/{id}/apps: the group's own apps.
func (s *server) groupApps(w http.ResponseWriter, r *http.Request, gp groupPath) {
	emb, _ := embeds(r)
	gi, ok, err := s.e.Group(gp.id, true, false, emb|engine.EmbedCounts|engine.EmbedDeployments)
	switch {
	case err != nil:
		writeError(w, err)
	case !ok:
		writeError(w, groupNotFound(gp.id))
	default:
		writeJSON(w, http.StatusOK, map[string]any{"apps": gi.Apps})
	}
}

// GET /v2/groups/{id}/versions
func (s *server) groupVersions(w http.ResponseWriter, r *http.Request, gp groupPath) {
	if _, ok, err := s.e.Group(gp.id, false, false, 0); err != nil || !ok {
		if err == nil {
			err = groupNotFound(gp.id)
		}
		writeError(w, err)
		return
	}
	vs, err := s.e.RootVersions(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	if vs == nil {
		vs = []string{}
	}
	writeJSON(w, http.StatusOK, vs)
}

// GET /v2/groups/{id}/versions/{version}
func (s *server) groupAtVersion(w http.ResponseWriter, r *http.Request, gp groupPath) {
	root, ok, err := s.e.RootAt(r.Context(), gp.version)
	if err != nil {
		writeError(w, err)
		return
	}
	var g *app.Group
	if ok {
		g, ok = root.FindGroup(gp.id)
	}
	if !ok {
		writeError(w, notFound(fmt.Sprintf("Group '%s' does not exist in version %s", gp.id, gp.version)))
		return
	}
	writeJSON(w, http.StatusOK, *g)
}

// POST /v2/groups[/{id}]: create a group (201, Location, DR).
func (s *server) createGroup(w http.ResponseWriter, r *http.Request, gp groupPath) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	gu, err := s.cfg.App.ParseGroupUpdate(body, gp.id)
	if err != nil {
		writeError(w, err)
		return
	}
	if gu.Version != "" || gu.ScaleBy != nil {
		writeError(w, &app.MessageError{Message: "A group cannot be created with version or scaleBy; use PUT on an existing group."})
		return
	}
	res, err := s.e.Deploy(r.Context(), engine.Change{
		Force: boolParam(r, "force", false),
		Apply: func(root app.Group) (app.Group, error) {
			if _, ok := root.FindGroup(gu.ID); ok {
				return root, &engine.ConflictError{Message: fmt.Sprintf("Group %s is already created. Use PUT to change this group.", gu.ID)}
			}
			if _, ok := root.FindApp(gu.ID); ok {
				return root, &engine.ConflictError{Message: fmt.Sprintf("An app with the path %s already exists.", gu.ID)}
			}
			return engine.ReplaceGroup(root, app.ApplyGroupUpdate(app.Group{ID: gu.ID}, gu)), nil
		},
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Location", gu.ID)
	deploymentResult(w, http.StatusCreated, res)
}

// PUT /v2/groups[/{id}]?force=&dryRun=: update (creating the path),
// {"scaleBy": f}, or {"version": ts} (rollback).
func (s *server) updateGroup(w http.ResponseWriter, r *http.Request, gp groupPath) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	gu, err := s.cfg.App.ParseGroupUpdate(body, gp.id)
	if err != nil {
		writeError(w, err)
		return
	}
	var apply func(root app.Group) (app.Group, error)
	switch {
	case gu.Version != "":
		old, ok, err := s.e.RootAt(r.Context(), gu.Version)
		if err != nil {
			writeError(w, err)
			return
		}
		var g *app.Group
		if ok {
			g, ok = old.FindGroup(gu.ID)
		}
		if !ok {
			writeError(w, &app.MessageError{Message: fmt.Sprintf("Group %s does not exist in version %s", gu.ID, gu.Version)})
			return
		}
		target := *g
		apply = func(root app.Group) (app.Group, error) { return engine.ReplaceGroup(root, target), nil }
	case gu.ScaleBy != nil:
		apply = func(root app.Group) (app.Group, error) {
			g, ok := root.FindGroup(gu.ID)
			if !ok {
				return root, groupNotFound(gu.ID)
			}
			g.ScaleBy(*gu.ScaleBy)
			return root, nil
		}
	default:
		apply = func(root app.Group) (app.Group, error) {
			cur := app.Group{ID: gu.ID}
			if g, ok := root.FindGroup(gu.ID); ok {
				cur = *g
			}
			return engine.ReplaceGroup(root, app.ApplyGroupUpdate(cur, gu)), nil
		}
	}
	dry := boolParam(r, "dryRun", false)
	res, err := s.e.Deploy(r.Context(), engine.Change{Force: boolParam(r, "force", false), DryRun: dry, Apply: apply})
	if err != nil {
		writeError(w, err)
		return
	}
	if dry {
		writeJSON(w, http.StatusOK, map[string]any{"steps": res.Plan.Steps})
		return
	}
	deploymentResult(w, http.StatusOK, res)
}

// PATCH /v2/groups/{id} {"enforceRole": bool}: top-level groups only.
func (s *server) patchGroup(w http.ResponseWriter, r *http.Request, gp groupPath) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var req struct {
		EnforceRole *bool `json:"enforceRole"`
	}
	if err := decodeJSON(body, &req); err != nil {
		writeError(w, err)
		return
	}
	if gp.id == "/" || app.ParentID(gp.id) != "/" {
		writeError(w, &app.MessageError{Message: fmt.Sprintf("enforceRole can only be set for top-level groups, and %s is not top-level", gp.id)})
		return
	}
	_, err = s.e.Deploy(r.Context(), engine.Change{Apps: []string{}, Apply: func(root app.Group) (app.Group, error) {
		g, ok := root.FindGroup(gp.id)
		if !ok {
			return root, groupNotFound(gp.id)
		}
		g.EnforceRole = req.EnforceRole
		return root, nil
	}})
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// DELETE /v2/groups[/{id}]
func (s *server) deleteGroup(w http.ResponseWriter, r *http.Request, gp groupPath) {
	res, err := s.e.Deploy(r.Context(), engine.Change{
		Force: boolParam(r, "force", false),
		Apply: func(root app.Group) (app.Group, error) {
			if _, ok := root.FindGroup(gp.id); !ok {
				return root, groupNotFound(gp.id)
			}
			return engine.RemoveGroup(root, gp.id), nil
		},
	})
	if err != nil {
		writeError(w, err)
		return
	}
	deploymentResult(w, http.StatusOK, res)
}

var _ = json.Marshal

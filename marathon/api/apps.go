package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/engine"
)

func appNotFound(id string) error { return notFound(fmt.Sprintf("App '%s' does not exist", id)) }

// GET /v2/apps?cmd=&id=&label=&embed=
func (s *server) listApps(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var sel app.Selector
	if l := q.Get("label"); l != "" {
		var err error
		if sel, err = app.ParseSelector(l); err != nil {
			writeError(w, err)
			return
		}
	}
	cmd, idPart := strings.ToLower(q.Get("cmd")), strings.ToLower(q.Get("id"))
	emb, _ := embeds(r)
	emb |= engine.EmbedCounts | engine.EmbedDeployments
	apps, err := s.e.Apps(func(a *app.App) bool {
		if cmd != "" && !strings.Contains(strings.ToLower(a.Cmd), cmd) {
			return false
		}
		if idPart != "" && !strings.Contains(strings.ToLower(a.ID), idPart) {
			return false
		}
		return sel == nil || sel.Match(a.Labels)
	}, emb)
	if err != nil {
		writeError(w, err)
		return
	}
	s.writeApps(w, "apps", apps)
}

// POST /v2/apps
func (s *server) createApp(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	a, err := s.cfg.App.Normalize(body)
	if err != nil {
		writeError(w, err)
		return
	}
	res, err := s.e.Deploy(r.Context(), engine.Change{
		Apps: []string{a.ID}, Force: boolParam(r, "force", false), Origin: origin(r),
		Apply: func(root app.Group) (app.Group, error) {
			if _, ok := root.FindApp(a.ID); ok {
				return root, &engine.ConflictError{Message: fmt.Sprintf("An app with id [%s] already exists.", a.ID)}
			}
			return engine.PutApp(root, a), nil
		},
	})
	if err != nil {
		writeError(w, err)
		return
	}
	created, _ := res.Root.FindApp(a.ID)
	ai := app.AppInfo{App: *created, Deployments: []app.Identifiable{{ID: res.Plan.ID}}}
	ai.WithCounts(app.Counts{})
	w.Header().Set("Location", a.ID)
	w.Header().Set("Marathon-Deployment-Id", res.Plan.ID)
	writeJSON(w, http.StatusCreated, ai)
}

// batchIDs reads the ids of a PUT/PATCH /v2/apps array body.
func batchIDs(body []byte) ([]json.RawMessage, []string, error) {
	var raws []json.RawMessage
	if err := decodeJSON(body, &raws); err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(raws))
	for i, raw := range raws {
		var head struct {
			ID *string `json:"id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.ID == nil {
			return nil, nil, &app.ValidationError{Message: app.MsgInvalidJSON, Violations: []app.Violation{
				{Path: fmt.Sprintf("/(%d)/id", i), Errors: []string{"error.path.missing"}}}}
		}
		ids[i] = app.CanonicalID(*head.ID, "/")
	}
	return raws, ids, nil
}

func prefixed(err error, i int) error {
	if ve, ok := err.(*app.ValidationError); ok {
		return ve.WithPrefix(fmt.Sprintf("/(%d)", i))
	}
	return err
}

// PUT /v2/apps (create or update several apps in one deployment)
func (s *server) putApps(w http.ResponseWriter, r *http.Request) {
	s.batch(w, r, false)
}

// PATCH /v2/apps (update existing apps only)
func (s *server) patchApps(w http.ResponseWriter, r *http.Request) {
	s.batch(w, r, true)
}

func (s *server) batch(w http.ResponseWriter, r *http.Request, patch bool) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	raws, ids, err := batchIDs(body)
	if err != nil {
		writeError(w, err)
		return
	}
	partial := patch || boolParam(r, "partialUpdate", true)
	res, err := s.e.Deploy(r.Context(), engine.Change{
		Apps: ids, Force: boolParam(r, "force", false), Origin: origin(r),
		Apply: func(root app.Group) (app.Group, error) {
			for i, raw := range raws {
				cur, exists := root.FindApp(ids[i])
				var na app.App
				var err error
				switch {
				case patch && !exists:
					return root, appNotFound(ids[i])
				case exists && partial:
					na, err = s.cfg.App.Merge(*cur, raw)
				default:
					na, err = s.cfg.App.Replace(ids[i], raw)
				}
				if err != nil {
					return root, prefixed(err, i)
				}
				root = engine.PutApp(root, na)
			}
			return root, nil
		},
	})
	if err != nil {
		writeError(w, err)
		return
	}
	deploymentResult(w, http.StatusOK, res)
}

// appsSubtree serves everything below /v2/apps/.
func (s *server) appsSubtree(w http.ResponseWriter, r *http.Request) {
	p := parseAppPath(r.Method, strings.TrimPrefix(r.URL.Path, "/v2/apps"))
	type route struct {
		kind   appPathKind
		method string
	}
	handlers := map[route]func(http.ResponseWriter, *http.Request, appPath){
		{pathApp, http.MethodGet}:        s.getApp,
		{pathApp, http.MethodPut}:        s.putApp,
		{pathApp, http.MethodPatch}:      s.patchApp,
		{pathApp, http.MethodDelete}:     s.deleteApp,
		{pathGroupApps, http.MethodGet}:  s.getGroupApps,
		{pathTasks, http.MethodGet}:      s.getAppTasks,
		{pathGroupTasks, http.MethodGet}: s.getAppTasks,
		{pathTasks, http.MethodDelete}:   s.deleteAppTasks,
		{pathTask, http.MethodDelete}:    s.deleteAppTask,
		{pathVersions, http.MethodGet}:   s.getVersions,
		{pathVersion, http.MethodGet}:    s.getVersion,
		{pathRestart, http.MethodPost}:   s.restartApp,
	}
	h, ok := handlers[route{p.kind, r.Method}]
	if !ok {
		writeJSON(w, http.StatusMethodNotAllowed, message{fmt.Sprintf("Method %s is not allowed on %s", r.Method, r.URL.Path)})
		return
	}
	h(w, r, p)
}

// GET /v2/apps/{id}: always with counts, tasks, lastTaskFailure and
// deployments.
func (s *server) getApp(w http.ResponseWriter, r *http.Request, p appPath) {
	emb, _ := embeds(r)
	emb |= engine.EmbedCounts | engine.EmbedTasks | engine.EmbedLastTaskFailure | engine.EmbedDeployments
	ai, ok, err := s.e.App(p.id, emb)
	switch {
	case err != nil:
		writeError(w, err)
	case !ok:
		writeError(w, appNotFound(p.id))
	default:
		writeJSON(w, http.StatusOK, map[string]any{"app": ai})
	}
}

// GET /v2/apps/{group}/*: every app below the group.
func (s *server) getGroupApps(w http.ResponseWriter, r *http.Request, p appPath) {
	emb, _ := embeds(r)
	emb |= engine.EmbedCounts | engine.EmbedTasks | engine.EmbedLastTaskFailure | engine.EmbedDeployments
	root, err := s.e.Root()
	if err != nil {
		writeError(w, err)
		return
	}
	if _, ok := root.FindGroup(p.id); !ok {
		writeError(w, notFound(fmt.Sprintf("Group '%s' does not exist", p.id)))
		return
	}
	apps, err := s.e.Apps(func(a *app.App) bool { return p.id == "/" || app.IsChildOf(a.ID, p.id) }, emb)
	if err != nil {
		writeError(w, err)
		return
	}
	s.writeApps(w, "*", apps)
}

// PUT /v2/apps/{id}: partial update (default), full replace, create, or
// rollback ({"version": ts}).
func (s *server) putApp(w http.ResponseWriter, r *http.Request, p appPath) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	version, rollback, err := app.RollbackVersion(body)
	if err != nil {
		writeError(w, err)
		return
	}
	var old app.App
	if rollback {
		var ok bool
		old, ok, err = s.e.AppVersion(r.Context(), p.id, version)
		if err != nil {
			writeError(w, err)
			return
		}
		if !ok {
			writeError(w, notFound(fmt.Sprintf("App '%s' does not exist in version %s", p.id, version)))
			return
		}
	}
	partial := boolParam(r, "partialUpdate", true)
	created := false
	res, err := s.e.Deploy(r.Context(), engine.Change{
		Apps: []string{p.id}, Force: boolParam(r, "force", false), Origin: origin(r),
		Apply: func(root app.Group) (app.Group, error) {
			cur, exists := root.FindApp(p.id)
			var na app.App
			var err error
			switch {
			case rollback:
				na = old
			case exists && partial:
				na, err = s.cfg.App.Merge(*cur, body)
			default:
				na, err = s.cfg.App.Replace(p.id, body)
			}
			if err != nil {
				return root, err
			}
			created = !exists
			return engine.PutApp(root, na), nil
		},
	})
	if err != nil {
		writeError(w, err)
		return
	}
	if created {
		w.Header().Set("Location", p.id)
		deploymentResult(w, http.StatusCreated, res)
		return
	}
	deploymentResult(w, http.StatusOK, res)
}

// PATCH /v2/apps/{id}: partial update of an existing app.
func (s *server) patchApp(w http.ResponseWriter, r *http.Request, p appPath) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	res, err := s.e.Deploy(r.Context(), engine.Change{
		Apps: []string{p.id}, Force: boolParam(r, "force", false), Origin: origin(r),
		Apply: func(root app.Group) (app.Group, error) {
			cur, exists := root.FindApp(p.id)
			if !exists {
				return root, appNotFound(p.id)
			}
			na, err := s.cfg.App.Merge(*cur, body)
			if err != nil {
				return root, err
			}
			return engine.PutApp(root, na), nil
		},
	})
	if err != nil {
		writeError(w, err)
		return
	}
	deploymentResult(w, http.StatusOK, res)
}

// DELETE /v2/apps/{id} (force defaults to true).
func (s *server) deleteApp(w http.ResponseWriter, r *http.Request, p appPath) {
	res, err := s.e.Deploy(r.Context(), engine.Change{
		Apps: []string{p.id}, Force: boolParam(r, "force", true),
		Apply: func(root app.Group) (app.Group, error) {
			if _, ok := root.FindApp(p.id); !ok {
				return root, appNotFound(p.id)
			}
			return engine.RemoveApp(root, p.id), nil
		},
	})
	if err != nil {
		writeError(w, err)
		return
	}
	deploymentResult(w, http.StatusOK, res)
}

// POST /v2/apps/{id}/restart
func (s *server) restartApp(w http.ResponseWriter, r *http.Request, p appPath) {
	res, err := s.e.Deploy(r.Context(), engine.Change{
		Apps: []string{p.id}, Restart: []string{p.id}, Force: boolParam(r, "force", false),
		Apply: func(root app.Group) (app.Group, error) {
			if _, ok := root.FindApp(p.id); !ok {
				return root, appNotFound(p.id)
			}
			return root, nil
		},
	})
	if err != nil {
		writeError(w, err)
		return
	}
	deploymentResult(w, http.StatusOK, res)
}

// GET /v2/apps/{id}/tasks and /v2/apps/{group}/*/tasks
func (s *server) getAppTasks(w http.ResponseWriter, r *http.Request, p appPath) {
	root, err := s.e.Root()
	if err != nil {
		writeError(w, err)
		return
	}
	var ids []string
	if p.kind == pathGroupTasks {
		g, ok := root.FindGroup(p.id)
		if !ok {
			writeError(w, notFound(fmt.Sprintf("Group '%s' does not exist", p.id)))
			return
		}
		for _, a := range g.TransitiveApps() {
			ids = append(ids, a.ID)
		}
		if ids == nil {
			ids = []string{}
		}
	} else {
		if _, ok := root.FindApp(p.id); !ok {
			writeError(w, appNotFound(p.id))
			return
		}
		ids = []string{p.id}
	}
	tasks, err := s.e.Tasks(engine.TaskFilter{AppIDs: ids}, false)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": tasks})
}

var errScaleAndWipe = &engine.BadRequestError{Message: "You cannot use scale and wipe at the same time."}

// DELETE /v2/apps/{id}/tasks?host=&scale=&wipe=&force=
func (s *server) deleteAppTasks(w http.ResponseWriter, r *http.Request, p appPath) {
	scale, wipe := boolParam(r, "scale", false), boolParam(r, "wipe", false)
	if scale && wipe {
		writeError(w, errScaleAndWipe)
		return
	}
	if _, ok, err := s.e.CurrentApp(p.id); err != nil || !ok {
		if err == nil {
			err = appNotFound(p.id)
		}
		writeError(w, err)
		return
	}
	tasks, err := s.e.Tasks(engine.TaskFilter{AppIDs: []string{p.id}, Host: r.URL.Query().Get("host")}, false)
	if err != nil {
		writeError(w, err)
		return
	}
	ids := make([]string, 0, len(tasks))
	for _, t := range tasks {
		ids = append(ids, t.ID)
	}
	if scale {
		s.scaleKill(w, r, map[string][]string{p.id: ids})
		return
	}
	killed, err := s.e.KillTasks(r.Context(), ids)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": killed})
}

// DELETE /v2/apps/{id}/tasks/{taskId}?scale=&wipe=&force=
func (s *server) deleteAppTask(w http.ResponseWriter, r *http.Request, p appPath) {
	scale, wipe := boolParam(r, "scale", false), boolParam(r, "wipe", false)
	if scale && wipe {
		writeError(w, errScaleAndWipe)
		return
	}
	if appID, ok := s.e.TaskApp(p.taskID); !ok || appID != p.id {
		writeError(w, notFound(fmt.Sprintf("Task '%s' does not exist", p.taskID)))
		return
	}
	if scale {
		s.scaleKill(w, r, map[string][]string{p.id: {p.taskID}})
		return
	}
	killed, err := s.e.KillTasks(r.Context(), []string{p.taskID})
	if err != nil {
		writeError(w, err)
		return
	}
	if len(killed) == 0 {
		writeError(w, notFound(fmt.Sprintf("Task '%s' does not exist", p.taskID)))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"task": killed[0]})
}

// scaleKill kills tasks and lowers their apps' instances by as many, in
// one deployment.
func (s *server) scaleKill(w http.ResponseWriter, r *http.Request, byApp map[string][]string) {
	ids := make([]string, 0, len(byApp))
	for id := range byApp {
		ids = append(ids, id)
	}
	res, err := s.e.Deploy(r.Context(), engine.Change{
		Apps: ids, ToKill: byApp, Force: boolParam(r, "force", false),
		Apply: func(root app.Group) (app.Group, error) {
			for appID, tasks := range byApp {
				cur, ok := root.FindApp(appID)
				if !ok {
					continue
				}
				na := *cur
				n := max(0, cur.NumInstances()-len(tasks))
				na.Instances = &n
				root = engine.PutApp(root, na)
			}
			return root, nil
		},
	})
	if err != nil {
		writeError(w, err)
		return
	}
	deploymentResult(w, http.StatusOK, res)
}

// GET /v2/apps/{id}/versions
func (s *server) getVersions(w http.ResponseWriter, r *http.Request, p appPath) {
	vs, ok, err := s.e.AppVersions(r.Context(), p.id)
	switch {
	case err != nil:
		writeError(w, err)
	case !ok:
		writeError(w, appNotFound(p.id))
	default:
		if vs == nil {
			vs = []string{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"versions": vs})
	}
}

// GET /v2/apps/{id}/versions/{version}
func (s *server) getVersion(w http.ResponseWriter, r *http.Request, p appPath) {
	a, ok, err := s.e.AppVersion(r.Context(), p.id, p.version)
	switch {
	case err != nil:
		writeError(w, err)
	case !ok:
		writeError(w, notFound(fmt.Sprintf("App '%s' does not exist in version %s", p.id, p.version)))
	default:
		writeJSON(w, http.StatusOK, a)
	}
}

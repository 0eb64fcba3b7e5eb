package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/engine"
)

// GET /v2/tasks?status=running|staging (also status[]): every task, with
// servicePorts.
func (s *server) listTasks(w http.ResponseWriter, r *http.Request) {
	if accept := r.Header.Get("Accept"); strings.Contains(accept, "text/plain") && !strings.Contains(accept, "json") && !strings.Contains(accept, "*/*") {
		writeJSON(w, http.StatusNotAcceptable, message{"text/plain is no longer supported; ask for application/json"})
		return
	}
	q := r.URL.Query()
	var states []string
	for _, v := range append(q["status"], q["status[]"]...) {
		for _, st := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(st)) {
			case "running":
				states = append(states, "TASK_RUNNING")
			case "staging":
				states = append(states, "TASK_STAGING")
			case "":
			default:
				states = append(states, "TASK_"+strings.ToUpper(strings.TrimSpace(st)))
			}
		}
	}
	tasks, err := s.e.Tasks(engine.TaskFilter{States: states}, true)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": tasks})
}

// POST /v2/tasks/delete?scale=&force=&wipe= {"ids": [...]}
func (s *server) deleteTasks(w http.ResponseWriter, r *http.Request) {
	scale, wipe := boolParam(r, "scale", false), boolParam(r, "wipe", false)
	if scale && wipe {
		writeError(w, errScaleAndWipe)
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := decodeJSON(body, &req); err != nil {
		writeError(w, err)
		return
	}
	byApp := map[string][]string{}
	var known []string
	for _, id := range req.IDs {
		appID, err := app.AppIDFromTaskID(id)
		if err != nil {
			writeError(w, &engine.BadRequestError{Message: fmt.Sprintf("Invalid task id '%s'. [%v]", id, err)})
			return
		}
		if owner, ok := s.e.TaskApp(id); ok {
			appID = owner
			byApp[appID] = append(byApp[appID], id)
			known = append(known, id)
		}
	}
	if scale {
		s.scaleKill(w, r, byApp)
		return
	}
	killed, err := s.e.KillTasks(r.Context(), known)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": killed})
}

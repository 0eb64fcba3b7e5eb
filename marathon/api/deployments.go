package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// GET /v2/deployments
func (s *server) listDeployments(w http.ResponseWriter, r *http.Request) {
	ds, err := s.e.Deployments()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ds)
}

// DELETE /v2/deployments/{id}?force=: with force the deployment just stops
// (202, no body); without, a forced revert deployment starts (200 DR).
func (s *server) deleteDeployment(w http.ResponseWriter, r *http.Request) {
	force := boolParam(r, "force", false)
	res, err := s.e.CancelDeployment(r.Context(), chi.URLParam(r, "id"), force)
	if err != nil {
		writeError(w, err)
		return
	}
	if force {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	deploymentResult(w, http.StatusOK, res)
}

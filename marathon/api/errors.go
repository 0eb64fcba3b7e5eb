package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/engine"
)

// message is the {"message": ...} body.
type message struct {
	Message string `json:"message"`
}

// writeError is the one mapping from errors to Marathon's status codes and
// bodies (reference §1.1).
func writeError(w http.ResponseWriter, err error) {
	if status, body, ok := app.ErrorBody(err); ok {
		writeRaw(w, status, body)
		return
	}
	var (
		nf  *engine.NotFoundError
		cf  *engine.ConflictError
		lk  *engine.LockedError
		tm  *engine.TooManyDeploymentsError
		bad *engine.BadRequestError
	)
	switch {
	case errors.As(err, &nf):
		writeJSON(w, http.StatusNotFound, message{nf.Message})
	case errors.As(err, &cf):
		writeJSON(w, http.StatusConflict, message{cf.Message})
	case errors.As(err, &lk):
		type id struct {
			ID string `json:"id"`
		}
		body := struct {
			Message     string `json:"message"`
			Deployments []id   `json:"deployments"`
		}{Message: lk.Error()}
		for _, d := range lk.Deployments {
			body.Deployments = append(body.Deployments, id{d})
		}
		writeJSON(w, http.StatusConflict, body)
	case errors.As(err, &tm):
		writeJSON(w, http.StatusForbidden, message{tm.Error()})
	case errors.As(err, &bad):
		writeJSON(w, http.StatusBadRequest, message{bad.Message})
	case errors.Is(err, engine.ErrNotLeading):
		writeJSON(w, http.StatusServiceUnavailable, message{"This instance is not the leader or is still loading its state; retry shortly."})
	default:
		writeJSON(w, http.StatusInternalServerError, message{err.Error()})
	}
}

func notFound(format string) error { return &engine.NotFoundError{Message: format} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeRaw(w, http.StatusInternalServerError, []byte(`{"message":"cannot encode the response"}`))
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

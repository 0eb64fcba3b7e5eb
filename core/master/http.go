package master

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

// maxBody bounds request bodies of the v1 APIs.
const maxBody = 16 << 20

// Handler returns the master's HTTP API.
func (m *Master) Handler() http.Handler {
	r := chi.NewRouter()
	r.Post("/api/v1/scheduler", m.serveScheduler)
	r.Post("/api/v1/agent", m.serveAgent)
	for _, meth := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead} {
		r.Method(meth, "/api/v1/scheduler", methodNotAllowed("POST"))
		r.Method(meth, "/api/v1/agent", methodNotAllowed("POST"))
	}
	m.routeOperator(r)
	return r
}

func methodNotAllowed(allowed string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed)
		textError(w, http.StatusMethodNotAllowed, fmt.Sprintf("Expecting one of { '%s' }, but received '%s'", allowed, r.Method))
	}
}

// textError answers as Mesos does: a status and a plain-text body.
func textError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, msg)
}

// checkMediaTypes enforces the v1 API's content negotiation: JSON only
// (415 for other request types, 406 for unacceptable responses).
func checkMediaTypes(w http.ResponseWriter, r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		textError(w, http.StatusUnsupportedMediaType, "Expecting 'Content-Type' to be present")
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		textError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Expecting 'Content-Type' of application/json; protobuf is not supported by this master, received '%s'", ct))
		return false
	}
	if acc := r.Header.Get("Accept"); acc != "" && !acceptsJSON(acc) {
		textError(w, http.StatusNotAcceptable, fmt.Sprintf("Expecting 'Accept' to allow application/json, received '%s'", acc))
		return false
	}
	return true
}

func acceptsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if mt == "application/json" || mt == "*/*" || mt == "application/*" {
			return true
		}
	}
	return false
}

// decodeBody decodes a JSON request body into v with the 400 text Mesos uses.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, what string) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		textError(w, http.StatusBadRequest, fmt.Sprintf("Failed to read request body: %v", err))
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		textError(w, http.StatusBadRequest, fmt.Sprintf("Failed to parse body into %s: %v", what, err))
		return false
	}
	return true
}

// startStream writes the headers of a RecordIO JSON stream.
func startStream(w http.ResponseWriter, s *stream) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Mesos-Stream-Id", s.id)
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
}

func newStreamID() string { return uuid.NewString() }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

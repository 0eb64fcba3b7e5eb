package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/engine"
)

type queueDelay struct {
	TimeLeftSeconds int  `json:"timeLeftSeconds"`
	Overdue         bool `json:"overdue"`
}

type queueItem struct {
	App                    app.AppInfo          `json:"app"`
	Count                  int                  `json:"count"`
	Role                   string               `json:"role"`
	Delay                  queueDelay           `json:"delay"`
	Since                  string               `json:"since"`
	ProcessedOffersSummary engine.OfferSummary  `json:"processedOffersSummary"`
	LastUnusedOffers       []engine.UnusedOffer `json:"lastUnusedOffers,omitempty"`
	// Message is a Strata extension: why the instances are not running.
	Message string `json:"message"`
}

// GET /v2/queue[?embed=lastUnusedOffers]
func (s *server) queue(w http.ResponseWriter, r *http.Request) {
	entries, err := s.e.Queue()
	if err != nil {
		writeError(w, err)
		return
	}
	_, raw := embeds(r)
	withOffers := raw["lastUnusedOffers"]
	out := []queueItem{}
	for _, q := range entries {
		it := queueItem{App: q.App, Count: q.Count, Role: q.Role, Delay: queueDelay{q.TimeLeftSeconds, q.Overdue},
			Since: q.Since, ProcessedOffersSummary: q.Summary, Message: q.Message}
		if withOffers {
			it.LastUnusedOffers = q.LastUnused
			if it.LastUnusedOffers == nil {
				it.LastUnusedOffers = []engine.UnusedOffer{}
			}
		}
		out = append(out, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"queue": out})
}

// DELETE /v2/queue/{appId}/delay: 204, or 404 when the app is not queued.
func (s *server) deleteQueueDelay(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/v2/queue")
	id, ok := strings.CutSuffix(strings.TrimSuffix(rest, "/"), "/delay")
	if !ok || id == "" {
		writeJSON(w, http.StatusNotFound, message{"URI not found"})
		return
	}
	id = app.CanonicalID(id, "/")
	found, err := s.e.ResetDelay(id)
	switch {
	case err != nil:
		writeError(w, err)
	case !found:
		writeError(w, notFound(fmt.Sprintf("Application %s not found in tasks queue.", id)))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/engine"
	"github.com/strata-sched/strata/marathon/events"
)

// /v2/eventSubscriptions: HTTP callback subscriptions (Marathon 1.4's
// EventSubscriptionsResource; removed in Marathon 1.5 but go-marathon's
// default events transport). Delivery is events.Callbacks'.

const msgCallbackURLRequired = "callbackUrl is required: POST or DELETE /v2/eventSubscriptions?callbackUrl=http://host:port/path"

// GET /v2/eventSubscriptions -> {"callbackUrls":[...]}
func (s *server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	cb, ok := s.callbacks(w)
	if !ok {
		return
	}
	urls, err := cb.URLs(r.Context())
	if err != nil {
		s.subscriptionError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"callbackUrls": urls})
}

// POST /v2/eventSubscriptions?callbackUrl=URL -> the subscribe_event.
func (s *server) subscribe(w http.ResponseWriter, r *http.Request) {
	s.changeSubscription(w, r, (*events.Callbacks).Subscribe)
}

// DELETE /v2/eventSubscriptions?callbackUrl=URL -> the unsubscribe_event
// (also when the URL was not subscribed, as Marathon).
func (s *server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	s.changeSubscription(w, r, (*events.Callbacks).Unsubscribe)
}

// changeSubscription runs change for the request's callbackUrl and answers
// the event it returns.
func (s *server) changeSubscription(w http.ResponseWriter, r *http.Request,
	change func(c *events.Callbacks, ctx context.Context, clientIP, callbackURL string) (map[string]any, error)) {
	cb, ok := s.callbacks(w)
	if !ok {
		return
	}
	u, ok := callbackURL(w, r)
	if !ok {
		return
	}
	ev, err := change(cb, r.Context(), origin(r).ClientIP, u)
	if err != nil {
		s.subscriptionError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

func (s *server) callbacks(w http.ResponseWriter) (*events.Callbacks, bool) {
	if s.cfg.Callbacks == nil {
		writeJSON(w, http.StatusBadRequest, message{"http event callback system is not running on this Marathon instance: it was built without events.Callbacks"})
		return nil, false
	}
	return s.cfg.Callbacks, true
}

func callbackURL(w http.ResponseWriter, r *http.Request) (string, bool) {
	u := r.URL.Query().Get("callbackUrl")
	if u == "" {
		writeJSON(w, http.StatusBadRequest, message{msgCallbackURLRequired})
		return "", false
	}
	return u, true
}

// subscriptionError maps Callbacks' errors: an invalid URL is a 422 with
// Marathon's validation shape; not running yet is engine.ErrNotLeading.
func (s *server) subscriptionError(w http.ResponseWriter, err error) {
	var inv *events.InvalidCallbackURLError
	switch {
	case errors.As(err, &inv):
		writeError(w, &app.ValidationError{Message: app.MsgNotValid,
			Violations: []app.Violation{{Path: "/callbackUrl", Errors: []string{inv.Reason}}}})
	case errors.Is(err, events.ErrCallbacksNotRunning):
		writeError(w, engine.ErrNotLeading)
	default:
		s.log.Error("event subscriptions", "err", err)
		writeError(w, err)
	}
}

// eventSubscriber is /v2/info's event_subscriber: Marathon 1.4 showed the
// http_callback subscriber with its URLs there.
func (s *server) eventSubscriber(r *http.Request) any {
	if s.cfg.Callbacks == nil {
		return nil
	}
	urls, err := s.cfg.Callbacks.URLs(r.Context())
	if err != nil {
		urls = []string{}
	}
	return map[string]any{"type": "http_callback", "http_endpoints": urls}
}

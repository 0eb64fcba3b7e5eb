package events

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// DefaultHeartbeat is how often an idle stream gets a comment line.
const DefaultHeartbeat = 10 * time.Second

// Handler serves GET /v2/events from the bus.
func (b *Bus) Handler(heartbeat time.Duration, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsEventStream(r.Header.Values("Accept")) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			fmt.Fprintln(w, `{"message":"GET /v2/events needs the header Accept: text/event-stream"}`)
			return
		}
		rc := http.NewResponseController(w)
		var types []string
		for _, v := range r.URL.Query()["event_type"] {
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					types = append(types, t)
				}
			}
		}
		sub := b.Subscribe(types)
		defer func() {
			b.Unsubscribe(sub)
			b.Publish("event_stream_detached", map[string]any{"remoteAddress": remoteIP(r)})
		}()
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
		h.Set("Connection", "keep-alive")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		if err := rc.Flush(); err != nil {
			log.Debug("events: cannot flush", "err", err)
		}
		b.Publish("event_stream_attached", map[string]any{"remoteAddress": remoteIP(r)})
		tick := time.NewTicker(heartbeat)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-sub.Gone:
				log.Info("closing connection for slow event consumer", "remote", r.RemoteAddr)
				return
			case ev := <-sub.C:
				if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, ev.Data); err != nil {
					return
				}
				// Write what else is queued before flushing.
				for more := true; more; {
					select {
					case ev := <-sub.C:
						if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, ev.Data); err != nil {
							return
						}
					default:
						more = false
					}
				}
				if err := rc.Flush(); err != nil {
					return
				}
			case <-tick.C:
				if _, err := fmt.Fprint(w, ":\n\n"); err != nil {
					return
				}
				if err := rc.Flush(); err != nil {
					return
				}
			}
		}
	})
}

func acceptsEventStream(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
				return true
			}
		}
	}
	return false
}

func remoteIP(r *http.Request) string {
	if i := strings.LastIndexByte(r.RemoteAddr, ':'); i > 0 {
		return strings.Trim(r.RemoteAddr[:i], "[]")
	}
	return r.RemoteAddr
}

// Package schedulertest provides a fake Mesos master for testing
// frameworks: an httptest.Server speaking the v1 scheduler API in JSON
// (POST /api/v1/scheduler, RecordIO SUBSCRIBE stream, Mesos-Stream-Id). It
// checks requests the way the real master does (content types, stream ID
// on every call but SUBSCRIBE, failover with a matching framework ID),
// records every request, and lets a test push events and cut the stream.
//
// It keeps no offers, agents or tasks: the test plays the master's part by
// sending OFFERS and UPDATE events and reading the calls it receives.
package schedulertest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/mesos/recordio"
)

// Config configures a Master; zero values take the defaults.
type Config struct {
	// FrameworkID is assigned to a framework subscribing without an ID;
	// default "fw-1".
	FrameworkID string
	// HeartbeatInterval is sent in SUBSCRIBED as heartbeat_interval_seconds;
	// default 15. HEARTBEAT events follow at this interval.
	HeartbeatInterval float64
	// SilentHeartbeats sends only the HEARTBEAT right after SUBSCRIBED and
	// none after it, as a hung master would.
	SilentHeartbeats bool
}

// Request is one request the master received, decoded.
type Request struct {
	Header http.Header
	Call   mesos.Call
}

// Reply, when it returns a non-zero status, answers a request instead of
// the master's own logic (SUBSCRIBE included). For a 3xx status, body is
// sent as the Location header instead.
type Reply func(r Request) (status int, body string)

// Master is a fake master. Its methods are safe for concurrent use.
type Master struct {
	cfg  Config
	srv  *httptest.Server
	subs chan Request
	reqs chan Request

	mu       sync.Mutex
	reply    Reply
	streams  int
	current  *stream
	removed  map[string]bool
	known    map[string]bool
	closedCh chan struct{}
}

type stream struct {
	id          string
	frameworkID string
	events      chan []byte
	done        chan struct{}
	closeOnce   sync.Once
}

func (s *stream) close() { s.closeOnce.Do(func() { close(s.done) }) }

// NewMaster starts a fake master on a loopback port. Close it when done.
func NewMaster(cfg Config) *Master {
	if cfg.FrameworkID == "" {
		cfg.FrameworkID = "fw-1"
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 15
	}
	m := &Master{
		cfg:      cfg,
		subs:     make(chan Request, 1000),
		reqs:     make(chan Request, 1000),
		removed:  map[string]bool{},
		known:    map[string]bool{},
		closedCh: make(chan struct{}),
	}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	return m
}

// URL is the master's base URL, "http://127.0.0.1:port".
func (m *Master) URL() string { return m.srv.URL }

// Addr is the master's "host:port".
func (m *Master) Addr() string { u, _ := url.Parse(m.srv.URL); return u.Host }

// Close ends every stream and stops the server.
func (m *Master) Close() {
	m.mu.Lock()
	select {
	case <-m.closedCh:
	default:
		close(m.closedCh)
	}
	m.mu.Unlock()
	m.srv.Close()
}

// Subscribes delivers every SUBSCRIBE request, in order of arrival. A
// SUBSCRIBE the master accepts is delivered once its stream is current, so
// Send may be called as soon as it is received.
func (m *Master) Subscribes() <-chan Request { return m.subs }

// Calls delivers every other request that reached the master's logic (it
// passed the checks of content type, stream ID and framework ID).
func (m *Master) Calls() <-chan Request { return m.reqs }

// SetReply installs (or, with nil, removes) a reply override.
func (m *Master) SetReply(r Reply) {
	m.mu.Lock()
	m.reply = r
	m.mu.Unlock()
}

// Send queues an event on the current subscription stream.
func (m *Master) Send(ev mesos.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	m.mu.Lock()
	s := m.current
	m.mu.Unlock()
	if s == nil {
		return fmt.Errorf("schedulertest: no subscription stream")
	}
	select {
	case s.events <- b:
		return nil
	case <-s.done:
		return fmt.Errorf("schedulertest: stream %s closed", s.id)
	}
}

// DropStream closes the current subscription stream, as a master does when
// the connection breaks. It reports whether there was one.
func (m *Master) DropStream() bool {
	m.mu.Lock()
	s := m.current
	m.current = nil
	m.mu.Unlock()
	if s == nil {
		return false
	}
	s.close()
	return true
}

// RemoveFramework removes a framework as an operator teardown would: an
// ERROR "Framework has been removed" goes down its stream, the stream
// closes, and later SUBSCRIBEs with its ID get the same ERROR.
func (m *Master) RemoveFramework(id string) {
	m.mu.Lock()
	m.removed[id] = true
	s := m.current
	if s != nil && s.frameworkID == id {
		m.current = nil
	} else {
		s = nil
	}
	m.mu.Unlock()
	if s != nil {
		b, _ := json.Marshal(removedError())
		select {
		case s.events <- b:
		case <-s.done:
		}
		s.close()
	}
}

// StreamID is the Mesos-Stream-Id of the current subscription, or "".
func (m *Master) StreamID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.current == nil {
		return ""
	}
	return m.current.id
}

func removedError() mesos.Event {
	return mesos.Event{Type: mesos.EventError, Error: &mesos.EventErrorBody{Message: "Framework has been removed"}}
}

func (m *Master) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/scheduler" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "Expecting a 'POST' request, received '"+r.Method+"'", http.StatusMethodNotAllowed)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		http.Error(w, "Expecting 'Content-Type' of application/json or application/x-protobuf", http.StatusUnsupportedMediaType)
		return
	}
	if a := r.Header.Get("Accept"); a != "" && a != "*/*" && !strings.Contains(a, "application/json") {
		http.Error(w, "Expecting 'Accept' to allow application/json or application/x-protobuf", http.StatusNotAcceptable)
		return
	}
	var req Request
	req.Header = r.Header.Clone()
	if err := json.NewDecoder(r.Body).Decode(&req.Call); err != nil {
		http.Error(w, "Failed to parse body into Call: "+err.Error(), http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	reply := m.reply
	m.mu.Unlock()
	if reply != nil {
		if code, body := reply(req); code != 0 {
			if req.Call.Type == mesos.CallSubscribe {
				m.subs <- req
			}
			if code >= 300 && code < 400 && body != "" {
				w.Header().Set("Location", body)
				body = ""
			}
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
			return
		}
	}
	if req.Call.Type == mesos.CallSubscribe {
		m.subscribe(w, r, req)
		return
	}
	m.call(w, req)
}

func (m *Master) subscribe(w http.ResponseWriter, r *http.Request, req Request) {
	refuse := func(msg string) {
		m.subs <- req
		http.Error(w, msg, http.StatusBadRequest)
	}
	if req.Header.Get("Mesos-Stream-Id") != "" {
		refuse("Expecting 'Mesos-Stream-Id' header to be not present for SUBSCRIBE calls")
		return
	}
	body := req.Call.Subscribe
	if body == nil || body.FrameworkInfo == nil {
		refuse("Expecting 'subscribe.framework_info' to be present")
		return
	}
	info := body.FrameworkInfo
	if info.User == "" || info.Name == "" {
		refuse("Expecting 'framework_info.user' and 'framework_info.name' to be present")
		return
	}
	var callID, infoID string
	if req.Call.FrameworkID != nil {
		callID = req.Call.FrameworkID.Value
	}
	if info.ID != nil {
		infoID = info.ID.Value
	}
	if callID != infoID {
		refuse("'framework_id' differs from 'subscribe.framework_info.id'")
		return
	}

	m.mu.Lock()
	id := infoID
	if id == "" {
		id = m.cfg.FrameworkID
	}
	m.streams++
	s := &stream{id: fmt.Sprintf("stream-%d", m.streams), frameworkID: id, events: make(chan []byte, 100), done: make(chan struct{})}
	removed := m.removed[id]
	old := m.current
	if !removed {
		m.current = s
		m.known[id] = true
	}
	m.mu.Unlock()
	if old != nil && !removed {
		old.close() // only one subscription per framework: the newer wins
	}
	m.subs <- req // after registration: Send may follow at once

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Mesos-Stream-Id", s.id)
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) bool {
		if _, err := w.Write(recordio.Frame(b)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	event := func(ev mesos.Event) bool {
		b, _ := json.Marshal(ev)
		return write(b)
	}
	if removed {
		event(removedError())
		return
	}
	if !event(mesos.Event{Type: mesos.EventSubscribed, Subscribed: &mesos.EventSubscribedBody{
		FrameworkID:              mesos.FrameworkID{Value: id},
		HeartbeatIntervalSeconds: m.cfg.HeartbeatInterval,
	}}) || !event(mesos.Event{Type: mesos.EventHeartbeat}) {
		return
	}
	var tick <-chan time.Time
	if !m.cfg.SilentHeartbeats {
		t := time.NewTicker(time.Duration(m.cfg.HeartbeatInterval * float64(time.Second)))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case b := <-s.events:
			if !write(b) {
				return
			}
		case <-tick:
			if !event(mesos.Event{Type: mesos.EventHeartbeat}) {
				return
			}
		case <-s.done:
			// Deliver what was queued before the close (e.g. an ERROR).
			for {
				select {
				case b := <-s.events:
					write(b)
				default:
					return
				}
			}
		case <-r.Context().Done():
			return
		case <-m.closedCh:
			return
		}
	}
}

func (m *Master) call(w http.ResponseWriter, req Request) {
	m.mu.Lock()
	s := m.current
	m.mu.Unlock()
	sid := req.Header.Get("Mesos-Stream-Id")
	if s == nil || req.Call.FrameworkID == nil || req.Call.FrameworkID.Value != s.frameworkID {
		http.Error(w, "Framework is not subscribed", http.StatusForbidden)
		return
	}
	if sid != s.id {
		http.Error(w, fmt.Sprintf("The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", sid, s.frameworkID), http.StatusForbidden)
		return
	}
	m.reqs <- req
	switch req.Call.Type {
	case mesos.CallUpdateFramework:
		w.WriteHeader(http.StatusOK)
	case mesos.CallTeardown:
		m.mu.Lock()
		m.removed[s.frameworkID] = true
		if m.current == s {
			m.current = nil
		}
		m.mu.Unlock()
		s.close()
		w.WriteHeader(http.StatusAccepted)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// Next returns the next value from ch, failing tb if none arrives within
// 10 s. Call it from the test goroutine. The limit only turns a missing
// request into a failure instead of a hang; it is not a timing assertion.
func Next[T any](tb testing.TB, ch <-chan T) T {
	tb.Helper()
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case v := <-ch:
		return v
	case <-t.C:
		tb.Fatalf("schedulertest: nothing received within 10s")
		panic("unreachable")
	}
}

package master

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/mesos/recordio"
	"github.com/strata-sched/strata/core/store"
)

// testCluster is a running master behind httptest with short timers.
type testCluster struct {
	t     *testing.T
	m     *Master
	srv   *httptest.Server
	store store.Store
}

func newTestCluster(t *testing.T, mod func(*Config)) *testCluster {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, AllocationInterval: 20 * time.Millisecond, AgentPingTimeout: 50 * time.Millisecond,
		MaxAgentPingTimeouts: 3, HeartbeatInterval: time.Second}
	if mod != nil {
		mod(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(func() {
		cancel()
		<-done
		srv.CloseClientConnections()
		srv.Close()
		st.Close()
	})
	return &testCluster{t: t, m: m, srv: srv, store: st}
}

// eventStream reads RecordIO JSON records into a channel.
type eventStream struct {
	t        *testing.T
	streamID string
	ch       chan json.RawMessage
	resp     *http.Response
}

func (c *testCluster) openStream(path string, body any) (*eventStream, *http.Response) {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, c.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp
	}
	es := &eventStream{t: c.t, streamID: resp.Header.Get("Mesos-Stream-Id"), ch: make(chan json.RawMessage, 1024), resp: resp}
	go func() {
		defer close(es.ch)
		rd := recordio.NewReader(resp.Body)
		for {
			rec, err := rd.ReadRecord()
			if err != nil {
				return
			}
			es.ch <- rec
		}
	}()
	c.t.Cleanup(func() { resp.Body.Close() })
	return es, resp
}

// next returns the next event whose "type" is one of types (others skipped).
func (e *eventStream) next(types ...string) json.RawMessage {
	e.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case rec, ok := <-e.ch:
			if !ok {
				e.t.Fatalf("stream closed while waiting for %v", types)
			}
			var head struct{ Type string }
			json.Unmarshal(rec, &head)
			for _, ty := range types {
				if head.Type == ty {
					return rec
				}
			}
		case <-deadline:
			e.t.Fatalf("timed out waiting for %v", types)
		}
	}
}

func (e *eventStream) close() { e.resp.Body.Close() }

// post sends a call and returns status and body.
func (c *testCluster) post(path, streamID string, body any) (int, string) {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, c.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(rb)
}

// fakeAgent registers over the agent protocol.
type fakeAgent struct {
	c      *testCluster
	id     string
	es     *eventStream
	events chan mesos.AgentEvent
}

func (c *testCluster) registerAgent(id, resources string) *fakeAgent {
	c.t.Helper()
	res, err := mesos.ParseResources(resources, "")
	if err != nil {
		c.t.Fatal(err)
	}
	info := mesos.AgentInfo{Hostname: "host-" + id, Port: 5051, Resources: res,
		Attributes: []mesos.Attribute{{Name: "rack", Type: mesos.TEXT, Text: &mesos.Text{Value: "r1"}}}}
	if id != "" {
		info.ID = &mesos.AgentID{Value: id}
	}
	return c.registerAgentWith(mesos.AgentRegister{AgentInfo: info, Version: "test"})
}

func (c *testCluster) registerAgentWith(reg mesos.AgentRegister) *fakeAgent {
	c.t.Helper()
	es, resp := c.openStream("/api/v1/agent", mesos.AgentCall{Type: mesos.AgentCallRegister, Register: &reg})
	if es == nil {
		b, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("register: %d %s", resp.StatusCode, b)
	}
	var ev mesos.AgentEvent
	json.Unmarshal(es.next(mesos.AgentEventRegistered, mesos.AgentEventError), &ev)
	if ev.Registered == nil {
		c.t.Fatalf("register: got %+v", ev)
	}
	fa := &fakeAgent{c: c, id: ev.Registered.AgentID.Value, es: es, events: make(chan mesos.AgentEvent, 1024)}
	// Answer pings in the background so the agent stays healthy.
	go func() {
		defer close(fa.events)
		for raw := range es.ch {
			var ev mesos.AgentEvent
			json.Unmarshal(raw, &ev)
			if ev.Type == mesos.AgentEventPing {
				call := mesos.AgentCall{Type: mesos.AgentCallPong, AgentID: &mesos.AgentID{Value: fa.id}}
				b, _ := json.Marshal(call)
				req, _ := http.NewRequest(http.MethodPost, c.srv.URL+"/api/v1/agent", bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Mesos-Stream-Id", es.streamID)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
				continue
			}
			fa.events <- ev
		}
	}()
	return fa
}

func (a *fakeAgent) call(call mesos.AgentCall) int {
	a.c.t.Helper()
	call.AgentID = &mesos.AgentID{Value: a.id}
	code, body := a.c.post("/api/v1/agent", a.es.streamID, call)
	if code != http.StatusAccepted {
		a.c.t.Logf("agent call %s: %d %s", call.Type, code, body)
	}
	return code
}

// nextEvent returns the next agent event of the given types (pings are
// answered in the background).
func (a *fakeAgent) nextEvent(types ...string) mesos.AgentEvent {
	a.c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-a.events:
			if !ok {
				a.c.t.Fatalf("agent stream closed while waiting for %v", types)
			}
			for _, ty := range types {
				if ev.Type == ty {
					return ev
				}
			}
		case <-deadline:
			a.c.t.Fatalf("timed out waiting for agent event %v", types)
		}
	}
}

func (a *fakeAgent) update(fw string, task string, state mesos.TaskState, uuid []byte) {
	a.c.t.Helper()
	aid := mesos.AgentID{Value: a.id}
	code := a.call(mesos.AgentCall{Type: mesos.AgentCallStatusUpdate, StatusUpdate: &mesos.StatusUpdate{
		FrameworkID: mesos.FrameworkID{Value: fw},
		Status: mesos.TaskStatus{TaskID: mesos.TaskID{Value: task}, State: state, Source: mesos.SourceExecutor,
			AgentID: &aid, UUID: uuid, Timestamp: float64(time.Now().Unix())},
	}})
	if code != http.StatusAccepted {
		a.c.t.Fatalf("status update: %d", code)
	}
}

// fakeScheduler subscribes over the v1 scheduler API.
type fakeScheduler struct {
	c  *testCluster
	id string
	es *eventStream
}

func (c *testCluster) subscribe(info mesos.FrameworkInfo) *fakeScheduler {
	c.t.Helper()
	call := mesos.Call{Type: mesos.CallSubscribe, Subscribe: &mesos.CallSubscribeBody{FrameworkInfo: &info}}
	if info.ID != nil {
		call.FrameworkID = info.ID
	}
	es, resp := c.openStream("/api/v1/scheduler", call)
	if es == nil {
		b, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("subscribe: %d %s", resp.StatusCode, b)
	}
	var ev mesos.Event
	json.Unmarshal(es.next(mesos.EventSubscribed, mesos.EventError), &ev)
	if ev.Subscribed == nil {
		c.t.Fatalf("subscribe: %+v", ev)
	}
	return &fakeScheduler{c: c, id: ev.Subscribed.FrameworkID.Value, es: es}
}

func (s *fakeScheduler) call(call mesos.Call) (int, string) {
	s.c.t.Helper()
	call.FrameworkID = &mesos.FrameworkID{Value: s.id}
	return s.c.post("/api/v1/scheduler", s.es.streamID, call)
}

func (s *fakeScheduler) nextEvent(types ...string) mesos.Event {
	s.c.t.Helper()
	var ev mesos.Event
	if err := json.Unmarshal(s.es.next(types...), &ev); err != nil {
		s.c.t.Fatal(err)
	}
	return ev
}

func (s *fakeScheduler) offers() []mesos.Offer {
	s.c.t.Helper()
	return s.nextEvent(mesos.EventOffers).Offers.Offers
}

// launchRunning launches task id (cpus:1;mem:64) from s's next non-empty
// offer on agent a, has a report it TASK_RUNNING (not acknowledged) and
// returns the update s receives.
func (s *fakeScheduler) launchRunning(a *fakeAgent, id string) mesos.TaskStatus {
	s.c.t.Helper()
	var o mesos.Offer
	for {
		ev := s.nextEvent(mesos.EventOffers)
		if len(ev.Offers.Offers) > 0 {
			o = ev.Offers.Offers[0]
			break
		}
	}
	s.call(launchCall(o, commandTask(id, o, "cpus:1;mem:64", "sleep 100")))
	a.nextEvent(mesos.AgentEventRunTask)
	a.update(s.id, id, mesos.TaskRunning, mesos.NewUUID())
	return s.nextUpdate()
}

func (s *fakeScheduler) nextUpdate() mesos.TaskStatus {
	s.c.t.Helper()
	return s.nextEvent(mesos.EventUpdate).Update.Status
}

func commandTask(id string, o mesos.Offer, res string, cmd string) mesos.TaskInfo {
	r, _ := mesos.ParseResources(res, "")
	return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID, Resources: r,
		Command: &mesos.CommandInfo{Value: &cmd}}
}

func launchCall(o mesos.Offer, tasks ...mesos.TaskInfo) mesos.Call {
	return mesos.Call{Type: mesos.CallAccept, Accept: &mesos.CallAcceptBody{
		OfferIDs: []mesos.OfferID{o.ID},
		Operations: []mesos.Operation{{Type: mesos.OpLaunch, Launch: &struct {
			TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
		}{tasks}}},
	}}
}

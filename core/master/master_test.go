package master

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

func fw(name string, caps ...string) mesos.FrameworkInfo {
	fi := mesos.FrameworkInfo{User: "root", Name: name, FailoverTimeout: 60}
	for _, c := range caps {
		fi.Capabilities = append(fi.Capabilities, mesos.Capability{Type: c})
	}
	return fi
}

func TestLaunchLifecycle(t *testing.T) {
	c := newTestCluster(t, nil)
	a := c.registerAgent("", "cpus:2;mem:1024;disk:100;ports:[31000-31010]")
	s := c.subscribe(fw("life"))
	offers := s.offers()
	if len(offers) != 1 {
		t.Fatalf("want 1 offer, got %d", len(offers))
	}
	o := offers[0]
	res := mesos.Resources(o.Resources)
	if res.Scalar("cpus") != 2 || res.Scalar("mem") != 1024 || o.AgentID.Value != a.id || o.AllocationInfo.Role != "*" {
		t.Fatalf("unexpected offer %+v", o)
	}
	if len(o.Attributes) != 1 || o.Attributes[0].Text.Value != "r1" {
		t.Fatalf("offer attributes %+v", o.Attributes)
	}
	if o.Resources[0].Role != "*" {
		t.Fatalf("pre-refinement offers carry role \"*\", got %q", o.Resources[0].Role)
	}
	if code, body := s.call(launchCall(o, commandTask("t1", o, "cpus:1;mem:128", "sleep 1"))); code != http.StatusAccepted {
		t.Fatalf("accept: %d %s", code, body)
	}
	ev := a.nextEvent(mesos.AgentEventRunTask)
	if ev.RunTask.Task.TaskID.Value != "t1" || ev.RunTask.FrameworkInfo.Name != "life" {
		t.Fatalf("run task %+v", ev.RunTask)
	}
	for _, state := range []mesos.TaskState{mesos.TaskStarting, mesos.TaskRunning, mesos.TaskFinished} {
		uuid := mesos.NewUUID()
		a.update(s.id, "t1", state, uuid)
		st := s.nextUpdate()
		if st.State != state || !bytes.Equal(st.UUID, uuid) {
			t.Fatalf("want %s with uuid, got %+v", state, st)
		}
		if code, _ := s.call(mesos.Call{Type: mesos.CallAcknowledge, Acknowledge: &mesos.CallAcknowledgeBody{
			AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID}}); code != http.StatusAccepted {
			t.Fatalf("ack: %d", code)
		}
		ack := a.nextEvent(mesos.AgentEventAcknowledge)
		if !bytes.Equal(ack.Acknowledge.UUID, uuid) {
			t.Fatalf("ack forwarded with wrong uuid")
		}
	}
	c.m.mu.Lock()
	f := c.m.frameworks[s.id]
	if len(f.tasks) != 0 || len(f.completed) != 1 || f.completed[0].State != mesos.TaskFinished {
		t.Errorf("task should be completed: tasks=%d completed=%d", len(f.tasks), len(f.completed))
	}
	if got := c.m.agents[a.id].available.Scalar("cpus"); got < 1.999 && len(f.offers) == 0 {
		t.Errorf("resources not returned: available cpus %v", got)
	}
	c.m.mu.Unlock()
}

func TestInvalidLaunches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		caps   []string
		mutate func(o mesos.Offer) mesos.Call
		state  mesos.TaskState
		reason string
	}{
		{"more than offered", nil, func(o mesos.Offer) mesos.Call {
			return launchCall(o, commandTask("big", o, "cpus:64;mem:128", "true"))
		}, mesos.TaskError, mesos.ReasonTaskInvalid},
		{"no command nor executor", nil, func(o mesos.Offer) mesos.Call {
			ti := commandTask("x", o, "cpus:1", "true")
			ti.Command = nil
			return launchCall(o, ti)
		}, mesos.TaskError, mesos.ReasonTaskInvalid},
		{"bad task id", nil, func(o mesos.Offer) mesos.Call {
			return launchCall(o, commandTask("a/b", o, "cpus:1", "true"))
		}, mesos.TaskError, mesos.ReasonTaskInvalid},
		{"unknown offer", nil, func(o mesos.Offer) mesos.Call {
			o.ID.Value = "nope"
			return launchCall(o, commandTask("t", o, "cpus:1", "true"))
		}, mesos.TaskLost, mesos.ReasonInvalidOffers},
		{"unknown offer partition aware", []string{mesos.CapPartitionAware}, func(o mesos.Offer) mesos.Call {
			o.ID.Value = "nope"
			return launchCall(o, commandTask("t", o, "cpus:1", "true"))
		}, mesos.TaskDropped, mesos.ReasonInvalidOffers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCluster(t, nil)
			c.registerAgent("", "cpus:2;mem:1024")
			s := c.subscribe(fw("bad", tc.caps...))
			o := s.offers()[0]
			if code, body := s.call(tc.mutate(o)); code != http.StatusAccepted {
				t.Fatalf("accept: %d %s", code, body)
			}
			st := s.nextUpdate()
			if st.State != tc.state || st.Reason != tc.reason || st.Source != mesos.SourceMaster || len(st.UUID) != 0 {
				t.Fatalf("want %s/%s from master without uuid, got %+v", tc.state, tc.reason, st)
			}
			if st.Message == "" {
				t.Errorf("the update should say why")
			}
		})
	}
}

func TestUsedOfferAndDuplicateTask(t *testing.T) {
	c := newTestCluster(t, nil)
	a := c.registerAgent("", "cpus:4;mem:1024")
	s := c.subscribe(fw("dup"))
	o := s.offers()[0]
	s.call(launchCall(o, commandTask("t1", o, "cpus:1;mem:64", "sleep 100")))
	a.nextEvent(mesos.AgentEventRunTask)
	// The same offer again is no longer valid.
	s.call(launchCall(o, commandTask("t2", o, "cpus:1;mem:64", "sleep 100")))
	if st := s.nextUpdate(); st.State != mesos.TaskLost || st.Reason != mesos.ReasonInvalidOffers {
		t.Fatalf("reused offer: %+v", st)
	}
	// A fresh offer for the rest, with a duplicate task ID.
	s.call(mesos.Call{Type: mesos.CallRevive})
	o2 := s.offers()[0]
	s.call(launchCall(o2, commandTask("t1", o2, "cpus:1;mem:64", "sleep 100")))
	if st := s.nextUpdate(); st.State != mesos.TaskError || !strings.Contains(st.Message, "duplicate") {
		t.Fatalf("duplicate: %+v", st)
	}
}

func TestSchedulerAPIErrors(t *testing.T) {
	c := newTestCluster(t, nil)
	s := c.subscribe(fw("errs"))
	do := func(method, ct, accept, streamID, body string) (int, string) {
		req, _ := http.NewRequest(method, c.srv.URL+"/api/v1/scheduler", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if streamID != "" {
			req.Header.Set("Mesos-Stream-Id", streamID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	revive := `{"framework_id":{"value":"` + s.id + `"},"type":"REVIVE"}`
	for _, tc := range []struct {
		name                          string
		method, ct, accept, sid, body string
		code                          int
		msg                           string
	}{
		{"GET", "GET", "", "", "", "", 405, "POST"},
		{"protobuf", "POST", "application/x-protobuf", "", "", revive, 415, "application/json"},
		{"bad accept", "POST", "application/json", "text/html", "", revive, 406, "Accept"},
		{"malformed", "POST", "application/json", "", "", "{", 400, "Failed to parse"},
		{"unknown type", "POST", "application/json", "", "", `{"framework_id":{"value":"x"},"type":"FLY"}`, 400, "Unknown call type"},
		{"no framework id", "POST", "application/json", "", "", `{"type":"REVIVE"}`, 400, "framework_id"},
		{"not subscribed", "POST", "application/json", "", "", `{"framework_id":{"value":"nope"},"type":"REVIVE"}`, 403, "not subscribed"},
		{"wrong stream", "POST", "application/json", "", "bogus", revive, 403, "stream ID"},
		{"subscribe with stream id", "POST", "application/json", "", "x", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}`, 400, "Mesos-Stream-Id"},
		{"subscribe without name", "POST", "application/json", "", "", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u"}}}`, 400, "name"},
		{"two roles without MULTI_ROLE", "POST", "application/json", "", "", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","roles":["a","b"]}}}`, 400, "MULTI_ROLE"},
		{"bad ack uuid", "POST", "application/json", "", s.es.streamID, `{"framework_id":{"value":"` + s.id + `"},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"AAE="}}`, 400, "uuid"},
		{"ok", "POST", "application/json", "application/json", s.es.streamID, revive, 202, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(tc.method, tc.ct, tc.accept, tc.sid, tc.body)
			if code != tc.code || !strings.Contains(body, tc.msg) {
				t.Fatalf("got %d %q, want %d containing %q", code, body, tc.code, tc.msg)
			}
		})
	}
}

func TestDeclineFilterAndRevive(t *testing.T) {
	c := newTestCluster(t, nil)
	c.registerAgent("", "cpus:2;mem:1024")
	s := c.subscribe(fw("decliner"))
	o := s.offers()[0]
	long := mesos.Double(3600)
	s.call(mesos.Call{Type: mesos.CallDecline, Decline: &mesos.CallDeclineBody{OfferIDs: []mesos.OfferID{o.ID}, Filters: &mesos.Filters{RefuseSeconds: &long}}})
	// Several allocation cycles pass without offers.
	time.Sleep(150 * time.Millisecond)
	select {
	case rec := <-s.es.ch:
		if strings.Contains(string(rec), "OFFERS") {
			t.Fatalf("offer despite refusal filter: %s", rec)
		}
	default:
	}
	s.call(mesos.Call{Type: mesos.CallRevive})
	if offers := s.offers(); len(offers) != 1 {
		t.Fatalf("revive should bring the agent back: %d offers", len(offers))
	}
}

func TestSuppress(t *testing.T) {
	c := newTestCluster(t, nil)
	c.registerAgent("", "cpus:2;mem:1024")
	s := c.subscribe(fw("sup"))
	o := s.offers()[0]
	s.call(mesos.Call{Type: mesos.CallSuppress})
	zero := mesos.Double(0)
	s.call(mesos.Call{Type: mesos.CallDecline, Decline: &mesos.CallDeclineBody{OfferIDs: []mesos.OfferID{o.ID}, Filters: &mesos.Filters{RefuseSeconds: &zero}}})
	time.Sleep(150 * time.Millisecond)
	for len(s.es.ch) > 0 {
		if rec := <-s.es.ch; strings.Contains(string(rec), `"OFFERS"`) {
			t.Fatalf("suppressed framework got an offer")
		}
	}
}

func TestReconcile(t *testing.T) {
	for _, pa := range []bool{false, true} {
		name := "legacy"
		var caps []string
		if pa {
			name, caps = "partition-aware", []string{mesos.CapPartitionAware}
		}
		t.Run(name, func(t *testing.T) {
			c := newTestCluster(t, nil)
			a := c.registerAgent("", "cpus:2;mem:1024")
			s := c.subscribe(fw("rec", caps...))
			o := s.offers()[0]
			s.call(launchCall(o, commandTask("run1", o, "cpus:1;mem:64", "sleep 100")))
			a.nextEvent(mesos.AgentEventRunTask)
			a.update(s.id, "run1", mesos.TaskRunning, mesos.NewUUID())
			s.nextUpdate()

			// Implicit: the running task.
			s.call(mesos.Call{Type: mesos.CallReconcile, Reconcile: &mesos.CallReconcileBody{}})
			st := s.nextUpdate()
			if st.TaskID.Value != "run1" || st.State != mesos.TaskRunning || st.Reason != mesos.ReasonReconciliation || len(st.UUID) != 0 {
				t.Fatalf("implicit: %+v", st)
			}
			want := func(pa, legacy mesos.TaskState) mesos.TaskState {
				if len(caps) > 0 {
					return pa
				}
				return legacy
			}
			for _, tc := range []struct {
				task, agent string
				state       mesos.TaskState
			}{
				{"run1", a.id, mesos.TaskRunning},
				{"ghost", a.id, want(mesos.TaskGone, mesos.TaskLost)},
				{"ghost", "unknown-agent", want(mesos.TaskUnknown, mesos.TaskLost)},
				{"ghost", "", want(mesos.TaskUnknown, mesos.TaskLost)},
			} {
				rt := mesos.ReconcileTask{TaskID: mesos.TaskID{Value: tc.task}}
				if tc.agent != "" {
					rt.AgentID = &mesos.AgentID{Value: tc.agent}
				}
				s.call(mesos.Call{Type: mesos.CallReconcile, Reconcile: &mesos.CallReconcileBody{Tasks: []mesos.ReconcileTask{rt}}})
				if st := s.nextUpdate(); st.State != tc.state || st.Reason != mesos.ReasonReconciliation {
					t.Errorf("reconcile %s on %q: got %s, want %s", tc.task, tc.agent, st.State, tc.state)
				}
			}
		})
	}
}

func TestAgentUnreachableAndReturn(t *testing.T) {
	c := newTestCluster(t, nil)
	a := c.registerAgent("", "cpus:4;mem:1024")
	pa := c.subscribe(fw("pa", mesos.CapPartitionAware))
	legacy := c.subscribe(fw("legacy"))
	launchOn := func(s *fakeScheduler, id string) { s.launchRunning(a, id) }
	launchOn(pa, "pa-task")
	launchOn(legacy, "legacy-task")

	// Stop answering pings: drop the stream.
	a.es.close()
	if st := pa.nextUpdate(); st.State != mesos.TaskUnreachable || st.UnreachableTime == nil {
		t.Fatalf("partition-aware: %+v", st)
	}
	if st := legacy.nextUpdate(); st.State != mesos.TaskLost || st.Reason != mesos.ReasonAgentRemoved {
		t.Fatalf("legacy: %+v", st)
	}
	pa.nextEvent(mesos.EventFailure)

	// The agent comes back with both tasks still running.
	reg := mesos.AgentRegister{Version: "test", AgentInfo: mesos.AgentInfo{Hostname: "h", Port: 5051, ID: &mesos.AgentID{Value: a.id}}}
	reg.AgentInfo.Resources, _ = mesos.ParseResources("cpus:4;mem:1024", "")
	for _, tk := range []struct{ fw, id string }{{pa.id, "pa-task"}, {legacy.id, "legacy-task"}} {
		r, _ := mesos.ParseResources("cpus:1;mem:64", "")
		reg.Tasks = append(reg.Tasks, mesos.Task{Name: tk.id, TaskID: mesos.TaskID{Value: tk.id}, FrameworkID: mesos.FrameworkID{Value: tk.fw},
			AgentID: mesos.AgentID{Value: a.id}, State: mesos.TaskRunning, Resources: r.Allocate("*")})
	}
	a2 := c.registerAgentWith(reg)
	if st := pa.nextUpdate(); st.State != mesos.TaskRunning || st.Reason != mesos.ReasonAgentReregistered {
		t.Fatalf("partition-aware after return: %+v", st)
	}
	kill := a2.nextEvent(mesos.AgentEventKillTask)
	if kill.KillTask.TaskID.Value != "legacy-task" {
		t.Fatalf("the legacy framework's task must be killed on return, got %+v", kill.KillTask)
	}
}

func TestFrameworkFailover(t *testing.T) {
	c := newTestCluster(t, nil)
	a := c.registerAgent("", "cpus:2;mem:1024")
	s := c.subscribe(fw("ha"))
	o := s.offers()[0]
	s.call(launchCall(o, commandTask("keep", o, "cpus:1;mem:64", "sleep 100")))
	a.nextEvent(mesos.AgentEventRunTask)
	a.update(s.id, "keep", mesos.TaskRunning, mesos.NewUUID())
	s.nextUpdate()

	// A second subscription with the same ID takes over; the first gets ERROR.
	info := fw("ha")
	info.ID = &mesos.FrameworkID{Value: s.id}
	s2 := c.subscribe(info)
	if s2.id != s.id {
		t.Fatalf("failover changed the framework ID")
	}
	if ev := s.nextEvent(mesos.EventError); !strings.Contains(ev.Error.Message, "failed over") {
		t.Fatalf("old stream: %+v", ev.Error)
	}
	s2.call(mesos.Call{Type: mesos.CallReconcile, Reconcile: &mesos.CallReconcileBody{}})
	if st := s2.nextUpdate(); st.TaskID.Value != "keep" || st.State != mesos.TaskRunning {
		t.Fatalf("task lost in failover: %+v", st)
	}
	// Teardown kills everything.
	s2.call(mesos.Call{Type: mesos.CallTeardown})
	if ev := a.nextEvent(mesos.AgentEventShutdownFramework); ev.ShutdownFramework.FrameworkID.Value != s.id {
		t.Fatalf("shutdown: %+v", ev)
	}
	info.ID = &mesos.FrameworkID{Value: s.id}
	es, _ := c.openStream("/api/v1/scheduler", mesos.Call{Type: mesos.CallSubscribe, FrameworkID: info.ID, Subscribe: &mesos.CallSubscribeBody{FrameworkInfo: &info}})
	if rec := es.next(mesos.EventError); !strings.Contains(string(rec), "removed") {
		t.Fatalf("re-subscribing a removed framework: %s", rec)
	}
}

func TestDisconnectWithZeroFailoverTimeoutRemovesFramework(t *testing.T) {
	c := newTestCluster(t, nil)
	c.registerAgent("", "cpus:2;mem:1024")
	info := fw("ephemeral")
	info.FailoverTimeout = 0
	s := c.subscribe(info)
	s.offers()
	s.es.close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.m.mu.Lock()
		_, still := c.m.frameworks[s.id]
		c.m.mu.Unlock()
		if !still {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("framework with failover_timeout 0 was not removed on disconnect")
}

func TestAgentAdmissionIsDurable(t *testing.T) {
	c := newTestCluster(t, nil)
	a := c.registerAgent("", "cpus:1;mem:256")
	kv, err := c.store.Get(context.Background(), keyAgents+a.id)
	if err != nil || !strings.Contains(string(kv.Value), "host-") {
		t.Fatalf("agent not in registry: %v %s", err, kv.Value)
	}
	// A new master on the same store knows the agent as admitted.
	m2, err := New(Config{Store: c.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !m2.admitted[a.id] {
		t.Fatal("registry lost the agent")
	}
}

func TestMultiRoleOffersAndReservations(t *testing.T) {
	c := newTestCluster(t, nil)
	c.registerAgent("", "cpus:2;mem:512;cpus(ads):1;mem(ads):256")
	info := fw("multi", mesos.CapMultiRole, mesos.CapReservationRefinement)
	info.Roles = []string{"ads", "eng"}
	s := c.subscribe(info)
	got := map[string]mesos.Resources{}
	deadline := time.After(5 * time.Second)
	for len(got) < 2 {
		select {
		case <-deadline:
			t.Fatalf("offers per role: %v", got)
		default:
		}
		long := mesos.Double(3600)
		for _, o := range s.offers() {
			got[o.AllocationInfo.Role] = o.Resources
			// Decline for a long time so the next cycle serves the other role.
			s.call(mesos.Call{Type: mesos.CallDecline, Decline: &mesos.CallDeclineBody{OfferIDs: []mesos.OfferID{o.ID}, Filters: &mesos.Filters{RefuseSeconds: &long}}})
		}
	}
	if got["eng"].Scalar("cpus") != 2 && got["ads"].Scalar("cpus") != 3 {
		// Whoever is served first takes the unreserved part; reserved resources only go to ads.
		t.Logf("offers: eng=%s ads=%s", got["eng"], got["ads"])
	}
	for _, r := range got["eng"] {
		if r.ReservationRole() == "ads" {
			t.Fatalf("ads reservation offered to eng: %s", got["eng"])
		}
	}
	if ads := got["ads"].Filter(func(r *mesos.Resource) bool { return r.ReservationRole() == "ads" }); ads.Scalar("cpus") != 1 {
		t.Fatalf("ads should get its reserved cpu: %s", got["ads"])
	}
}

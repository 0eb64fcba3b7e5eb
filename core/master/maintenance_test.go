package master

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

func scheduleJSON(start time.Time, machines ...mesos.MachineID) mesos.MaintenanceSchedule {
	return mesos.MaintenanceSchedule{Windows: []mesos.MaintenanceWindow{{
		MachineIDs: machines,
		Unavailability: mesos.Unavailability{Start: mesos.TimeInfo{Nanoseconds: start.UnixNano()},
			Duration: &mesos.DurationInfo{Nanoseconds: int64(time.Hour)}},
	}}}
}

func (c *testCluster) postJSON(path string, v any) (int, string) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	code, _, body := c.opDo(http.MethodPost, path, "application/json", "", b)
	return code, body
}

func TestMaintenanceValidation(t *testing.T) {
	c := opCluster(t, nil)
	start := time.Now().Add(time.Hour)
	host := mesos.MachineID{Hostname: "h1", IP: "10.0.0.1"}
	neg := scheduleJSON(start, host)
	neg.Windows[0].Unavailability.Duration.Nanoseconds = -1
	cases := []struct {
		name string
		path string
		body any
		want string
	}{
		{"empty window", "/master/maintenance/schedule", mesos.MaintenanceSchedule{Windows: []mesos.MaintenanceWindow{{}}},
			"List of machines in the maintenance window is empty"},
		{"no hostname nor ip", "/master/maintenance/schedule", scheduleJSON(start, mesos.MachineID{}),
			"Both 'hostname' and 'ip' for a machine are empty"},
		{"bad ip", "/master/maintenance/schedule", scheduleJSON(start, mesos.MachineID{Hostname: "h1", IP: "10.0.0"}),
			"Failed to parse IP '10.0.0'"},
		{"twice, case-insensitive", "/master/maintenance/schedule", scheduleJSON(start, host, mesos.MachineID{Hostname: "H1", IP: "10.0.0.1"}),
			"appears more than once in the schedule"},
		{"negative duration", "/master/maintenance/schedule", neg, "Unavailability 'duration' is negative"},
		{"not JSON", "/master/maintenance/schedule", "windows", "Failed to parse JSON body"},
		{"down: empty list", "/master/machine/down", []mesos.MachineID{}, "List of machines is empty"},
		{"down: not scheduled", "/master/machine/down", []mesos.MachineID{host}, "is not part of a maintenance schedule"},
		{"up: not scheduled", "/master/machine/up", []mesos.MachineID{host}, "is not part of a maintenance schedule"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := c.postJSON(tc.path, tc.body)
			if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
				t.Fatalf("POST %s: %d %q, want 400 containing %q", tc.path, code, body, tc.want)
			}
		})
	}
	// Nothing was stored.
	if _, err := c.store.Get(context.Background(), keyMaintenance); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rejected schedule reached the registry: %v", err)
	}
	if st := c.opGet("/master/maintenance/schedule"); len(st) != 0 {
		t.Fatalf("schedule after rejected updates: %v", st)
	}

	// Mode checks: a DRAINING machine cannot be brought up, a DOWN one
	// cannot be brought down again nor dropped from the schedule.
	if code, body := c.postJSON("/master/maintenance/schedule", scheduleJSON(start, host)); code != http.StatusOK {
		t.Fatalf("schedule: %d %s", code, body)
	}
	if code, body := c.postJSON("/master/machine/up", []mesos.MachineID{host}); code != http.StatusBadRequest ||
		!strings.Contains(body, "is not in DOWN mode and cannot be brought up") {
		t.Fatalf("up a draining machine: %d %s", code, body)
	}
	if code, body := c.postJSON("/master/machine/down", []mesos.MachineID{host}); code != http.StatusOK {
		t.Fatalf("down: %d %s", code, body)
	}
	if code, body := c.postJSON("/master/machine/down", []mesos.MachineID{host}); code != http.StatusBadRequest ||
		!strings.Contains(body, "is not in DRAINING mode and cannot be brought down") {
		t.Fatalf("down twice: %d %s", code, body)
	}
	if code, body := c.postJSON("/master/maintenance/schedule", mesos.MaintenanceSchedule{}); code != http.StatusBadRequest ||
		!strings.Contains(body, "is deactivated and cannot be removed from the schedule") {
		t.Fatalf("drop a down machine: %d %s", code, body)
	}
	code, body := c.opCall(map[string]string{"type": "START_MAINTENANCE"})
	if code != http.StatusBadRequest || !strings.Contains(body, "start_maintenance") {
		t.Fatalf("START_MAINTENANCE without payload: %d %s", code, body)
	}
}

// TestMaintenanceLifecycle walks a machine through DRAINING (unavailability
// on offers, inverse offers and their answers), DOWN (agent shut down and
// removed, tasks lost, registration refused) and back UP, and checks the
// schedule survives a new master on the same registry.
func TestMaintenanceLifecycle(t *testing.T) {
	c := opCluster(t, nil)
	a, s := launchOne(t, c, fw("web", mesos.CapPartitionAware))
	start := time.Now().Add(time.Hour).Truncate(time.Second)
	// Hostnames are not case-sensitive; the IP is the one the agent
	// registered from.
	machine := mesos.MachineID{Hostname: "HOST-", IP: "127.0.0.1"}
	if code, body := c.postJSON("/master/maintenance/schedule", scheduleJSON(start, machine)); code != http.StatusOK {
		t.Fatalf("POST schedule: %d %s", code, body)
	}
	sched := c.opGet("/master/maintenance/schedule")
	if dig(t, sched, "windows", 0, "machine_ids", 0, "hostname") != "host-" {
		t.Fatalf("GET schedule: %v", sched)
	}

	// The framework with a task there gets an inverse offer for the agent.
	ev := s.nextEvent(mesos.EventInverseOffers)
	ios := ev.InverseOffers.InverseOffers
	if len(ios) != 1 || ios[0].AgentID == nil || ios[0].AgentID.Value != a.id ||
		ios[0].Unavailability.Start.Nanoseconds != start.UnixNano() {
		t.Fatalf("inverse offers: %+v", ios)
	}
	st := c.opGet("/master/maintenance/status")
	if dig(t, st, "draining_machines", 0, "id", "hostname") != "host-" ||
		dig(t, st, "draining_machines", 0, "statuses", 0, "status") != mesos.InverseOfferUnknown {
		t.Fatalf("status before an answer: %v", st)
	}
	refuse := mesos.Double(3600)
	if code, body := s.call(mesos.Call{Type: mesos.CallDeclineInverseOffers, DeclineInverseOffers: &mesos.CallInverseOffersBody{
		InverseOfferIDs: []mesos.OfferID{ios[0].ID}, Filters: &mesos.Filters{RefuseSeconds: &refuse}}}); code != http.StatusAccepted {
		t.Fatalf("DECLINE_INVERSE_OFFERS: %d %s", code, body)
	}
	resp, _ := c.opQuery("GET_MAINTENANCE_STATUS")
	dm := resp.GetMaintenanceStatus.Status.DrainingMachines
	if len(dm) != 1 || len(dm[0].Statuses) != 1 || dm[0].Statuses[0].Status != mesos.InverseOfferDecline ||
		dm[0].Statuses[0].FrameworkID.Value != s.id {
		t.Fatalf("status after DECLINE: %+v", dm)
	}

	// Offers from the draining machine carry its unavailability.
	other := c.subscribe(fw("other"))
	o := other.offers()[0]
	if o.Unavailability == nil || o.Unavailability.Start.Nanoseconds != start.UnixNano() ||
		o.Unavailability.Duration == nil || o.Unavailability.Duration.Nanoseconds != int64(time.Hour) {
		t.Fatalf("offer unavailability: %+v", o.Unavailability)
	}

	// The schedule is in the registry: a new master recovers it.
	m2, err := New(Config{Store: c.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := m2.maintenanceStatus(); len(got.DrainingMachines) != 1 || got.DrainingMachines[0].ID.Hostname != "host-" {
		t.Fatalf("recovered maintenance: %+v", got)
	}

	// Machine DOWN: the agent is told to shut its frameworks down and is
	// refused; the task is lost; the agent is gone from the state.
	code, body := c.opCall(map[string]any{"type": "START_MAINTENANCE",
		"start_maintenance": map[string]any{"machines": []mesos.MachineID{machine}}})
	if code != http.StatusOK {
		t.Fatalf("START_MAINTENANCE: %d %s", code, body)
	}
	a.nextEvent(mesos.AgentEventShutdownFramework)
	if ev := a.nextEvent(mesos.AgentEventError); !strings.Contains(ev.Error.Message, "Machine DOWN") {
		t.Fatalf("agent error: %+v", ev.Error)
	}
	upd := s.nextUpdate()
	if upd.TaskID.Value != "t1" || upd.State != mesos.TaskLost || upd.Reason != mesos.ReasonAgentRemoved {
		t.Fatalf("task update: %+v", upd)
	}
	if slaves := c.opGet("/master/slaves")["slaves"].([]any); len(slaves) != 0 {
		t.Fatalf("agent of a DOWN machine still listed: %v", slaves)
	}
	st = c.opGet("/maintenance/status")
	if dig(t, st, "down_machines", 0, "hostname") != "host-" {
		t.Fatalf("status after down: %v", st)
	}
	// It cannot register again while the machine is down.
	es, _ := c.openStream("/api/v1/agent", mesos.AgentCall{Type: mesos.AgentCallRegister, Register: &mesos.AgentRegister{
		AgentInfo: mesos.AgentInfo{Hostname: "host-", Port: 5051, ID: &mesos.AgentID{Value: a.id},
			Resources: []mesos.Resource{{Name: "cpus", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: 1}}}}}})
	var rev mesos.AgentEvent
	json.Unmarshal(es.next(mesos.AgentEventRegistered, mesos.AgentEventError), &rev)
	if rev.Type != mesos.AgentEventError || !strings.Contains(rev.Error.Message, "DOWN for maintenance") {
		t.Fatalf("registration from a DOWN machine: %+v", rev)
	}

	// Machine UP: it leaves the schedule and agents may register again.
	code, body = c.opCall(map[string]any{"type": "STOP_MAINTENANCE",
		"stop_maintenance": map[string]any{"machines": []mesos.MachineID{machine}}})
	if code != http.StatusOK {
		t.Fatalf("STOP_MAINTENANCE: %d %s", code, body)
	}
	sr, _ := c.opQuery("GET_MAINTENANCE_SCHEDULE")
	if len(sr.GetMaintenanceSchedule.Schedule.Windows) != 0 {
		t.Fatalf("schedule after STOP_MAINTENANCE: %+v", sr.GetMaintenanceSchedule.Schedule)
	}
	back := c.registerAgent(a.id, "cpus:1;mem:128")
	if back.id != a.id {
		t.Fatalf("agent came back as %s, want %s", back.id, a.id)
	}
	o = other.offers()[0]
	if o.Unavailability != nil {
		t.Fatalf("offer after maintenance still has an unavailability: %+v", o.Unavailability)
	}
}

func TestMachineIDMatches(t *testing.T) {
	cases := []struct {
		id       mesos.MachineID
		host, ip string
		want     bool
	}{
		{mesos.MachineID{Hostname: "Node1", IP: "10.0.0.1"}, "node1", "10.0.0.1", true},
		{mesos.MachineID{Hostname: "node1"}, "node1", "10.0.0.1", true},
		{mesos.MachineID{IP: "10.0.0.1"}, "node1", "10.0.0.1", true},
		{mesos.MachineID{Hostname: "node1", IP: "10.0.0.2"}, "node1", "10.0.0.1", false},
		{mesos.MachineID{Hostname: "node2"}, "node1", "10.0.0.1", false},
	}
	for _, tc := range cases {
		if got := tc.id.Matches(tc.host, tc.ip); got != tc.want {
			t.Errorf("%+v.Matches(%q, %q) = %v, want %v", tc.id, tc.host, tc.ip, got, tc.want)
		}
	}
}

func TestDrainAgent(t *testing.T) {
	for _, markGone := range []bool{false, true} {
		t.Run(map[bool]string{false: "reactivate", true: "mark_gone"}[markGone], func(t *testing.T) {
			c := opCluster(t, nil)
			a, s := launchOne(t, c, fw("drained"))
			if code, body := c.opCall(map[string]any{"type": "DRAIN_AGENT", "drain_agent": map[string]any{
				"agent_id": map[string]string{"value": "nope"}}}); code != http.StatusBadRequest || !strings.Contains(body, "Unknown agent") {
				t.Fatalf("drain an unknown agent: %d %s", code, body)
			}
			code, body := c.opCall(map[string]any{"type": "DRAIN_AGENT", "drain_agent": map[string]any{
				"agent_id": map[string]string{"value": a.id}, "max_grace_period": map[string]int64{"nanoseconds": int64(time.Second)},
				"mark_gone": markGone}})
			if code != http.StatusOK {
				t.Fatalf("DRAIN_AGENT: %d %s", code, body)
			}
			// The agent is told to kill its task within the capped grace period.
			kill := a.nextEvent(mesos.AgentEventKillTask).KillTask
			if kill.TaskID.Value != "t1" || kill.KillPolicy == nil || kill.KillPolicy.GracePeriod.Nanoseconds != int64(time.Second) {
				t.Fatalf("kill: %+v", kill)
			}
			sl := c.opGet("/master/slaves")
			if dig(t, sl, "slaves", 0, "deactivated") != true || dig(t, sl, "slaves", 0, "drain_info", "state") != mesos.DrainStateDraining {
				t.Fatalf("draining slave: %v", dig(t, sl, "slaves", 0))
			}
			a.update(s.id, "t1", mesos.TaskKilled, []byte("0123456789abcdef"))
			upd := s.nextUpdate()
			if code, body := s.call(mesos.Call{Type: mesos.CallAcknowledge, Acknowledge: &mesos.CallAcknowledgeBody{AgentID: *upd.AgentID, TaskID: upd.TaskID, UUID: upd.UUID}}); code != http.StatusAccepted {
				t.Fatalf("ack %+v: %d %s", upd, code, body)
			}

			deadline := time.Now().Add(10 * time.Second)
			for {
				if markGone {
					if _, err := c.store.Get(context.Background(), keyGone+a.id); err == nil {
						break
					}
				} else if resp, _ := c.opQuery("GET_AGENTS"); len(resp.GetAgents.Agents) == 1 &&
					resp.GetAgents.Agents[0].DrainInfo != nil && resp.GetAgents.Agents[0].DrainInfo.State == mesos.DrainStateDrained {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("agent never finished draining")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if markGone {
				return
			}
			if _, err := c.store.Get(context.Background(), keyDraining+a.id); err != nil {
				t.Fatalf("drain not in the registry: %v", err)
			}
			if code, body := c.opCall(map[string]any{"type": "REACTIVATE_AGENT", "reactivate_agent": map[string]any{
				"agent_id": map[string]string{"value": a.id}}}); code != http.StatusOK {
				t.Fatalf("REACTIVATE_AGENT: %d %s", code, body)
			}
			sl = c.opGet("/master/slaves")
			if slave := dig(t, sl, "slaves", 0).(map[string]any); slave["active"] != true || slave["drain_info"] != nil {
				t.Fatalf("reactivated slave: %v", slave)
			}
			if _, err := c.store.Get(context.Background(), keyDraining+a.id); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("drain left in the registry: %v", err)
			}
		})
	}
}

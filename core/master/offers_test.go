package master

import (
	"net/http"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

func TestOfferTimeoutRescinds(t *testing.T) {
	c := newTestCluster(t, func(cfg *Config) { cfg.OfferTimeout = 100 * time.Millisecond })
	c.registerAgent("", "cpus:2;mem:1024")
	s := c.subscribe(fw("slow"))
	o := s.offers()[0]
	ev := s.nextEvent(mesos.EventRescind)
	if ev.Rescind.OfferID != o.ID {
		t.Fatalf("rescinded %s, want %s", ev.Rescind.OfferID.Value, o.ID.Value)
	}
	// Accepting the rescinded offer is now invalid.
	s.call(launchCall(o, commandTask("late", o, "cpus:1;mem:64", "true")))
	if st := s.nextUpdate(); st.State != mesos.TaskLost || st.Reason != mesos.ReasonInvalidOffers {
		t.Fatalf("launch on rescinded offer: %+v", st)
	}
}

func TestDynamicReservation(t *testing.T) {
	c := newTestCluster(t, nil)
	a := c.registerAgent("", "cpus:4;mem:1024")
	info := fw("reserver", mesos.CapReservationRefinement)
	info.Roles = []string{"eng"}
	info.Principal = "ops"
	s := c.subscribe(info)
	o := s.offers()[0]
	want, _ := mesos.ParseResources("cpus:1;mem:256", "")
	for i := range want {
		want[i].Reservations = []mesos.ReservationInfo{{Type: "DYNAMIC", Role: "eng"}}
	}
	zero := mesos.Double(0)
	call := mesos.Call{Type: mesos.CallAccept, Accept: &mesos.CallAcceptBody{
		OfferIDs: []mesos.OfferID{o.ID},
		Operations: []mesos.Operation{{Type: mesos.OpReserve, Reserve: &struct {
			Resources mesos.Resources  `json:"resources,omitempty"`
			Source    []mesos.Resource `json:"source,omitempty"`
		}{Resources: want}}},
		Filters: &mesos.Filters{RefuseSeconds: &zero},
	}}
	if code, body := s.call(call); code != http.StatusAccepted {
		t.Fatalf("reserve: %d %s", code, body)
	}
	cp := a.nextEvent(mesos.AgentEventCheckpointRes)
	total := mesos.Resources(cp.CheckpointResources.Resources)
	reserved := total.Filter(func(r *mesos.Resource) bool { return r.ReservationRole() == "eng" })
	if reserved.Scalar("cpus") != 1 || reserved.Scalar("mem") != 256 || total.Scalar("cpus") != 4 {
		t.Fatalf("checkpointed total %s", total)
	}
	if reserved[0].Reservations[0].Principal != "ops" {
		t.Errorf("reservation principal %+v", reserved[0].Reservations)
	}
	// The next offer carries the reservation; unreserve it again.
	o2 := s.offers()[0]
	res := mesos.Resources(o2.Resources).Filter(func(r *mesos.Resource) bool { return r.ReservationRole() == "eng" })
	if res.Scalar("cpus") != 1 {
		t.Fatalf("offer after reserve: %s", mesos.Resources(o2.Resources))
	}
	unres := mesos.Call{Type: mesos.CallAccept, Accept: &mesos.CallAcceptBody{
		OfferIDs: []mesos.OfferID{o2.ID},
		Operations: []mesos.Operation{{Type: mesos.OpUnreserve, Unreserve: &struct {
			Resources mesos.Resources `json:"resources,omitempty"`
		}{Resources: res}}},
	}}
	s.call(unres)
	cp = a.nextEvent(mesos.AgentEventCheckpointRes)
	for _, r := range cp.CheckpointResources.Resources {
		if r.IsReserved() {
			t.Fatalf("still reserved after UNRESERVE: %s", mesos.Resources(cp.CheckpointResources.Resources))
		}
	}
}

func TestLaunchGroupAndExecutorResources(t *testing.T) {
	c := newTestCluster(t, nil)
	a := c.registerAgent("", "cpus:4;mem:1024")
	s := c.subscribe(fw("pods"))
	o := s.offers()[0]
	execRes, _ := mesos.ParseResources("cpus:0.1;mem:32", "")
	exec := mesos.ExecutorInfo{Type: "DEFAULT", ExecutorID: mesos.ExecutorID{Value: "pod-1"}, Resources: execRes}
	group := mesos.TaskGroupInfo{Tasks: []mesos.TaskInfo{
		commandTask("web", o, "cpus:1;mem:128", "sleep 100"),
		commandTask("sidecar", o, "cpus:0.5;mem:64", "sleep 100"),
	}}
	call := mesos.Call{Type: mesos.CallAccept, Accept: &mesos.CallAcceptBody{
		OfferIDs: []mesos.OfferID{o.ID},
		Operations: []mesos.Operation{{Type: mesos.OpLaunchGroup, LaunchGroup: &struct {
			Executor  mesos.ExecutorInfo  `json:"executor"`
			TaskGroup mesos.TaskGroupInfo `json:"task_group"`
		}{exec, group}}},
	}}
	s.call(call)
	ev := a.nextEvent(mesos.AgentEventRunTaskGroup)
	if len(ev.RunTaskGroup.TaskGroup.Tasks) != 2 || ev.RunTaskGroup.Executor.FrameworkID.Value != s.id {
		t.Fatalf("run task group %+v", ev.RunTaskGroup)
	}
	c.m.mu.Lock()
	avail := c.m.agents[a.id].available
	c.m.mu.Unlock()
	if got := avail.Scalar("cpus"); got != 2.4 {
		t.Errorf("available cpus after a group of 1.5 + executor 0.1: %v, want 2.4", got)
	}
	// A group with an invalid member fails as a whole.
	s.call(mesos.Call{Type: mesos.CallRevive})
	o2 := s.offers()[0]
	bad := mesos.TaskGroupInfo{Tasks: []mesos.TaskInfo{
		commandTask("ok-member", o2, "cpus:0.5;mem:64", "true"),
		commandTask("greedy", o2, "cpus:100;mem:64", "true"),
	}}
	exec.ExecutorID.Value = "pod-2"
	call.Accept.OfferIDs = []mesos.OfferID{o2.ID}
	call.Accept.Operations[0].LaunchGroup.Executor = exec
	call.Accept.Operations[0].LaunchGroup.TaskGroup = bad
	s.call(call)
	for i := 0; i < 2; i++ {
		if st := s.nextUpdate(); st.State != mesos.TaskError || st.Reason != mesos.ReasonTaskGroupInvalid {
			t.Fatalf("invalid group member update: %+v", st)
		}
	}
}

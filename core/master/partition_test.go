package master

import (
	"bytes"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
)

// TestLostTaskStaysLost: a framework without PARTITION_AWARE was told
// TASK_LOST when its agent became unreachable. When the agent comes back,
// the master kills the task; the updates the agent still sends for it
// (the unacknowledged TASK_RUNNING it resends on re-registration, then the
// kill's TASK_KILLED) are acknowledged by the master and never reach the
// framework, and a re-registration that still reports the task kills it
// again instead of bringing it back. The partition-aware framework's task
// comes back as before.
func TestLostTaskStaysLost(t *testing.T) {
	c := newTestCluster(t, nil)
	a := c.registerAgent("", "cpus:4;mem:1024")
	pa := c.subscribe(fw("pa", mesos.CapPartitionAware))
	legacy := c.subscribe(fw("legacy"))
	launchOn := func(s *fakeScheduler, id string) {
		// TASK_RUNNING is never acknowledged: the ack is lost in the partition.
		if st := s.launchRunning(a, id); st.State != mesos.TaskRunning {
			t.Fatalf("%s: %+v", id, st)
		}
	}
	launchOn(pa, "pa-task")
	launchOn(legacy, "legacy-task")

	a.es.close() // the agent stops answering pings
	if st := legacy.nextUpdate(); st.State != mesos.TaskLost {
		t.Fatalf("legacy: %+v", st)
	}
	if st := pa.nextUpdate(); st.State != mesos.TaskUnreachable {
		t.Fatalf("partition-aware: %+v", st)
	}

	register := func() *fakeAgent {
		reg := mesos.AgentRegister{Version: "test", AgentInfo: mesos.AgentInfo{Hostname: "h", Port: 5051, ID: &mesos.AgentID{Value: a.id}}}
		reg.AgentInfo.Resources, _ = mesos.ParseResources("cpus:4;mem:1024", "")
		for _, tk := range []struct{ fw, id string }{{pa.id, "pa-task"}, {legacy.id, "legacy-task"}} {
			r, _ := mesos.ParseResources("cpus:1;mem:64", "")
			reg.Tasks = append(reg.Tasks, mesos.Task{Name: tk.id, TaskID: mesos.TaskID{Value: tk.id}, FrameworkID: mesos.FrameworkID{Value: tk.fw},
				AgentID: mesos.AgentID{Value: a.id}, State: mesos.TaskRunning, Resources: r.Allocate("*")})
		}
		return c.registerAgentWith(reg)
	}
	a2 := register()
	if st := pa.nextUpdate(); st.State != mesos.TaskRunning || st.Reason != mesos.ReasonAgentReregistered {
		t.Fatalf("partition-aware after return: %+v", st)
	}
	if kill := a2.nextEvent(mesos.AgentEventKillTask); kill.KillTask.TaskID.Value != "legacy-task" {
		t.Fatalf("kill: %+v", kill.KillTask)
	}

	// The agent resends the unacknowledged TASK_RUNNING of both tasks.
	running := mesos.NewUUID()
	a2.update(legacy.id, "legacy-task", mesos.TaskRunning, running)
	ack := a2.nextEvent(mesos.AgentEventAcknowledge)
	if ack.Acknowledge.TaskID.Value != "legacy-task" || !bytes.Equal(ack.Acknowledge.UUID, running) {
		t.Fatalf("the master should acknowledge the lost task's update itself: %+v", ack.Acknowledge)
	}
	a2.update(pa.id, "pa-task", mesos.TaskRunning, mesos.NewUUID())
	if st := pa.nextUpdate(); st.State != mesos.TaskRunning || st.TaskID.Value != "pa-task" {
		t.Fatalf("partition-aware update: %+v", st)
	}

	// The agent breaks its connection and re-registers before the kill
	// finished, still reporting the task: it is killed again.
	a2.es.close()
	a3 := register()
	if kill := a3.nextEvent(mesos.AgentEventKillTask); kill.KillTask.TaskID.Value != "legacy-task" {
		t.Fatalf("kill after a second registration: %+v", kill.KillTask)
	}
	killed := mesos.NewUUID()
	a3.update(legacy.id, "legacy-task", mesos.TaskKilled, killed)
	if ack := a3.nextEvent(mesos.AgentEventAcknowledge); !bytes.Equal(ack.Acknowledge.UUID, killed) {
		t.Fatalf("ack of TASK_KILLED: %+v", ack.Acknowledge)
	}

	// The framework heard nothing after TASK_LOST: the next update on its
	// stream is the answer to its reconciliation.
	legacy.call(mesos.Call{Type: mesos.CallReconcile, Reconcile: &mesos.CallReconcileBody{
		Tasks: []mesos.ReconcileTask{{TaskID: mesos.TaskID{Value: "legacy-task"}, AgentID: &mesos.AgentID{Value: a.id}}}}})
	if st := legacy.nextUpdate(); st.State != mesos.TaskLost || st.Reason != mesos.ReasonReconciliation {
		t.Fatalf("legacy after the agent's return: %+v, want only the reconciliation's TASK_LOST", st)
	}
	// Once the terminal update is through, the task is no longer special.
	a3.mu(func() {
		if n := len(c.m.agents[a.id].lost); n != 0 {
			t.Errorf("%d lost tasks still tracked after TASK_KILLED", n)
		}
	})
}

// mu runs f with the master's lock held.
func (a *fakeAgent) mu(f func()) {
	a.c.m.mu.Lock()
	defer a.c.m.mu.Unlock()
	f()
}

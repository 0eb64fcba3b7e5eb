package agent

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// registeredTask finds a task in a REGISTER call.
func registeredTask(reg mesos.AgentRegister, id string) (mesos.Task, bool) {
	for _, t := range reg.Tasks {
		if t.TaskID.Value == id {
			return t, true
		}
	}
	return mesos.Task{}, false
}

func TestAgentRestartReconnect(t *testing.T) {
	bin := executorBinary(t)
	fm := newFakeMaster(t)
	work := t.TempDir()
	a1 := startAgent(t, fm, work, nil)
	id := a1.waitRegistered()
	fw := testFramework("fw1")

	// keep: runs across the restart. down: exits with 7 while no agent runs.
	// unacked: its STARTING is never acknowledged before the restart.
	// long-x: a custom executor's task.
	fm.send(runTaskEvent(fw, shellTask("keep", "sleep 1000")))
	keepRunning := fm.waitState("keep", mesos.TaskRunning)
	keepPid := pidOf(t, keepRunning)
	fm.send(runTaskEvent(fw, shellTask("down", `while [ ! -f "$MESOS_SANDBOX/go" ]; do sleep 0.05; done; exit 7`)))
	downRunning := fm.waitState("down", mesos.TaskRunning)
	downPid := pidOf(t, downRunning)
	fm.send(runTaskEvent(fw, customTask("long-x", "ex-x", bin)))
	fm.waitState("long-x", mesos.TaskRunning)
	fm.setAutoAck(false)
	fm.send(runTaskEvent(fw, shellTask("unacked", "sleep 1000")))
	unackedStarting := fm.waitState("unacked", mesos.TaskStarting)
	// Let every acknowledgement reach the agent before it stops.
	waitUntil(t, "acks applied", func() bool {
		a1.mu.Lock()
		defer a1.mu.Unlock()
		for _, id := range []string{"keep", "down", "long-x"} {
			tk := a1.tasks[taskKey{"fw1", id}]
			if tk == nil || len(tk.stream.pending) != 0 {
				return false
			}
		}
		return true
	})

	if err := a1.stop(); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if !processAlive(keepPid) {
		t.Fatal("task died with the agent")
	}
	downSandbox := filepath.Join(work, "slaves", id, "frameworks", "fw1", "executors", "down", "runs",
		downRunning.Status.ContainerStatus.ContainerID.Value)
	if err := os.WriteFile(filepath.Join(downSandbox, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitGone(t, downPid)

	before := fm.registerCount()
	fm.setAutoAck(true)
	a2 := startAgent(t, fm, work, func(c *Config) {
		c.ExecutorReregistrationTimeout = 10 * time.Second
		c.Port = a1.cfg.Port     // the executor knows the agent by its endpoint
		c.KillTasksOnStop = true // leave no process behind
	})
	if got := a2.waitRegistered(); got != id {
		t.Fatalf("restarted agent ID = %q, want %q", got, id)
	}
	fm.waitFor("re-registration", 10*time.Second, func() bool { return len(fm.registers) > before })
	reg := fm.lastRegister()
	if reg.AgentInfo.ID == nil || reg.AgentInfo.ID.Value != id {
		t.Fatalf("re-registration agent_info.id = %v", reg.AgentInfo.ID)
	}
	keep, ok := registeredTask(reg, "keep")
	if !ok || keep.State != mesos.TaskRunning {
		t.Fatalf("keep in re-registration: %+v %v (tasks %d)", keep, ok, len(reg.Tasks))
	}
	if _, ok := registeredTask(reg, "long-x"); !ok {
		t.Fatal("custom executor's task missing from re-registration")
	}
	if !slices.ContainsFunc(reg.Executors, func(e mesos.ExecutorInfo) bool { return e.ExecutorID.Value == "ex-x" }) {
		t.Fatalf("executors in re-registration: %+v", reg.Executors)
	}
	if len(reg.Frameworks) != 1 || reg.Frameworks[0].ID == nil || reg.Frameworks[0].ID.Value != "fw1" {
		t.Fatalf("frameworks in re-registration: %+v", reg.Frameworks)
	}

	// The unacknowledged update is resent with its uuid.
	fm.waitFor("STARTING resent", 10*time.Second, func() bool {
		n := 0
		for _, u := range fm.updates {
			if bytes.Equal(u.Status.UUID, unackedStarting.Status.UUID) {
				n++
			}
		}
		return n >= 2
	})
	fm.waitState("unacked", mesos.TaskRunning)

	// The task that ended while the agent was down reports its real exit code.
	downFailed := fm.waitState("down", mesos.TaskFailed)
	if !strings.Contains(downFailed.Status.Message, "status 7") {
		t.Fatalf("down = %+v", downFailed.Status)
	}

	// Same process, still running, and a KILL works through the new agent.
	if !processAlive(keepPid) {
		t.Fatal("keep's process is gone after the restart")
	}
	var st stateJSON
	a2.getJSON("/state", &st)
	found := false
	for _, ex := range st.Frameworks[0].Executors {
		for _, tk := range ex.Tasks {
			if tk.ID == "keep" {
				found = true
				last := tk.Statuses[len(tk.Statuses)-1]
				if tk.State != mesos.TaskRunning || last.ContainerStatus == nil || int(*last.ContainerStatus.ExecutorPID) != keepPid {
					t.Fatalf("keep after restart: %+v", tk)
				}
			}
		}
	}
	if !found {
		t.Fatal("keep not in /state after the restart")
	}
	fm.send(killTaskEvent("fw1", "keep", time.Second))
	fm.waitState("keep", mesos.TaskKilled)
	waitGone(t, keepPid)

	// The custom executor re-subscribed: a KILL reaches it.
	fm.send(killTaskEvent("fw1", "long-x", 0))
	fm.waitState("long-x", mesos.TaskKilled)

	fm.send(killTaskEvent("fw1", "unacked", time.Second))
	fm.waitState("unacked", mesos.TaskKilled)
}

func TestAgentRestartCleanup(t *testing.T) {
	fm := newFakeMaster(t)
	work := t.TempDir()
	a1 := startAgent(t, fm, work, nil)
	a1.waitRegistered()
	fw := testFramework("fw1", mesos.CapPartitionAware)
	fm.send(runTaskEvent(fw, shellTask("victim", "sleep 1000")))
	pid := pidOf(t, fm.waitState("victim", mesos.TaskRunning))
	a1.stop()
	if !processAlive(pid) {
		t.Fatal("task died with the agent")
	}
	startAgent(t, fm, work, func(c *Config) { c.Recover = RecoverCleanup })
	gone := fm.waitState("victim", mesos.TaskGone)
	if gone.Status.Reason != mesos.ReasonAgentRestarted || gone.Status.Source != mesos.SourceAgent {
		t.Fatalf("GONE = %+v", gone.Status)
	}
	waitGone(t, pid)
}

func TestExecutorReregistrationTimeout(t *testing.T) {
	bin := executorBinary(t)
	fm := newFakeMaster(t)
	work := t.TempDir()
	a1 := startAgent(t, fm, work, nil)
	a1.waitRegistered()
	fm.send(runTaskEvent(testFramework("fw1"), customTask("long-silent", "ex-silent", bin,
		mesos.EnvVariable{Name: "TEST_EXECUTOR_NO_RESUBSCRIBE", Value: "1"})))
	fm.waitState("long-silent", mesos.TaskRunning)
	a1.stop()
	startAgent(t, fm, work, func(c *Config) { c.ExecutorReregistrationTimeout = 300 * time.Millisecond })
	failed := fm.waitState("long-silent", mesos.TaskFailed)
	if failed.Status.Reason != mesos.ReasonExecutorReregistrationTimeout {
		t.Fatalf("FAILED = %+v", failed.Status)
	}
}

func TestKillTasksOnStop(t *testing.T) {
	fm := newFakeMaster(t)
	a := startAgent(t, fm, t.TempDir(), func(c *Config) { c.KillTasksOnStop = true })
	a.waitRegistered()
	fm.send(runTaskEvent(testFramework("fw1"), shellTask("devtask", "sleep 1000")))
	pid := pidOf(t, fm.waitState("devtask", mesos.TaskRunning))
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	fm.waitState("devtask", mesos.TaskKilled)
}

func TestReregisterAfterStreamLossAndPing(t *testing.T) {
	fm := newFakeMaster(t)
	a := startAgent(t, fm, t.TempDir(), func(c *Config) { c.KillTasksOnStop = true })
	id := a.waitRegistered()

	// PING is answered with PONG.
	fm.send(mesos.AgentEvent{Type: mesos.AgentEventPing})
	fm.waitCall(mesos.AgentCallPong)

	fm.setAutoAck(false)
	fm.send(runTaskEvent(testFramework("fw1"), shellTask("t1", "sleep 1000")))
	starting := fm.waitState("t1", mesos.TaskStarting)
	before := fm.registerCount()
	fm.dropStream()
	fm.waitFor("re-registration", 10*time.Second, func() bool { return len(fm.registers) > before })
	reg := fm.lastRegister()
	if reg.AgentInfo.ID == nil || reg.AgentInfo.ID.Value != id {
		t.Fatalf("re-registration without the agent ID: %+v", reg.AgentInfo)
	}
	if tk, ok := registeredTask(reg, "t1"); !ok || tk.State != mesos.TaskRunning ||
		tk.StatusUpdateState == nil || *tk.StatusUpdateState != mesos.TaskStarting {
		t.Fatalf("t1 in re-registration: %+v", tk)
	}
	// The front is resent at once on the new stream.
	fm.waitFor("STARTING resent", 10*time.Second, func() bool {
		var sent []mesos.StatusUpdate
		for _, u := range fm.updates {
			if bytes.Equal(u.Status.UUID, starting.Status.UUID) {
				sent = append(sent, u)
			}
		}
		return len(sent) >= 2 && sent[len(sent)-1].LatestState == mesos.TaskRunning
	})

	// Silence: no event for 5 ping intervals makes the agent re-register.
	fm.mu.Lock()
	fm.pingSecs = 0.05
	fm.mu.Unlock()
	fm.dropStream()
	n := fm.registerCount()
	fm.waitFor("re-registration after silence", 10*time.Second, func() bool { return len(fm.registers) >= n+2 })
	fm.mu.Lock()
	fm.pingSecs = 15
	fm.mu.Unlock()
}

func TestRedirectAndRefusal(t *testing.T) {
	leader := newFakeMaster(t)
	follower := newFakeMaster(t)
	follower.redirect = leader.addr()
	a := startAgent(t, follower, t.TempDir(), nil)
	a.waitRegistered()
	if leader.registerCount() != 1 {
		t.Fatalf("leader got %d registrations", leader.registerCount())
	}

	gone := newFakeMaster(t)
	gone.refuse = "Agent has been marked gone"
	b := startAgent(t, gone, t.TempDir(), nil)
	var err error
	select {
	case err = <-b.done:
		b.stopped = true
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after ERROR")
	}
	var refused *RefusedError
	if !errors.As(err, &refused) || !strings.Contains(refused.Message, "marked gone") {
		t.Fatalf("Run = %v, want RefusedError", err)
	}
}

func TestCheckpointResourcesAndGC(t *testing.T) {
	fm := newFakeMaster(t)
	work := t.TempDir()
	a1 := startAgent(t, fm, work, func(c *Config) { c.GCDelay = 100 * time.Millisecond })
	id := a1.waitRegistered()
	reserved := mesos.Resources{
		{Name: "cpus", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: 6}},
		{Name: "cpus", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: 2},
			Reservations: []mesos.ReservationInfo{{Type: "DYNAMIC", Role: "web", Principal: "ops"}}},
		{Name: "mem", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: 8192}},
	}
	ev := mesos.AgentEvent{Type: mesos.AgentEventCheckpointRes}
	ev.CheckpointResources = &struct {
		Resources mesos.Resources `json:"resources"`
	}{reserved}
	fm.send(ev)

	// A finished task's sandbox is garbage-collected after GCDelay.
	fm.send(runTaskEvent(testFramework("fw1"), shellTask("short", "true")))
	fin := fm.waitState("short", mesos.TaskFinished)
	sandbox := filepath.Join(work, "slaves", id, "frameworks", "fw1", "executors", "short", "runs",
		fin.Status.ContainerStatus.ContainerID.Value)
	waitUntil(t, "sandbox removed", func() bool {
		_, err := os.Stat(sandbox)
		return os.IsNotExist(err)
	})
	a1.stop()

	before := fm.registerCount()
	a2 := startAgent(t, fm, work, nil)
	a2.waitRegistered()
	fm.waitFor("re-registration", 10*time.Second, func() bool { return len(fm.registers) > before })
	rs := mesos.Resources(fm.lastRegister().AgentInfo.Resources)
	if rs.Scalar("cpus") != 8 || len(rs.Filter(func(r *mesos.Resource) bool { return r.ReservationRole() == "web" })) != 1 {
		t.Fatalf("re-registered resources = %s", rs)
	}
	var st stateJSON
	a2.getJSON("/state", &st)
	if st.ReservedResources["web"]["cpus"] != 2.0 {
		t.Fatalf("reserved_resources = %v", st.ReservedResources)
	}
}

func TestShutdownFramework(t *testing.T) {
	fm := newFakeMaster(t)
	a := startAgent(t, fm, t.TempDir(), nil)
	a.waitRegistered()
	fw := testFramework("fw1")
	fm.send(runTaskEvent(fw, shellTask("a", "sleep 1000")))
	fm.send(runTaskEvent(fw, shellTask("b", "sleep 1000")))
	pa := pidOf(t, fm.waitState("a", mesos.TaskRunning))
	pb := pidOf(t, fm.waitState("b", mesos.TaskRunning))
	ev := mesos.AgentEvent{Type: mesos.AgentEventShutdownFramework}
	ev.ShutdownFramework = &struct {
		FrameworkID mesos.FrameworkID `json:"framework_id"`
	}{mesos.FrameworkID{Value: "fw1"}}
	fm.send(ev)
	waitGone(t, pa)
	waitGone(t, pb)
	waitUntil(t, "framework removed", func() bool {
		var st stateJSON
		a.getJSON("/state", &st)
		return len(st.Frameworks) == 0 && len(st.CompletedFrameworks) == 1
	})
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/agent"
	"github.com/strata-sched/strata/core/master"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/internal/testenv"
)

func info(name string, caps ...string) mesos.FrameworkInfo {
	fi := mesos.FrameworkInfo{User: "root", Name: name, FailoverTimeout: 3600}
	for _, c := range caps {
		fi.Capabilities = append(fi.Capabilities, mesos.Capability{Type: c})
	}
	return fi
}

// TestTaskTransitions runs real processes and checks every transition a
// user sees: finished, failed with its exit status, killed with grace.
func TestTaskTransitions(t *testing.T) {
	cl := testenv.StartCluster(t, testenv.ClusterOptions{})
	fw := startFramework(t, cl.MasterURL, info("transitions", mesos.CapTaskKillingState))

	fw.launch("ok", "echo out; echo err >&2")
	fin := fw.waitState("ok", mesos.TaskFinished)
	if got := fw.states("ok"); len(got) < 3 || got[0] != mesos.TaskStarting || got[1] != mesos.TaskRunning {
		t.Errorf("ok: states %v, want STARTING, RUNNING, FINISHED", got)
	}
	if fin.Source != mesos.SourceExecutor || len(fin.UUID) == 0 {
		t.Errorf("finished update: %+v", fin)
	}
	if out := cl.TaskOutput(t, fw.c.FrameworkID(), "ok", "stdout"); out != "out\n" {
		t.Errorf("stdout %q", out)
	}
	if out := cl.TaskOutput(t, fw.c.FrameworkID(), "ok", "stderr"); !strings.Contains(out, "err") {
		t.Errorf("stderr %q", out)
	}

	fw.launch("bad", "exit 3")
	if st := fw.waitState("bad", mesos.TaskFailed); !strings.Contains(st.Message, "3") {
		t.Errorf("failed update should carry the exit status: %q", st.Message)
	}

	fw.launch("env", `test "$GREETING" = hi && test "$PWD" = "$MESOS_SANDBOX"`, func(ti *mesos.TaskInfo) {
		ti.Command.Environment = &mesos.Environment{Variables: []mesos.EnvVariable{{Name: "GREETING", Value: "hi"}}}
	})
	fw.waitState("env", mesos.TaskFinished)

	f := false
	fw.launch("argv", "", func(ti *mesos.TaskInfo) {
		prog := "/bin/sh"
		ti.Command.Shell = &f
		ti.Command.Value = &prog
		ti.Command.Arguments = []string{"sh", "-c", `test "$1" = "two words"`, "sh", "two words"}
	})
	fw.waitState("argv", mesos.TaskFinished)

	fw.launch("graceful", `trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.1; done`, func(ti *mesos.TaskInfo) {
		ti.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(5 * time.Second)}}
	})
	run := fw.waitState("graceful", mesos.TaskRunning)
	// RUNNING means the process started, not that the shell has set its
	// trap yet; on a loaded machine a kill right away can beat it.
	testenv.Eventually(t, 10*time.Second, func() error {
		if out := cl.TaskOutput(t, fw.c.FrameworkID(), "graceful", "stdout"); !strings.Contains(out, "ready") {
			return fmt.Errorf("task not ready yet: %q", out)
		}
		return nil
	})
	if err := fw.c.Kill(context.Background(), run.TaskID, run.AgentID, nil); err != nil {
		t.Fatal(err)
	}
	fw.waitState("graceful", mesos.TaskKilling)
	fw.waitState("graceful", mesos.TaskKilled)
	if out := cl.TaskOutput(t, fw.c.FrameworkID(), "graceful", "stdout"); !strings.Contains(out, "bye") {
		t.Errorf("the task should have had its grace period to say bye: %q", out)
	}

	// Reconciling a finished task after its terminal ack: the master no
	// longer knows it, the agent is registered -> TASK_LOST (not partition-aware).
	agentID := fin.AgentID
	if err := fw.c.Reconcile(context.Background(), []mesos.ReconcileTask{{TaskID: mesos.TaskID{Value: "ok"}, AgentID: agentID}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case st := <-fw.updates:
			if st.TaskID.Value == "ok" && st.Reason == mesos.ReasonReconciliation {
				if st.State != mesos.TaskLost {
					t.Errorf("reconcile of a forgotten task: %s", st.State)
				}
				return
			}
		case <-deadline:
			t.Fatal("no reconciliation answer")
		}
	}
}

func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
	return f[19]
}

// TestAgentRestartKeepsTasks restarts an agent under 50 running tasks: the
// tasks keep running with the same pids, and one that exits while the agent
// is down is reported with its real exit status afterwards.
func TestAgentRestartKeepsTasks(t *testing.T) {
	cl := testenv.StartCluster(t, testenv.ClusterOptions{
		AgentResources: "cpus:16;mem:8192;disk:4096;ports:[31000-31100]",
		AgentConfig:    func(_ int, c *agent.Config) { c.KillTasksOnStop = false },
	})
	fw := startFramework(t, cl.MasterURL, info("restart"))
	defer fw.c.Teardown(context.Background())
	pids := map[string]int{}
	var ids []string
	for i := 1; i <= 50; i++ {
		ids = append(ids, "long-"+strconv.Itoa(i))
	}
	for _, id := range ids {
		fw.launch(id, "sleep 1000")
		st := fw.waitState(id, mesos.TaskRunning)
		if st.ContainerStatus == nil || st.ContainerStatus.ExecutorPID == nil {
			t.Fatalf("RUNNING update without executor_pid: %+v", st)
		}
		pids[id] = int(*st.ContainerStatus.ExecutorPID)
	}
	fw.launch("short", "sleep 1; exit 7")
	fw.waitState("short", mesos.TaskRunning)
	starts := map[string]string{}
	for id, pid := range pids {
		starts[id] = procStart(pid)
	}

	cl.Agents[0].Stop()
	time.Sleep(1500 * time.Millisecond) // "short" exits while the agent is down
	cl.Agents[0].Start(t)

	if st := fw.waitState("short", mesos.TaskFailed); !strings.Contains(st.Message, "7") {
		t.Errorf("exit status lost across the restart: %q", st.Message)
	}
	for id, pid := range pids {
		if got := procStart(pid); got == "" || got != starts[id] {
			t.Errorf("%s: process %d did not survive the agent restart", id, pid)
		}
	}
	if err := fw.c.Reconcile(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	seen := map[string]mesos.TaskState{}
	deadline := time.After(20 * time.Second)
	for len(seen) < len(ids) {
		select {
		case st := <-fw.updates:
			if st.Reason == mesos.ReasonReconciliation {
				seen[st.TaskID.Value] = st.State
			}
		case <-deadline:
			t.Fatalf("reconciliation after restart: %v", seen)
		}
	}
	for id := range pids {
		if seen[id] != mesos.TaskRunning {
			t.Errorf("%s after restart: %s", id, seen[id])
		}
	}
	// The re-attached tasks can still be killed.
	aid := fw.waitState("long-1", mesos.TaskRunning).AgentID
	if err := fw.c.Kill(context.Background(), mesos.TaskID{Value: "long-1"}, aid, nil); err != nil {
		t.Fatal(err)
	}
	fw.waitState("long-1", mesos.TaskKilled)
	testenv.Eventually(t, 10*time.Second, func() error {
		if syscall.Kill(pids["long-1"], 0) == nil {
			return os.ErrExist
		}
		return nil
	})
}

// TestAgentLoss cuts an agent off: partition-aware frameworks see
// TASK_UNREACHABLE then RUNNING again when it returns; others see TASK_LOST
// and their task is killed when the agent re-registers.
func TestAgentLoss(t *testing.T) {
	cl := testenv.StartCluster(t, testenv.ClusterOptions{
		MasterConfig: func(c *master.Config) { c.AgentPingTimeout = 100 * time.Millisecond; c.MaxAgentPingTimeouts = 3 },
		AgentConfig:  func(_ int, c *agent.Config) { c.KillTasksOnStop = false },
	})
	pa := startFramework(t, cl.MasterURL, info("pa", mesos.CapPartitionAware))
	defer pa.c.Teardown(context.Background())
	pa.launch("pa-task", "sleep 1000")
	pa.waitState("pa-task", mesos.TaskRunning)
	// Start the second framework only now, so that the one agent's offer
	// goes to it rather than sitting in the first framework's queue.
	legacy := startFramework(t, cl.MasterURL, info("legacy"))
	legacy.launch("legacy-task", "sleep 1000")
	lrun := legacy.waitState("legacy-task", mesos.TaskRunning)
	lpid := int(*lrun.ContainerStatus.ExecutorPID)

	cl.Agents[0].Stop()
	if st := pa.waitState("pa-task", mesos.TaskUnreachable); st.UnreachableTime == nil {
		t.Errorf("unreachable without unreachable_time: %+v", st)
	}
	if st := legacy.waitState("legacy-task", mesos.TaskLost); st.Reason != mesos.ReasonAgentRemoved {
		t.Errorf("legacy lost reason %q", st.Reason)
	}
	cl.Agents[0].Start(t)
	// The partition-aware task is back.
	deadline := time.After(20 * time.Second)
	for back := false; !back; {
		select {
		case st := <-pa.updates:
			back = st.TaskID.Value == "pa-task" && st.State == mesos.TaskRunning
		case <-deadline:
			t.Fatalf("pa-task not RUNNING after the agent returned: %v", pa.states("pa-task"))
		}
	}
	// The legacy framework's task was killed on re-registration.
	testenv.Eventually(t, 15*time.Second, func() error {
		if syscall.Kill(lpid, 0) == nil {
			return os.ErrExist
		}
		return nil
	})
}

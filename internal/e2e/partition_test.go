package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/internal/testenv"
)

// TestAgentPartition cuts the network between an agent and the master for
// real: the master runs in the root network namespace, the agent in a
// namespace of its own joined by a veth pair, and the partition drops
// every packet on that link (connections stay open; nobody sees an
// error). Two frameworks run a task each on the agent: one PARTITION_AWARE,
// one not. The master pings every second and gives up after 3 missed
// pings. It must then mark the agent unreachable, tell the partition-aware
// framework TASK_UNREACHABLE and the other TASK_LOST; once the link is
// back, the agent re-registers under the same ID, the partition-aware task
// (the same process) is TASK_RUNNING again, and the other framework's task
// is killed on the agent and never reported running again, as Mesos does
// (reference/mesos.md §1.3, §1.5, §1.7). Two rounds: one heals as soon as
// the master gave up (the agent's old stream is still open on its side),
// one heals after the agent's own watchdog ended that stream and its
// re-registration attempts hang in the partition.
func TestAgentPartition(t *testing.T) {
	ns := testenv.StartNetNS(t)
	bin := testenv.BuildStrata(t, t.TempDir())
	masterAddr := net.JoinHostPort(ns.HostIP, strconv.Itoa(freePortOn(t, ns.HostIP)))
	masterURL := "http://" + masterAddr
	agentURL := "http://" + net.JoinHostPort(ns.IP, "5051")

	master := testenv.StartProc(t, "master", bin, "master", "--ip", ns.HostIP, "--port", portOf(masterAddr),
		"--work_dir", t.TempDir(), "--agent_ping_timeout", "1secs", "--max_agent_ping_timeouts", "3",
		"--allocation_interval", "100ms")
	// Each framework gets its own reserved share of the agent, so that
	// neither holds the offers the other needs.
	prog, args := ns.Exec(bin, "agent", "--master", masterAddr, "--ip", ns.IP, "--port", "5051",
		"--work_dir", t.TempDir(), "--isolation", "posix/cpu,posix/mem",
		"--resources", "cpus(pa):2;mem(pa):1024;cpus(legacy):2;mem(legacy):1024;disk:1000;ports:[31000-31100]")
	agentProc := testenv.StartProc(t, "agent", prog, args...)
	var pids []int
	t.Cleanup(func() {
		for _, pid := range pids { // leave no task behind
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			for _, p := range []*testenv.Proc{master, agentProc} {
				t.Logf("--- %s log ---\n%s", p.Name, p.Output())
			}
		}
	})

	agentID := waitPartitionState(t, masterURL, "the agent registers", func(st partitionState) error {
		if st.Activated != 1 || len(st.Slaves) != 1 {
			return fmt.Errorf("%d agents active", st.Activated)
		}
		return nil
	}).Slaves[0].ID

	pa := startFramework(t, masterURL, roleInfo("partition-aware", "pa", mesos.CapPartitionAware))
	legacy := startFramework(t, masterURL, roleInfo("legacy", "legacy"))
	paFwID, legacyFwID := "", ""

	rounds := []struct {
		name string
		hold time.Duration // how long the link stays cut at least
	}{
		{"heal-when-unreachable", 0},
		{"heal-after-agent-watchdog", 8 * time.Second}, // > 5 ping intervals: the agent gave up too
	}
	for _, r := range rounds {
		ok := t.Run(r.name, func(t *testing.T) {
			paTask, lgTask := "pa-"+r.name, "legacy-"+r.name
			paRun := pa.launchRetrying(paTask, "sleep 1000")
			lgRun := legacy.launchRetrying(lgTask, "sleep 1000")
			paPid, lgPid := executorPID(t, paRun), executorPID(t, lgRun)
			pids = append(pids, paPid, lgPid)
			paFwID, legacyFwID = pa.c.FrameworkID(), legacy.c.FrameworkID()

			ns.Partition(t)
			cut := time.Now()
			healed := false
			defer func() {
				if !healed {
					ns.Heal(t)
				}
			}()

			// The master gives up on the agent; each framework hears it in
			// its own terms.
			un := pa.waitState(paTask, mesos.TaskUnreachable)
			if un.UnreachableTime == nil || un.AgentID == nil || un.AgentID.Value != agentID {
				t.Errorf("TASK_UNREACHABLE should name agent %s and carry unreachable_time: %+v", agentID, un)
			}
			t.Logf("link cut; TASK_UNREACHABLE after %s", time.Since(cut).Round(100*time.Millisecond))
			lost := legacy.waitState(lgTask, mesos.TaskLost)
			if lost.Reason != mesos.ReasonAgentRemoved {
				t.Errorf("TASK_LOST reason %s, want %s", lost.Reason, mesos.ReasonAgentRemoved)
			}
			waitPartitionState(t, masterURL, "the agent is unreachable", func(st partitionState) error {
				if st.Unreachable != 1 || st.Activated != 0 {
					return fmt.Errorf("unreachable_slaves=%d activated_slaves=%d", st.Unreachable, st.Activated)
				}
				if !st.has(paFwID, "unreachable_tasks", paTask) {
					return fmt.Errorf("%s is not among the unreachable tasks", paTask)
				}
				return nil
			})
			if s := reconcileOne(t, pa, paTask, agentID); s != mesos.TaskUnreachable {
				t.Errorf("reconciling %s during the partition: %s, want TASK_UNREACHABLE", paTask, s)
			}
			if s := reconcileOne(t, legacy, lgTask, agentID); s != mesos.TaskLost {
				t.Errorf("reconciling %s during the partition: %s, want TASK_LOST", lgTask, s)
			}
			// Nothing killed the processes: the agent cannot hear the master.
			for _, pid := range []int{paPid, lgPid} {
				if err := syscall.Kill(pid, 0); err != nil {
					t.Fatalf("task process %d died during the partition: %v", pid, err)
				}
			}
			if wait := r.hold - time.Since(cut); wait > 0 {
				time.Sleep(wait)
			}

			paSeen, lgSeen := len(pa.states(paTask)), len(legacy.states(lgTask))
			ns.Heal(t)
			healed = true
			heal := time.Now()

			// The agent comes back under its ID.
			waitPartitionState(t, masterURL, "the agent re-registers", func(st partitionState) error {
				if st.Unreachable != 0 || st.Activated != 1 || len(st.Slaves) != 1 {
					return fmt.Errorf("unreachable_slaves=%d activated_slaves=%d slaves=%d", st.Unreachable, st.Activated, len(st.Slaves))
				}
				if st.Slaves[0].ID != agentID {
					return fmt.Errorf("the agent came back as %s, not %s", st.Slaves[0].ID, agentID)
				}
				return nil
			})
			// The partition-aware task is running again: the same process.
			back := pa.waitStateFrom(paTask, paSeen, mesos.TaskRunning)
			t.Logf("link healed; TASK_RUNNING again after %s", time.Since(heal).Round(100*time.Millisecond))
			if back.AgentID == nil || back.AgentID.Value != agentID {
				t.Errorf("TASK_RUNNING after the heal names agent %v, want %s", back.AgentID, agentID)
			}
			if err := syscall.Kill(paPid, 0); err != nil {
				t.Errorf("partition-aware task process %d did not survive: %v", paPid, err)
			}
			// The other framework's task is killed on the agent.
			testenv.Eventually(t, 30*time.Second, func() error {
				if syscall.Kill(lgPid, 0) == nil {
					return fmt.Errorf("task process %d of the non-partition-aware framework still runs", lgPid)
				}
				return nil
			})
			testenv.Eventually(t, 20*time.Second, func() error {
				return agentTaskStates(agentURL, map[string]string{paTask: "TASK_RUNNING", lgTask: "TASK_KILLED"})
			})
			// Reconciliation agrees.
			if s := reconcileOne(t, pa, paTask, agentID); s != mesos.TaskRunning {
				t.Errorf("reconciling %s after the heal: %s, want TASK_RUNNING", paTask, s)
			}
			if s := reconcileOne(t, legacy, lgTask, agentID); s != mesos.TaskLost {
				t.Errorf("reconciling %s after the heal: %s, want TASK_LOST", lgTask, s)
			}
			waitPartitionState(t, masterURL, "the master's books agree", func(st partitionState) error {
				if !st.has(paFwID, "tasks", paTask) {
					return fmt.Errorf("%s is not among framework %s's running tasks", paTask, paFwID)
				}
				if st.has(legacyFwID, "tasks", lgTask) || st.has(legacyFwID, "unreachable_tasks", lgTask) {
					return fmt.Errorf("%s is still active in framework %s", lgTask, legacyFwID)
				}
				return nil
			})
			for _, s := range legacy.states(lgTask)[lgSeen:] {
				if s == mesos.TaskRunning || s == mesos.TaskStarting {
					t.Errorf("%s was reported %s after the heal (states %v)", lgTask, s, legacy.states(lgTask))
				}
			}
			for _, s := range pa.states(paTask) {
				if s.IsTerminal() {
					t.Errorf("%s reached %s (states %v)", paTask, s, pa.states(paTask))
				}
			}
		})
		if !ok {
			return
		}
	}
	if pa.c.FrameworkID() != paFwID || legacy.c.FrameworkID() != legacyFwID {
		t.Errorf("framework IDs changed: %s, %s -> %s, %s", paFwID, legacyFwID, pa.c.FrameworkID(), legacy.c.FrameworkID())
	}
}

// roleInfo is info with a role and checkpointing, as production
// frameworks subscribe.
func roleInfo(name, role string, caps ...string) mesos.FrameworkInfo {
	fi := info(name, caps...)
	fi.Role = role
	fi.Checkpoint = true
	return fi
}

func freePortOn(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func executorPID(t *testing.T, st mesos.TaskStatus) int {
	t.Helper()
	if st.ContainerStatus == nil || st.ContainerStatus.ExecutorPID == nil {
		t.Fatalf("TASK_RUNNING of %s carries no executor pid: %+v", st.TaskID.Value, st)
	}
	return int(*st.ContainerStatus.ExecutorPID)
}

// waitStateFrom waits for an update of task id in state s among the
// updates after the first `from` ones.
func (tf *testFramework) waitStateFrom(id string, from int, s mesos.TaskState) mesos.TaskStatus {
	tf.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		tf.mu.Lock()
		sts := tf.statuses[id]
		for i := from; i < len(sts); i++ {
			if sts[i].State == s {
				tf.mu.Unlock()
				return sts[i]
			}
		}
		tf.mu.Unlock()
		select {
		case <-tf.updates:
		case <-deadline:
			tf.mu.Lock()
			defer tf.mu.Unlock()
			tf.t.Fatalf("task %s never reached %s after update %d; saw %s", id, s, from, statesOf(tf.statuses[id]))
		}
	}
}

// reconcileOne asks the master for one task's state (explicit
// reconciliation) and returns the answer.
func reconcileOne(t *testing.T, tf *testFramework, id, agentID string) mesos.TaskState {
	t.Helper()
	tf.mu.Lock()
	from := len(tf.statuses[id])
	tf.mu.Unlock()
	aid := mesos.AgentID{Value: agentID}
	if err := tf.c.Reconcile(context.Background(), []mesos.ReconcileTask{{TaskID: mesos.TaskID{Value: id}, AgentID: &aid}}); err != nil {
		t.Fatalf("RECONCILE %s: %v", id, err)
	}
	deadline := time.After(20 * time.Second)
	for {
		tf.mu.Lock()
		sts := tf.statuses[id]
		for i := from; i < len(sts); i++ {
			if sts[i].Reason == mesos.ReasonReconciliation {
				tf.mu.Unlock()
				return sts[i].State
			}
		}
		tf.mu.Unlock()
		select {
		case <-tf.updates:
		case <-deadline:
			t.Fatalf("no reconciliation answer for %s", id)
		}
	}
}

// partitionState is the part of /master/state the partition test reads.
type partitionState struct {
	Activated   int `json:"activated_slaves"`
	Unreachable int `json:"unreachable_slaves"`
	Slaves      []struct {
		ID      string `json:"id"`
		Active  bool   `json:"active"`
		Version string `json:"version"`
	} `json:"slaves"`
	Frameworks []struct {
		ID               string          `json:"id"`
		Tasks            []partitionTask `json:"tasks"`
		UnreachableTasks []partitionTask `json:"unreachable_tasks"`
		CompletedTasks   []partitionTask `json:"completed_tasks"`
	} `json:"frameworks"`
}

type partitionTask struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// has reports whether framework fw lists task id in the given list.
func (st partitionState) has(fw, list, id string) bool {
	for _, f := range st.Frameworks {
		if f.ID != fw {
			continue
		}
		ts := map[string][]partitionTask{"tasks": f.Tasks, "unreachable_tasks": f.UnreachableTasks, "completed_tasks": f.CompletedTasks}[list]
		for _, tk := range ts {
			if tk.ID == id {
				return true
			}
		}
	}
	return false
}

// waitPartitionState polls /master/state until check passes.
func waitPartitionState(t *testing.T, masterURL, what string, check func(partitionState) error) partitionState {
	t.Helper()
	var st partitionState
	testenv.Eventually(t, 30*time.Second, func() error {
		st = partitionState{}
		if err := testenv.GetJSON(masterURL+"/master/state", &st); err != nil {
			return err
		}
		if err := check(st); err != nil {
			return fmt.Errorf("waiting until %s: %w", what, err)
		}
		return nil
	})
	return st
}

// agentTaskStates checks the agent's own /state: each task in want is
// there (running or completed) in the wanted state.
func agentTaskStates(agentURL string, want map[string]string) error {
	type executor struct {
		Tasks          []partitionTask `json:"tasks"`
		CompletedTasks []partitionTask `json:"completed_tasks"`
	}
	type framework struct {
		Executors          []executor `json:"executors"`
		CompletedExecutors []executor `json:"completed_executors"`
	}
	var st struct {
		Frameworks          []framework `json:"frameworks"`
		CompletedFrameworks []framework `json:"completed_frameworks"`
	}
	if err := testenv.GetJSON(agentURL+"/state", &st); err != nil {
		return err
	}
	got := map[string]string{}
	for _, f := range append(st.Frameworks, st.CompletedFrameworks...) {
		for _, e := range append(f.Executors, f.CompletedExecutors...) {
			for _, tk := range append(e.Tasks, e.CompletedTasks...) {
				got[tk.ID] = tk.State
			}
		}
	}
	for id, s := range want {
		if got[id] != s {
			return fmt.Errorf("agent /state: task %s is %q, want %s (all: %v)", id, got[id], s, got)
		}
	}
	return nil
}

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/frameworks/scheduler"
	"github.com/strata-sched/strata/internal/testenv"
)

// Two builds of the binary that differ in their version string, so that
// /master/state and /version tell which one a process runs.
const (
	oldVersion = "0.1.0-old"
	newVersion = "0.2.0-new"
)

// TestAgentRollingUpgrade follows docs/operations.md "Upgrading agents":
// 20 tasks run on an agent of the old binary; the agent is stopped as an
// operator does (SIGTERM), the binary replaced, the agent started on the
// same work dir. Every task keeps running with the same process, the agent
// keeps its ID, and the upgraded agent kills and launches tasks.
func TestAgentRollingUpgrade(t *testing.T) {
	oldBin := testenv.BuildStrataVersion(t, t.TempDir(), oldVersion)
	newBin := testenv.BuildStrataVersion(t, t.TempDir(), newVersion)
	masterPort := strconv.Itoa(freeTCPPort(t))
	masterURL := "http://127.0.0.1:" + masterPort
	agentPort := strconv.Itoa(freeTCPPort(t))
	agentURL := "http://127.0.0.1:" + agentPort
	master := testenv.StartProc(t, "master", oldBin, "master", "--port", masterPort, "--work_dir", t.TempDir(),
		"--allocation_interval", "100ms")
	agent := testenv.StartProc(t, "agent", oldBin, "agent", "--master", "127.0.0.1:"+masterPort,
		"--port", agentPort, "--work_dir", t.TempDir(),
		"--resources", "cpus:8;mem:4096;disk:1000;ports:[31000-31100]", "--isolation", "posix/cpu,posix/mem")
	pids := map[string]int{}
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			for _, p := range []*testenv.Proc{master, agent} {
				t.Logf("--- %s log ---\n%s", p.Name, p.Output())
			}
		}
	})
	agentID := waitAgentVersion(t, masterURL, "", oldVersion)

	fi := info("upgrade", mesos.CapPartitionAware)
	fi.Checkpoint = true
	fw := startFramework(t, masterURL, fi)
	var ids []string
	for i := 0; i < 20; i++ {
		ids = append(ids, "svc-"+strconv.Itoa(i))
	}
	launchBatch(t, fw, ids, "sleep 1000")
	for _, id := range ids {
		pids[id] = executorPID(t, fw.waitState(id, mesos.TaskRunning))
	}
	fwID := fw.c.FrameworkID()

	// Stop the agent as an operator does; the tasks do not notice.
	agent.Stop()
	for id, pid := range pids {
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("task %s (pid %d) died with the agent: %v", id, pid, err)
		}
	}
	// Start the new binary on the same work dir.
	agent.Upgrade(t, newBin)
	if got := waitAgentVersion(t, masterURL, agentID, newVersion); got != agentID {
		t.Fatalf("the upgraded agent registered as %s, not %s", got, agentID)
	}

	// The new agent re-attached to the same processes.
	testenv.Eventually(t, 20*time.Second, func() error {
		running, err := agentTaskPIDs(agentURL)
		if err != nil {
			return err
		}
		for id, pid := range pids {
			if running[id] != pid {
				return fmt.Errorf("task %s: the upgraded agent reports pid %d running, want %d (all: %v)", id, running[id], pid, running)
			}
		}
		return nil
	})
	states := reconcileAll(t, fw, ids, agentID)
	for _, id := range ids {
		if states[id] != mesos.TaskRunning {
			t.Errorf("after the upgrade %s reconciles as %s", id, states[id])
		}
		if err := syscall.Kill(pids[id], 0); err != nil {
			t.Errorf("task %s (pid %d) did not survive the upgrade: %v", id, pids[id], err)
		}
		for _, s := range fw.states(id) {
			if s.IsTerminal() {
				t.Errorf("%s reached %s during the upgrade", id, s)
			}
		}
		if n := countState(fw.states(id), mesos.TaskStarting); n != 1 {
			t.Errorf("%s started %d times", id, n)
		}
	}
	if fw.c.FrameworkID() != fwID {
		t.Errorf("framework ID changed: %s -> %s", fwID, fw.c.FrameworkID())
	}

	// The upgraded agent kills a task...
	victim := ids[0]
	aid := mesos.AgentID{Value: agentID}
	if err := fw.c.Kill(context.Background(), mesos.TaskID{Value: victim}, &aid, nil); err != nil {
		t.Fatal(err)
	}
	fw.waitState(victim, mesos.TaskKilled)
	testenv.Eventually(t, 20*time.Second, func() error {
		if syscall.Kill(pids[victim], 0) == nil {
			return fmt.Errorf("killed task %s (pid %d) still runs", victim, pids[victim])
		}
		return nil
	})
	// ...and launches a new one (offers made before the restart were
	// rescinded with the agent's connection: skip those).
	pids["after-upgrade"] = executorPID(t, fw.launchRetrying("after-upgrade", "sleep 1000"))
}

// TestRollingMasterUpgrade follows docs/operations.md "Upgrading masters":
// three masters of the old binary on ZooKeeper; each is stopped (SIGTERM)
// and started from the new binary in turn, standbys first, the leader
// last, waiting each time until it is back. All the while a reader polls
// /master/state through /master/redirect. The framework keeps its ID, no
// task is killed or launched twice, and the cluster ends with a leader of
// the new version.
func TestRollingMasterUpgrade(t *testing.T) {
	oldBin := testenv.BuildStrataVersion(t, t.TempDir(), oldVersion)
	newBin := testenv.BuildStrataVersion(t, t.TempDir(), newVersion)
	ens := testenv.StartZooKeeper(t, 1)
	c := &haCluster{bin: oldBin, zkURL: ens.URL("", "/strata")}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	zk, err := store.OpenZK(ctx, c.zkURL, store.ZKOptions{}, nil)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zk.Close() })
	c.zk = zk
	for i := 0; i < 3; i++ {
		c.addMaster(t)
	}
	c.agent = testenv.StartProc(t, "agent", oldBin, "agent", "--master", c.zkURL, "--port", strconv.Itoa(freeTCPPort(t)),
		"--work_dir", t.TempDir(), "--resources", "cpus:16;mem:8192;disk:1000;ports:[31000-31100]", "--isolation", "posix/cpu,posix/mem")
	pids := map[string]int{}
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			for _, p := range append(c.masters, c.agent) {
				t.Logf("--- %s log ---\n%s", p.Name, p.Output())
			}
		}
	})
	c.waitServing(t)

	fi := info("rolling", mesos.CapPartitionAware)
	fi.Checkpoint = true
	fw := startFramework(t, c.zkURL, fi)
	var ids []string
	for i := 0; i < 5; i++ {
		id := "svc-" + strconv.Itoa(i)
		ids = append(ids, id)
		pids[id] = executorPID(t, fw.launchRetrying(id, "sleep 1000"))
	}
	fwID := fw.c.FrameworkID()

	// The reader: what a dashboard or the CLI sees through the upgrade.
	rd := &stateReader{c: c, fwID: fwID}
	rctx, stopReader := context.WithCancel(context.Background())
	readerDone := make(chan struct{})
	go func() { defer close(readerDone); rd.run(rctx) }()
	defer func() { stopReader(); <-readerDone }()

	leader := c.leader(t)
	order := []int{}
	for i := range c.masters {
		if i != leader {
			order = append(order, i)
		}
	}
	order = append(order, leader)
	for _, i := range order {
		wasLeader := i == leader
		c.masters[i].Upgrade(t, newBin)
		waitMasterVersion(t, c.ports[i], newVersion)
		now := c.waitServing(t)
		if wasLeader && now == i {
			t.Errorf("the old leader %d leads again right after its restart", i)
		}
		t.Logf("master %d upgraded (leader before: %v); leader now %d", i, wasLeader, now)
		time.Sleep(time.Second) // the operator checks the cluster before the next one
	}

	// Every master runs the new binary; exactly one leads, with the agent.
	for i := range c.masters {
		waitMasterVersion(t, c.ports[i], newVersion)
	}
	electedMaster(t, c)

	// The framework kept its ID and its tasks; nothing ran twice.
	if fw.c.FrameworkID() != fwID {
		t.Errorf("framework ID changed: %s -> %s", fwID, fw.c.FrameworkID())
	}
	states := reconcileAll(t, fw, ids, "")
	for _, id := range ids {
		if states[id] != mesos.TaskRunning {
			t.Errorf("after the rolling upgrade %s reconciles as %s", id, states[id])
		}
		if err := syscall.Kill(pids[id], 0); err != nil {
			t.Errorf("task %s (pid %d) did not survive: %v", id, pids[id], err)
		}
		for _, s := range fw.states(id) {
			if s.IsTerminal() {
				t.Errorf("%s reached %s during the upgrade", id, s)
			}
		}
		if n := countState(fw.states(id), mesos.TaskStarting); n != 1 {
			t.Errorf("%s started %d times", id, n)
		}
	}
	pids["after-masters"] = executorPID(t, fw.launchRetrying("after-masters", "sleep 1000"))

	stopReader()
	<-readerDone
	rd.mu.Lock()
	defer rd.mu.Unlock()
	for _, v := range rd.violations {
		t.Error(v)
	}
	if rd.ok == 0 {
		t.Fatal("the reader never got the leader's state")
	}
	t.Logf("reader: %d reads of the leader's state, %d failed on every master; longest gap without an answer %s; first failures: %q",
		rd.ok, rd.failed, rd.longestGap.Round(10*time.Millisecond), rd.errs)
}

// stateReader polls the leader's /master/state through /master/redirect
// on whichever master answers, and records what must never be seen: a
// framework other than fwID, one of its tasks in a state other than
// TASK_RUNNING, or a task listed twice.
type stateReader struct {
	c    *haCluster
	fwID string

	mu         sync.Mutex
	ok, failed int
	longestGap time.Duration
	violations []string
	errs       []string // the first failed reads, for the log
}

func (r *stateReader) run(ctx context.Context) {
	client := &http.Client{Timeout: 2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	lastOK := time.Now()
	for n := 0; ctx.Err() == nil; n++ {
		// Like a client given the list of masters: start with the next
		// one, move on to the others when it does not answer.
		var err error
		for k := range r.c.ports {
			if err = r.readOnce(client, r.c.ports[(n+k)%len(r.c.ports)]); err == nil {
				break
			}
		}
		r.mu.Lock()
		if err == nil {
			r.ok++
			lastOK = time.Now()
		} else {
			r.failed++
			r.longestGap = max(r.longestGap, time.Since(lastOK))
			if len(r.errs) < 5 {
				r.errs = append(r.errs, err.Error())
			}
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (r *stateReader) readOnce(client *http.Client, port int) error {
	resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/master/redirect")
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect || loc == "" {
		return fmt.Errorf("/master/redirect: %s", resp.Status)
	}
	var st struct {
		Elected    bool `json:"elected"`
		Frameworks []struct {
			ID             string          `json:"id"`
			Tasks          []partitionTask `json:"tasks"`
			CompletedTasks []partitionTask `json:"completed_tasks"`
		} `json:"frameworks"`
	}
	if err := testenv.GetJSON("http:"+loc+"/master/state", &st); err != nil {
		return err
	}
	if !st.Elected {
		return errors.New("redirected to a master that is not elected")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range st.Frameworks {
		if f.ID != r.fwID {
			r.violations = append(r.violations, fmt.Sprintf("the leader lists framework %s besides %s", f.ID, r.fwID))
			continue
		}
		seen := map[string]bool{}
		for _, tk := range f.Tasks {
			if seen[tk.ID] {
				r.violations = append(r.violations, fmt.Sprintf("task %s listed twice", tk.ID))
			}
			seen[tk.ID] = true
			if tk.State != "TASK_RUNNING" && tk.State != "TASK_STAGING" && tk.State != "TASK_STARTING" {
				r.violations = append(r.violations, fmt.Sprintf("task %s is %s", tk.ID, tk.State))
			}
		}
		for _, tk := range f.CompletedTasks {
			r.violations = append(r.violations, fmt.Sprintf("task %s completed as %s", tk.ID, tk.State))
		}
	}
	return nil
}

// launchBatch launches the tasks on as few offers as they fit in.
func launchBatch(t *testing.T, fw *testFramework, ids []string, cmd string) {
	t.Helper()
	for len(ids) > 0 {
		o := fw.offer()
		remaining := mesos.Resources(o.Resources)
		var tasks []mesos.TaskInfo
		for len(ids) > 0 {
			res, rest, ok := scheduler.Take(remaining, map[string]float64{"cpus": 0.1, "mem": 32})
			if !ok {
				break
			}
			tasks = append(tasks, scheduler.CommandTask(ids[0], ids[0], o, res, cmd))
			remaining, ids = rest, ids[1:]
		}
		if len(tasks) == 0 {
			t.Fatalf("offer too small: %s", mesos.Resources(o.Resources))
		}
		if err := fw.c.Launch(context.Background(), o.ID, tasks, scheduler.RefuseSeconds(0.05)); err != nil {
			t.Fatalf("launch: %v", err)
		}
	}
}

// reconcileAll reconciles ids explicitly and returns each task's answer.
func reconcileAll(t *testing.T, fw *testFramework, ids []string, agentID string) map[string]mesos.TaskState {
	t.Helper()
	from := map[string]int{}
	var req []mesos.ReconcileTask
	fw.mu.Lock()
	for _, id := range ids {
		from[id] = len(fw.statuses[id])
		rt := mesos.ReconcileTask{TaskID: mesos.TaskID{Value: id}}
		if agentID != "" {
			rt.AgentID = &mesos.AgentID{Value: agentID}
		}
		req = append(req, rt)
	}
	fw.mu.Unlock()
	out := map[string]mesos.TaskState{}
	// The master may hold answers back while agents re-register: ask again.
	deadline := time.Now().Add(30 * time.Second)
	for len(out) < len(ids) && time.Now().Before(deadline) {
		if err := fw.c.Reconcile(context.Background(), req); err != nil {
			t.Logf("RECONCILE: %v", err)
		}
		wait := time.After(2 * time.Second)
	collect:
		for len(out) < len(ids) {
			fw.mu.Lock()
			for _, id := range ids {
				sts := fw.statuses[id]
				for i := from[id]; i < len(sts); i++ {
					if sts[i].Reason == mesos.ReasonReconciliation {
						out[id] = sts[i].State
					}
				}
			}
			fw.mu.Unlock()
			select {
			case <-fw.updates:
			case <-wait:
				break collect
			}
		}
	}
	if len(out) < len(ids) {
		t.Fatalf("only %d of %d tasks answered reconciliation: %v", len(out), len(ids), out)
	}
	return out
}

func countState(states []mesos.TaskState, s mesos.TaskState) int {
	n := 0
	for _, x := range states {
		if x == s {
			n++
		}
	}
	return n
}

// waitAgentVersion waits until one agent is active on the master with the
// given version (and ID, when id is not empty) and returns its ID.
func waitAgentVersion(t *testing.T, masterURL, id, version string) string {
	t.Helper()
	st := waitPartitionState(t, masterURL, "the agent of version "+version+" is active", func(st partitionState) error {
		if len(st.Slaves) != 1 || !st.Slaves[0].Active {
			return fmt.Errorf("%d agents, %d active", len(st.Slaves), st.Activated)
		}
		if st.Slaves[0].Version != version {
			return fmt.Errorf("agent version %q", st.Slaves[0].Version)
		}
		if id != "" && st.Slaves[0].ID != id {
			return fmt.Errorf("agent %s, want %s", st.Slaves[0].ID, id)
		}
		return nil
	})
	return st.Slaves[0].ID
}

// waitMasterVersion waits until the master on port answers /version with
// version.
func waitMasterVersion(t *testing.T, port int, version string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		var v struct {
			Version string `json:"version"`
		}
		if err := testenv.GetJSON("http://127.0.0.1:"+strconv.Itoa(port)+"/version", &v); err != nil {
			return err
		}
		if v.Version != version {
			return fmt.Errorf("master on %d runs %q, want %q", port, v.Version, version)
		}
		return nil
	})
}

// agentTaskPIDs reads the agent's /state: the executor pid of each
// running task, from its latest status.
func agentTaskPIDs(agentURL string) (map[string]int, error) {
	var st struct {
		Frameworks []struct {
			Executors []struct {
				Tasks []struct {
					ID       string `json:"id"`
					State    string `json:"state"`
					Statuses []struct {
						ContainerStatus *mesos.ContainerStatus `json:"container_status"`
					} `json:"statuses"`
				} `json:"tasks"`
			} `json:"executors"`
		} `json:"frameworks"`
	}
	if err := testenv.GetJSON(agentURL+"/state", &st); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, f := range st.Frameworks {
		for _, e := range f.Executors {
			for _, tk := range e.Tasks {
				if tk.State != "TASK_RUNNING" {
					continue
				}
				for _, s := range slices.Backward(tk.Statuses) {
					if s.ContainerStatus != nil && s.ContainerStatus.ExecutorPID != nil {
						out[tk.ID] = int(*s.ContainerStatus.ExecutorPID)
						break
					}
				}
			}
		}
	}
	return out, nil
}

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/internal/testenv"
)

// startHAClusterOnEnsemble is startHACluster on a given ZooKeeper ensemble:
// three masters (2 s sessions) and one agent, real processes of the built
// binary. It opens no ZooKeeper client of its own (c.zk stays nil), so that
// the test's view of the cluster does not depend on ZooKeeper being up; use
// electedMaster instead of c.leader.
func startHAClusterOnEnsemble(t *testing.T, ens *testenv.ZKEnsemble) *haCluster {
	t.Helper()
	bin := testenv.BuildStrata(t, t.TempDir())
	c := &haCluster{zkURL: ens.URL("", "/strata")}
	for i := 0; i < 3; i++ {
		port := freeTCPPort(t)
		c.ports = append(c.ports, port)
		c.masters = append(c.masters, testenv.StartProc(t, "master-"+strconv.Itoa(i), bin, "master",
			"--zk", c.zkURL, "--zk_session_timeout", "2secs", "--port", strconv.Itoa(port),
			"--work_dir", t.TempDir(), "--agent_ping_timeout", "1secs", "--max_agent_ping_timeouts", "10",
			"--allocation_interval", "100ms"))
	}
	c.agent = testenv.StartProc(t, "agent", bin, "agent", "--master", c.zkURL, "--port", strconv.Itoa(freeTCPPort(t)),
		"--work_dir", t.TempDir(), "--resources", "cpus:16;mem:8192;disk:1000;ports:[31000-31100]", "--isolation", "posix/cpu,posix/mem")
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range append(c.masters, c.agent) {
				t.Logf("--- %s log ---\n%s", p.Name, p.Output())
			}
		}
	})
	return c
}

// electedMaster waits until exactly one master reports "elected": true in
// /master/state with the agent registered, and returns its index.
func electedMaster(t *testing.T, c *haCluster) int {
	t.Helper()
	idx := -1
	testenv.Eventually(t, 60*time.Second, func() error {
		idx = -1
		var seen []string
		for i, p := range c.ports {
			var st struct {
				Elected   bool `json:"elected"`
				Activated int  `json:"activated_slaves"`
			}
			if err := testenv.GetJSON("http://127.0.0.1:"+strconv.Itoa(p)+"/master/state", &st); err != nil {
				seen = append(seen, fmt.Sprintf("master %d: %v", i, err))
				continue
			}
			seen = append(seen, fmt.Sprintf("master %d: elected=%v agents=%d", i, st.Elected, st.Activated))
			if st.Elected {
				if idx >= 0 {
					return fmt.Errorf("two masters report elected: %s", strings.Join(seen, "; "))
				}
				if st.Activated != 1 {
					return fmt.Errorf("leader without the agent: %s", strings.Join(seen, "; "))
				}
				idx = i
			}
		}
		if idx < 0 {
			return fmt.Errorf("no elected master: %s", strings.Join(seen, "; "))
		}
		return nil
	})
	return idx
}

// noRedirect is an HTTP client that reports a standby's 307 as is.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// putWeights sends PUT /master/weights to master port and returns the
// status code and body.
func putWeights(port int) (int, string, error) {
	req, err := http.NewRequest(http.MethodPut, "http://127.0.0.1:"+strconv.Itoa(port)+"/master/weights",
		strings.NewReader(`[{"role":"eng","weight":2}]`))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := noRedirect.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// executorAlive checks that the executor pid of a RUNNING update is alive.
func executorAlive(st mesos.TaskStatus) error {
	if st.ContainerStatus == nil || st.ContainerStatus.ExecutorPID == nil {
		return fmt.Errorf("task %s: RUNNING update without container_status.executor_pid", st.TaskID.Value)
	}
	pid := int(*st.ContainerStatus.ExecutorPID)
	if err := syscall.Kill(pid, 0); err != nil {
		return fmt.Errorf("task %s: executor pid %d: %v", st.TaskID.Value, pid, err)
	}
	return nil
}

// TestZooKeeperServerLoss runs three masters and an agent on a three-server
// ZooKeeper ensemble. Losing one server changes nothing (the framework keeps
// launching); losing a second (no quorum) makes every master refuse writes
// with a 503; once both servers are back a leader is elected again, writes
// succeed and the framework finds its tasks still running.
func TestZooKeeperServerLoss(t *testing.T) {
	ens := testenv.StartZooKeeper(t, 3)
	c := startHAClusterOnEnsemble(t, ens)
	electedMaster(t, c)

	fw := startFramework(t, c.zkURL, info("zkloss-test", mesos.CapPartitionAware))
	fw.launch("zk-0", "sleep 1000")
	run0 := fw.waitState("zk-0", mesos.TaskRunning)
	if err := executorAlive(run0); err != nil {
		t.Fatal(err)
	}

	// (1) One server down: a quorum of two remains; the cluster serves.
	ens.Kill(0)
	t.Log("killed ZooKeeper server 0")
	// The two remaining servers form a quorum (after a ZooKeeper election if
	// server 0 led the ensemble): the leader's registry writes succeed.
	testenv.Eventually(t, 60*time.Second, func() error {
		l := electedMaster(t, c)
		code, body, err := putWeights(c.ports[l])
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("PUT /master/weights on leader %d with one ZooKeeper server down: %d %q", l, code, body)
		}
		return nil
	})
	fw.launch("zk-1", "sleep 1000")
	run1 := fw.waitState("zk-1", mesos.TaskRunning)
	for _, st := range []mesos.TaskStatus{run0, run1} {
		if err := executorAlive(st); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"zk-0", "zk-1"} {
		for _, s := range fw.states(id) {
			if s.IsTerminal() {
				t.Fatalf("task %s reached %s with one ZooKeeper server down", id, s)
			}
		}
	}

	// (2) Two servers down: no quorum; every master refuses writes.
	ens.Kill(1)
	t.Log("killed ZooKeeper server 1: no quorum")
	refused := make([]bool, len(c.ports))
	testenv.Eventually(t, 60*time.Second, func() error {
		var pending []string
		for i, p := range c.ports {
			if refused[i] {
				continue
			}
			code, body, err := putWeights(p)
			switch {
			case err != nil:
				pending = append(pending, fmt.Sprintf("master %d: %v", i, err))
			case code == http.StatusOK:
				t.Errorf("master %d accepted PUT /master/weights without a ZooKeeper quorum", i)
				return nil // stop polling; the test has failed
			case code >= 500 && strings.TrimSpace(body) != "":
				t.Logf("master %d without quorum: %d %s", i, code, strings.TrimSpace(body))
				refused[i] = true
			default:
				pending = append(pending, fmt.Sprintf("master %d: %d %q", i, code, body))
			}
		}
		if len(pending) > 0 {
			return errors.New(strings.Join(pending, "; "))
		}
		return nil
	})
	if t.Failed() {
		t.FailNow()
	}

	// (3) Both servers back: a leader again, writes succeed, tasks survived.
	ens.Start(0)
	ens.Start(1)
	t.Log("restarted ZooKeeper servers 0 and 1")
	testenv.Eventually(t, 60*time.Second, func() error {
		l := electedMaster(t, c)
		code, body, err := putWeights(c.ports[l])
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("PUT /master/weights on leader %d: %d %q", l, code, body)
		}
		return nil
	})

	running := map[string]bool{}
	testenv.Eventually(t, 60*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := fw.c.Reconcile(ctx, nil)
		cancel()
		if err != nil {
			return fmt.Errorf("reconcile: %w", err)
		}
		deadline := time.After(2 * time.Second)
		for len(running) < 2 {
			select {
			case st := <-fw.updates:
				if st.Reason == mesos.ReasonReconciliation && st.State == mesos.TaskRunning {
					running[st.TaskID.Value] = true
				}
			case <-deadline:
				return fmt.Errorf("reconciliation shows RUNNING only for %v", running)
			}
		}
		return nil
	})
	for _, id := range []string{"zk-0", "zk-1"} {
		if !running[id] {
			t.Errorf("task %s not reconciled as RUNNING", id)
		}
		for _, s := range fw.states(id) {
			if s.IsTerminal() {
				t.Errorf("task %s reached %s during the ZooKeeper outage", id, s)
			}
		}
	}
	for _, st := range []mesos.TaskStatus{run0, run1} {
		if err := executorAlive(st); err != nil {
			t.Error(err)
		}
	}
}

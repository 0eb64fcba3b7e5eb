package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/internal/testenv"
)

// haCluster is three masters and one agent, real processes of the built
// binary, on a real ZooKeeper.
type haCluster struct {
	bin     string
	zkURL   string
	zk      *store.ZK
	masters []*testenv.Proc
	ports   []int
	agent   *testenv.Proc
}

func startHACluster(t *testing.T) *haCluster {
	t.Helper()
	ens := testenv.StartZooKeeper(t, 1)
	bin := testenv.BuildStrata(t, t.TempDir())
	c := &haCluster{bin: bin, zkURL: ens.URL("", "/strata")}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	zk, err := store.OpenZK(ctx, c.zkURL, store.ZKOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zk.Close() })
	c.zk = zk
	for i := 0; i < 3; i++ {
		c.addMaster(t)
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

// addMaster starts one more master process on the ensemble (a standby
// until elected), as docs/operations.md says to add a master.
func (c *haCluster) addMaster(t *testing.T) {
	t.Helper()
	port := freeTCPPort(t)
	c.ports = append(c.ports, port)
	c.masters = append(c.masters, testenv.StartProc(t, "master-"+strconv.Itoa(len(c.masters)), c.bin, "master",
		"--zk", c.zkURL, "--zk_session_timeout", "2secs", "--port", strconv.Itoa(port),
		"--work_dir", t.TempDir(), "--agent_ping_timeout", "1secs", "--max_agent_ping_timeouts", "10",
		"--allocation_interval", "100ms"))
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// leader returns the index of the leading master.
func (c *haCluster) leader(t *testing.T) int {
	t.Helper()
	var idx int
	testenv.Eventually(t, 30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b, err := c.zk.Elector("").Leader(ctx)
		if err != nil {
			return err
		}
		info, err := mesos.ParseMasterInfo(b)
		if err != nil {
			return err
		}
		for i, p := range c.ports {
			if int(info.Port) == p {
				idx = i
				return nil
			}
		}
		return fmt.Errorf("leader port %d is none of ours", info.Port)
	})
	return idx
}

// waitServing waits until the leader has the agent registered.
func (c *haCluster) waitServing(t *testing.T) int {
	t.Helper()
	var idx int
	testenv.Eventually(t, 60*time.Second, func() error {
		idx = c.leader(t)
		var st struct {
			Elected   bool `json:"elected"`
			Activated int  `json:"activated_slaves"`
		}
		if err := testenv.GetJSON("http://127.0.0.1:"+strconv.Itoa(c.ports[idx])+"/master/state", &st); err != nil {
			return err
		}
		if !st.Elected || st.Activated != 1 {
			return fmt.Errorf("leader %d: elected=%v agents=%d", idx, st.Elected, st.Activated)
		}
		return nil
	})
	return idx
}

// TestMasterFailoverLoop kills the leading master with SIGKILL again and
// again while a framework launches tasks: a new leader takes over, the agent
// re-registers, the framework re-subscribes, no task is killed and none is
// launched twice. It runs the loop of 20 kills (about a minute);
// STRATA_HA_KILLS changes the number.
func TestMasterFailoverLoop(t *testing.T) {
	kills := 20
	if v, err := strconv.Atoi(os.Getenv("STRATA_HA_KILLS")); err == nil && v > 0 {
		kills = v
	}
	c := startHACluster(t)
	c.waitServing(t)

	fw := startFramework(t, c.zkURL, info("ha-test", mesos.CapPartitionAware))
	var (
		mu       sync.Mutex
		launched = map[string]int{}
	)
	launchOne := func(n int) {
		id := "ha-" + strconv.Itoa(n)
		fw.launchRetrying(id, "sleep 1000")
		mu.Lock()
		launched[id]++
		mu.Unlock()
	}
	next := 0
	launchOne(next)
	next++
	for k := 0; k < kills; k++ {
		old := c.leader(t)
		c.masters[old].Kill()
		c.masters[old].Start(t) // comes back as a standby
		newLeader := c.waitServing(t)
		t.Logf("kill %d: master %d -> %d", k+1, old, newLeader)
		launchOne(next) // the framework keeps launching after every failover
		next++
	}

	// Every acknowledged task still runs, exactly once.
	if err := fw.c.Reconcile(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	running := map[string]bool{}
	deadline := time.After(30 * time.Second)
	for len(running) < next {
		select {
		case st := <-fw.updates:
			if st.Reason == mesos.ReasonReconciliation && st.State == mesos.TaskRunning {
				running[st.TaskID.Value] = true
			}
		case <-deadline:
			t.Fatalf("after %d kills only %d of %d tasks reconcile as RUNNING: %v", kills, len(running), next, running)
		}
	}
	for id, n := range launched {
		if n != 1 {
			t.Errorf("task %s launched %d times", id, n)
		}
		for _, s := range fw.states(id) {
			if s.IsTerminal() {
				t.Errorf("task %s reached %s during failovers", id, s)
			}
		}
	}
}

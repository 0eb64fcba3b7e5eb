package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/internal/simagent"
	"github.com/strata-sched/strata/internal/testenv"
)

// TestSimulatedAgentsSurviveLeaderKill runs 200 simulated agents with 10
// tasks each against three real master processes on a real ZooKeeper,
// kills the leading master with SIGKILL, and checks that every agent
// re-registers with the new leader under its old ID with all its tasks:
// the new leader tracks each task RUNNING on the agent that runs it, no
// task is lost or reported terminal, none is launched twice.
func TestSimulatedAgentsSurviveLeaderKill(t *testing.T) {
	const agents, perAgent = 200, 10
	total := agents * perAgent
	ens := testenv.StartZooKeeper(t, 1)
	bin := testenv.BuildStrata(t, t.TempDir())
	zkURL := ens.URL("", "/strata")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	octx, ocancel := context.WithTimeout(ctx, 20*time.Second)
	zk, err := store.OpenZK(octx, zkURL, store.ZKOptions{}, nil)
	ocancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zk.Close() })
	var masters []*testenv.Proc
	var ports []int
	for i := range 3 {
		port := freeTCPPort(t)
		ports = append(ports, port)
		masters = append(masters, testenv.StartProc(t, "master-"+strconv.Itoa(i), bin, "master",
			"--zk", zkURL, "--zk_session_timeout", "2secs", "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
			"--work_dir", t.TempDir(), "--agent_ping_timeout", "2secs", "--allocation_interval", "100ms"))
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range masters {
				t.Logf("--- %s log ---\n%s", p.Name, p.Output())
			}
		}
	})
	leader := func() (int, mesos.MasterInfo, error) {
		lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
		defer lcancel()
		b, err := zk.Elector("").Leader(lctx)
		if err != nil {
			return 0, mesos.MasterInfo{}, err
		}
		info, err := mesos.ParseMasterInfo(b)
		if err != nil {
			return 0, info, err
		}
		for i, p := range ports {
			if int(info.Port) == p {
				return i, info, nil
			}
		}
		return 0, info, fmt.Errorf("leader port %d is none of ours", info.Port)
	}

	res, err := mesos.ParseResources("cpus:4;mem:4096;disk:1000", "")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := simagent.New(simagent.Config{Master: zkURL, Count: agents, Resources: res,
		RegistrationBackoffFactor: 200 * time.Millisecond, MaxBackoff: 2 * time.Second, UpdateRetryInterval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	poolDone := make(chan error, 1)
	go func() { poolDone <- pool.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-poolDone })
	loader, err := simagent.NewLoader(simagent.LoaderConfig{Master: zkURL, TasksPerAgent: perAgent, CPUs: 0.1, Mem: 16})
	if err != nil {
		t.Fatal(err)
	}
	loaderDone := make(chan error, 1)
	go func() { loaderDone <- loader.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-loaderDone })

	testenv.Eventually(t, 60*time.Second, func() error {
		ls, ps := loader.Stats(), pool.Stats()
		if ps.Connected != agents || ls.Running != total || ps.RunningTasks != total {
			return fmt.Errorf("%d/%d agents connected; %d/%d tasks RUNNING at the framework, %d at the agents",
				ps.Connected, agents, ls.Running, total, ps.RunningTasks)
		}
		return nil
	})
	before := map[string]string{} // hostname -> agent ID
	for _, a := range pool.Agents() {
		before[a.Hostname] = a.ID
	}

	old, oldInfo, err := leader()
	if err != nil {
		t.Fatal(err)
	}
	masters[old].Kill()
	var newIdx int
	var newInfo mesos.MasterInfo
	testenv.Eventually(t, 30*time.Second, func() error {
		i, info, err := leader()
		if err != nil {
			return err
		}
		if info.ID == oldInfo.ID {
			return fmt.Errorf("master %s still leads", info.ID)
		}
		newIdx, newInfo = i, info
		return nil
	})
	testenv.Eventually(t, 60*time.Second, func() error {
		if n, _ := pool.Registered(newInfo.ID); n != agents {
			return fmt.Errorf("%d of %d agents re-registered with the new leader", n, agents)
		}
		return nil
	})

	// The new leader's view: each agent under its old ID and hostname, each
	// task RUNNING on the agent that holds it, nothing more.
	var st struct {
		Slaves []struct {
			ID       string `json:"id"`
			Hostname string `json:"hostname"`
		} `json:"slaves"`
		Frameworks []struct {
			Tasks []struct {
				ID      string          `json:"id"`
				SlaveID string          `json:"slave_id"`
				State   mesos.TaskState `json:"state"`
			} `json:"tasks"`
		} `json:"frameworks"`
	}
	url := "http://127.0.0.1:" + strconv.Itoa(ports[newIdx]) + "/master/state"
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.GetJSON(url, &st); err != nil {
			return err
		}
		n := 0
		for _, f := range st.Frameworks {
			n += len(f.Tasks)
		}
		if len(st.Slaves) != agents || n != total {
			return fmt.Errorf("new leader has %d agents and %d tasks, want %d and %d", len(st.Slaves), n, agents, total)
		}
		return nil
	})
	onMaster := map[string]string{}
	for _, f := range st.Frameworks {
		for _, tk := range f.Tasks {
			if _, dup := onMaster[tk.ID]; dup {
				t.Errorf("task %s appears twice on the new leader", tk.ID)
			}
			onMaster[tk.ID] = tk.SlaveID + " " + string(tk.State)
		}
	}
	for _, s := range st.Slaves {
		if before[s.Hostname] != s.ID {
			t.Errorf("agent %s came back as %s, was %s", s.Hostname, s.ID, before[s.Hostname])
		}
	}
	for _, a := range pool.Agents() {
		if len(a.Tasks) != perAgent {
			t.Errorf("agent %s holds %d tasks, want %d", a.Hostname, len(a.Tasks), perAgent)
		}
		for _, tk := range a.Tasks {
			if want := a.ID + " " + string(mesos.TaskRunning); onMaster[tk.TaskID] != want || tk.State != mesos.TaskRunning {
				t.Errorf("task %s: agent has it %s, new leader has %q, want %q", tk.TaskID, tk.State, onMaster[tk.TaskID], want)
			}
		}
	}
	ls, ps := loader.Stats(), pool.Stats()
	if len(ls.Terminal) != 0 || ls.Relaunched != 0 || ps.Duplicates != 0 || ps.Launched != int64(total) {
		t.Errorf("framework saw terminal updates %v, %d relaunches; agents got %d RUN_TASK with %d duplicates (want %d, 0)",
			ls.Terminal, ls.Relaunched, ps.Launched, ps.Duplicates, total)
	}
}

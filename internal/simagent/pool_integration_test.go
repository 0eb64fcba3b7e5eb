package simagent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/master"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/internal/testenv"
)

// inProcMaster is a master on an embedded store, served on a fixed
// loopback address so that a successor can take its place.
type inProcMaster struct {
	m    *master.Master
	stop func()
}

func startMaster(t *testing.T, st store.Store, addr string) *inProcMaster {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the previous master's port may take a moment to free
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	m, err := master.New(master.Config{Hostname: "127.0.0.1", IP: "127.0.0.1", Port: port, Store: st,
		AllocationInterval: 50 * time.Millisecond, AgentPingTimeout: time.Second, MaxAgentPingTimeouts: 5})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: m.Handler()}
	done := make(chan struct{}, 2)
	go func() { m.Run(ctx); done <- struct{}{} }()
	go func() { srv.Serve(ln); done <- struct{}{} }()
	p := &inProcMaster{m: m}
	p.stop = func() {
		cancel()
		srv.Close()
		<-done
		<-done
	}
	t.Cleanup(func() {
		if p.stop != nil {
			p.stop()
		}
	})
	return p
}

func (p *inProcMaster) Stop() { p.stop(); p.stop = nil }

type v0State struct {
	ID     string `json:"id"`
	Slaves []struct {
		ID       string `json:"id"`
		Hostname string `json:"hostname"`
		Active   bool   `json:"active"`
	} `json:"slaves"`
	Frameworks []struct {
		ID    string `json:"id"`
		Tasks []struct {
			ID      string          `json:"id"`
			SlaveID string          `json:"slave_id"`
			State   mesos.TaskState `json:"state"`
		} `json:"tasks"`
	} `json:"frameworks"`
}

// masterTasks returns task ID -> "agentID/state" as the master reports them.
func masterTasks(t *testing.T, addr string) (agents map[string]string, tasks map[string]string) {
	t.Helper()
	var st v0State
	if err := testenv.GetJSON("http://"+addr+"/master/state", &st); err != nil {
		t.Fatal(err)
	}
	agents, tasks = map[string]string{}, map[string]string{}
	for _, s := range st.Slaves {
		agents[s.ID] = s.Hostname
	}
	for _, f := range st.Frameworks {
		for _, tk := range f.Tasks {
			tasks[tk.ID] = tk.SlaveID + "/" + string(tk.State)
		}
	}
	return agents, tasks
}

// TestPoolRegistersRunsKillsAndReregisters drives 20 simulated agents
// through a real master: they register with their own hostnames and
// resources, a framework launches 3 tasks on each (TASK_STARTING then
// TASK_RUNNING, acknowledged), a killed task ends TASK_KILLED and leaves
// the agent, and after the master is replaced by a successor on the same
// registry every agent re-registers under its old ID with its tasks.
func TestPoolRegistersRunsKillsAndReregisters(t *testing.T) {
	const agents, perAgent = 20, 3
	st, err := store.OpenEmbedded(filepath.Join(t.TempDir(), "registry"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m1 := startMaster(t, st, "127.0.0.1:0")
	addr := fmt.Sprintf("127.0.0.1:%d", m1.m.Info().Port)

	res, err := mesos.ParseResources("cpus:2;mem:1024;disk:1000", "")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := New(Config{Master: addr, Count: agents, Resources: res, Hostname: "simtest",
		RegistrationBackoffFactor: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, UpdateRetryInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	poolDone := make(chan error, 1)
	go func() { poolDone <- pool.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-poolDone })

	testenv.Eventually(t, 20*time.Second, func() error {
		if s := pool.Stats(); s.Connected != agents || s.Registrations != agents {
			return fmt.Errorf("%d of %d agents connected, %d registrations", s.Connected, agents, s.Registrations)
		}
		return nil
	})
	ids, _ := masterTasks(t, addr)
	if len(ids) != agents {
		t.Fatalf("master has %d agents, want %d", len(ids), agents)
	}
	hosts := map[string]bool{}
	for _, h := range ids {
		hosts[h] = true
	}
	if len(hosts) != agents || !hosts["simtest-00000"] || !hosts["simtest-00019"] {
		t.Fatalf("agent hostnames %v: want simtest-00000 .. simtest-00019", hosts)
	}

	loader, err := NewLoader(LoaderConfig{Master: addr, TasksPerAgent: perAgent, CPUs: 0.1, Mem: 16})
	if err != nil {
		t.Fatal(err)
	}
	lctx, lcancel := context.WithCancel(ctx)
	loaderDone := make(chan error, 1)
	go func() { loaderDone <- loader.Run(lctx) }()
	t.Cleanup(func() { lcancel(); <-loaderDone })

	total := agents * perAgent
	testenv.Eventually(t, 30*time.Second, func() error {
		ls, ps := loader.Stats(), pool.Stats()
		if ls.Running != total || ps.RunningTasks != total || ps.PendingUpdates != 0 {
			return fmt.Errorf("framework sees %d RUNNING, agents hold %d running with %d updates unacknowledged; want %d",
				ls.Running, ps.RunningTasks, ps.PendingUpdates, total)
		}
		return nil
	})
	if ps := pool.Stats(); ps.Launched != int64(total) || ps.Duplicates != 0 {
		t.Fatalf("agents got %d RUN_TASK (%d duplicates), want %d", ps.Launched, ps.Duplicates, total)
	}
	_, tasks := masterTasks(t, addr)
	if len(tasks) != total {
		t.Fatalf("master tracks %d tasks, want %d", len(tasks), total)
	}

	// Kill one task: TASK_KILLED reaches the framework and the agent forgets it.
	victim := "simtest-00007-t1"
	var victimAgent mesos.AgentID
	for id, s := range tasks {
		if id == victim {
			victimAgent = mesos.AgentID{Value: s[:len(s)-len("/TASK_RUNNING")]}
		}
	}
	if err := loader.Client().Kill(ctx, mesos.TaskID{Value: victim}, &victimAgent, nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if s := loader.State(victim); s != mesos.TaskKilled {
			return fmt.Errorf("%s is %s, want TASK_KILLED", victim, s)
		}
		for _, a := range pool.Agents() {
			for _, tk := range a.Tasks {
				if tk.TaskID == victim {
					return fmt.Errorf("agent %s still holds %s (%s)", a.Hostname, victim, tk.State)
				}
			}
		}
		return nil
	})
	total--
	before := map[string]string{} // hostname -> agent ID
	for _, a := range pool.Agents() {
		before[a.Hostname] = a.ID
	}

	// Fail over: the master goes away, a successor recovers the registry
	// on the same address, and every agent re-registers with its tasks.
	m1.Stop()
	m2 := startMaster(t, st, addr)
	newID := m2.m.Info().ID
	testenv.Eventually(t, 30*time.Second, func() error {
		if n, _ := pool.Registered(newID); n != agents {
			return fmt.Errorf("%d of %d agents re-registered with the new master", n, agents)
		}
		_, tasks := masterTasks(t, addr)
		running := 0
		for _, s := range tasks {
			if len(s) > len("TASK_RUNNING") && s[len(s)-len("TASK_RUNNING"):] == "TASK_RUNNING" {
				running++
			}
		}
		if running != total {
			return fmt.Errorf("new master has %d running tasks, want %d", running, total)
		}
		return nil
	})
	if s := pool.Stats(); s.Reregistrations < agents || s.Registrations != agents || s.Duplicates != 0 {
		t.Fatalf("after failover: %d registrations, %d re-registrations, %d duplicates; want %d, >= %d, 0",
			s.Registrations, s.Reregistrations, s.Duplicates, agents, agents)
	}
	ids, tasks = masterTasks(t, addr)
	for _, a := range pool.Agents() {
		if before[a.Hostname] != a.ID || ids[a.ID] != a.Hostname {
			t.Errorf("agent %s re-registered as %s (was %s; master has hostname %q)", a.Hostname, a.ID, before[a.Hostname], ids[a.ID])
		}
		for _, tk := range a.Tasks {
			if want := a.ID + "/TASK_RUNNING"; tasks[tk.TaskID] != want {
				t.Errorf("task %s: master has %q, want %q", tk.TaskID, tasks[tk.TaskID], want)
			}
		}
	}
	if _, ok := tasks[victim]; ok {
		t.Errorf("killed task %s came back after the failover", victim)
	}
}

func TestConfigValidation(t *testing.T) {
	res, _ := mesos.ParseResources("cpus:1;mem:128", "")
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no master", Config{Count: 1, Resources: res}},
		{"no agents", Config{Master: "127.0.0.1:5050", Resources: res}},
		{"no resources", Config{Master: "127.0.0.1:5050", Count: 1}},
		{"bad zk url", Config{Master: "zk://", Count: 1, Resources: res}},
		{"negative backoff", Config{Master: "127.0.0.1:5050", Count: 1, Resources: res, RegistrationBackoffFactor: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatalf("New(%+v) succeeded, want an error", tc.cfg)
			}
		})
	}
}

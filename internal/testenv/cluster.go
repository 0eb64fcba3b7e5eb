// Package testenv starts and stops the real components integration tests
// need: in-process Strata clusters (a master and agents on loopback ports
// with their own work dirs) and, later, ZooKeeper, HAProxy, Consul and
// Chromium. Everything it starts is stopped by t.Cleanup.
package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/agent"
	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/master"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// ClusterOptions shape a test cluster.
type ClusterOptions struct {
	Agents int
	// AgentResources for each agent (default "cpus:4;mem:4096;disk:4096;ports:[31000-31100]").
	AgentResources string
	// MasterConfig may adjust the master's configuration.
	MasterConfig func(*master.Config)
	// AgentConfig may adjust agent i's configuration.
	AgentConfig func(i int, c *agent.Config)
	// Logs shows the cluster's logs in the test output.
	Logs bool
	// NewContainerizer builds an agent's containerizer (default: posix).
	NewContainerizer func(t testing.TB, logger *slog.Logger) containerizer.Containerizer
}

// Cluster is a running in-process cluster.
type Cluster struct {
	MasterURL string
	Master    *master.Master
	Agents    []*AgentProc
	logger    *slog.Logger
	cancel    context.CancelFunc
}

// AgentProc is one in-process agent that can be stopped and restarted on
// the same work dir and port (simulating an agent restart).
type AgentProc struct {
	URL     string
	WorkDir string
	port    int
	cfg     agent.Config
	newCz   func(t testing.TB, logger *slog.Logger) containerizer.Containerizer
	agent   *agent.Agent
	stop    func()
}

// StartCluster starts a master and opts.Agents agents and waits until every
// agent is registered.
func StartCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	if opts.Agents == 0 {
		opts.Agents = 1
	}
	if opts.AgentResources == "" {
		opts.AgentResources = "cpus:4;mem:4096;disk:4096;ports:[31000-31100]"
	}
	logger := slog.New(slog.DiscardHandler)
	if opts.Logs || os.Getenv("STRATA_TEST_LOGS") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	dir := t.TempDir()
	st, err := store.OpenEmbedded(filepath.Join(dir, "master"), logger)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	mcfg := master.Config{Hostname: "127.0.0.1", IP: "127.0.0.1", Port: port, Store: st, Logger: logger.With("role", "master"),
		AllocationInterval: 50 * time.Millisecond, AgentPingTimeout: time.Second, MaxAgentPingTimeouts: 5}
	if opts.MasterConfig != nil {
		opts.MasterConfig(&mcfg)
	}
	m, err := master.New(mcfg)
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
	c := &Cluster{MasterURL: "http://" + ln.Addr().String(), Master: m, logger: logger, cancel: cancel}
	t.Cleanup(func() {
		for _, a := range c.Agents {
			a.Stop()
		}
		cancel()
		srv.Close()
		<-done
		<-done
		st.Close()
	})
	res, err := mesos.ParseResources(opts.AgentResources, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < opts.Agents; i++ {
		cfg := agent.Config{
			Master: ln.Addr().String(), WorkDir: filepath.Join(dir, "agent-"+strconv.Itoa(i)),
			Hostname: "127.0.0.1", IP: "127.0.0.1", Resources: res, RegistrationBackoffFactor: 100 * time.Millisecond,
			Logger: logger.With("role", "agent", "agent", i), Version: "test", KillTasksOnStop: true,
		}
		if opts.AgentConfig != nil {
			opts.AgentConfig(i, &cfg)
		}
		ap := &AgentProc{WorkDir: cfg.WorkDir, cfg: cfg, newCz: opts.NewContainerizer}
		KillTasksUnder(t, cfg.WorkDir)
		ap.Start(t)
		c.Agents = append(c.Agents, ap)
	}
	c.WaitAgents(t, opts.Agents)
	return c
}

// Start (re)starts the agent on its work dir and port.
func (a *AgentProc) Start(t testing.TB) {
	t.Helper()
	addr := "127.0.0.1:0"
	if a.port != 0 {
		addr = "127.0.0.1:" + strconv.Itoa(a.port)
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	a.port = ln.Addr().(*net.TCPAddr).Port
	a.URL = "http://" + ln.Addr().String()
	cfg := a.cfg
	cfg.Port = a.port
	cfg.Containerizer = containerizer.NewPosix(cfg.Logger)
	if a.newCz != nil {
		cfg.Containerizer = a.newCz(t, cfg.Logger)
	}
	ag, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.agent = ag
	ctx, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: ag.Handler()}
	done := make(chan struct{}, 2)
	go func() { ag.Run(ctx); done <- struct{}{} }()
	go func() { srv.Serve(ln); done <- struct{}{} }()
	a.stop = func() {
		cancel()
		<-done
		srv.Close()
		<-done
	}
}

// Stop stops the agent; with KillTasksOnStop false its tasks keep running.
func (a *AgentProc) Stop() {
	if a.stop != nil {
		a.stop()
		a.stop = nil
	}
}

// SetKillTasksOnStop changes what Stop does to running tasks (takes effect
// on the next Start).
func (a *AgentProc) SetKillTasksOnStop(kill bool) { a.cfg.KillTasksOnStop = kill }

// Agent returns the running agent.
func (a *AgentProc) Agent() *agent.Agent { return a.agent }

// WaitAgents waits until n agents are registered and active.
func (c *Cluster) WaitAgents(t testing.TB, n int) {
	t.Helper()
	Eventually(t, 20*time.Second, func() error {
		var st struct {
			Activated int `json:"activated_slaves"`
		}
		if err := GetJSON(c.MasterURL+"/master/state", &st); err != nil {
			return err
		}
		if st.Activated < n {
			return fmt.Errorf("%d of %d agents active", st.Activated, n)
		}
		return nil
	})
}

// TaskOutput returns a task's sandbox file (stdout or stderr) via the agent's
// /state and /files/read endpoints, as an operator would read it.
func (c *Cluster) TaskOutput(t testing.TB, frameworkID, taskID, file string) string {
	t.Helper()
	for _, a := range c.Agents {
		var st struct {
			Frameworks []struct {
				ID        string `json:"id"`
				Executors []struct {
					ID        string `json:"id"`
					Directory string `json:"directory"`
				} `json:"executors"`
				CompletedExecutors []struct {
					ID        string `json:"id"`
					Directory string `json:"directory"`
				} `json:"completed_executors"`
			} `json:"frameworks"`
			CompletedFrameworks []struct {
				ID                 string `json:"id"`
				CompletedExecutors []struct {
					ID        string `json:"id"`
					Directory string `json:"directory"`
				} `json:"completed_executors"`
			} `json:"completed_frameworks"`
		}
		if err := GetJSON(a.URL+"/state", &st); err != nil {
			t.Fatal(err)
		}
		var dir string
		for _, f := range st.Frameworks {
			if f.ID != frameworkID {
				continue
			}
			for _, e := range append(f.Executors, f.CompletedExecutors...) {
				if e.ID == taskID {
					dir = e.Directory
				}
			}
		}
		for _, f := range st.CompletedFrameworks {
			if f.ID != frameworkID {
				continue
			}
			for _, e := range f.CompletedExecutors {
				if e.ID == taskID {
					dir = e.Directory
				}
			}
		}
		if dir == "" {
			continue
		}
		var out struct {
			Data string `json:"data"`
		}
		if err := GetJSON(a.URL+"/files/read?path="+url.QueryEscape(dir+"/"+file)+"&offset=0&length=1048576", &out); err != nil {
			t.Fatal(err)
		}
		return out.Data
	}
	t.Fatalf("no sandbox for task %s of framework %s on any agent", taskID, frameworkID)
	return ""
}

// GetJSON fetches u and decodes its JSON body.
func GetJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	return json.Unmarshal(b, v)
}

// Eventually polls f until it returns nil or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s: %v", timeout, err)
}

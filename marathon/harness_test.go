package marathon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/internal/ci"
	"github.com/strata-sched/strata/internal/testenv"
	"github.com/strata-sched/strata/marathon"
)

// instance is a running Marathon on an embedded store in dir.
type instance struct {
	t      testing.TB
	m      *marathon.Marathon
	URL    string
	dir    string
	stop   func()
	client *http.Client
}

type options struct {
	killDrain time.Duration
	logs      bool
	// zk, if set, keeps the state in ZooKeeper (several instances may
	// share it) instead of an embedded store in dir.
	zk string
	// noWait returns before this instance leads.
	noWait bool
}

func testLogger(logs bool) *slog.Logger {
	if logs || os.Getenv("STRATA_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startMarathon starts Marathon against the cluster's master, keeping its
// state in dir (a restart on the same dir resumes).
func startMarathon(t testing.TB, c *testenv.Cluster, dir string, o options) *instance {
	t.Helper()
	log := testLogger(o.logs)
	var st store.Store
	var el store.Elector
	if o.zk != "" {
		zk, err := store.OpenZK(context.Background(), o.zk, store.ZKOptions{SessionTimeout: 4 * time.Second}, log)
		if err != nil {
			t.Fatal(err)
		}
		st, el = zk, zk.Elector("marathon")
	} else {
		emb, err := store.OpenEmbedded(dir, log)
		if err != nil {
			t.Fatal(err)
		}
		st, el = emb, emb.Elector()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m, err := marathon.New(marathon.Config{
		Master: strings.TrimPrefix(c.MasterURL, "http://"), Store: st, Elector: el,
		HTTPAddr: ln.Addr().String(), Logger: log, User: currentUser(), KillDrain: o.killDrain,
		Tick: 100 * time.Millisecond, EventHeartbeat: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: m.Handler()}
	done := make(chan struct{}, 2)
	go func() { _ = m.Run(ctx); done <- struct{}{} }()
	go func() { _ = srv.Serve(ln); done <- struct{}{} }()
	in := &instance{t: t, m: m, URL: "http://" + ln.Addr().String(), dir: dir, client: &http.Client{Timeout: 30 * time.Second}}
	stopped := false
	in.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		srv.Close()
		<-done
		<-done
		st.Close()
	}
	t.Cleanup(in.stop)
	if o.noWait {
		return in
	}
	in.waitLeading()
	return in
}

func (in *instance) waitLeading() {
	in.t.Helper()
	m := in.m
	testenv.Eventually(in.t, 30*time.Second, func() error {
		if !m.IsLeader() || !m.Engine().Leading() || m.Engine().FrameworkID() == "" {
			return fmt.Errorf("not leading/subscribed yet")
		}
		return nil
	})
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if os.Geteuid() == 0 {
		return "root"
	}
	return "nobody"
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

func (in *instance) do(method, path string, body any) response {
	in.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, in.URL+path, rd)
	if err != nil {
		in.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := in.client.Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (in *instance) must(method, path string, body any, status int) response {
	in.t.Helper()
	r := in.do(method, path, body)
	if r.Status != status {
		in.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	return r
}

type deploymentInfo struct {
	ID             string `json:"id"`
	CurrentActions []struct {
		Action  string `json:"action"`
		App     string `json:"app"`
		Message string `json:"message"`
	} `json:"currentActions"`
}

// waitDeployment waits until the deployment disappears.
func (in *instance) waitDeployment(id string, timeout time.Duration) {
	in.t.Helper()
	testenv.Eventually(in.t, timeout, func() error {
		var ds []deploymentInfo
		in.must("GET", "/v2/deployments", nil, 200).json(in.t, &ds)
		for _, d := range ds {
			if d.ID == id {
				return fmt.Errorf("deployment %s still running: %+v", id, d.CurrentActions)
			}
		}
		return nil
	})
}

type appInfo struct {
	ID              string                `json:"id"`
	Instances       int                   `json:"instances"`
	Version         string                `json:"version"`
	TasksRunning    int                   `json:"tasksRunning"`
	TasksHealthy    int                   `json:"tasksHealthy"`
	TasksStaged     int                   `json:"tasksStaged"`
	TasksUnhealthy  int                   `json:"tasksUnhealthy"`
	Tasks           []task                `json:"tasks"`
	Deployments     []struct{ ID string } `json:"deployments"`
	LastTaskFailure *struct {
		State   string `json:"state"`
		Message string `json:"message"`
	} `json:"lastTaskFailure"`
	PortDefinitions []struct {
		Port int `json:"port"`
	} `json:"portDefinitions"`
}

type task struct {
	ID                 string `json:"id"`
	AppID              string `json:"appId"`
	Host               string `json:"host"`
	State              string `json:"state"`
	Ports              []int  `json:"ports"`
	ServicePorts       []int  `json:"servicePorts"`
	Version            string `json:"version"`
	StartedAt          string `json:"startedAt"`
	HealthCheckResults []struct {
		Alive bool `json:"alive"`
	} `json:"healthCheckResults"`
}

func (t task) healthy() bool {
	if t.State != "TASK_RUNNING" || len(t.HealthCheckResults) == 0 {
		return false
	}
	for _, h := range t.HealthCheckResults {
		if !h.Alive {
			return false
		}
	}
	return true
}

func (in *instance) app(id string) appInfo {
	in.t.Helper()
	var out struct {
		App appInfo `json:"app"`
	}
	in.must("GET", "/v2/apps"+id, nil, 200).json(in.t, &out)
	return out.App
}

type deploymentResult struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
}

func startCluster(t *testing.T, agents int) *testenv.Cluster {
	t.Helper()
	ci.SkipIntegrationIfShort(t, "a real master and agents")
	return testenv.StartCluster(t, testenv.ClusterOptions{Agents: agents, AgentResources: "cpus:4;mem:4096;disk:4096;ports:[31000-31200]"})
}

func tempDir(t *testing.T, name string) string {
	d := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

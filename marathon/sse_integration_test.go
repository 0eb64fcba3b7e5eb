package marathon_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/internal/ci"
	"github.com/strata-sched/strata/internal/testenv"
)

// sseClient is one GET /v2/events consumer that counts what it receives.
type sseClient struct {
	mu          sync.Mutex
	attached    bool            // its own event_stream_attached arrived
	counts      map[string]int  // events per eventType
	deployments map[string]bool // ids of deployment_success events
	seq         []byte          // hash input: every event but attach/detach
	ended       error           // why the stream ended (nil: still open)
}

// ignoredInSequence are events whose number depends on when each client
// connected, not on what Marathon did.
var ignoredInSequence = map[string]bool{"event_stream_attached": true, "event_stream_detached": true}

// run reads the stream until ctx ends or the server closes it.
func (c *sseClient) run(ctx context.Context, hc *http.Client, url string) {
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v2/events", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "text/event-stream")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /v2/events: %s", resp.Status)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		typ := ""
		for sc.Scan() {
			line := sc.Bytes()
			switch {
			case bytes.HasPrefix(line, []byte("event: ")):
				typ = string(line[len("event: "):])
			case bytes.HasPrefix(line, []byte("data: ")) && typ != "":
				c.record(typ, line[len("data: "):])
				typ = ""
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
		return errors.New("the server closed the stream")
	}()
	c.mu.Lock()
	c.ended = err
	c.mu.Unlock()
}

func (c *sseClient) record(typ string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[typ]++
	switch typ {
	case "event_stream_attached":
		c.attached = true
	case "deployment_success":
		var ev struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(data, &ev) == nil {
			c.deployments[ev.ID] = true
		}
	}
	if !ignoredInSequence[typ] {
		// Timestamps differ by nothing: every client gets the same bytes.
		c.seq = append(c.seq, typ...)
		c.seq = append(c.seq, '\n')
		c.seq = append(c.seq, data...)
		c.seq = append(c.seq, '\n')
	}
}

// sseRun is the outcome of one deployment watched by many clients.
type sseRun struct {
	clients        int
	dropped        int           // streams the server closed
	expected       int           // status updates Marathon handled
	statusMin      int           // status_update_event received, fewest
	statusMax      int           // and most
	withSuccess    int           // clients that saw the deployment_success
	distinctSeqs   int           // distinct event sequences among clients
	toAllRunning   time.Duration // POST to tasksRunning = instances
	firstDropCause string
}

// watchDeployment connects n SSE clients to Marathon, deploys an app of
// the given instances (sleep, cpus 0.01, mem 1) and waits until every
// task runs and every client has what Marathon published, or gave up.
func watchDeployment(t testing.TB, m *instance, n, instances int, timeout time.Duration) sseRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	clients := make([]*sseClient, n)
	var wg sync.WaitGroup
	for i := range clients {
		c := &sseClient{counts: map[string]int{}, deployments: map[string]bool{}}
		clients[i] = c
		wg.Go(func() { c.run(ctx, hc, m.URL) })
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	testenv.Eventually(t, 60*time.Second, func() error {
		for i, c := range clients {
			c.mu.Lock()
			ok, ended := c.attached, c.ended
			c.mu.Unlock()
			if ended != nil {
				return fmt.Errorf("client %d: %w", i, ended)
			}
			if !ok {
				return fmt.Errorf("client %d not attached yet", i)
			}
		}
		return nil
	})

	before := m.m.Engine().Snapshot().StatusUpdates
	body := fmt.Sprintf(`{"id":"/sse-bench","cmd":"sleep 100000","cpus":0.01,"mem":1,"instances":%d,"portDefinitions":[]}`, instances)
	start := time.Now()
	r := m.must("POST", "/v2/apps", body, 201)
	deployment := r.Header.Get("Marathon-Deployment-Id")
	var res sseRun
	res.clients = n
	testenv.Eventually(t, timeout, func() error {
		if a := m.app("/sse-bench"); a.TasksRunning < instances {
			return fmt.Errorf("%d of %d running", a.TasksRunning, instances)
		}
		return nil
	})
	res.toAllRunning = time.Since(start)
	m.waitDeployment(deployment, timeout)

	// Every client that is still connected gets everything published so
	// far: wait until they all have the deployment's success and as many
	// status updates as Marathon handled.
	settle := func() error {
		expected := int(m.m.Engine().Snapshot().StatusUpdates - before)
		for i, c := range clients {
			c.mu.Lock()
			got, done, ended := c.counts["status_update_event"], c.deployments[deployment], c.ended
			c.mu.Unlock()
			if ended != nil {
				continue
			}
			if got != expected || !done {
				return fmt.Errorf("client %d: %d of %d status updates, deployment_success %v", i, got, expected, done)
			}
		}
		return nil
	}
	deadline := time.Now().Add(60 * time.Second)
	for settle() != nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	res.expected = int(m.m.Engine().Snapshot().StatusUpdates - before)
	seqs := map[string]bool{}
	res.statusMin = -1
	for _, c := range clients {
		c.mu.Lock()
		got := c.counts["status_update_event"]
		if c.ended != nil {
			res.dropped++
			if res.firstDropCause == "" {
				res.firstDropCause = c.ended.Error()
			}
		}
		if c.deployments[deployment] {
			res.withSuccess++
		}
		sum := sha256.Sum256(c.seq)
		seqs[hex.EncodeToString(sum[:])] = true
		c.mu.Unlock()
		if res.statusMin < 0 || got < res.statusMin {
			res.statusMin = got
		}
		res.statusMax = max(res.statusMax, got)
	}
	res.distinctSeqs = len(seqs)
	return res
}

// TestIntegrationSSEClientsDuringDeployment: 20 clients on /v2/events while
// 100 instances deploy (STRATA_SSE_CLIENTS and STRATA_SSE_INSTANCES for
// more); none is dropped, each receives every status update Marathon
// handled and the deployment's success, and all receive the same events in
// the same order.
func TestIntegrationSSEClientsDuringDeployment(t *testing.T) {
	ci.SkipIntegrationIfShort(t, "a real master and agents")
	n, instances := envInt("STRATA_SSE_CLIENTS", 20), envInt("STRATA_SSE_INSTANCES", 100)
	c := testenv.StartCluster(t, testenv.ClusterOptions{Agents: 2, AgentResources: "cpus:16;mem:16384;disk:4096"})
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})
	res := watchDeployment(t, m, n, instances, 5*time.Minute)
	t.Logf("%+v", res)
	if res.dropped != 0 {
		t.Errorf("%d of %d clients dropped (%s)", res.dropped, n, res.firstDropCause)
	}
	if res.statusMin != res.expected || res.statusMax != res.expected {
		t.Errorf("status_update_event received: %d..%d, want %d each", res.statusMin, res.statusMax, res.expected)
	}
	if res.expected < 2*instances {
		t.Errorf("Marathon handled %d status updates for %d tasks, want at least starting+running each", res.expected, instances)
	}
	if res.withSuccess != n {
		t.Errorf("%d of %d clients received deployment_success", res.withSuccess, n)
	}
	if res.distinctSeqs != 1 {
		t.Errorf("clients received %d different event sequences, want 1", res.distinctSeqs)
	}
}

// BenchmarkSSEClientsDuringDeployment: 100 clients on /v2/events while an
// app of 1,000 instances deploys on a real master with two agents
// (STRATA_SSE_CLIENTS, STRATA_SSE_INSTANCES). It reports the clients the
// server dropped as slow (expected 0), the status updates each received
// against those Marathon handled, and the time to tasksRunning = N.
func BenchmarkSSEClientsDuringDeployment(b *testing.B) {
	n, instances := envInt("STRATA_SSE_CLIENTS", 100), envInt("STRATA_SSE_INSTANCES", 1000)
	for i := 0; i < b.N; i++ {
		c := testenv.StartCluster(b, testenv.ClusterOptions{Agents: 2, AgentResources: "cpus:16;mem:16384;disk:4096"})
		m := startMarathon(b, c, b.TempDir(), options{})
		res := watchDeployment(b, m, n, instances, 10*time.Minute)
		b.ReportMetric(float64(res.dropped), "dropped-clients")
		b.ReportMetric(float64(res.statusMin), "min-status-events")
		b.ReportMetric(float64(res.expected), "status-updates")
		b.ReportMetric(float64(res.withSuccess), "clients-with-success")
		b.ReportMetric(res.toAllRunning.Seconds(), "s-to-all-running")
		b.Logf("%d clients, %d instances: %+v", n, instances, res)
		if res.dropped != 0 || res.statusMin != res.expected || res.withSuccess != n || res.distinctSeqs != 1 {
			b.Errorf("clients missed events: %+v", res)
		}
		m.stop()
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(strings.TrimSpace(os.Getenv(name))); err == nil && v > 0 {
		return v
	}
	return def
}

package master

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// BenchmarkReregistrationStorm is the master's side of a failover: agents
// it knows from the registry re-register at once, each with 10 running
// tasks of one framework, while the master's clocks (allocation, pings)
// run. It reports agents re-registered per second; the agents are plain
// HTTP clients in this process, 256 registering at a time.
func BenchmarkReregistrationStorm(b *testing.B) {
	const agents, tasksPerAgent, parallel = 5000, 10, 256
	for b.Loop() {
		b.StopTimer()
		st, err := store.OpenEmbedded(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		m, err := New(Config{Store: st})
		if err != nil {
			b.Fatal(err)
		}
		m.Recover(context.Background())
		regs := make([][]byte, agents)
		res, _ := mesos.ParseResources("cpus:8;mem:16384;disk:100000;ports:[31000-32000]", "")
		taskRes, _ := mesos.ParseResources("cpus:0.01;mem:1", "")
		fw := mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: "fw-1"}, Name: "bench", User: "root",
			Capabilities: []mesos.Capability{{Type: mesos.CapPartitionAware}}}
		for i := range agents {
			id := fmt.Sprintf("agent-%05d", i)
			m.admitted[id] = true
			reg := mesos.AgentRegister{AgentInfo: mesos.AgentInfo{Hostname: "host-" + id, Port: 5051, Resources: res,
				ID: &mesos.AgentID{Value: id}}, Version: "bench", Frameworks: []mesos.FrameworkInfo{fw}}
			for j := range tasksPerAgent {
				tid := fmt.Sprintf("%s-t%d", id, j)
				reg.Tasks = append(reg.Tasks, mesos.Task{Name: tid, TaskID: mesos.TaskID{Value: tid},
					FrameworkID: *fw.ID, AgentID: mesos.AgentID{Value: id}, State: mesos.TaskRunning, Resources: taskRes})
			}
			regs[i], _ = json.Marshal(mesos.AgentCall{Type: mesos.AgentCallRegister, Register: &reg})
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { m.Run(ctx); close(done) }()
		srv := httptest.NewServer(m.Handler())
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: parallel, MaxConnsPerHost: 0}}
		var (
			wg       sync.WaitGroup
			bodies   sync.Map
			errOnce  sync.Once
			firstErr error
		)
		sem := make(chan struct{}, parallel)
		b.StartTimer()
		start := time.Now()
		for i := range agents {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/agent", bytes.NewReader(regs[i]))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("REGISTER: %s", resp.Status)
				}
				if err == nil {
					// The first record (REGISTERED) is enough; keep the
					// stream open as a real agent does.
					_, err = bufio.NewReader(resp.Body).ReadString('\n')
					bodies.Store(i, resp.Body)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		b.ReportMetric(float64(agents)/elapsed.Seconds(), "agents/s")
		m.mu.Lock()
		n, tasks := len(m.agents), len(m.frameworks["fw-1"].tasks)
		m.mu.Unlock()
		if n != agents || tasks != agents*tasksPerAgent {
			b.Fatalf("%d agents, %d tasks after the storm", n, tasks)
		}
		bodies.Range(func(_, v any) bool { v.(interface{ Close() error }).Close(); return true })
		cancel()
		<-done
		srv.CloseClientConnections()
		srv.Close()
		st.Close()
		b.StartTimer()
	}
}

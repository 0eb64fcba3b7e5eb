package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon/api"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/engine"
	"github.com/strata-sched/strata/marathon/events"
	"github.com/strata-sched/strata/marathon/state"
)

// benchServer loads apps × tasks (all running) into a store and serves the
// API on it.
func benchServer(b *testing.B, apps, tasks int) *httptest.Server {
	b.Helper()
	st, err := store.OpenEmbedded(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	repo := state.NewRepo(st, "", 0)
	ctx := context.Background()
	now := time.Now()
	version := now.UTC().Format("2006-01-02T15:04:05.000Z")
	for i := 0; i < apps; i++ {
		a, err := app.Normalize([]byte(fmt.Sprintf(`{"id":"/bench/app-%04d","cmd":"sleep 1000","cpus":0.01,"mem":1,"instances":%d,
			"labels":{"team":"t%d"},"portDefinitions":[{"port":%d}]}`, i, tasks, i%10, 10000+i)))
		if err != nil {
			b.Fatal(err)
		}
		a.Version, a.VersionInfo = version, &app.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
		if err := repo.PutApp(ctx, a); err != nil {
			b.Fatal(err)
		}
		for k := 0; k < tasks; k++ {
			in := state.Instance{TaskID: app.TaskIDFor(a.ID, uuid.New()), AppID: a.ID, Version: version, AgentID: "agent-1",
				Host: "10.0.0.1", Ports: []uint64{uint64(31000 + k)}, Role: "*", State: mesos.TaskRunning, Goal: state.GoalRunning,
				StagedAt: now, StartedAt: now}
			if err := repo.PutInstance(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	bus := events.NewBus(0, nil)
	e, err := engine.New(engine.Config{Repo: repo, Bus: bus})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	if err := e.Load(rctx); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { e.Run(rctx) })
	srv := httptest.NewServer(api.New(api.Config{Engine: e, Bus: bus, Leader: fakeLeader{}}))
	b.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
		st.Close()
	})
	return srv
}

func benchGet(b *testing.B, url string, concurrency int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	// Warm up and check.
	resp, err := client.Get(url)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("GET %s: %v %v", url, err, resp)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	b.SetBytes(n)
	lat := make([]time.Duration, b.N)
	var next sync.Mutex
	i := 0
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Go(func() {
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= b.N {
					return
				}
				t0 := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[k] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkGetApps1000x5 is GET /v2/apps (counts and deployments embedded,
// as always) with 1,000 apps of 5 running tasks each, 8 clients.
func BenchmarkGetApps1000x5(b *testing.B) {
	srv := benchServer(b, 1000, 5)
	benchGet(b, srv.URL+"/v2/apps", 8)
}

// BenchmarkGetAppsEmbedTasks1000x5 adds embed=apps.tasks (what marathon-lb
// asks for on every event).
func BenchmarkGetAppsEmbedTasks1000x5(b *testing.B) {
	srv := benchServer(b, 1000, 5)
	benchGet(b, srv.URL+"/v2/apps?embed=apps.tasks", 8)
}

// BenchmarkGetApps1000x5Serial is GET /v2/apps with one client: latency.
func BenchmarkGetApps1000x5Serial(b *testing.B) {
	srv := benchServer(b, 1000, 5)
	benchGet(b, srv.URL+"/v2/apps", 1)
}

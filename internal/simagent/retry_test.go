package simagent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/master"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/internal/testenv"
)

// TestPoolHonoursRetryAfter: while a master answers REGISTER with 503 and
// Retry-After (just elected, recovering its registry), the simulated agents
// retry after that delay, as real agents do, instead of sooner (or after a
// doubled backoff); then they all register.
func TestPoolHonoursRetryAfter(t *testing.T) {
	const agents, refusals = 2, 4
	st, err := store.OpenEmbedded(filepath.Join(t.TempDir(), "registry"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := master.New(master.Config{Hostname: "127.0.0.1", IP: "127.0.0.1", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Recover(t.Context()); err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		answered int
		attempts = map[string][]time.Time{} // hostname -> REGISTER times
	)
	h := m.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var call mesos.AgentCall
		if json.Unmarshal(body, &call) == nil && call.Type == mesos.AgentCallRegister && call.Register != nil {
			mu.Lock()
			host := call.Register.AgentInfo.Hostname
			attempts[host] = append(attempts[host], time.Now())
			refuse := answered < refusals
			answered++
			mu.Unlock()
			if refuse {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "No leading master is elected yet; retry shortly", http.StatusServiceUnavailable)
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	res, _ := mesos.ParseResources("cpus:1;mem:128", "")
	pool, err := New(Config{Master: srv.Listener.Addr().String(), Count: agents, Resources: res,
		RegistrationBackoffFactor: 10 * time.Millisecond, MaxBackoff: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; srv.CloseClientConnections() })

	testenv.Eventually(t, 20*time.Second, func() error {
		if s := pool.Stats(); s.Connected != agents {
			return fmt.Errorf("%d of %d agents registered", s.Connected, agents)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for host, at := range attempts {
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < time.Second || gap > 3*time.Second {
				t.Errorf("%s: REGISTER %d came %v after a 503 with Retry-After: 1; want 1-3 s", host, i+1, gap)
			}
		}
	}
}

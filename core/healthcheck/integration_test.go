package healthcheck_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/healthcheck"
	"github.com/strata-sched/strata/core/mesos"
)

// These tests use real sockets, so they run on the real clock with short
// intervals; they assert the order of events, never how long they took
// (except lower bounds, which a fast machine cannot break).

func dbl(f float64) *mesos.Double { d := mesos.Double(f); return &d }
func u32(v uint32) *uint32        { return &v }

// fast returns timing fields for quick real-clock tests.
func fast(hc mesos.HealthCheck, grace float64, failures uint32) mesos.HealthCheck {
	hc.DelaySeconds = dbl(0)
	hc.IntervalSeconds = dbl(0.02)
	hc.TimeoutSeconds = dbl(2)
	hc.GracePeriodSeconds = dbl(grace)
	hc.ConsecutiveFailures = u32(failures)
	return hc
}

func port(t *testing.T, addr string) uint32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return uint32(n)
}

// runHealth runs RunHealth to its end (a Kill) with a deadline as a safety
// net, calling onReport from inside the report callback so that the test
// changes the world before the next probe.
func runHealth(t *testing.T, hc mesos.HealthCheck, target healthcheck.Target, onReport func([]healthcheck.HealthResult)) []healthcheck.HealthResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var got []healthcheck.HealthResult
	healthcheck.RunHealth(ctx, hc, target, func(r healthcheck.HealthResult) {
		got = append(got, r)
		if onReport != nil {
			onReport(got)
		}
	})
	if ctx.Err() != nil {
		t.Fatalf("RunHealth did not end with a Kill; reports: %+v", got)
	}
	return got
}

func TestHTTPHealthyThen500ThenDown(t *testing.T) {
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		if failing.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	hc := fast(mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: port(t, srv.Listener.Addr().String()), Path: "/health"}}, 0, 3)

	got := runHealth(t, hc, healthcheck.Target{}, func(got []healthcheck.HealthResult) {
		switch len(got) {
		case 1: // healthy: start answering 500
			failing.Store(true)
		case 2: // the 500 was seen: stop listening
			srv.Close()
		}
	})
	want := []struct {
		healthy  bool
		failures int
		kill     bool
		msg      string
	}{
		{true, 0, false, "passed: 200"},
		{false, 1, false, "HTTP health check failed: unexpected HTTP status 500"},
		{false, 2, false, "HTTP health check failed: connection refused"},
		{false, 3, true, "HTTP health check failed: connection refused"},
	}
	if len(got) != len(want) {
		t.Fatalf("reports = %+v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Healthy != w.healthy || g.ConsecutiveFailures != w.failures || g.Kill != w.kill || !strings.Contains(g.Message, w.msg) {
			t.Errorf("report %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestHTTPKillNotBeforeGracePeriod(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "never healthy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	const grace = 300 * time.Millisecond
	hc := fast(mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: port(t, srv.Listener.Addr().String())}}, grace.Seconds(), 3)
	start := time.Now()
	var at []time.Duration
	got := runHealth(t, hc, healthcheck.Target{}, func([]healthcheck.HealthResult) { at = append(at, time.Since(start)) })
	if len(got) != 3 {
		t.Fatalf("reports = %+v, want 3 failures", got)
	}
	kills := 0
	for i, r := range got {
		if r.Healthy || r.ConsecutiveFailures != i+1 {
			t.Errorf("report %d = %+v", i, r)
		}
		if r.Kill {
			kills++
		}
		if at[i] < grace {
			t.Errorf("report %d after %s: inside the grace period %s", i, at[i], grace)
		}
	}
	if kills != 1 || !got[2].Kill {
		t.Errorf("Kill reported %d times, want once, on the third failure: %+v", kills, got)
	}
}

func TestHTTPSAndRedirects(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/new", http.StatusFound)
		case "/new":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			w.WriteHeader(http.StatusNotModified) // 3xx without a redirect: success
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	p := port(t, srv.Listener.Addr().String())
	for path, healthy := range map[string]bool{"/old": true, "/moved": true, "/nothing": false} {
		hc := fast(mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Scheme: "https", Port: p, Path: path}}, 0, 1)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		var first healthcheck.HealthResult
		healthcheck.RunHealth(ctx, hc, healthcheck.Target{}, func(r healthcheck.HealthResult) {
			first = r
			cancel()
		})
		cancel()
		if first.Healthy != healthy {
			t.Errorf("%s: %+v, want healthy=%v", path, first, healthy)
		}
	}
}

func TestTCPHealth(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hc := fast(mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: port(t, ln.Addr().String())}}, 0, 2)
	got := runHealth(t, hc, healthcheck.Target{}, func(got []healthcheck.HealthResult) {
		if len(got) == 1 {
			ln.Close()
		}
	})
	if len(got) != 3 || !got[0].Healthy || got[1].ConsecutiveFailures != 1 || !got[2].Kill ||
		!strings.Contains(got[2].Message, "TCP health check failed: connection refused") {
		t.Fatalf("reports = %+v", got)
	}
}

// A RunCommand that runs the command with sh in a sandbox, as the agent
// would (minus the container).
func shRunner(dir string) func(ctx context.Context, cmd mesos.CommandInfo) (int, error) {
	return func(ctx context.Context, cmd mesos.CommandInfo) (int, error) {
		c := exec.CommandContext(ctx, "/bin/sh", "-c", cmd.GetValue())
		c.Dir = dir
		err := c.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ctx.Err() == nil {
			return ee.ExitCode(), nil
		}
		if err != nil {
			return -1, err
		}
		return 0, nil
	}
}

func TestCommandHealth(t *testing.T) {
	sandbox := t.TempDir()
	marker := filepath.Join(sandbox, "alive")
	os.WriteFile(marker, nil, 0o644)
	v := "test -f alive"
	hc := fast(mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: &v}}, 0, 2)
	got := runHealth(t, hc, healthcheck.Target{RunCommand: shRunner(sandbox)}, func(got []healthcheck.HealthResult) {
		if len(got) == 1 {
			os.Remove(marker)
		}
	})
	if len(got) != 3 || !got[0].Healthy || got[1].Healthy || !got[2].Kill ||
		got[2].Message != "COMMAND health check failed: command exited with status 1" {
		t.Fatalf("reports = %+v", got)
	}
}

func TestCommandHealthTimeout(t *testing.T) {
	v := "sleep 10"
	hc := fast(mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: &v}}, 0, 1)
	hc.TimeoutSeconds = dbl(0.1)
	got := runHealth(t, hc, healthcheck.Target{RunCommand: shRunner(t.TempDir())}, nil)
	if len(got) != 1 || !got[0].Kill || got[0].Message != "COMMAND health check timed out after 100ms" {
		t.Fatalf("reports = %+v", got)
	}
}

func TestGeneralChecks(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(code.Load()))
	}))
	defer srv.Close()
	p := port(t, srv.Listener.Addr().String())

	var ci mesos.CheckInfo
	ci.Type = "HTTP"
	ci.HTTP = &struct {
		Port uint32 `json:"port"`
		Path string `json:"path,omitempty"`
	}{Port: p, Path: "/status"}
	ci.DelaySeconds, ci.IntervalSeconds, ci.TimeoutSeconds = dbl(0), dbl(0.02), dbl(2)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	var codes []string
	healthcheck.RunCheck(ctx, ci, healthcheck.Target{}, func(st mesos.CheckStatusInfo) {
		switch {
		case st.Type != "HTTP" || st.HTTP == nil:
			t.Errorf("status %+v", st)
		case st.HTTP.StatusCode == nil:
			codes = append(codes, "none")
		default:
			codes = append(codes, strconv.Itoa(int(*st.HTTP.StatusCode)))
		}
		switch len(codes) {
		case 1:
			code.Store(500)
		case 2:
			srv.Close()
		case 3:
			cancel()
		}
	})
	cancel()
	if strings.Join(codes, ",") != "200,500,none" {
		t.Errorf("HTTP check results = %v, want 200,500,none", codes)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var tcp mesos.CheckInfo
	tcp.Type = "TCP"
	tcp.TCP = &struct {
		Port uint32 `json:"port"`
	}{Port: port(t, ln.Addr().String())}
	tcp.DelaySeconds, tcp.IntervalSeconds = dbl(0), dbl(0.02)
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var results []string
	healthcheck.RunCheck(ctx, tcp, healthcheck.Target{}, func(st mesos.CheckStatusInfo) {
		if st.TCP == nil || st.TCP.Succeeded == nil {
			results = append(results, "none")
		} else {
			results = append(results, strconv.FormatBool(*st.TCP.Succeeded))
		}
		if len(results) == 1 {
			ln.Close()
		} else {
			cancel()
		}
	})
	if strings.Join(results, ",") != "true,false" {
		t.Errorf("TCP check results = %v, want true,false", results)
	}
}

package healthcheck_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/strata-sched/strata/internal/ci"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/healthcheck"
	"github.com/strata-sched/strata/core/mesos"
)

// netns creates a network namespace with loopback up and returns its path;
// it is deleted when the test ends.
func netns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		ci.SkipOrFail(t, "network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		ci.SkipOrFail(t, "ip (iproute2) not installed: %v", err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "strata-hc-test-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		ci.SkipOrFail(t, "ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up in %s: %v: %s", name, err, out)
	}
	return name
}

// freePort returns a port nothing listens on in the agent's namespace.
func freePort(t *testing.T) uint32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return port(t, ln.Addr().String())
}

// serveIn starts this test binary as an HTTP server on 127.0.0.1:p inside
// the namespace and waits until it listens.
func serveIn(t *testing.T, ns string, p uint32) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=127.0.0.1:%d", helperAddrEnv, p))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the helper exits when its stdin closes
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper did not start: %q %v", line, err)
	}
}

// firstResult runs hc until its first report.
func firstResult(t *testing.T, hc mesos.HealthCheck, target healthcheck.Target) healthcheck.HealthResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var first *healthcheck.HealthResult
	healthcheck.RunHealth(ctx, hc, target, func(r healthcheck.HealthResult) {
		first = &r
		cancel()
	})
	if first == nil {
		t.Fatal("no report")
	}
	return *first
}

func TestProbeFromNetNS(t *testing.T) {
	ns := netns(t)
	p := freePort(t)
	serveIn(t, ns, p)
	inNS := healthcheck.Target{NetNS: filepath.Join("/var/run/netns", ns)}

	for _, hc := range []mesos.HealthCheck{
		fast(mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: p, Path: "/"}}, 0, 1),
		fast(mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: p}}, 0, 1),
	} {
		if r := firstResult(t, hc, inNS); !r.Healthy {
			t.Errorf("%s probe from the namespace: %+v, want healthy", hc.Type, r)
		}
		if r := firstResult(t, hc, healthcheck.Target{}); r.Healthy || !strings.Contains(r.Message, "connection refused") {
			t.Errorf("%s probe from the agent's namespace: %+v, want connection refused", hc.Type, r)
		}
	}

	var ci mesos.CheckInfo
	ci.Type = "TCP"
	ci.TCP = &struct {
		Port uint32 `json:"port"`
	}{Port: p}
	ci.DelaySeconds = dbl(0)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	healthcheck.RunCheck(ctx, ci, inNS, func(st mesos.CheckStatusInfo) {
		if st.TCP == nil || st.TCP.Succeeded == nil || !*st.TCP.Succeeded {
			t.Errorf("TCP check from the namespace: %+v", st)
		}
		cancel()
	})

	// No thread of this process was left in the task's namespace.
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	for _, task := range tasks {
		if ns, err := os.Readlink(task); err == nil && ns != self {
			t.Errorf("%s is in %s, not the agent's %s", task, ns, self)
		}
	}
}

func TestNetNSMissing(t *testing.T) {
	hc := fast(mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: 1}}, 0, 1)
	r := firstResult(t, hc, healthcheck.Target{NetNS: "/nonexistent/netns"})
	if r.Healthy || !strings.Contains(r.Message, "opening network namespace") {
		t.Fatalf("%+v", r)
	}
}

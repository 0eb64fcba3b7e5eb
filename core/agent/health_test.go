package agent

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func dbl(v float64) *mesos.Double { d := mesos.Double(v); return &d }
func u32(v uint32) *uint32        { return &v }

// fastHealthCheck is a health check with test timings: no delay, probes
// every 0.2 s, a long grace period (failures before the first success do
// not count, so a slow start cannot kill the task) and two failures to kill.
func fastHealthCheck(typ string) *mesos.HealthCheck {
	return &mesos.HealthCheck{Type: typ, DelaySeconds: dbl(0), IntervalSeconds: dbl(0.2), TimeoutSeconds: dbl(5),
		GracePeriodSeconds: dbl(60), ConsecutiveFailures: u32(2)}
}

// serverTask runs an HTTP server on $PORT until the file stop appears in
// dir, then stays alive without it (sleep).
func serverTask(id string, port int, stop string) mesos.TaskInfo {
	ti := shellTask(id, `python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1 & server=$!
while [ ! -e "`+stop+`" ]; do sleep 0.05; done
kill $server; wait $server; exec sleep 600`)
	ti.Command.Environment = &mesos.Environment{Variables: []mesos.EnvVariable{{Name: "PORT", Value: strconv.Itoa(port)}}}
	return ti
}

// healthUpdates returns the RUNNING updates of a task that carry a health
// result.
func (fm *fakeMaster) healthUpdates(taskID string) []mesos.TaskStatus {
	var out []mesos.TaskStatus
	for _, u := range fm.updatesOf(taskID) {
		if u.Status.State == mesos.TaskRunning && u.Status.Reason == mesos.ReasonTaskHealthCheckStatusUpdated {
			out = append(out, u.Status)
		}
	}
	return out
}

// waitHealth waits for a health update saying healthy.
func (fm *fakeMaster) waitHealth(taskID string, healthy bool) mesos.TaskStatus {
	fm.t.Helper()
	var got mesos.TaskStatus
	fm.waitFor(taskID+" healthy="+strconv.FormatBool(healthy), 30*time.Second, func() bool {
		for _, u := range fm.updates {
			st := u.Status
			if st.TaskID.Value == taskID && st.State == mesos.TaskRunning && st.Reason == mesos.ReasonTaskHealthCheckStatusUpdated &&
				st.Healthy != nil && *st.Healthy == healthy {
				got = st
				return true
			}
		}
		return false
	})
	return got
}

// checkKilledUnhealthy checks how a task killed by its health check ends.
func checkKilledUnhealthy(t *testing.T, fm *fakeMaster, taskID string) {
	t.Helper()
	killed := fm.waitState(taskID, mesos.TaskKilled)
	if killed.Status.Healthy == nil || *killed.Status.Healthy ||
		!strings.Contains(killed.Status.Message, "health check failed") {
		t.Fatalf("KILLED = %+v", killed.Status)
	}
	hs := fm.healthUpdates(taskID)
	if len(hs) < 3 || !*hs[0].Healthy {
		t.Fatalf("health updates = %+v; want healthy, then failures", hs)
	}
	failures := 0
	for _, h := range hs[1:] {
		if *h.Healthy {
			t.Fatalf("healthy again after failing: %+v", hs)
		}
		failures++
	}
	if failures != 2 {
		t.Fatalf("%d unhealthy updates before the kill, want consecutive_failures = 2", failures)
	}
}

func TestHTTPHealthCheck(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) { c.KillTasksOnStop = true })
	ta.waitRegistered()
	port := freePort(t)
	stop := filepath.Join(t.TempDir(), "stop")
	ti := serverTask("web", port, stop)
	ti.HealthCheck = fastHealthCheck("HTTP")
	ti.HealthCheck.HTTP = &mesos.HTTPCheckInfo{Port: uint32(port), Path: "/"}
	fm.send(runTaskEvent(testFramework("fw1"), ti))

	fm.waitHealth("web", true)
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	unhealthy := fm.waitHealth("web", false)
	if !strings.Contains(unhealthy.Message, "HTTP") {
		t.Errorf("unhealthy update message = %q", unhealthy.Message)
	}
	checkKilledUnhealthy(t, fm, "web")
}

func TestTCPHealthCheck(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) { c.KillTasksOnStop = true })
	ta.waitRegistered()
	port := freePort(t)
	stop := filepath.Join(t.TempDir(), "stop")
	ti := serverTask("tcp", port, stop)
	ti.HealthCheck = fastHealthCheck("TCP")
	ti.HealthCheck.TCP = &mesos.TCPCheckInfo{Port: uint32(port)}
	fm.send(runTaskEvent(testFramework("fw1"), ti))

	fm.waitHealth("tcp", true)
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	checkKilledUnhealthy(t, fm, "tcp")
}

// A COMMAND health check runs in the task's sandbox with its environment.
func TestCommandHealthCheck(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) { c.KillTasksOnStop = true })
	ta.waitRegistered()
	ti := shellTask("cmdhc", "touch healthy-flag; exec sleep 600")
	ti.Command.Environment = &mesos.Environment{Variables: []mesos.EnvVariable{{Name: "TASK_VAR", Value: "task"}}}
	ti.HealthCheck = fastHealthCheck("COMMAND")
	check := `[ -e healthy-flag ] && [ "$(pwd -P)" = "$(cd "$MESOS_SANDBOX" && pwd -P)" ] && [ "$TASK_VAR" = task ] && [ "$CHECK_VAR" = check ]`
	ti.HealthCheck.Command = &mesos.CommandInfo{Value: &check,
		Environment: &mesos.Environment{Variables: []mesos.EnvVariable{{Name: "CHECK_VAR", Value: "check"}}}}
	fm.send(runTaskEvent(testFramework("fw1"), ti))

	fm.waitHealth("cmdhc", true)
	if err := os.Remove(filepath.Join(ta.sandboxOf("cmdhc"), "healthy-flag")); err != nil {
		t.Fatal(err)
	}
	checkKilledUnhealthy(t, fm, "cmdhc")
}

// A general COMMAND check reports its exit code whenever it changes.
func TestGeneralCommandCheck(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) { c.KillTasksOnStop = true })
	ta.waitRegistered()
	ti := shellTask("checked", "echo 3 > code; exec sleep 600")
	code := `exit "$(cat code)"`
	ti.Check = &mesos.CheckInfo{Type: "COMMAND", DelaySeconds: dbl(0), IntervalSeconds: dbl(0.2), TimeoutSeconds: dbl(2)}
	ti.Check.Command = &struct {
		Command *mesos.CommandInfo `json:"command,omitempty"`
	}{&mesos.CommandInfo{Value: &code}}
	fm.send(runTaskEvent(testFramework("fw1"), ti))

	exitCode := func(st mesos.TaskStatus) (int32, bool) {
		if st.CheckStatus == nil || st.CheckStatus.Command == nil || st.CheckStatus.Command.ExitCode == nil {
			return 0, false
		}
		return *st.CheckStatus.Command.ExitCode, true
	}
	waitCode := func(want int32) {
		t.Helper()
		fm.waitFor("check exit code "+strconv.Itoa(int(want)), 30*time.Second, func() bool {
			for _, u := range fm.updates {
				if c, ok := exitCode(u.Status); ok && c == want && u.Status.TaskID.Value == "checked" &&
					u.Status.Reason == mesos.ReasonTaskCheckStatusUpdated {
					return true
				}
			}
			return false
		})
	}
	// The first RUNNING carries the check's type without a result.
	running := fm.waitState("checked", mesos.TaskRunning)
	if cs := running.Status.CheckStatus; cs == nil || cs.Type != "COMMAND" || cs.Command == nil || cs.Command.ExitCode != nil {
		t.Fatalf("first RUNNING check_status = %+v", cs)
	}
	waitCode(3)
	if err := os.WriteFile(filepath.Join(ta.sandboxOf("checked"), "code"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitCode(0)
	// Only changes are reported: never the same result twice in a row.
	var last int32 = -1
	for _, u := range fm.updatesOf("checked") {
		if u.Status.Reason != mesos.ReasonTaskCheckStatusUpdated {
			continue
		}
		c, ok := exitCode(u.Status)
		if ok && c == last {
			t.Fatalf("exit code %d reported twice in a row", c)
		}
		if ok {
			last = c
		}
	}
	fm.send(killTaskEvent("fw1", "checked", 0))
	if killed := fm.waitState("checked", mesos.TaskKilled); killed.Status.Healthy != nil {
		t.Fatalf("KILLED of a task without health check = %+v", killed.Status)
	}
}

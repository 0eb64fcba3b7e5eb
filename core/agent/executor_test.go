package agent

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// The test executor binary, built once per test run.
var testExecutor struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testExecutor.dir != "" {
		os.RemoveAll(testExecutor.dir)
	}
	os.Exit(code)
}

func executorBinary(t testing.TB) string {
	t.Helper()
	testExecutor.once.Do(func() {
		dir, err := os.MkdirTemp("", "agent-test-executor")
		if err != nil {
			testExecutor.err = err
			return
		}
		testExecutor.dir = dir
		testExecutor.path = filepath.Join(dir, "executor")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", testExecutor.path, "./testdata/executor")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			testExecutor.err = err
			testExecutor.path = string(out)
		}
	})
	if testExecutor.err != nil {
		t.Fatalf("building the test executor: %v: %s", testExecutor.err, testExecutor.path)
	}
	return testExecutor.path
}

func customTask(id, exID, binary string, env ...mesos.EnvVariable) mesos.TaskInfo {
	shell := false
	return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, Resources: scalars(0.1, 16),
		Executor: &mesos.ExecutorInfo{
			ExecutorID: mesos.ExecutorID{Value: exID},
			Name:       "test executor",
			Resources:  scalars(0.1, 32),
			Command: &mesos.CommandInfo{Value: &binary, Shell: &shell, Arguments: []string{"executor"},
				Environment: &mesos.Environment{Variables: env}},
		}}
}

func messageEvent(fwID, exID string, data []byte) mesos.AgentEvent {
	ev := mesos.AgentEvent{Type: mesos.AgentEventMessage}
	ev.Message = &struct {
		FrameworkID mesos.FrameworkID `json:"framework_id"`
		ExecutorID  mesos.ExecutorID  `json:"executor_id"`
		Data        []byte            `json:"data"`
	}{mesos.FrameworkID{Value: fwID}, mesos.ExecutorID{Value: exID}, data}
	return ev
}

func shutdownExecutorEvent(fwID, exID string) mesos.AgentEvent {
	ev := mesos.AgentEvent{Type: mesos.AgentEventShutdownExecutor}
	ev.ShutdownExecutor = &struct {
		FrameworkID mesos.FrameworkID `json:"framework_id"`
		ExecutorID  mesos.ExecutorID  `json:"executor_id"`
	}{mesos.FrameworkID{Value: fwID}, mesos.ExecutorID{Value: exID}}
	return ev
}

func TestCustomExecutor(t *testing.T) {
	bin := executorBinary(t)
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), nil)
	id := ta.waitRegistered()
	fw := testFramework("fw1")

	fm.send(runTaskEvent(fw, customTask("quick", "ex1", bin)))
	fm.waitState("quick", mesos.TaskFinished)
	if got := fm.states("quick"); !slices.Equal(got, []mesos.TaskState{mesos.TaskRunning, mesos.TaskFinished}) {
		t.Fatalf("states = %v", got)
	}
	running := fm.updatesOf("quick")[0]
	if running.Status.Source != mesos.SourceExecutor || running.ExecutorID == nil || running.ExecutorID.Value != "ex1" ||
		running.Status.AgentID == nil || running.Status.AgentID.Value != id {
		t.Fatalf("RUNNING = %+v", running)
	}

	// The executor's sandbox: its stdout shows the acknowledgements it got.
	var st stateJSON
	ta.getJSON("/state", &st)
	if len(st.Frameworks) != 1 || len(st.Frameworks[0].Executors) != 1 {
		t.Fatalf("state: %+v", st.Frameworks)
	}
	exState := st.Frameworks[0].Executors[0]
	if exState.ID != "ex1" || exState.Type != "CUSTOM" {
		t.Fatalf("executor state = %+v", exState)
	}
	stdout := filepath.Join(exState.Directory, "stdout")
	waitUntil(t, "ACKNOWLEDGED reaches the executor", func() bool {
		b, _ := os.ReadFile(stdout)
		return strings.Contains(string(b), "acked quick TASK_FINISHED") && strings.Contains(string(b), "checkpoint=1")
	})

	// Framework message -> executor -> echoed back as EXECUTOR_MESSAGE.
	fm.send(messageEvent("fw1", "ex1", []byte("ping")))
	msg := fm.waitCall(mesos.AgentCallExecutorMsg)
	if string(msg.ExecutorMsg.Data) != "echo:ping" || msg.ExecutorMsg.ExecutorID.Value != "ex1" {
		t.Fatalf("executor message = %+v", msg.ExecutorMsg)
	}

	// A second task goes to the running executor as LAUNCH; KILL goes to the executor.
	fm.send(runTaskEvent(fw, customTask("long-2", "ex1", bin)))
	fm.waitState("long-2", mesos.TaskRunning)
	fm.send(killTaskEvent("fw1", "long-2", 0))
	killed := fm.waitState("long-2", mesos.TaskKilled)
	if killed.Status.Message != "killed by the test executor" {
		t.Fatalf("KILLED = %+v", killed.Status)
	}

	// SHUTDOWN_EXECUTOR: the executor kills what runs and exits.
	fm.send(runTaskEvent(fw, customTask("long-3", "ex1", bin)))
	fm.waitState("long-3", mesos.TaskRunning)
	fm.send(shutdownExecutorEvent("fw1", "ex1"))
	fm.waitState("long-3", mesos.TaskKilled)
	exited := fm.waitCall(mesos.AgentCallExitedExecutor)
	if exited.ExitedExecutor.ExecutorID.Value != "ex1" || exited.ExitedExecutor.Status != 0 {
		t.Fatalf("EXITED_EXECUTOR = %+v", exited.ExitedExecutor)
	}
	waitUntil(t, "executor completed", func() bool {
		var st stateJSON
		ta.getJSON("/state", &st)
		return len(st.Frameworks) == 0
	})
}

func TestCustomExecutorExitsAndBadCalls(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), nil)
	ta.waitRegistered()
	fw := testFramework("fw1")

	// An executor that exits without a word: its task fails.
	ti := customTask("orphaned", "ex-exit", "/bin/sh")
	ti.Executor.Command.Arguments = []string{"sh", "-c", "exit 2"}
	fm.send(runTaskEvent(fw, ti))
	failed := fm.waitState("orphaned", mesos.TaskFailed)
	if failed.Status.Reason != mesos.ReasonExecutorTerminated || failed.Status.Source != mesos.SourceAgent {
		t.Fatalf("FAILED = %+v", failed.Status)
	}
	exited := fm.waitCall(mesos.AgentCallExitedExecutor)
	if exited.ExitedExecutor.Status != 2<<8 {
		t.Fatalf("EXITED_EXECUTOR status = %d", exited.ExitedExecutor.Status)
	}

	// Malformed calls are refused with 400 and a message.
	post := func(ct, body string) (int, string) {
		resp, err := http.Post(ta.url+"/api/v1/executor", ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	for _, tc := range []struct {
		ct, body string
		code     int
		msg      string
	}{
		{"application/json", "{not json", 400, "Failed to parse"},
		{"application/json", `{"type":"SUBSCRIBE"}`, 400, "executor_id"},
		{"application/json", `{"type":"SUBSCRIBE","executor_id":{"value":"e"},"framework_id":{"value":"f"}}`, 400, "'subscribe'"},
		{"application/json", `{"type":"UPDATE","executor_id":{"value":"e"},"framework_id":{"value":"f"},"update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}}}`, 400, "'uuid'"},
		{"application/json", `{"type":"SUBSCRIBE","executor_id":{"value":"e"},"framework_id":{"value":"nope"},"subscribe":{}}`, 400, "Framework cannot be found"},
		{"text/plain", `{}`, 415, "Content-Type"},
	} {
		code, msg := post(tc.ct, tc.body)
		if code != tc.code || !strings.Contains(msg, tc.msg) {
			t.Errorf("POST %s: %d %q, want %d containing %q", tc.body, code, msg, tc.code, tc.msg)
		}
	}
	if code, _ := ta.get("/api/v1/executor"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/v1/executor = %d", code)
	}
}

func TestExecutorRegistrationTimeout(t *testing.T) {
	fz := newFakeContainerizer()
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) {
		c.Containerizer = fz
		c.ExecutorRegistrationTimeout = 200 * time.Millisecond
	})
	ta.waitRegistered()
	fm.send(runTaskEvent(testFramework("fw1"), customTask("silent", "ex-silent", "/bin/true")))
	failed := fm.waitState("silent", mesos.TaskFailed)
	if failed.Status.Reason != mesos.ReasonExecutorRegistrationTimeout {
		t.Fatalf("FAILED = %+v", failed.Status)
	}
	// The spec carried the executor environment.
	var spec []string
	waitUntil(t, "launch recorded", func() bool {
		fz.mu.Lock()
		defer fz.mu.Unlock()
		if len(fz.specs) == 0 {
			return false
		}
		spec = fz.specs[0].Env
		return true
	})
	for _, want := range []string{"MESOS_FRAMEWORK_ID=fw1", "MESOS_EXECUTOR_ID=ex-silent", "MESOS_CHECKPOINT=1",
		"MESOS_RECOVERY_TIMEOUT=15mins", "MESOS_SUBSCRIPTION_BACKOFF_MAX=2secs", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=5secs",
		"MESOS_HTTP_COMMAND_EXECUTOR=0", "MESOS_AGENT_ENDPOINT=" + ta.endpoint} {
		if !slices.Contains(spec, want) {
			t.Errorf("executor env lacks %s: %v", want, spec)
		}
	}
}

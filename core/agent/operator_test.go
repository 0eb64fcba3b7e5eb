package agent

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
)

// operatorCall POSTs body to /api/v1 and returns the status and body.
func (ta *testAgent) operatorCall(body, contentType string) (int, []byte) {
	ta.t.Helper()
	req, err := http.NewRequest(http.MethodPost, ta.url+"/api/v1", strings.NewReader(body))
	if err != nil {
		ta.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ta.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (ta *testAgent) operator(typ string) agentResponse {
	ta.t.Helper()
	code, body := ta.operatorCall(`{"type":"`+typ+`"}`, "application/json")
	if code != http.StatusOK {
		ta.t.Fatalf("%s: %d %s", typ, code, body)
	}
	var r agentResponse
	if err := json.Unmarshal(body, &r); err != nil {
		ta.t.Fatalf("%s: %v: %s", typ, err, body)
	}
	if r.Type != typ {
		ta.t.Fatalf("%s: response type %q", typ, r.Type)
	}
	return r
}

func TestOperatorAPI(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) {
		c.Flags["isolation"] = "posix/cpu,posix/mem"
		c.KillTasksOnStop = true // leave no process behind
	})
	id := ta.waitRegistered()
	fw := testFramework("fw1")
	fm.send(runTaskEvent(fw, shellTask("op-run", "sleep 600")))
	fm.waitState("op-run", mesos.TaskRunning)
	fm.send(runTaskEvent(fw, shellTask("op-done", "true")))
	fm.waitState("op-done", mesos.TaskFinished)
	waitUntil(t, "op-done completed", func() bool { return ta.knowsCompleted("fw1", "op-done") })

	if r := ta.operator("GET_HEALTH"); r.GetHealth == nil || !r.GetHealth.Healthy {
		t.Fatalf("GET_HEALTH = %+v", r)
	}
	if r := ta.operator("GET_VERSION"); r.GetVersion == nil || r.GetVersion.VersionInfo.Version != "test" {
		t.Fatalf("GET_VERSION = %+v", r.GetVersion)
	}
	flags := map[string]string{}
	for _, f := range ta.operator("GET_FLAGS").GetFlags.Flags {
		flags[f.Name] = f.Value
	}
	if flags["isolation"] != "posix/cpu,posix/mem" || flags["work_dir"] == "" {
		t.Fatalf("GET_FLAGS = %v", flags)
	}
	metrics := map[string]float64{}
	for _, m := range ta.operator("GET_METRICS").GetMetrics.Metrics {
		metrics[m.Name] = m.Value
	}
	if metrics["slave/tasks_running"] != 1 || metrics["slave/tasks_finished"] != 1 {
		t.Fatalf("GET_METRICS = %v", metrics)
	}
	if r := ta.operator("GET_AGENT"); r.GetAgent == nil || r.GetAgent.AgentInfo.ID == nil || r.GetAgent.AgentInfo.ID.Value != id {
		t.Fatalf("GET_AGENT = %+v", r.GetAgent)
	}

	st := ta.operator("GET_STATE").GetState
	if st == nil || len(st.GetTasks.LaunchedTasks) != 1 || st.GetTasks.LaunchedTasks[0].TaskID.Value != "op-run" ||
		st.GetTasks.LaunchedTasks[0].State != mesos.TaskRunning {
		t.Fatalf("GET_STATE tasks = %+v", st)
	}
	if len(st.GetTasks.CompletedTasks) != 1 || st.GetTasks.CompletedTasks[0].TaskID.Value != "op-done" {
		t.Fatalf("GET_STATE completed tasks = %+v", st.GetTasks.CompletedTasks)
	}
	if len(st.GetFrameworks.Frameworks) != 1 || st.GetFrameworks.Frameworks[0].FrameworkInfo.ID.Value != "fw1" {
		t.Fatalf("GET_STATE frameworks = %+v", st.GetFrameworks)
	}
	if len(st.GetExecutors.Executors) != 1 || st.GetExecutors.Executors[0].ExecutorInfo.ExecutorID.Value != "op-run" {
		t.Fatalf("GET_STATE executors = %+v", st.GetExecutors)
	}

	cs := ta.operator("GET_CONTAINERS").GetContainers
	if cs == nil || len(cs.Containers) != 1 {
		t.Fatalf("GET_CONTAINERS = %+v", cs)
	}
	c := cs.Containers[0]
	rs := c.ResourceStatistics
	if c.ExecutorID.Value != "op-run" || c.FrameworkID.Value != "fw1" || c.ContainerID.Value == "" ||
		c.ContainerStatus == nil || c.ContainerStatus.ExecutorPID == nil || rs == nil {
		t.Fatalf("container = %+v", c)
	}
	// Limits: the task's resources plus the command executor's allowance.
	if rs.Timestamp == 0 || rs.Processes < 1 || rs.CPUsLimit < 0.2 || rs.MemLimitBytes != (16+32)<<20 {
		t.Fatalf("resource_statistics = %+v", rs)
	}

	// Bad input is a 400 with a text message; other media types are refused.
	for _, tc := range []struct {
		body, ct string
		code     int
		msg      string
	}{
		{`{"type":`, "application/json", 400, "Failed to parse"},
		{`{}`, "application/json", 400, "'type'"},
		{`{"type":"LAUNCH_NESTED_CONTAINER"}`, "application/json", 400, "Unsupported call type"},
		{`{"type":"GET_HEALTH"}`, "application/x-protobuf", 415, "application/json"},
	} {
		code, body := ta.operatorCall(tc.body, tc.ct)
		if code != tc.code || !strings.Contains(string(body), tc.msg) {
			t.Errorf("%s (%s): %d %q, want %d with %q", tc.body, tc.ct, code, body, tc.code, tc.msg)
		}
	}
	if code, _ := ta.get("/api/v1"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/v1 = %d", code)
	}
}

func TestMonitorStatisticsLimits(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) { c.KillTasksOnStop = true })
	ta.waitRegistered()
	fm.send(runTaskEvent(testFramework("fw1"), shellTask("mon", "sleep 600")))
	fm.waitState("mon", mesos.TaskRunning)
	var stats []statisticsJSON
	ta.getJSON("/monitor/statistics", &stats)
	if len(stats) != 1 || stats[0].ExecutorID != "mon" {
		t.Fatalf("statistics = %+v", stats)
	}
	s := stats[0].Statistics
	if s.CPUsLimit < 0.2 || s.MemLimitBytes != (16+32)<<20 || s.Processes < 1 {
		t.Fatalf("statistics = %+v", s)
	}
}

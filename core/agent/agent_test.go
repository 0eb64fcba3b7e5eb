package agent

import (
	"errors"
	"github.com/strata-sched/strata/internal/ci"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

func TestRegisterAndCommandTaskLifecycle(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), nil)
	id := ta.waitRegistered()
	if id != "fake-master-S0" || ta.ID() != id {
		t.Fatalf("agent ID = %q", id)
	}
	reg := fm.lastRegister()
	if reg.AgentInfo.Hostname != "localhost" || reg.AgentInfo.Port == 0 || reg.AgentInfo.ID != nil ||
		mesos.Resources(reg.AgentInfo.Resources).Scalar("cpus") != 8 || len(reg.AgentInfo.Attributes) != 1 || reg.Version != "test" {
		t.Fatalf("REGISTER = %+v", reg)
	}

	// Hold acknowledgements to see that only one update is in flight.
	fm.setAutoAck(false)
	fw := testFramework("fw1")
	fm.send(runTaskEvent(fw, shellTask("hello", "echo hello; exit 0")))
	starting := fm.waitState("hello", mesos.TaskStarting)
	time.Sleep(200 * time.Millisecond) // the task finishes meanwhile; nothing else may be sent
	if got := fm.states("hello"); !slices.Equal(got, []mesos.TaskState{mesos.TaskStarting}) {
		t.Fatalf("updates in flight before any ack: %v", got)
	}
	s := starting.Status
	if s.Source != mesos.SourceExecutor || len(s.UUID) == 0 || s.Timestamp == 0 || s.AgentID == nil || s.AgentID.Value != id ||
		s.ExecutorID == nil || s.ExecutorID.Value != "hello" || starting.ExecutorID == nil || starting.FrameworkID.Value != "fw1" {
		t.Fatalf("STARTING update = %+v", starting)
	}
	// Acks drive the stream.
	fm.send(ackEvent(starting))
	running := fm.waitState("hello", mesos.TaskRunning)
	if pidOf(t, running) <= 0 || running.Status.ContainerStatus.ContainerID.Value == "" {
		t.Fatalf("RUNNING container status = %+v", running.Status.ContainerStatus)
	}
	fm.send(ackEvent(running))
	finished := fm.waitState("hello", mesos.TaskFinished)
	if finished.Status.Message != "Command exited with status 0" || finished.Status.Source != mesos.SourceExecutor {
		t.Fatalf("FINISHED = %+v", finished.Status)
	}
	if got := fm.states("hello"); !slices.Equal(got, []mesos.TaskState{mesos.TaskStarting, mesos.TaskRunning, mesos.TaskFinished}) {
		t.Fatalf("states = %v", got)
	}

	// stdout through /files/read, at the Mesos sandbox path.
	cid := running.Status.ContainerStatus.ContainerID.Value
	sandbox := filepath.Join(ta.cfg.WorkDir, "slaves", id, "frameworks", "fw1", "executors", "hello", "runs", cid)
	if target, err := os.Readlink(filepath.Join(filepath.Dir(sandbox), "latest")); err != nil || filepath.Base(target) != cid {
		t.Fatalf("latest symlink: %q %v", target, err)
	}
	var read struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	ta.getJSON("/files/read?path="+url.QueryEscape(sandbox+"/stdout")+"&offset=0", &read)
	if !strings.Contains(read.Data, "hello") || read.Offset != 0 {
		t.Fatalf("/files/read = %+v", read)
	}
	ta.getJSON("/files/read?path="+url.QueryEscape(sandbox+"/stdout"), &read)
	if read.Data != "" || read.Offset < int64(len("hello\n")) {
		t.Fatalf("/files/read offset=-1 = %+v", read)
	}
	var entries []fileInfoJSON
	ta.getJSON("/files/browse?path="+url.QueryEscape(sandbox), &entries)
	var names []string
	for _, e := range entries {
		names = append(names, filepath.Base(e.Path))
		if e.Mode == "" || e.UID == "" || e.Mtime == 0 {
			t.Errorf("entry %+v incomplete", e)
		}
	}
	if !slices.Contains(names, "stdout") || !slices.Contains(names, "stderr") {
		t.Fatalf("browse = %v", names)
	}
	if code, body := ta.get("/files/download?path=" + url.QueryEscape(sandbox+"/stdout")); code != 200 || !strings.Contains(string(body), "hello") {
		t.Fatalf("download: %d %q", code, body)
	}
	if code, _ := ta.get("/files/read?path=" + url.QueryEscape(sandbox+"/nope")); code != 404 {
		t.Fatalf("missing file: %d", code)
	}

	// Terminal ack: the task moves to completed.
	fm.send(ackEvent(finished))
	waitUntil(t, "task completed", func() bool {
		var st stateJSON
		ta.getJSON("/state", &st)
		return len(st.CompletedFrameworks) == 1 && len(st.CompletedFrameworks[0].CompletedExecutors) == 1 &&
			len(st.CompletedFrameworks[0].CompletedExecutors[0].CompletedTasks) == 1
	})
	var metrics map[string]float64
	ta.getJSON("/metrics/snapshot", &metrics)
	if metrics["slave/tasks_finished"] != 1 || metrics["slave/registered"] != 1 || metrics["slave/cpus_total"] != 8 {
		t.Fatalf("metrics = %v", metrics)
	}
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCommandTaskFailureArgvEnvAndKill(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), nil)
	id := ta.waitRegistered()
	fw := testFramework("fw1", mesos.CapTaskKillingState)

	// Non-zero exit.
	fm.send(runTaskEvent(fw, shellTask("three", "exit 3")))
	failed := fm.waitState("three", mesos.TaskFailed)
	if !strings.Contains(failed.Status.Message, "status 3") || failed.Status.Reason != "" || failed.Status.Source != mesos.SourceExecutor {
		t.Fatalf("FAILED = %+v", failed.Status)
	}

	// argv form and environment.
	prog := "/bin/sh"
	argv := mesos.TaskInfo{Name: "argv", TaskID: mesos.TaskID{Value: "argv"}, Resources: scalars(0.1, 16),
		Command: &mesos.CommandInfo{Shell: new(bool), Value: &prog,
			Arguments:   []string{"sh", "-c", `echo "argv:$FOO:$MESOS_TASK_ID:$MESOS_FRAMEWORK_ID:$MESOS_EXECUTOR_ID:$HOST:$MESOS_AGENT_ENDPOINT"; test "$MESOS_SANDBOX" = "$PWD"`},
			Environment: &mesos.Environment{Variables: []mesos.EnvVariable{{Name: "FOO", Value: "bar"}}}}}
	fm.send(runTaskEvent(fw, argv))
	fm.waitState("argv", mesos.TaskFinished)
	sandbox := ""
	for _, u := range fm.updatesOf("argv") {
		if u.Status.State == mesos.TaskRunning {
			sandbox = filepath.Join(ta.cfg.WorkDir, "slaves", id, "frameworks", "fw1", "executors", "argv", "runs",
				u.Status.ContainerStatus.ContainerID.Value)
		}
	}
	out, err := os.ReadFile(filepath.Join(sandbox, "stdout"))
	want := "argv:bar:argv:fw1:argv:localhost:" + ta.endpoint
	if err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("stdout = %q (%v), want %q", out, err, want)
	}

	// Kill a long-running task: KILLING (capability), then KILLED; the process is gone.
	fm.send(runTaskEvent(fw, shellTask("sleeper", "sleep 1000")))
	running := fm.waitState("sleeper", mesos.TaskRunning)
	pid := pidOf(t, running)
	if !processAlive(pid) {
		t.Fatalf("pid %d not alive", pid)
	}
	fm.send(killTaskEvent("fw1", "sleeper", time.Second))
	killed := fm.waitState("sleeper", mesos.TaskKilled)
	if got := fm.states("sleeper"); !slices.Equal(got, []mesos.TaskState{mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling, mesos.TaskKilled}) {
		t.Fatalf("states = %v", got)
	}
	if killed.Status.Source != mesos.SourceExecutor {
		t.Fatalf("KILLED = %+v", killed.Status)
	}
	waitGone(t, pid)

	// Killing an unknown task answers TASK_LOST from the agent.
	fm.send(killTaskEvent("fw1", "nosuchtask", 0))
	lost := fm.waitState("nosuchtask", mesos.TaskLost)
	if lost.Status.Source != mesos.SourceAgent {
		t.Fatalf("LOST = %+v", lost.Status)
	}
	// Killing a completed task does nothing.
	waitUntil(t, "three completed", func() bool { return ta.knowsCompleted("fw1", "three") })
	fm.send(killTaskEvent("fw1", "three", 0))

	// A user that does not exist (only meaningful when the agent runs as root).
	if os.Geteuid() == 0 {
		u := "no-such-user-xyz"
		ti := shellTask("baduser", "true")
		ti.Command.User = &u
		fm.send(runTaskEvent(fw, ti))
		bu := fm.waitState("baduser", mesos.TaskFailed)
		if bu.Status.Reason != mesos.ReasonContainerLaunchFailed || !strings.Contains(bu.Status.Message, u) {
			t.Fatalf("bad user = %+v", bu.Status)
		}
	}
	if code, _ := ta.get("/files/read?path=/etc/passwd&offset=0"); code != 403 {
		t.Fatalf("/etc/passwd served: %d", code)
	}
	if code, _ := ta.get("/files/browse?path=" + url.QueryEscape(ta.cfg.WorkDir+"/slaves/../meta")); code != 403 {
		t.Fatalf("meta browsable: %d", code)
	}
	if got := fm.lost("three"); got {
		t.Fatal("kill of a completed task answered with TASK_LOST")
	}
}

func (fm *fakeMaster) updatesOf(taskID string) []mesos.StatusUpdate {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	var out []mesos.StatusUpdate
	for _, u := range fm.updates {
		if u.Status.TaskID.Value == taskID {
			out = append(out, u)
		}
	}
	return out
}

func (fm *fakeMaster) lost(taskID string) bool {
	return slices.Contains(fm.states(taskID), mesos.TaskLost)
}

func (ta *testAgent) knowsCompleted(fw, task string) bool {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return ta.knowsCompletedTask(fw, task)
}

func TestTaskGroupFailureKillsTheRest(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), nil)
	id := ta.waitRegistered()
	fw := testFramework("fw1")
	ex := mesos.ExecutorInfo{Type: "DEFAULT", ExecutorID: mesos.ExecutorID{Value: "default-ex"}, Resources: scalars(0.1, 32)}
	fm.send(runTaskGroupEvent(fw, ex, shellTask("g-sleep", "sleep 1000"), shellTask("g-fail", "sleep 0.3; echo grouped; exit 1")))
	running := fm.waitState("g-sleep", mesos.TaskRunning)
	pid := pidOf(t, running)
	cs := running.Status.ContainerStatus
	if cs.ContainerID.Parent == nil || cs.ContainerID.Parent.Value == "" {
		t.Fatalf("group task container has no parent: %+v", cs.ContainerID)
	}
	failed := fm.waitState("g-fail", mesos.TaskFailed)
	if !strings.Contains(failed.Status.Message, "status 1") {
		t.Fatalf("FAILED = %+v", failed.Status)
	}
	fm.waitState("g-sleep", mesos.TaskKilled)
	waitGone(t, pid)
	taskSandbox := filepath.Join(ta.cfg.WorkDir, "slaves", id, "frameworks", "fw1", "executors", "default-ex", "runs",
		cs.ContainerID.Parent.Value, "tasks", "g-fail")
	if out, err := os.ReadFile(filepath.Join(taskSandbox, "stdout")); err != nil || !strings.Contains(string(out), "grouped") {
		t.Fatalf("task sandbox stdout: %q %v", out, err)
	}
	// Both acknowledged: the executor completes.
	waitUntil(t, "default executor completed", func() bool {
		var st stateJSON
		ta.getJSON("/state", &st)
		return len(st.Frameworks) == 0 && len(st.CompletedFrameworks) == 1
	})
}

func TestStateEndpoint(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) {
		c.Flags = map[string]string{"port": "5051"}
		c.KillTasksOnStop = true // leave no process behind
	})
	id := ta.waitRegistered()
	fw := testFramework("fw1")
	fw.User = ta.agentUser
	fm.send(runTaskEvent(fw, shellTask("s1", "sleep 1000")))
	fm.waitState("s1", mesos.TaskRunning)

	var raw map[string]any
	for _, path := range []string{"/state", "/slave(1)/state"} {
		ta.getJSON(path, &raw)
		for _, k := range []string{"version", "id", "pid", "hostname", "resources", "attributes", "master_hostname",
			"flags", "start_time", "frameworks", "completed_frameworks"} {
			if _, ok := raw[k]; !ok {
				t.Fatalf("%s has no %q: %v", path, k, raw)
			}
		}
	}
	var st stateJSON
	ta.getJSON("/state", &st)
	if st.ID != id || st.PID != "slave(1)@"+ta.endpoint || st.Resources["cpus"] != 8.0 || st.Attributes["rack"] != "r1" ||
		st.MasterHostname != "fakemaster" || st.Flags["port"] != "5051" {
		t.Fatalf("state = %+v", st)
	}
	if len(st.Frameworks) != 1 || len(st.Frameworks[0].Executors) != 1 {
		t.Fatalf("frameworks = %+v", st.Frameworks)
	}
	e := st.Frameworks[0].Executors[0]
	if e.ID != "s1" || e.Source != "s1" || e.Container == "" || !strings.HasPrefix(e.Name, "Command Executor (Task: s1)") ||
		e.Resources["cpus"] != 0.2 || e.Resources["mem"] != 48.0 || !strings.HasSuffix(e.Directory, e.Container) {
		t.Fatalf("executor = %+v", e)
	}
	if len(e.Tasks) != 1 {
		t.Fatalf("tasks = %+v", e.Tasks)
	}
	task := e.Tasks[0]
	if task.ID != "s1" || task.State != mesos.TaskRunning || task.SlaveID != id || task.FrameworkID != "fw1" ||
		task.Resources["cpus"] != 0.1 || len(task.Statuses) != 2 || task.Statuses[1].ContainerStatus == nil {
		t.Fatalf("task = %+v", task)
	}
	var flags map[string]map[string]string
	ta.getJSON("/slave(1)/flags", &flags)
	if flags["flags"]["port"] != "5051" {
		t.Fatalf("flags = %v", flags)
	}
	var version map[string]any
	ta.getJSON("/version", &version)
	if version["version"] != "test" {
		t.Fatalf("version = %v", version)
	}
	if code, _ := ta.get("/health"); code != 200 {
		t.Fatalf("health = %d", code)
	}
	var stats []statisticsJSON
	ta.getJSON("/monitor/statistics", &stats)
	if len(stats) != 1 || stats[0].ExecutorID != "s1" || stats[0].FrameworkID != "fw1" || stats[0].Statistics.Processes < 1 ||
		stats[0].Statistics.MemLimitBytes != 48*1024*1024 || stats[0].Statistics.CPUsLimit != 0.2 {
		t.Fatalf("statistics = %+v", stats)
	}
	var metrics map[string]float64
	ta.getJSON("/metrics/snapshot", &metrics)
	if metrics["slave/tasks_running"] != 1 || metrics["slave/executors_running"] != 1 || metrics["slave/cpus_used"] != 0.2 ||
		metrics["slave/frameworks_active"] != 1 {
		t.Fatalf("metrics = %v", metrics)
	}
	code, prom := ta.get("/metrics")
	if code != 200 || !strings.Contains(string(prom), "strata_slave_tasks_running 1") {
		t.Fatalf("prometheus: %d %s", code, prom)
	}
}

func TestTaskRunsAsFrameworkUser(t *testing.T) {
	ci.RequireRoot(t, "switching users needs root")
	work := t.TempDir()
	for _, dir := range []string{filepath.Dir(work), work} { // let the task's user reach its sandbox
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, work, nil)
	id := ta.waitRegistered()
	fw := testFramework("fw1")
	fw.User = "nobody"
	fm.send(runTaskEvent(fw, shellTask("whoami", "id -un; touch $MESOS_SANDBOX/mine")))
	fin := fm.waitState("whoami", mesos.TaskFinished)
	sandbox := filepath.Join(work, "slaves", id, "frameworks", "fw1", "executors", "whoami", "runs",
		fin.Status.ContainerStatus.ContainerID.Value)
	out, err := os.ReadFile(filepath.Join(sandbox, "stdout"))
	if err != nil || strings.TrimSpace(string(out)) != "nobody" {
		t.Fatalf("stdout = %q, %v", out, err)
	}
	var entries []fileInfoJSON
	ta.getJSON("/files/browse?path="+url.QueryEscape(sandbox), &entries)
	for _, e := range entries {
		if filepath.Base(e.Path) == "mine" && e.UID != "nobody" {
			t.Fatalf("file created by the task is owned by %q", e.UID)
		}
	}
}

func TestContainerLaunchError(t *testing.T) {
	fz := newFakeContainerizer()
	fz.launchErr = errors.New("no more processes")
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) { c.Containerizer = fz })
	ta.waitRegistered()
	fm.send(runTaskEvent(testFramework("fw1"), shellTask("nolaunch", "true")))
	failed := fm.waitState("nolaunch", mesos.TaskFailed)
	if failed.Status.Reason != mesos.ReasonContainerLaunchFailed || failed.Status.Source != mesos.SourceAgent ||
		!strings.Contains(failed.Status.Message, "no more processes") {
		t.Fatalf("FAILED = %+v", failed.Status)
	}
	var metrics map[string]float64
	ta.getJSON("/metrics/snapshot", &metrics)
	if metrics["slave/container_launch_errors"] != 1 || metrics["slave/tasks_failed"] != 1 {
		t.Fatalf("metrics = %v", metrics)
	}
}

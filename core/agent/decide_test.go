package agent

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/mesos"
)

// TestTaskTransitionsEveryPair walks every (state, update state) pair.
func TestTaskTransitionsEveryPair(t *testing.T) {
	legal := map[[2]mesos.TaskState]bool{}
	add := func(from mesos.TaskState, to ...mesos.TaskState) {
		for _, s := range to {
			legal[[2]mesos.TaskState{from, s}] = true
		}
	}
	add(mesos.TaskStaging, mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling)
	add(mesos.TaskStarting, mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling)
	add(mesos.TaskRunning, mesos.TaskRunning, mesos.TaskKilling)
	add(mesos.TaskKilling, mesos.TaskKilling)
	for _, from := range []mesos.TaskState{mesos.TaskStaging, mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling} {
		add(from, terminalStates...)
	}
	for _, from := range mesos.AllTaskStates {
		for _, to := range mesos.AllTaskStates {
			err := checkTaskTransition(from, to)
			if want := legal[[2]mesos.TaskState{from, to}]; want != (err == nil) {
				t.Errorf("%s -> %s: err = %v, want legal=%v", from, to, err, want)
			}
		}
	}
	if err := checkTaskTransition(mesos.TaskFinished, mesos.TaskRunning); err == nil || !strings.Contains(err.Error(), "terminal") {
		t.Errorf("leaving a terminal state: %v", err)
	}
}

func TestExecutorTransitions(t *testing.T) {
	states := []executorState{execRegistering, execRunning, execTerminating, execTerminated}
	legal := map[[2]executorState]bool{
		{execRegistering, execRunning}: true, {execRegistering, execTerminating}: true,
		{execRegistering, execTerminated}: true, {execRunning, execTerminating}: true,
		{execRunning, execTerminated}: true, {execTerminating, execTerminated}: true,
	}
	for _, from := range states {
		for _, to := range states {
			if err := checkExecutorTransition(from, to); legal[[2]executorState{from, to}] != (err == nil) {
				t.Errorf("%s -> %s: %v", from, to, err)
			}
		}
	}
}

func TestTaskEndStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		term   containerizer.Termination
		kill   *endCause
		state  mesos.TaskState
		reason string
		msg    string
	}{
		{"exit 0", containerizer.Termination{Message: "Command exited with status 0"}, nil, mesos.TaskFinished, "", "Command exited with status 0"},
		{"exit 3", containerizer.Termination{ExitCode: 3, Message: "Command exited with status 3"}, nil, mesos.TaskFailed, "", "Command exited with status 3"},
		{"no message", containerizer.Termination{ExitCode: 2}, nil, mesos.TaskFailed, "", "Command exited with status 2"},
		{"signal", containerizer.Termination{ExitCode: 137, Signaled: true, Signal: 9}, nil, mesos.TaskFailed, "", "Command terminated with signal Killed"},
		{"killed", containerizer.Termination{ExitCode: 143, Signaled: true, Signal: 15, Killed: true, Message: "Command terminated with signal SIGTERM"},
			&endCause{}, mesos.TaskKilled, "", "Command terminated with signal SIGTERM"},
		{"killed exit 0", containerizer.Termination{Killed: true}, &endCause{}, mesos.TaskKilled, "", "Command exited with status 0"},
		{"killed with cause", containerizer.Termination{Killed: true}, &endCause{state: mesos.TaskLost, reason: mesos.ReasonAgentRestarted, message: "m"},
			mesos.TaskLost, mesos.ReasonAgentRestarted, "m"},
		{"oom", containerizer.Termination{ExitCode: 137, Signaled: true, Signal: 9, Limitation: "memory", Message: "Memory limit exceeded"},
			nil, mesos.TaskFailed, mesos.ReasonContainerLimitationMemory, "Memory limit exceeded"},
	} {
		st, reason, msg := taskEndStatus(tc.term, tc.kill)
		if st != tc.state || reason != tc.reason || msg != tc.msg {
			t.Errorf("%s: got %s %q %q, want %s %q %q", tc.name, st, reason, msg, tc.state, tc.reason, tc.msg)
		}
	}
	if got := waitStatus(containerizer.Termination{ExitCode: 3}); got != 3<<8 {
		t.Errorf("waitStatus(exit 3) = %d", got)
	}
	if got := waitStatus(containerizer.Termination{Signaled: true, Signal: 9}); got != 9 {
		t.Errorf("waitStatus(signal 9) = %d", got)
	}
}

func TestRegistrationBackoff(t *testing.T) {
	b := regBackoff{factor: time.Second}
	var bounds []time.Duration
	for range 9 {
		var bound time.Duration
		b.next(func(n int64) int64 { bound = time.Duration(n - 1); return n - 1 })
		bounds = append(bounds, bound)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i := range want {
		if bounds[i] != want[i]*time.Second {
			t.Fatalf("attempt %d: bound %v, want %v (all: %v)", i, bounds[i], want[i]*time.Second, bounds)
		}
	}
	b.reset()
	if d := b.next(func(n int64) int64 { return 0 }); d != 0 {
		t.Fatalf("random 0 gave %v", d)
	}
	if b.bound != time.Second {
		t.Fatalf("after reset the bound is %v", b.bound)
	}
}

func TestGCQueue(t *testing.T) {
	q := newGCQueue()
	t0 := time.Unix(100, 0)
	q.schedule("/w/slaves/a/frameworks/f", t0.Add(time.Hour))
	q.schedule("/w/slaves/a/frameworks/f/executors/e/runs/c", t0.Add(time.Minute))
	q.schedule("/w/slaves/a/frameworks/g", t0.Add(time.Minute))
	if got := q.due(t0); len(got) != 0 {
		t.Fatalf("due too early: %v", got)
	}
	// Reusing a framework directory cancels its removal and its parents', not its children's.
	q.unschedule("/w/slaves/a/frameworks/f/executors/e")
	if q.pending() != 2 {
		t.Fatalf("pending = %d after unschedule, want 2", q.pending())
	}
	got := q.due(t0.Add(2 * time.Hour))
	want := []string{"/w/slaves/a/frameworks/f/executors/e/runs/c", "/w/slaves/a/frameworks/g"}
	if !slices.Equal(got, want) {
		t.Fatalf("due = %v, want %v", got, want)
	}
	if q.pending() != 0 {
		t.Fatal("due did not forget")
	}
}

func TestResolveUser(t *testing.T) {
	exists := func(name string) error {
		if name == "nobody" || name == "alice" {
			return nil
		}
		return errors.New("unknown user")
	}
	for _, tc := range []struct {
		req, agent string
		root       bool
		want       string
		err        bool
	}{
		{"", "root", true, "", false},
		{"root", "root", true, "", false},
		{"alice", "root", true, "alice", false},
		{"alice", "bob", false, "", false},
		{"mallory", "root", true, "", true},
	} {
		got, err := resolveUser(tc.req, tc.agent, tc.root, exists)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("resolveUser(%q, %q, %v) = %q, %v", tc.req, tc.agent, tc.root, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), tc.req) {
			t.Errorf("error does not name the user: %v", err)
		}
	}
	user := "u1"
	if got := requestedUser(&mesos.CommandInfo{User: &user}, &mesos.FrameworkInfo{User: "fw"}); got != "u1" {
		t.Errorf("requestedUser prefers the command's user: got %q", got)
	}
	if got := requestedUser(&mesos.CommandInfo{}, &mesos.FrameworkInfo{User: "fw"}); got != "fw" {
		t.Errorf("requestedUser falls back to the framework's user: got %q", got)
	}
}

func TestBuildEnv(t *testing.T) {
	cmd := &mesos.CommandInfo{Environment: &mesos.Environment{Variables: []mesos.EnvVariable{
		{Name: "FOO", Value: "bar"}, {Name: "MESOS_TASK_ID", Value: "override"},
	}}}
	env, err := buildEnv(map[string]string{"MESOS_TASK_ID": "t", "HOST": "h"}, cmd, "/agent/bin")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"FOO=bar", "HOST=h", "MESOS_TASK_ID=override", "PATH=/agent/bin"}
	if !slices.Equal(env, want) {
		t.Fatalf("env = %v, want %v", env, want)
	}
	withPath := &mesos.CommandInfo{Environment: &mesos.Environment{Variables: []mesos.EnvVariable{{Name: "PATH", Value: "/mine"}}}}
	env, _ = buildEnv(nil, withPath, "/agent/bin")
	if !slices.Equal(env, []string{"PATH=/mine"}) {
		t.Fatalf("task PATH not kept: %v", env)
	}
	env, _ = buildEnv(nil, nil, "")
	if !slices.Equal(env, []string{"PATH=" + defaultPath}) {
		t.Fatalf("default PATH: %v", env)
	}
	secret := &mesos.CommandInfo{Environment: &mesos.Environment{Variables: []mesos.EnvVariable{{Name: "S", Type: "SECRET"}}}}
	if _, err := buildEnv(nil, secret, ""); err == nil {
		t.Fatal("secret variable accepted")
	}
}

func TestRlimitsAndNames(t *testing.T) {
	v := uint64(100)
	rl, err := rlimits(&mesos.ContainerInfo{RlimitInfo: &mesos.RLimitInfo{Rlimits: []mesos.RLimit{
		{Type: "RLMT_NOFILE", Soft: &v, Hard: &v}, {Type: "RLMT_CORE"},
	}}})
	if err != nil || len(rl) != 2 || rl[0].Type != "NOFILE" || *rl[0].Soft != 100 || rl[1].Soft != nil {
		t.Fatalf("rlimits = %+v, %v", rl, err)
	}
	if _, err := rlimits(&mesos.ContainerInfo{RlimitInfo: &mesos.RLimitInfo{Rlimits: []mesos.RLimit{{Type: "RLMT_AS", Soft: &v}}}}); err == nil {
		t.Fatal("soft without hard accepted")
	}
	for d, want := range map[time.Duration]string{5 * time.Second: "5secs", 15 * time.Minute: "15mins",
		2 * time.Hour: "2hrs", 1500 * time.Millisecond: "1500ms"} {
		if got := mesosDuration(d); got != want {
			t.Errorf("mesosDuration(%v) = %q, want %q", d, got, want)
		}
	}
	val := "echo hello world and more"
	ti := mesos.TaskInfo{TaskID: mesos.TaskID{Value: "t1"}, Command: &mesos.CommandInfo{Value: &val}}
	if got := commandExecutorName(&ti); got != "Command Executor (Task: t1) (Command: sh -c 'echo hello w...')" {
		t.Errorf("command executor name = %q", got)
	}
}

func TestValidateExecutorCall(t *testing.T) {
	base := func() mesos.ExecutorCall {
		return mesos.ExecutorCall{Type: mesos.ExecCallHeartbeat, ExecutorID: mesos.ExecutorID{Value: "e"},
			FrameworkID: mesos.FrameworkID{Value: "f"}}
	}
	update := func(st mesos.TaskStatus) mesos.ExecutorCall {
		c := base()
		c.Type = mesos.ExecCallUpdate
		c.Update = &struct {
			Status mesos.TaskStatus `json:"status"`
		}{st}
		return c
	}
	ok := update(mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t"}, State: mesos.TaskRunning, UUID: mesos.NewUUID()})
	for _, tc := range []struct {
		name string
		call mesos.ExecutorCall
		want string // "" = valid
	}{
		{"heartbeat", base(), ""},
		{"update", ok, ""},
		{"no type", func() mesos.ExecutorCall { c := base(); c.Type = ""; return c }(), "'type'"},
		{"no executor", func() mesos.ExecutorCall { c := base(); c.ExecutorID.Value = ""; return c }(), "'executor_id'"},
		{"no framework", func() mesos.ExecutorCall { c := base(); c.FrameworkID.Value = ""; return c }(), "'framework_id'"},
		{"unknown type", func() mesos.ExecutorCall { c := base(); c.Type = "FOO"; return c }(), "Unknown call type"},
		{"subscribe without payload", func() mesos.ExecutorCall { c := base(); c.Type = mesos.ExecCallSubscribe; return c }(), "'subscribe'"},
		{"message without payload", func() mesos.ExecutorCall { c := base(); c.Type = mesos.ExecCallMessage; return c }(), "'message'"},
		{"update without payload", func() mesos.ExecutorCall { c := base(); c.Type = mesos.ExecCallUpdate; return c }(), "'update'"},
		{"update without uuid", update(mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t"}, State: mesos.TaskRunning}), "'uuid'"},
		{"update staging", update(mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t"}, State: mesos.TaskStaging, UUID: mesos.NewUUID()}), "TASK_STAGING"},
		{"update bad state", update(mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t"}, State: "TASK_BOGUS", UUID: mesos.NewUUID()}), "Unknown task state"},
		{"update other executor", update(mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t"}, State: mesos.TaskRunning, UUID: mesos.NewUUID(),
			ExecutorID: &mesos.ExecutorID{Value: "x"}}), "does not match"},
	} {
		err := validateExecutorCall(&tc.call)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestResolveSandboxPath(t *testing.T) {
	work := t.TempDir()
	root := filepath.Join(work, "slaves")
	sandbox := filepath.Join(root, "a", "frameworks", "f")
	if err := os.MkdirAll(sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(sandbox, "stdout"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(work, "secret"), []byte("s"), 0o644)
	os.Symlink(filepath.Join(work, "secret"), filepath.Join(sandbox, "escape"))
	os.Symlink("stdout", filepath.Join(sandbox, "inside"))
	for _, tc := range []struct {
		path string
		code int // 0 = ok
	}{
		{filepath.Join(sandbox, "stdout"), 0},
		{root, 0},
		{filepath.Join(sandbox, "inside"), 0},
		{filepath.Join(sandbox, "..", "..", "..", "..", "secret"), http.StatusForbidden},
		{filepath.Join(work, "secret"), http.StatusForbidden},
		{"/etc/passwd", http.StatusForbidden},
		{"relative/path", http.StatusForbidden},
		{root + "x", http.StatusForbidden},
		{filepath.Join(sandbox, "escape"), http.StatusForbidden},
		{filepath.Join(sandbox, "missing"), http.StatusNotFound},
		{"", http.StatusBadRequest},
	} {
		_, _, err := resolveSandboxPath(root, tc.path)
		var fe *fileError
		switch {
		case tc.code == 0 && err != nil:
			t.Errorf("%s: %v", tc.path, err)
		case tc.code != 0 && (!errors.As(err, &fe) || fe.code != tc.code):
			t.Errorf("%s: err = %v, want code %d", tc.path, err, tc.code)
		}
	}
	if got := fileMode(0o644); got != "-rw-r--r--" {
		t.Errorf("fileMode = %q", got)
	}
	if got := fileMode(os.ModeDir | 0o755); got != "drwxr-xr-x" {
		t.Errorf("fileMode dir = %q", got)
	}
}

func TestConfigDefaults(t *testing.T) {
	if _, err := (Config{}).withDefaults(); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("empty config: %v", err)
	}
	c, err := Config{Master: "m:5050", WorkDir: t.TempDir(), Containerizer: newFakeContainerizer()}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Recover != RecoverReconnect || c.GCDelay != 7*24*time.Hour || c.ExecutorRegistrationTimeout != time.Minute ||
		c.ExecutorShutdownGracePeriod != 5*time.Second || c.RegistrationBackoffFactor != time.Second || c.Port != 5051 {
		t.Fatalf("defaults: %+v", c)
	}
	for _, bad := range []Config{
		{Master: "nohostport", WorkDir: "w", Containerizer: newFakeContainerizer()},
		{Master: "m:1", WorkDir: "w", Containerizer: newFakeContainerizer(), Recover: "sometimes"},
		{Master: "m:1", WorkDir: "w", Containerizer: newFakeContainerizer(), GCDelay: -1},
		{Master: "m:1", WorkDir: "w"},
	} {
		if _, err := bad.withDefaults(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v accepted: %v", bad, err)
		}
	}
}

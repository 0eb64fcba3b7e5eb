package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/mesos/recordio"
)

// fakeMaster speaks the master side of the agent protocol
// (mesos/agentapi.go): REGISTER streams, calls checked against the stream ID.
type fakeMaster struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	nextID    int
	agentID   string
	streamID  string
	stream    chan mesos.AgentEvent // events for the current stream
	registers []mesos.AgentRegister
	updates   []mesos.StatusUpdate
	calls     []mesos.AgentCall // everything but REGISTER and STATUS_UPDATE
	autoAck   bool
	pingSecs  float64
	refuse    string                     // answer REGISTER with an ERROR event
	redirect  string                     // answer REGISTER with 307 to this host:port
	latest    map[string]mesos.TaskState // if set, only the latest state per task is kept
	changed   chan struct{}
}

func newFakeMaster(t testing.TB) *fakeMaster {
	fm := &fakeMaster{t: t, autoAck: true, pingSecs: 15, changed: make(chan struct{}, 1)}
	fm.srv = httptest.NewServer(http.HandlerFunc(fm.serve))
	t.Cleanup(fm.srv.Close)
	return fm
}

func (fm *fakeMaster) addr() string { return fm.srv.Listener.Addr().String() }

func (fm *fakeMaster) notify() {
	select {
	case fm.changed <- struct{}{}:
	default:
	}
}

func (fm *fakeMaster) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/agent" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var call mesos.AgentCall
	if err := json.Unmarshal(body, &call); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if call.Type == mesos.AgentCallRegister {
		fm.serveRegister(w, r, &call)
		return
	}
	fm.mu.Lock()
	if r.Header.Get("Mesos-Stream-Id") != fm.streamID || fm.streamID == "" {
		fm.mu.Unlock()
		http.Error(w, "unknown stream", http.StatusForbidden)
		return
	}
	if call.AgentID == nil || call.AgentID.Value != fm.agentID {
		fm.mu.Unlock()
		http.Error(w, "wrong agent_id", http.StatusBadRequest)
		return
	}
	switch call.Type {
	case mesos.AgentCallStatusUpdate:
		u := *call.StatusUpdate
		if fm.latest != nil {
			fm.latest[u.Status.TaskID.Value] = u.Status.State // benchmark: keep the heap small
		} else {
			fm.updates = append(fm.updates, u)
		}
		if fm.autoAck && len(u.Status.UUID) > 0 && fm.stream != nil {
			fm.stream <- ackEvent(u)
		}
	default:
		fm.calls = append(fm.calls, call)
	}
	fm.mu.Unlock()
	fm.notify()
	w.WriteHeader(http.StatusAccepted)
}

func ackEvent(u mesos.StatusUpdate) mesos.AgentEvent {
	ev := mesos.AgentEvent{Type: mesos.AgentEventAcknowledge}
	ev.Acknowledge = &struct {
		FrameworkID mesos.FrameworkID `json:"framework_id"`
		TaskID      mesos.TaskID      `json:"task_id"`
		UUID        []byte            `json:"uuid"`
	}{u.FrameworkID, u.Status.TaskID, u.Status.UUID}
	return ev
}

func (fm *fakeMaster) serveRegister(w http.ResponseWriter, r *http.Request, call *mesos.AgentCall) {
	fm.mu.Lock()
	if fm.redirect != "" {
		to := fm.redirect
		fm.mu.Unlock()
		w.Header().Set("Location", "//"+to)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	fm.registers = append(fm.registers, *call.Register)
	id := ""
	if call.Register.AgentInfo.ID != nil {
		id = call.Register.AgentInfo.ID.Value
	}
	if id == "" {
		id = fmt.Sprintf("fake-master-S%d", fm.nextID)
		fm.nextID++
	}
	fm.agentID = id
	fm.streamID = uuid.NewString()
	stream := make(chan mesos.AgentEvent, 4096)
	fm.stream = stream
	refuse, ping := fm.refuse, fm.pingSecs
	fm.mu.Unlock()
	fm.notify()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Mesos-Stream-Id", fm.streamID)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	write := func(ev mesos.AgentEvent) bool {
		data, _ := json.Marshal(ev)
		if recordio.Write(w, data) != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if refuse != "" {
		ev := mesos.AgentEvent{Type: mesos.AgentEventError}
		ev.Error = &struct {
			Message string `json:"message"`
		}{refuse}
		write(ev)
		return
	}
	reg := mesos.AgentEvent{Type: mesos.AgentEventRegistered}
	reg.Registered = &mesos.AgentRegistered{AgentID: mesos.AgentID{Value: id},
		MasterInfo: mesos.MasterInfo{ID: "fake-master", Hostname: "fakemaster"}, PingIntervalSeconds: ping}
	if !write(reg) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-stream:
			if !ok || !write(ev) {
				return
			}
		}
	}
}

// send pushes an event onto the current stream.
func (fm *fakeMaster) send(ev mesos.AgentEvent) {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	if fm.stream == nil {
		fm.t.Fatalf("fake master: no agent stream to send %s on", ev.Type)
	}
	fm.stream <- ev
}

// dropStream ends the current stream (the agent must re-register).
func (fm *fakeMaster) dropStream() {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	if fm.stream != nil {
		close(fm.stream)
		fm.stream = nil
		fm.streamID = ""
	}
}

func (fm *fakeMaster) setAutoAck(on bool) {
	fm.mu.Lock()
	fm.autoAck = on
	fm.mu.Unlock()
}

func (fm *fakeMaster) registerCount() int {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return len(fm.registers)
}

func (fm *fakeMaster) lastRegister() mesos.AgentRegister {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return fm.registers[len(fm.registers)-1]
}

// waitFor polls cond under the master's lock until it holds or the
// deadline passes.
func (fm *fakeMaster) waitFor(what string, timeout time.Duration, cond func() bool) {
	fm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		fm.mu.Lock()
		ok := cond()
		fm.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			fm.mu.Lock()
			var states []string
			for _, u := range fm.updates {
				states = append(states, u.Status.TaskID.Value+":"+string(u.Status.State)+":"+u.Status.Message)
			}
			fm.mu.Unlock()
			fm.t.Fatalf("timed out waiting for %s; updates so far: %v", what, states)
		}
		select {
		case <-fm.changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// states returns the states reported for a task, in order, without
// duplicates of the same uuid (retries).
func (fm *fakeMaster) statesLocked(taskID string) []mesos.TaskState {
	var out []mesos.TaskState
	seen := map[string]bool{}
	for _, u := range fm.updates {
		if u.Status.TaskID.Value != taskID || seen[string(u.Status.UUID)] {
			continue
		}
		seen[string(u.Status.UUID)] = true
		out = append(out, u.Status.State)
	}
	return out
}

func (fm *fakeMaster) states(taskID string) []mesos.TaskState {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return fm.statesLocked(taskID)
}

// waitState waits until the task has reported state and returns that update.
func (fm *fakeMaster) waitState(taskID string, state mesos.TaskState) mesos.StatusUpdate {
	fm.t.Helper()
	var got mesos.StatusUpdate
	fm.waitFor(taskID+" "+string(state), 30*time.Second, func() bool {
		for _, u := range fm.updates {
			if u.Status.TaskID.Value == taskID && u.Status.State == state {
				got = u
				return true
			}
		}
		return false
	})
	return got
}

// waitCall waits for a call of the given type and returns it.
func (fm *fakeMaster) waitCall(typ string) mesos.AgentCall {
	fm.t.Helper()
	var got mesos.AgentCall
	fm.waitFor("call "+typ, 30*time.Second, func() bool {
		for _, c := range fm.calls {
			if c.Type == typ {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

// Events the tests send.

func testFramework(id string, caps ...string) mesos.FrameworkInfo {
	fw := mesos.FrameworkInfo{Name: "test", ID: &mesos.FrameworkID{Value: id}, Checkpoint: true}
	for _, c := range caps {
		fw.Capabilities = append(fw.Capabilities, mesos.Capability{Type: c})
	}
	return fw
}

func scalars(cpus, mem float64) []mesos.Resource {
	return []mesos.Resource{
		{Name: "cpus", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: cpus}},
		{Name: "mem", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: mem}},
	}
}

func shellTask(id, cmd string) mesos.TaskInfo {
	return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, Resources: scalars(0.1, 16),
		Command: &mesos.CommandInfo{Value: &cmd}}
}

func runTaskEvent(fw mesos.FrameworkInfo, ti mesos.TaskInfo) mesos.AgentEvent {
	ev := mesos.AgentEvent{Type: mesos.AgentEventRunTask}
	ev.RunTask = &struct {
		FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
		Task          mesos.TaskInfo      `json:"task"`
	}{fw, ti}
	return ev
}

func runTaskGroupEvent(fw mesos.FrameworkInfo, ex mesos.ExecutorInfo, tasks ...mesos.TaskInfo) mesos.AgentEvent {
	ev := mesos.AgentEvent{Type: mesos.AgentEventRunTaskGroup}
	ev.RunTaskGroup = &struct {
		FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
		Executor      mesos.ExecutorInfo  `json:"executor"`
		TaskGroup     mesos.TaskGroupInfo `json:"task_group"`
	}{fw, ex, mesos.TaskGroupInfo{Tasks: tasks}}
	return ev
}

func killTaskEvent(fwID, taskID string, grace time.Duration) mesos.AgentEvent {
	ev := mesos.AgentEvent{Type: mesos.AgentEventKillTask}
	var kp *mesos.KillPolicy
	if grace > 0 {
		kp = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(grace)}}
	}
	ev.KillTask = &struct {
		FrameworkID mesos.FrameworkID `json:"framework_id"`
		TaskID      mesos.TaskID      `json:"task_id"`
		KillPolicy  *mesos.KillPolicy `json:"kill_policy,omitempty"`
	}{mesos.FrameworkID{Value: fwID}, mesos.TaskID{Value: taskID}, kp}
	return ev
}

// testAgent is an Agent running against a fake master, its HTTP handler
// served on a loopback listener.
type testAgent struct {
	*Agent
	t       testing.TB
	url     string
	srv     *http.Server
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("AGENT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startAgent starts an agent with the posix containerizer (unless cfg has
// one) on workDir.
func startAgent(t testing.TB, fm *fakeMaster, workDir string, mod func(*Config)) *testAgent {
	t.Helper()
	cfg := Config{
		Master:                    fm.addr(),
		WorkDir:                   workDir,
		Hostname:                  "localhost",
		IP:                        "127.0.0.1",
		Resources:                 mesos.Resources(scalars(8, 8192)),
		Attributes:                []mesos.Attribute{{Name: "rack", Type: mesos.TEXT, Text: &mesos.Text{Value: "r1"}}},
		RegistrationBackoffFactor: 10 * time.Millisecond,
		Logger:                    testLogger(t),
		Version:                   "test",
		Flags:                     map[string]string{"work_dir": workDir},
	}
	if mod != nil {
		mod(&cfg)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	if cfg.Containerizer == nil {
		cfg.Containerizer = containerizer.NewPosix(testLogger(t))
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testAgent{Agent: a, t: t, url: "http://" + ln.Addr().String(), done: make(chan error, 1)}
	ta.srv = &http.Server{Handler: a.Handler()}
	go ta.srv.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	ta.cancel = cancel
	go func() { ta.done <- a.Run(ctx) }()
	t.Cleanup(func() { ta.stop() })
	return ta
}

// stop cancels Run and waits for it; it returns Run's error.
func (ta *testAgent) stop() error {
	if ta.stopped {
		return nil
	}
	ta.stopped = true
	ta.cancel()
	var err error
	select {
	case err = <-ta.done:
	case <-time.After(30 * time.Second):
		ta.t.Errorf("agent Run did not return after cancel")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ta.srv.Shutdown(ctx)
	ta.srv.Close()
	return err
}

// get fetches a path of the agent's HTTP API.
func (ta *testAgent) get(path string) (int, []byte) {
	ta.t.Helper()
	resp, err := http.Get(ta.url + path)
	if err != nil {
		ta.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (ta *testAgent) getJSON(path string, v any) {
	ta.t.Helper()
	code, body := ta.get(path)
	if code != http.StatusOK {
		ta.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		ta.t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// waitRegistered waits until the agent has an ID and a connection.
func (ta *testAgent) waitRegistered() string {
	ta.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ta.mu.Lock()
		id, ok := ta.id, ta.conn != nil
		ta.mu.Unlock()
		if ok {
			return id
		}
		time.Sleep(10 * time.Millisecond)
	}
	ta.t.Fatal("agent did not register")
	return ""
}

// pidOf returns the executor_pid of a RUNNING update.
func pidOf(t testing.TB, u mesos.StatusUpdate) int {
	t.Helper()
	cs := u.Status.ContainerStatus
	if cs == nil || cs.ExecutorPID == nil || cs.ContainerID == nil {
		t.Fatalf("update without container status: %+v", u.Status)
	}
	return int(*cs.ExecutorPID)
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	// The state follows the command name in parentheses.
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ')' {
			return i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
		}
	}
	return false
}

// waitGone waits until pid has exited.
func waitGone(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeContainerizer runs nothing: containers "run" until the test ends
// them with exit or Kill ends them.
type fakeContainerizer struct {
	mu         sync.Mutex
	containers map[string]*fakeContainer
	nextPid    int
	launchErr  error
	specs      []containerizer.Spec
}

type fakeContainer struct {
	done chan struct{}
	term containerizer.Termination
}

func newFakeContainerizer() *fakeContainerizer {
	return &fakeContainerizer{containers: map[string]*fakeContainer{}, nextPid: 100000}
}

func (f *fakeContainerizer) Kind() string { return "fake" }

func (f *fakeContainerizer) Launch(ctx context.Context, spec containerizer.Spec) (containerizer.Checkpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.launchErr != nil {
		return containerizer.Checkpoint{}, f.launchErr
	}
	f.specs = append(f.specs, spec)
	f.nextPid++
	f.containers[spec.ContainerID] = &fakeContainer{done: make(chan struct{})}
	return containerizer.Checkpoint{ContainerID: spec.ContainerID, Kind: "fake", Pid: f.nextPid}, nil
}

func (f *fakeContainerizer) get(id string) (*fakeContainer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	if c == nil {
		return nil, containerizer.ErrUnknownContainer
	}
	return c, nil
}

func (f *fakeContainerizer) end(id string, term containerizer.Termination) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	if c == nil {
		return
	}
	select {
	case <-c.done:
	default:
		c.term = term
		close(c.done)
	}
}

func (f *fakeContainerizer) Wait(ctx context.Context, id string) (containerizer.Termination, error) {
	c, err := f.get(id)
	if err != nil {
		return containerizer.Termination{}, err
	}
	select {
	case <-c.done:
		return c.term, nil
	case <-ctx.Done():
		return containerizer.Termination{}, ctx.Err()
	}
}

func (f *fakeContainerizer) Kill(ctx context.Context, id string, grace time.Duration) error {
	if _, err := f.get(id); err != nil {
		return err
	}
	f.end(id, containerizer.Termination{ExitCode: 143, Signaled: true, Signal: 15, Killed: true,
		Message: "Command terminated with signal SIGTERM"})
	return nil
}

func (f *fakeContainerizer) Recover(ctx context.Context, cps []containerizer.Checkpoint) error {
	return nil
}

func (f *fakeContainerizer) Usage(ctx context.Context, id string) (containerizer.Usage, error) {
	if _, err := f.get(id); err != nil {
		return containerizer.Usage{}, err
	}
	return containerizer.Usage{Processes: 1, Timestamp: time.Now()}, nil
}

func (f *fakeContainerizer) Destroy(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.containers[id] == nil {
		return containerizer.ErrUnknownContainer
	}
	delete(f.containers, id)
	return nil
}

func (f *fakeContainerizer) specFor(id string) (containerizer.Spec, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.specs {
		if s.ContainerID == id {
			return s, nil
		}
	}
	return containerizer.Spec{}, errors.New("no such spec")
}

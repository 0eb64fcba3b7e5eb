package simagent

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

const (
	// pingTimeouts is how many ping intervals without an event end a
	// connection (Mesos' max_agent_ping_timeouts).
	pingTimeouts = 5
	// defaultPingInterval applies until REGISTERED names one.
	defaultPingInterval = 15 * time.Second
	// handshakeTimeout bounds the wait from dial to REGISTERED.
	handshakeTimeout = 30 * time.Second
	maxRedirects     = 10
	// streamBuffer is the read buffer of an event stream: events are small
	// and rare, and 10,000 streams must stay cheap.
	streamBuffer = 2048
	maxEventSize = 16 << 20
)

type taskKey struct{ fw, task string }

// simAgent is one simulated agent. Its goroutine (run) owns the event
// stream; mu guards everything else, which workers and the retry ticker
// also touch.
type simAgent struct {
	pool     *Pool
	hostname string

	mu           sync.Mutex
	id           string
	resources    mesos.Resources
	conn         *agentConn // nil while not registered
	registeredAt time.Time
	stopped      bool // refused by the master
	frameworks   map[string]mesos.FrameworkInfo
	executors    map[taskKey]mesos.ExecutorInfo // (framework, executor ID)
	tasks        map[taskKey]*simTask
}

// agentConn is one registration: the stream's connection and ID.
type agentConn struct {
	host     string
	streamID string
	masterID string
	nc       net.Conn
}

// simTask is a fake task: its latest state and its unacknowledged status
// updates, the first of which is in flight.
type simTask struct {
	name      string
	id        mesos.TaskID
	executor  *mesos.ExecutorID
	resources mesos.Resources
	user      string
	state     mesos.TaskState
	updates   []mesos.TaskStatus
	sentAt    time.Time // when updates[0] was last sent; zero if not yet
}

// refusedError: the master refused the agent; it stops.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return "master refused the agent: " + e.msg }

type redirectError struct{ host string }

func (e *redirectError) Error() string { return "redirected to " + e.host }

// retryLaterError: 503 with Retry-After (no leader yet, or the master is
// recovering); the agent retries after that delay without doubling its
// backoff, as a real agent does.
type retryLaterError struct {
	after time.Duration
	msg   string
}

func (e *retryLaterError) Error() string { return e.msg }

// run registers and re-registers until ctx ends or the master refuses the agent.
func (a *simAgent) run(ctx context.Context) {
	p := a.pool
	bound := p.cfg.RegistrationBackoffFactor
	host := ""
	redirects := 0
	var retryAfter time.Duration
	// changed is closed when the leader the agent is trying changes.
	var changed <-chan struct{}
	for ctx.Err() == nil {
		if host == "" {
			// Wait a random time in [0, bound]; a new leader restarts the
			// wait from the initial bound, as a real agent re-registers
			// soon after it detects a new master.
			var leader string
			leader, changed = p.leader.get()
			if leader == "" {
				select {
				case <-ctx.Done():
					return
				case <-changed:
					bound = p.cfg.RegistrationBackoffFactor
				}
				continue
			}
			wait := jitter(bound)
			if retryAfter > 0 {
				wait, retryAfter = retryAfter+jitter(retryAfter/4), 0
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-changed:
				t.Stop()
				bound, retryAfter = p.cfg.RegistrationBackoffFactor, 0
				continue
			case <-t.C:
			}
			host = leader
		}
		registered, err := a.connect(ctx, host)
		if ctx.Err() != nil {
			return
		}
		var redirect *redirectError
		var refused *refusedError
		switch {
		case errors.As(err, &redirect) && redirects < maxRedirects:
			redirects++
			host = redirect.host
			continue
		case errors.As(err, &refused):
			p.refused.Add(1)
			p.log.Error("master refused the agent; it stops", "hostname", a.hostname, "err", err)
			a.mu.Lock()
			a.stopped = true
			a.mu.Unlock()
			return
		}
		redirects, host = 0, ""
		var later *retryLaterError
		newLeader := false
		select {
		case <-changed: // detected while this attempt ran: start over
			newLeader = true
		default:
		}
		switch {
		case registered || newLeader:
			bound = p.cfg.RegistrationBackoffFactor
		case errors.As(err, &later):
			retryAfter = later.after
		default:
			bound = min(2*bound, p.cfg.MaxBackoff)
		}
		p.log.Debug("agent connection ended", "hostname", a.hostname, "err", err)
	}
}

// connect registers once with host and serves the event stream until it
// breaks. It reports whether the agent got registered.
func (a *simAgent) connect(ctx context.Context, host string) (registered bool, err error) {
	p := a.pool
	select {
	case p.regSem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	release := sync.OnceFunc(func() { <-p.regSem })
	defer release()

	a.mu.Lock()
	body, err := json.Marshal(a.registerCall())
	a.mu.Unlock()
	if err != nil {
		return false, fmt.Errorf("encode REGISTER: %w", err)
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return false, fmt.Errorf("REGISTER to %s: %w", host, err)
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	req := fmt.Sprintf("POST /api/v1/agent HTTP/1.1\r\nHost: %s\r\nUser-Agent: strata-simagent\r\n"+
		"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n", host, len(body))
	if _, err := io.WriteString(nc, req); err != nil {
		return false, fmt.Errorf("REGISTER to %s: %w", host, err)
	}
	if _, err := nc.Write(body); err != nil {
		return false, fmt.Errorf("REGISTER to %s: %w", host, err)
	}
	br := bufio.NewReaderSize(nc, streamBuffer)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false, fmt.Errorf("REGISTER to %s: %w", host, err)
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect ||
		code == http.StatusFound || code == http.StatusMovedPermanently:
		u, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || u.Host == "" {
			return false, fmt.Errorf("REGISTER to %s: %d with bad Location %q", host, code, resp.Header.Get("Location"))
		}
		return false, &redirectError{host: u.Host}
	case code >= 400 && code < 500 && code != http.StatusNotFound &&
		code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return false, &refusedError{msg: fmt.Sprintf("%d %s", code, strings.TrimSpace(string(msg)))}
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		err := fmt.Errorf("REGISTER to %s: %s: %s", host, resp.Status, strings.TrimSpace(string(msg)))
		if secs, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); perr == nil && secs > 0 &&
			code == http.StatusServiceUnavailable {
			return false, &retryLaterError{after: min(time.Duration(secs)*time.Second, p.cfg.MaxBackoff), msg: err.Error()}
		}
		return false, err
	}
	rd := newEventReader(resp.Body)
	ev, err := rd.next()
	if err != nil {
		return false, fmt.Errorf("reading REGISTERED from %s: %w", host, err)
	}
	if ev.Type == mesos.AgentEventError && ev.Error != nil {
		return false, &refusedError{msg: ev.Error.Message}
	}
	if ev.Type != mesos.AgentEventRegistered || ev.Registered == nil || ev.Registered.AgentID.Value == "" {
		return false, fmt.Errorf("first event from %s is %s, not REGISTERED with an agent ID", host, ev.Type)
	}
	release()
	silence := pingTimeouts * defaultPingInterval
	if s := ev.Registered.PingIntervalSeconds; s > 0 {
		silence = pingTimeouts * time.Duration(s*float64(time.Second))
	}
	if s := ev.Registered.TotalPingTimeoutSeconds; s > 0 {
		silence = time.Duration(s * float64(time.Second))
	}
	conn := &agentConn{host: host, streamID: resp.Header.Get("Mesos-Stream-Id"), masterID: ev.Registered.MasterInfo.ID, nc: nc}
	if err := a.registered(ctx, conn, ev.Registered.AgentID.Value); err != nil {
		return false, err
	}
	defer a.disconnected(conn)
	for {
		_ = nc.SetReadDeadline(time.Now().Add(silence))
		ev, err := rd.next()
		if err != nil {
			return true, fmt.Errorf("event stream from %s: %w", host, err)
		}
		if ev.Type == mesos.AgentEventError {
			msg := ""
			if ev.Error != nil {
				msg = ev.Error.Message
			}
			return true, &refusedError{msg: msg}
		}
		a.handle(ctx, conn, &ev)
	}
}

// registerCall builds REGISTER with every task the agent holds. Called
// with a.mu held.
func (a *simAgent) registerCall() mesos.AgentCall {
	info := mesos.AgentInfo{Hostname: a.hostname, Port: int32(a.pool.cfg.Port), Resources: a.resources}
	reg := &mesos.AgentRegister{AgentInfo: info, Version: a.pool.cfg.Version}
	call := mesos.AgentCall{Type: mesos.AgentCallRegister, Register: reg}
	if a.id != "" {
		id := mesos.AgentID{Value: a.id}
		reg.AgentInfo.ID = &id
		call.AgentID = &id
	}
	for id, fi := range a.frameworks {
		fi.ID = &mesos.FrameworkID{Value: id}
		reg.Frameworks = append(reg.Frameworks, fi)
	}
	for k, e := range a.executors {
		e.FrameworkID = &mesos.FrameworkID{Value: k.fw}
		reg.Executors = append(reg.Executors, e)
	}
	for k, t := range a.tasks {
		mt := mesos.Task{Name: t.name, TaskID: t.id, FrameworkID: mesos.FrameworkID{Value: k.fw},
			ExecutorID: t.executor, AgentID: mesos.AgentID{Value: a.id}, State: t.state, Resources: t.resources, User: t.user}
		if len(t.updates) > 0 {
			st := t.updates[0].State
			mt.StatusUpdateState = &st
			mt.StatusUpdateUUID = t.updates[0].UUID
		}
		reg.Tasks = append(reg.Tasks, mt)
	}
	return call
}

// registered installs a new connection and resends the first pending
// update of every task.
func (a *simAgent) registered(ctx context.Context, conn *agentConn, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.id == "":
		a.id = id
		a.pool.registrations.Add(1)
	case a.id != id:
		return &refusedError{msg: fmt.Sprintf("master assigned agent ID %s but this agent has ID %s", id, a.id)}
	default:
		a.pool.reregistrations.Add(1)
	}
	a.conn = conn
	a.registeredAt = time.Now()
	for k, t := range a.tasks {
		if len(t.updates) > 0 {
			a.sendUpdate(ctx, k, t)
		}
	}
	return nil
}

func (a *simAgent) disconnected(conn *agentConn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == conn {
		a.conn = nil
	}
}

// handle applies one event from the master.
func (a *simAgent) handle(ctx context.Context, conn *agentConn, ev *mesos.AgentEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn != conn {
		return
	}
	switch ev.Type {
	case mesos.AgentEventPing:
		a.call(ctx, mesos.AgentCall{Type: mesos.AgentCallPong})
	case mesos.AgentEventRunTask:
		if b := ev.RunTask; b != nil && b.FrameworkInfo.ID != nil {
			fw := b.FrameworkInfo.ID.Value
			a.setFramework(b.FrameworkInfo)
			var exec *mesos.ExecutorID
			if b.Task.Executor != nil {
				a.addExecutor(fw, *b.Task.Executor)
				id := b.Task.Executor.ExecutorID
				exec = &id
			}
			a.runTask(ctx, fw, b.FrameworkInfo.User, exec, b.Task)
		}
	case mesos.AgentEventRunTaskGroup:
		if b := ev.RunTaskGroup; b != nil && b.FrameworkInfo.ID != nil {
			fw := b.FrameworkInfo.ID.Value
			a.setFramework(b.FrameworkInfo)
			a.addExecutor(fw, b.Executor)
			id := b.Executor.ExecutorID
			for _, t := range b.TaskGroup.Tasks {
				a.runTask(ctx, fw, b.FrameworkInfo.User, &id, t)
			}
		}
	case mesos.AgentEventKillTask:
		if b := ev.KillTask; b != nil {
			k := taskKey{b.FrameworkID.Value, b.TaskID.Value}
			if t := a.tasks[k]; t != nil {
				a.kill(ctx, k, t, mesos.TaskKilled, "", "Task killed")
				return
			}
			// As a real agent: a kill of an unknown task answers TASK_LOST.
			t := &simTask{id: b.TaskID, state: mesos.TaskLost}
			a.tasks[k] = t
			a.push(ctx, k, t, mesos.TaskLost, mesos.ReasonTaskUnknown, "Attempted to kill an unknown task")
		}
	case mesos.AgentEventShutdownFramework:
		if b := ev.ShutdownFramework; b != nil {
			for k, t := range a.tasks {
				if k.fw == b.FrameworkID.Value {
					a.kill(ctx, k, t, mesos.TaskKilled, mesos.ReasonFrameworkRemoved, "Framework shut down")
				}
			}
			delete(a.frameworks, b.FrameworkID.Value)
		}
	case mesos.AgentEventShutdownExecutor:
		if b := ev.ShutdownExecutor; b != nil {
			for k, t := range a.tasks {
				if k.fw == b.FrameworkID.Value && t.executor != nil && *t.executor == b.ExecutorID {
					a.kill(ctx, k, t, mesos.TaskKilled, mesos.ReasonExecutorTerminated, "Executor shut down")
				}
			}
		}
	case mesos.AgentEventAcknowledge:
		if b := ev.Acknowledge; b != nil {
			a.acknowledge(ctx, taskKey{b.FrameworkID.Value, b.TaskID.Value}, b.UUID)
		}
	case mesos.AgentEventUpdateFramework:
		if b := ev.UpdateFramework; b != nil && b.FrameworkInfo.ID != nil {
			a.setFramework(b.FrameworkInfo)
		}
	case mesos.AgentEventCheckpointRes:
		if b := ev.CheckpointResources; b != nil {
			a.resources = b.Resources
		}
	}
}

func (a *simAgent) setFramework(fi mesos.FrameworkInfo) {
	if a.frameworks == nil {
		a.frameworks = map[string]mesos.FrameworkInfo{}
	}
	id := fi.ID.Value
	fi.ID = nil
	a.frameworks[id] = fi
}

func (a *simAgent) addExecutor(fw string, e mesos.ExecutorInfo) {
	if a.executors == nil {
		a.executors = map[taskKey]mesos.ExecutorInfo{}
	}
	a.executors[taskKey{fw, e.ExecutorID.Value}] = e
}

// runTask "starts" a task: TASK_STARTING, then TASK_RUNNING once the
// first update is acknowledged.
func (a *simAgent) runTask(ctx context.Context, fw, user string, exec *mesos.ExecutorID, ti mesos.TaskInfo) {
	k := taskKey{fw, ti.TaskID.Value}
	if _, ok := a.tasks[k]; ok {
		a.pool.duplicates.Add(1)
		a.pool.log.Warn("RUN_TASK for a task the agent already has", "hostname", a.hostname, "task", ti.TaskID.Value)
		return
	}
	a.pool.launched.Add(1)
	t := &simTask{name: ti.Name, id: ti.TaskID, executor: exec, resources: ti.Resources, user: user, state: mesos.TaskRunning}
	a.tasks[k] = t
	a.push(ctx, k, t, mesos.TaskStarting, "", "")
	a.push(ctx, k, t, mesos.TaskRunning, "", "")
}

// kill ends a task that is not terminal yet.
func (a *simAgent) kill(ctx context.Context, k taskKey, t *simTask, state mesos.TaskState, reason, msg string) {
	if t.state.IsTerminal() {
		return
	}
	a.pool.killed.Add(1)
	t.state = state
	a.push(ctx, k, t, state, reason, msg)
}

// push queues a status update for t; it is sent now if nothing else of
// t's is waiting for an acknowledgement.
func (a *simAgent) push(ctx context.Context, k taskKey, t *simTask, state mesos.TaskState, reason, msg string) {
	uuid := make([]byte, 16)
	_, _ = rand.Read(uuid)
	aid := mesos.AgentID{Value: a.id}
	st := mesos.TaskStatus{TaskID: t.id, State: state, Source: mesos.SourceExecutor, Reason: reason, Message: msg,
		AgentID: &aid, ExecutorID: t.executor, UUID: uuid, Timestamp: float64(time.Now().UnixNano()) / 1e9}
	if reason != "" {
		st.Source = mesos.SourceAgent
	}
	t.updates = append(t.updates, st)
	if len(t.updates) == 1 {
		a.sendUpdate(ctx, k, t)
	}
}

// sendUpdate posts t's first pending update. Called with a.mu held.
func (a *simAgent) sendUpdate(ctx context.Context, k taskKey, t *simTask) {
	if a.conn == nil {
		return
	}
	t.sentAt = time.Now()
	a.pool.updatesSent.Add(1)
	a.call(ctx, mesos.AgentCall{Type: mesos.AgentCallStatusUpdate, StatusUpdate: &mesos.StatusUpdate{
		FrameworkID: mesos.FrameworkID{Value: k.fw}, ExecutorID: t.executor, Status: t.updates[0],
		LatestState: t.state, Timestamp: t.updates[0].Timestamp}})
}

// acknowledge drops an acknowledged update and sends the next one; a
// terminal task whose last update is acknowledged is forgotten.
func (a *simAgent) acknowledge(ctx context.Context, k taskKey, uuid []byte) {
	t := a.tasks[k]
	if t == nil || len(t.updates) == 0 || string(t.updates[0].UUID) != string(uuid) {
		return
	}
	t.updates = t.updates[1:]
	if len(t.updates) > 0 {
		a.sendUpdate(ctx, k, t)
		return
	}
	t.updates = nil
	if !t.state.IsTerminal() {
		return
	}
	delete(a.tasks, k)
	if t.executor == nil {
		return
	}
	ek := taskKey{k.fw, t.executor.Value}
	for tk, o := range a.tasks {
		if tk.fw == k.fw && o.executor != nil && *o.executor == *t.executor {
			return // the executor still has tasks
		}
	}
	if _, ok := a.executors[ek]; ok {
		delete(a.executors, ek)
		a.call(ctx, mesos.AgentCall{Type: mesos.AgentCallExitedExecutor, ExitedExecutor: &mesos.AgentExitedExecutor{
			FrameworkID: mesos.FrameworkID{Value: k.fw}, ExecutorID: *t.executor}})
	}
}

// outCall is a call queued for the pool's workers.
type outCall struct {
	a    *simAgent
	conn *agentConn
	call mesos.AgentCall
}

// call queues a call on the current connection. Called with a.mu held.
func (a *simAgent) call(ctx context.Context, c mesos.AgentCall) {
	if a.conn == nil {
		return
	}
	c.AgentID = &mesos.AgentID{Value: a.id}
	select {
	case a.pool.calls <- outCall{a: a, conn: a.conn, call: c}:
	case <-ctx.Done():
	}
}

// worker posts queued calls until ctx ends.
func (p *Pool) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case oc := <-p.calls:
			if err := p.post(ctx, oc); err != nil && ctx.Err() == nil {
				p.callErrors.Add(1)
				p.log.Debug("call to master failed", "call", oc.call.Type, "hostname", oc.a.hostname, "err", err)
			}
		}
	}
}

func (p *Pool) post(ctx context.Context, oc outCall) error {
	body, err := json.Marshal(oc.call)
	if err != nil {
		return fmt.Errorf("encode %s: %w", oc.call.Type, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+oc.conn.host+"/api/v1/agent", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Mesos-Stream-Id", oc.conn.streamID)
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK:
		return nil
	case http.StatusForbidden:
		// The master does not know this stream: end it and re-register.
		oc.conn.nc.Close()
	}
	return fmt.Errorf("%s %s: %s: %s", oc.call.Type, oc.conn.host, resp.Status, strings.TrimSpace(string(msg)))
}

// retryUpdates resends status updates that were not acknowledged within
// UpdateRetryInterval.
func (p *Pool) retryUpdates(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for _, a := range p.agents {
				a.mu.Lock()
				if a.conn != nil {
					for k, t := range a.tasks {
						if len(t.updates) > 0 && now.Sub(t.sentAt) >= p.cfg.UpdateRetryInterval {
							a.sendUpdate(ctx, k, t)
						}
					}
				}
				a.mu.Unlock()
			}
		}
	}
}

// eventReader reads RecordIO-framed AgentEvents with a small buffer.
type eventReader struct{ br *bufio.Reader }

func newEventReader(r io.Reader) *eventReader { return &eventReader{br: bufio.NewReaderSize(r, 512)} }

func (r *eventReader) next() (mesos.AgentEvent, error) {
	var ev mesos.AgentEvent
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return ev, errors.New("recordio: record-size too long")
		}
		return ev, err
	}
	n, err := strconv.Atoi(string(line[:len(line)-1]))
	if err != nil || n < 0 || n > maxEventSize {
		return ev, fmt.Errorf("recordio: bad record-size %q", line)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		return ev, fmt.Errorf("recordio: reading %d-byte record: %w", n, err)
	}
	if err := json.Unmarshal(buf, &ev); err != nil {
		return ev, fmt.Errorf("decoding event: %w", err)
	}
	return ev, nil
}

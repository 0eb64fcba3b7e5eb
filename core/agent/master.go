package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/mesos/recordio"
)

// RefusedError is returned by Run when the master refuses the agent: an
// ERROR event on the registration stream or a 4xx answer to REGISTER (for
// example, the agent was marked gone). Retrying would not help.
type RefusedError struct {
	Status  int // HTTP status; 0 for an ERROR event
	Message string
}

func (e *RefusedError) Error() string {
	if e.Status == 0 {
		return "agent: master refused the agent: " + e.Message
	}
	return fmt.Sprintf("agent: master refused the agent (%d): %s", e.Status, e.Message)
}

// redirectError: the master answered 307 with the leader's address.
type redirectError struct{ host string }

func (e *redirectError) Error() string { return "redirected to " + e.host }

const (
	// pingTimeouts is how many ping intervals without an event end the
	// connection (Mesos' max_agent_ping_timeouts).
	pingTimeouts = 5
	// defaultPingInterval applies when REGISTERED carries none, and bounds
	// the wait for REGISTERED itself.
	defaultPingInterval = 15 * time.Second
	maxRedirects        = 10
)

// masterConn is one registration: the event stream from the master and
// the queue of calls to it.
type masterConn struct {
	host     string
	streamID string
	agentID  string
	calls    *queue[mesos.AgentCall]
	sending  atomic.Int32
	cancel   context.CancelFunc
}

// send queues a call (at-most-once, in order).
func (c *masterConn) send(call mesos.AgentCall) {
	call.AgentID = &mesos.AgentID{Value: c.agentID}
	c.calls.push(call)
}

// drain waits up to timeout for the queued calls to be sent.
func (c *masterConn) drain(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && (c.calls.len() > 0 || c.sending.Load() > 0) {
		time.Sleep(10 * time.Millisecond)
	}
}

// runMaster (re-)registers with backoff until ctx ends or the master
// refuses the agent. As a Mesos agent does, it starts the backoff over
// (first wait random in [0, factor]) when a new leading master is
// detected, and a 503 with Retry-After (a master just elected and still
// recovering) is retried after that delay instead of doubling the bound.
func (a *Agent) runMaster(ctx context.Context) error {
	randN := a.cfg.randN
	if randN == nil {
		randN = rand.Int64N
	}
	bo := regBackoff{factor: a.cfg.RegistrationBackoffFactor}
	changed := a.masterChanged()
	host := a.masterAddr(ctx)
	redirects := 0
	var retryAfter time.Duration
	for {
		if redirects == 0 {
			wait := retryAfter
			if wait > 0 {
				// Spread the agents a little: they all heard the same delay.
				wait += time.Duration(randN(int64(wait)/4 + 1))
				retryAfter = 0
			} else {
				wait = bo.next(randN)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-changed:
				t.Stop()
				bo.reset()
				changed = a.masterChanged()
				host = a.masterAddr(ctx)
				a.log.Info("new leading master detected; registering with it", "master", host)
				continue
			case <-t.C:
			}
		}
		registered, err := a.connect(ctx, host)
		if ctx.Err() != nil {
			return nil
		}
		var redirect *redirectError
		var refused *RefusedError
		var later *retryLaterError
		switch {
		case errors.As(err, &redirect):
			a.log.Info("master redirected the agent", "from", host, "to", redirect.host)
			host = redirect.host
			if redirects++; redirects > maxRedirects {
				redirects = 0
			}
			continue
		case errors.As(err, &refused):
			a.log.Error("master refused the agent", "master", host, "err", refused)
			return refused
		case errors.As(err, &later):
			retryAfter = later.after
		}
		redirects = 0
		if registered {
			bo.reset()
		}
		select {
		case <-changed:
			// A new leader was detected while this attempt ran (against
			// the old one): start over rather than from a doubled bound.
			bo.reset()
			retryAfter = 0
		default:
		}
		// Ask again who leads: the master we talked to may be gone.
		changed = a.masterChanged()
		host = a.masterAddr(ctx)
		a.log.Warn("master connection ended; re-registering", "master", host, "err", err)
	}
}

// retryLaterError: the master answered 503 with Retry-After (no leader
// elected yet, or it is recovering).
type retryLaterError struct {
	after time.Duration
	msg   string
}

func (e *retryLaterError) Error() string {
	return fmt.Sprintf("master unavailable, retry after %v: %s", e.after, e.msg)
}

// parseRetryAfter parses a Retry-After header (delay-seconds or an HTTP date),
// capped at registrationRetryMax; ok is false if there is none.
func parseRetryAfter(h string, now time.Time) (d time.Duration, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		d = time.Duration(min(secs, int64(registrationRetryMax/time.Second))) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, registrationRetryMax), true
}

// masterChanged returns a channel closed when a new leading master is
// detected, or nil (never ready) without Config.MasterChanged.
func (a *Agent) masterChanged() <-chan struct{} {
	if a.cfg.MasterChanged == nil {
		return nil
	}
	return a.cfg.MasterChanged()
}

// connect registers once and serves the connection until it breaks. It
// reports whether registration succeeded.
func (a *Agent) connect(ctx context.Context, host string) (registered bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	a.mu.Lock()
	call := a.registerCall()
	a.mu.Unlock()
	body, err := json.Marshal(call)
	if err != nil {
		return false, fmt.Errorf("encode REGISTER: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+host+"/api/v1/agent", bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("REGISTER: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := a.stream.Do(req)
	if err != nil {
		return false, fmt.Errorf("REGISTER to %s: %w", host, err)
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect ||
		code == http.StatusFound || code == http.StatusMovedPermanently:
		leader, err := redirectHost(resp.Header.Get("Location"))
		if err != nil {
			return false, fmt.Errorf("REGISTER to %s: %d with bad Location: %w", host, code, err)
		}
		return false, &redirectError{host: leader}
	case code >= 400 && code < 500 && code != http.StatusNotFound &&
		code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return false, &RefusedError{Status: code, Message: strings.TrimSpace(string(msg))}
	case code == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return false, &retryLaterError{after: d, msg: fmt.Sprintf("REGISTER to %s: %s: %s", host, resp.Status, strings.TrimSpace(string(msg)))}
		}
		return false, fmt.Errorf("REGISTER to %s: %s: %s", host, resp.Status, strings.TrimSpace(string(msg)))
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return false, fmt.Errorf("REGISTER to %s: %s: %s", host, resp.Status, strings.TrimSpace(string(msg)))
	}

	// Watchdog: no event for pingTimeouts ping intervals ends the connection.
	watchdog := time.AfterFunc(pingTimeouts*defaultPingInterval, cancel)
	defer watchdog.Stop()
	rd := recordio.NewReader(resp.Body)
	ev, err := readAgentEvent(rd)
	if err != nil {
		return false, fmt.Errorf("reading REGISTERED from %s: %w", host, err)
	}
	if ev.Type == mesos.AgentEventError && ev.Error != nil {
		return false, &RefusedError{Message: ev.Error.Message}
	}
	if ev.Type != mesos.AgentEventRegistered || ev.Registered == nil {
		return false, fmt.Errorf("first event from %s is %s, not REGISTERED", host, ev.Type)
	}
	silence := deadAfter(ev.Registered)
	conn := &masterConn{
		host:     host,
		streamID: resp.Header.Get("Mesos-Stream-Id"),
		agentID:  ev.Registered.AgentID.Value,
		calls:    newQueue[mesos.AgentCall](),
		cancel:   cancel,
	}
	if err := a.registered(conn, ev); err != nil {
		return false, err
	}
	defer a.disconnected(conn)
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		a.sendCalls(ctx, conn)
	}()
	defer func() { cancel(); <-senderDone }()

	for {
		watchdog.Reset(silence)
		ev, err := readAgentEvent(rd)
		if err != nil {
			return true, fmt.Errorf("event stream from %s: %w", host, err)
		}
		if ev.Type == mesos.AgentEventError {
			msg := ""
			if ev.Error != nil {
				msg = ev.Error.Message
			}
			return true, &RefusedError{Message: msg}
		}
		a.handleEvent(conn, ev)
	}
}

// deadAfter is how long a silent connection to the master is trusted: the
// master's total ping timeout when it says, else pingTimeouts ping
// intervals (or default intervals).
func deadAfter(r *mesos.AgentRegistered) time.Duration {
	if s := r.TotalPingTimeoutSeconds; s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	interval := defaultPingInterval
	if s := r.PingIntervalSeconds; s > 0 {
		interval = time.Duration(s * float64(time.Second))
	}
	return pingTimeouts * interval
}

func readAgentEvent(rd *recordio.Reader) (mesos.AgentEvent, error) {
	var ev mesos.AgentEvent
	rec, err := rd.ReadRecord()
	if err != nil {
		return ev, err
	}
	if err := json.Unmarshal(rec, &ev); err != nil {
		return ev, fmt.Errorf("decoding event: %w", err)
	}
	return ev, nil
}

// redirectHost extracts host:port from a Location such as "//host:port" or
// "http://host:port/...".
func redirectHost(loc string) (string, error) {
	if loc == "" {
		return "", errors.New("empty Location")
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	if u.Host == "" {
		return "", fmt.Errorf("location %q has no host", loc)
	}
	return u.Host, nil
}

// maxParallelUpdates bounds the STATUS_UPDATE calls in flight at once.
const maxParallelUpdates = 16

// sendCalls POSTs queued calls until ctx ends. Calls go out in order,
// except that STATUS_UPDATE calls are posted concurrently, as they come,
// up to maxParallelUpdates at a time: they belong to different tasks (a
// stream has one update in flight, and the next is queued only after the
// master acknowledged it), so their relative order does not matter, and
// with one call at a time a burst of launches waited for thousands of round
// trips in a row. Any other call waits for every call before it, and the
// calls after it wait for it.
func (a *Agent) sendCalls(ctx context.Context, conn *masterConn) {
	slots := make(chan struct{}, maxParallelUpdates)
	var inFlight sync.WaitGroup
	defer inFlight.Wait()
	post := func(call mesos.AgentCall) {
		if err := a.postCall(ctx, conn, call); err != nil && ctx.Err() == nil {
			a.log.Warn("call to master failed", "call", call.Type, "err", err)
		}
	}
	for {
		calls, ok := conn.calls.popAll(ctx)
		if !ok {
			return
		}
		conn.sending.Add(1)
		for _, call := range calls {
			if call.Type != mesos.AgentCallStatusUpdate {
				inFlight.Wait()
				post(call)
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				conn.sending.Add(-1)
				return
			}
			conn.sending.Add(1)
			inFlight.Go(func() {
				defer func() { <-slots; conn.sending.Add(-1) }()
				post(call)
			})
		}
		conn.sending.Add(-1)
	}
}

// errUnknownStream: the master answered 403 (the stream is not its current
// one for this agent): re-register.
var errUnknownStream = errors.New("master does not know the agent's stream")

func (a *Agent) postCall(ctx context.Context, conn *masterConn, call mesos.AgentCall) error {
	body, err := json.Marshal(call)
	if err != nil {
		return fmt.Errorf("encode %s: %w", call.Type, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+conn.host+"/api/v1/agent", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Mesos-Stream-Id", conn.streamID)
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK:
		return nil
	case http.StatusForbidden:
		conn.cancel()
		return fmt.Errorf("%w: %s", errUnknownStream, strings.TrimSpace(string(msg)))
	}
	return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
}

// registerCall builds REGISTER with everything the agent knows. Called
// with a.mu held.
func (a *Agent) registerCall() mesos.AgentCall {
	reg := &mesos.AgentRegister{
		AgentInfo: a.agentInfo(),
		Version:   a.cfg.Version,
	}
	for _, fw := range a.frameworks {
		info := fw.info
		info.ID = &mesos.FrameworkID{Value: fw.id}
		reg.Frameworks = append(reg.Frameworks, info)
		for _, ex := range fw.executors {
			if ex.kind != kindCommand {
				ei := ex.info
				ei.FrameworkID = &mesos.FrameworkID{Value: fw.id}
				reg.Executors = append(reg.Executors, ei)
			}
			for _, t := range ex.tasks {
				reg.Tasks = append(reg.Tasks, t.mesosTask(a.id))
			}
			for _, t := range ex.queued {
				reg.Tasks = append(reg.Tasks, t.mesosTask(a.id))
			}
		}
	}
	call := mesos.AgentCall{Type: mesos.AgentCallRegister, Register: reg}
	if a.id != "" {
		call.AgentID = &mesos.AgentID{Value: a.id}
	}
	return call
}

// agentInfo is the AgentInfo the agent registers with. Called with a.mu held.
func (a *Agent) agentInfo() mesos.AgentInfo {
	info := mesos.AgentInfo{
		Hostname:   a.cfg.Hostname,
		Port:       int32(a.cfg.Port),
		Resources:  a.total,
		Attributes: a.cfg.Attributes,
	}
	if a.id != "" {
		info.ID = &mesos.AgentID{Value: a.id}
	}
	return info
}

// registered installs a new connection after REGISTERED: it adopts (and
// checkpoints) the agent ID and resends the front of every update stream.
func (a *Agent) registered(conn *masterConn, ev mesos.AgentEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := ev.Registered.AgentID.Value
	switch {
	case id == "":
		return errors.New("REGISTERED without an agent ID")
	case a.id == "":
		a.id = id
		if err := a.checkpointAgent(); err != nil {
			a.id = ""
			return err
		}
		a.counters.registrations++
		a.log.Info("registered with master", "agent_id", id, "master", conn.host)
	case a.id != id:
		return &RefusedError{Message: fmt.Sprintf("master assigned agent ID %s but this agent has checkpointed ID %s; "+
			"restart the agent with a clean work dir or --recover=cleanup", id, a.id)}
	default:
		a.counters.reregistrations++
		a.log.Info("re-registered with master", "agent_id", id, "master", conn.host)
	}
	mi := ev.Registered.MasterInfo
	a.masterInfo = &mi
	a.conn = conn
	a.resumeUpdates(time.Now())
	return nil
}

// disconnected forgets conn; update streams pause until re-registration.
func (a *Agent) disconnected(conn *masterConn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	conn.calls.close()
	if a.conn != conn {
		return
	}
	a.conn = nil
	for _, t := range a.tasks {
		t.stream.pause()
	}
	for _, o := range a.orphans {
		o.stream.pause()
	}
}

// checkpointAgent writes slave.info and the latest symlinks for a new ID.
func (a *Agent) checkpointAgent() error {
	if err := writeJSONAtomic(a.paths.slaveInfo(a.id), a.agentInfo()); err != nil {
		return err
	}
	if err := setLatest(a.paths.metaSlaves(), a.id); err != nil {
		return err
	}
	if err := os.MkdirAll(a.paths.agentDir(a.id), 0o755); err != nil {
		return fmt.Errorf("agent dir: %w", err)
	}
	return setLatest(a.paths.sandboxRoot(), a.id)
}

// masterAddr returns the master to register with: the leader found by
// Config.DetectMaster (zk://), else Config.Master.
func (a *Agent) masterAddr(ctx context.Context) string {
	if a.cfg.DetectMaster == nil {
		return a.cfg.Master
	}
	for {
		addr, err := a.cfg.DetectMaster(ctx)
		if err == nil && addr != "" {
			return addr
		}
		a.log.Warn("no leading master found; retrying", "master", a.cfg.Master, "err", err)
		select {
		case <-ctx.Done():
			return a.cfg.Master
		case <-time.After(time.Second):
		}
	}
}

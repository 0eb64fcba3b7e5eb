package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/mesos/recordio"
)

// ErrDisconnected is wrapped by Run's error when the connection to the agent
// is lost and the framework does not checkpoint: such an executor must exit.
var ErrDisconnected = errors.New("executor: disconnected from the agent")

// ErrRecoveryTimeout is wrapped by Run's error when a checkpointing
// executor could not re-subscribe within the recovery timeout.
var ErrRecoveryTimeout = errors.New("executor: agent not back within the recovery timeout")

// ErrNotConnected is wrapped by the error of Update and SendMessage while
// there is no subscription. An update is kept all the same and resent in
// the next SUBSCRIBE; a message is lost.
var ErrNotConnected = errors.New("executor: not subscribed to the agent")

// ErrAlreadyRunning is returned by Run when another Run has not returned.
var ErrAlreadyRunning = errors.New("executor: Run already in progress")

// APIError is an agent reply with an unexpected HTTP status.
type APIError struct {
	Call       string
	StatusCode int
	Body       string
}

func (e *APIError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("executor: %s: agent replied %d", e.Call, e.StatusCode)
	}
	return fmt.Sprintf("executor: %s: agent replied %d: %s", e.Call, e.StatusCode, e.Body)
}

// Executor is an executor client. Its methods are safe for concurrent use.
type Executor struct {
	cfg      Config
	log      *slog.Logger
	endpoint *url.URL
	stream   *http.Client
	calls    *http.Client
	running  atomic.Bool

	mu             sync.Mutex
	connected      bool
	unackedTasks   []mesos.TaskInfo   // launched, no acknowledged update yet
	unackedUpdates []mesos.TaskStatus // sent (or queued), not acknowledged
}

// New validates cfg, fills its defaults and returns an Executor.
func New(cfg Config) (*Executor, error) {
	cfg, ep, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	stream, calls := *cfg.HTTPClient, *cfg.HTTPClient
	stream.Timeout = 0
	return &Executor{
		cfg:      cfg,
		log:      cfg.Logger.With("executor_id", cfg.ExecutorID, "framework_id", cfg.FrameworkID),
		endpoint: ep,
		stream:   &stream,
		calls:    &calls,
	}, nil
}

// Config returns the configuration with defaults filled in.
func (e *Executor) Config() Config { return e.cfg }

// Run subscribes to the agent and delivers events to the Handler until
// ctx ends (ctx's error), SHUTDOWN is handled (nil), or the connection is
// lost: then, without checkpointing, Run returns an error wrapping
// ErrDisconnected; with checkpointing it re-subscribes with backoff (capped
// at SubscriptionBackoffMax), resending unacknowledged tasks and updates,
// and returns an error wrapping ErrRecoveryTimeout if the agent is not back
// within RecoveryTimeout. A 4xx answer to SUBSCRIBE is returned as an
// *APIError.
func (e *Executor) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer e.running.Store(false)
	var lost time.Time // when the agent was last seen
	failures := 0
	for {
		subscribed, shutdown, err := e.subscribe(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case shutdown:
			return nil
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 {
			return err
		}
		if !e.cfg.Checkpoint {
			return fmt.Errorf("%w: %w", ErrDisconnected, err)
		}
		now := time.Now()
		if subscribed || lost.IsZero() {
			lost, failures = now, 0
		}
		if now.Sub(lost) >= e.cfg.RecoveryTimeout {
			return fmt.Errorf("%w (%s): %w", ErrRecoveryTimeout, e.cfg.RecoveryTimeout, err)
		}
		d := backoff(failures, minBackoff, e.cfg.SubscriptionBackoffMax)
		d = min(d, e.cfg.RecoveryTimeout-now.Sub(lost))
		failures++
		e.log.Warn("connection to the agent lost; re-subscribing", "err", err, "retry_in", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (e *Executor) subscribeCall() *mesos.ExecutorCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	call := e.call(mesos.ExecCallSubscribe)
	call.Subscribe = &struct {
		UnacknowledgedTasks   []mesos.TaskInfo `json:"unacknowledged_tasks,omitempty"`
		UnacknowledgedUpdates []struct {
			FrameworkID mesos.FrameworkID `json:"framework_id"`
			Status      mesos.TaskStatus  `json:"status"`
		} `json:"unacknowledged_updates,omitempty"`
	}{UnacknowledgedTasks: slices.Clone(e.unackedTasks)}
	for _, st := range e.unackedUpdates {
		call.Subscribe.UnacknowledgedUpdates = append(call.Subscribe.UnacknowledgedUpdates, struct {
			FrameworkID mesos.FrameworkID `json:"framework_id"`
			Status      mesos.TaskStatus  `json:"status"`
		}{FrameworkID: mesos.FrameworkID{Value: e.cfg.FrameworkID}, Status: st})
	}
	return call
}

func (e *Executor) call(typ string) *mesos.ExecutorCall {
	return &mesos.ExecutorCall{
		Type:        typ,
		ExecutorID:  mesos.ExecutorID{Value: e.cfg.ExecutorID},
		FrameworkID: mesos.FrameworkID{Value: e.cfg.FrameworkID},
	}
}

// subscribe makes one SUBSCRIBE and reads the stream until it ends.
func (e *Executor) subscribe(ctx context.Context) (subscribed, shutdown bool, err error) {
	body, err := json.Marshal(e.subscribeCall())
	if err != nil {
		return false, false, fmt.Errorf("executor: encoding SUBSCRIBE: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return false, false, fmt.Errorf("executor: SUBSCRIBE request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := e.stream.Do(req)
	if err != nil {
		return false, false, fmt.Errorf("executor: SUBSCRIBE to %s: %w", e.endpoint.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, false, apiError(mesos.ExecCallSubscribe, resp)
	}
	defer func() {
		e.mu.Lock()
		e.connected = false
		e.mu.Unlock()
	}()
	rd := recordio.NewReader(resp.Body)
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			if err == io.EOF {
				err = errors.New("agent closed the stream")
			}
			return subscribed, false, fmt.Errorf("executor: stream from %s: %w", e.endpoint.Host, err)
		}
		var ev mesos.ExecutorEvent
		if err := json.Unmarshal(rec, &ev); err != nil {
			e.log.Warn("dropping undecodable event", "err", err)
			continue
		}
		if ev.Type == mesos.ExecEventSubscribed {
			subscribed = true
			e.mu.Lock()
			e.connected = true
			e.mu.Unlock()
		}
		if e.dispatch(ctx, &ev) {
			return subscribed, true, nil
		}
	}
}

// dispatch hands one event to the Handler and reports SHUTDOWN.
func (e *Executor) dispatch(ctx context.Context, ev *mesos.ExecutorEvent) (shutdown bool) {
	h := e.cfg.Handler
	switch ev.Type {
	case mesos.ExecEventSubscribed:
		var s Subscription
		if ev.Subscribed != nil {
			s = Subscription{ExecutorInfo: ev.Subscribed.ExecutorInfo, FrameworkInfo: ev.Subscribed.FrameworkInfo,
				AgentInfo: ev.Subscribed.AgentInfo, ContainerID: ev.Subscribed.ContainerID}
		}
		e.log.Info("subscribed to the agent", "agent", s.AgentInfo.Hostname)
		h.Subscribed(ctx, e, s)
	case mesos.ExecEventLaunch:
		if ev.Launch != nil {
			e.addUnackedTasks(ev.Launch.Task)
			h.Launch(ctx, e, ev.Launch.Task)
		}
	case mesos.ExecEventLaunchGroup:
		if ev.LaunchGroup != nil {
			e.addUnackedTasks(ev.LaunchGroup.TaskGroup.Tasks...)
			h.LaunchGroup(ctx, e, ev.LaunchGroup.TaskGroup)
		}
	case mesos.ExecEventKill:
		if ev.Kill != nil {
			h.Kill(ctx, e, ev.Kill.TaskID, ev.Kill.KillPolicy)
		}
	case mesos.ExecEventAcknowledged:
		if ev.Acknowledged != nil {
			e.acknowledged(ev.Acknowledged.TaskID, ev.Acknowledged.UUID)
			h.Acknowledged(ctx, e, ev.Acknowledged.TaskID, ev.Acknowledged.UUID)
		}
	case mesos.ExecEventMessage:
		if ev.Message != nil {
			h.Message(ctx, e, ev.Message.Data)
		}
	case mesos.ExecEventError:
		msg := ""
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		e.log.Error("agent sent ERROR", "message", msg)
		h.Error(ctx, e, msg)
	case mesos.ExecEventShutdown:
		e.log.Info("agent asked the executor to shut down")
		h.Shutdown(ctx, e)
		return true
	case mesos.ExecEventHeartbeat:
	default:
		e.log.Debug("ignoring event", "type", ev.Type)
	}
	return false
}

func (e *Executor) addUnackedTasks(tasks ...mesos.TaskInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unackedTasks = append(e.unackedTasks, tasks...)
}

func (e *Executor) acknowledged(taskID mesos.TaskID, uuid []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unackedUpdates = slices.DeleteFunc(e.unackedUpdates, func(st mesos.TaskStatus) bool {
		return bytes.Equal(st.UUID, uuid)
	})
	e.unackedTasks = slices.DeleteFunc(e.unackedTasks, func(t mesos.TaskInfo) bool { return t.TaskID == taskID })
}

// Update sends a task status update. It sets status.uuid (a new one),
// timestamp (now), source (SOURCE_EXECUTOR) and executor_id, keeps the
// update until the agent acknowledges it and resends it in every SUBSCRIBE
// until then. It returns the status as sent. While not subscribed the
// error wraps ErrNotConnected but the update is kept.
func (e *Executor) Update(ctx context.Context, status mesos.TaskStatus) (mesos.TaskStatus, error) {
	status.UUID = mesos.NewUUID()
	status.Timestamp = float64(time.Now().UnixNano()) / 1e9
	status.Source = mesos.SourceExecutor
	status.ExecutorID = &mesos.ExecutorID{Value: e.cfg.ExecutorID}
	e.mu.Lock()
	e.unackedUpdates = append(e.unackedUpdates, status)
	connected := e.connected
	e.mu.Unlock()
	if !connected {
		return status, fmt.Errorf("executor: UPDATE of task %s (kept for resending): %w", status.TaskID.Value, ErrNotConnected)
	}
	call := e.call(mesos.ExecCallUpdate)
	call.Update = &struct {
		Status mesos.TaskStatus `json:"status"`
	}{Status: status}
	return status, e.send(ctx, call)
}

// SendMessage sends a framework message to the scheduler (at most once).
func (e *Executor) SendMessage(ctx context.Context, data []byte) error {
	e.mu.Lock()
	connected := e.connected
	e.mu.Unlock()
	if !connected {
		return fmt.Errorf("executor: MESSAGE: %w", ErrNotConnected)
	}
	call := e.call(mesos.ExecCallMessage)
	call.Message = &struct {
		Data []byte `json:"data"`
	}{Data: data}
	return e.send(ctx, call)
}

func (e *Executor) send(ctx context.Context, call *mesos.ExecutorCall) error {
	body, err := json.Marshal(call)
	if err != nil {
		return fmt.Errorf("executor: encoding %s: %w", call.Type, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("executor: %s: %w", call.Type, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := e.calls.Do(req)
	if err != nil {
		return fmt.Errorf("executor: %s: %w", call.Type, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return apiError(call.Type, resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

func apiError(call string, resp *http.Response) *APIError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return &APIError{Call: call, StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(b))}
}

// backoff: lo doubling per failure, capped at hi, jittered into [d/2, d].
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := hi
	if n < 32 {
		if x := lo << n; x > 0 && x < hi {
			d = x
		}
	}
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

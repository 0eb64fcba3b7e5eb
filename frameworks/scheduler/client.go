package scheduler

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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/mesos/recordio"
)

// maxRedirects bounds how many 307s in a row are followed without backing
// off (mesos-go follows up to 9).
const maxRedirects = 9

// errTornDown is the cause Teardown cancels Run's context with.
var errTornDown = errors.New("scheduler: framework torn down")

// errHeartbeatLost is the cause the watchdog cancels a stream with.
var errHeartbeatLost = errors.New("no event within the heartbeat timeout")

// Client is a scheduler client for one framework. Its methods are safe for
// concurrent use; Run may run once at a time.
type Client struct {
	cfg     Config
	log     *slog.Logger
	masters []*url.URL
	stream  *http.Client // no timeout, no redirects
	calls   *http.Client // no redirects
	running atomic.Bool

	mu          sync.Mutex
	framework   mesos.FrameworkInfo // without ID; UpdateFramework changes it
	frameworkID string
	subscribed  bool
	streamID    string
	endpoint    *url.URL // the master holding the current subscription
	suppressed  map[string]bool
	reconciler  *Reconciler
	stopRun     context.CancelCauseFunc
	tearingDown bool

	// acks sends AutoAck acknowledgements; set by Run, used by its loop.
	acks *acker
}

// New validates cfg, fills its defaults and returns a Client. Nothing is
// sent before Run.
func New(cfg Config) (*Client, error) {
	cfg, masters, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	stream, calls := *cfg.HTTPClient, *cfg.HTTPClient
	stream.Timeout, stream.CheckRedirect = 0, noRedirect
	calls.CheckRedirect = noRedirect
	c := &Client{
		cfg:        cfg,
		log:        cfg.Logger.With("framework", cfg.Framework.Name),
		masters:    masters,
		stream:     &stream,
		calls:      &calls,
		framework:  cfg.Framework,
		suppressed: map[string]bool{},
	}
	if cfg.Framework.ID != nil {
		c.frameworkID = cfg.Framework.ID.Value
	}
	c.framework.ID = nil
	return c, nil
}

// FrameworkID returns the framework ID: the one the master assigned, the
// one loaded from the FrameworkIDStore or Config.Framework.ID, or "".
func (c *Client) FrameworkID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frameworkID
}

// Run subscribes and delivers events to the Handler until ctx ends, the
// framework is torn down with Teardown, or the master refuses the
// framework. It re-subscribes (as a failover, with the framework ID) after
// a lost stream or missed heartbeats, follows 307 redirects to the leading
// master, and backs off exponentially with jitter up to MaxBackoff on
// connection errors, 503 and other 5xx replies.
//
// Run returns nil after a successful Teardown, ctx's error when ctx ends,
// an *APIError when the master answers SUBSCRIBE with a 4xx other than a
// redirect, an error wrapping ErrFrameworkRemoved when an ERROR event says
// the framework was removed, or the FrameworkIDStore's error. Every
// goroutine Run starts has exited when it returns.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer c.running.Store(false)
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	c.mu.Lock()
	c.stopRun, c.tearingDown = stop, false
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.stopRun = nil
		c.mu.Unlock()
	}()

	if err := c.loadFrameworkID(runCtx); err != nil {
		return err
	}
	if c.cfg.AutoAck {
		c.acks = c.startAcker(runCtx)
		defer func() {
			stop(nil)
			c.acks.stop()
			c.acks = nil
		}()
	}
	err := c.loop(runCtx)
	c.mu.Lock()
	tornDown := c.tearingDown
	c.mu.Unlock()
	if errors.Is(context.Cause(runCtx), errTornDown) || (tornDown && errors.Is(err, ErrFrameworkRemoved)) {
		return nil
	}
	return err
}

func (c *Client) loadFrameworkID(ctx context.Context) error {
	if c.cfg.FrameworkIDStore == nil {
		return nil
	}
	id, err := c.cfg.FrameworkIDStore.Load(ctx)
	if err != nil {
		return fmt.Errorf("scheduler: loading framework ID: %w", err)
	}
	if id != "" {
		c.mu.Lock()
		c.frameworkID = id
		c.mu.Unlock()
	}
	return nil
}

// attempt is the outcome of one SUBSCRIBE.
type attempt struct {
	subscribed bool     // a SUBSCRIBED arrived on this stream
	redirect   *url.URL // the master answered 307
	err        error    // why the attempt or the stream ended
	fatal      error    // Run must stop with this error
}

// loop subscribes again and again until ctx ends or an attempt is fatal.
func (c *Client) loop(ctx context.Context) error {
	idx, failures, redirects := 0, 0, 0
	var leader *url.URL // redirect target or last master that served us
	for {
		var ep *url.URL
		switch {
		case leader != nil:
			ep = leader
		case len(c.masters) == 0:
			// zk:// master: ask ZooKeeper who leads now.
			var err error
			if ep, err = c.detectLeader(ctx); err != nil {
				d := backoff(failures, c.cfg.MinBackoff, c.cfg.MaxBackoff)
				failures++
				c.log.Warn("no leading master found in ZooKeeper; retrying", "zk", c.cfg.Master, "err", err, "retry_in", d)
				if err := sleep(ctx, d); err != nil {
					return context.Cause(ctx)
				}
				continue
			}
		default:
			ep = c.masters[idx]
		}
		a := c.subscribe(ctx, ep)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if a.fatal != nil {
			return a.fatal
		}
		if a.redirect != nil && redirects < maxRedirects {
			c.log.Info("following redirect to the leading master", "from", ep.Host, "to", a.redirect.Host)
			leader = a.redirect
			redirects++
			continue
		}
		redirects = 0
		switch {
		case a.subscribed:
			failures = 0 // try the same master first after a lost stream
			leader = ep
		case a.redirect != nil:
			leader = nil
		case leader != nil:
			leader = nil
		case len(c.masters) > 0:
			idx = (idx + 1) % len(c.masters)
		}
		d := backoff(failures, c.cfg.MinBackoff, c.cfg.MaxBackoff)
		failures++
		c.log.Warn("subscription ended; re-subscribing", "master", ep.Host, "err", a.err, "retry_in", d)
		if err := sleep(ctx, d); err != nil {
			return context.Cause(ctx)
		}
	}
}

// subscribeCall builds SUBSCRIBE: a failover when the framework ID is known.
func (c *Client) subscribeCall() *mesos.Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := c.framework
	call := &mesos.Call{Type: mesos.CallSubscribe, Subscribe: &mesos.CallSubscribeBody{FrameworkInfo: &info}}
	if c.frameworkID != "" {
		info.ID = &mesos.FrameworkID{Value: c.frameworkID}
		call.FrameworkID = &mesos.FrameworkID{Value: c.frameworkID}
	}
	for _, r := range info.EffectiveRoles() {
		if c.suppressed[r] {
			call.Subscribe.SuppressedRoles = append(call.Subscribe.SuppressedRoles, r)
		}
	}
	return call
}

// subscribe makes one SUBSCRIBE to ep and, on 200, reads the stream until
// it ends. Every goroutine it starts has exited when it returns.
func (c *Client) subscribe(ctx context.Context, ep *url.URL) (a attempt) {
	body, err := json.Marshal(c.subscribeCall())
	if err != nil {
		return attempt{fatal: fmt.Errorf("scheduler: encoding SUBSCRIBE: %w", err)}
	}
	streamCtx, cancelStream := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancelStream(nil)
		wg.Wait()
	}()
	req, err := http.NewRequestWithContext(streamCtx, http.MethodPost, ep.String(), bytes.NewReader(body))
	if err != nil {
		return attempt{fatal: fmt.Errorf("scheduler: SUBSCRIBE request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.stream.Do(req)
	if err != nil {
		return attempt{err: fmt.Errorf("SUBSCRIBE to %s: %w", ep.Host, err)}
	}
	defer resp.Body.Close()

	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect ||
		code == http.StatusFound || code == http.StatusMovedPermanently || code == http.StatusSeeOther:
		loc := resp.Header.Get("Location")
		u, err := parseEndpoint(loc, ep)
		if err != nil {
			return attempt{err: fmt.Errorf("SUBSCRIBE to %s: %d with bad Location %q: %w", ep.Host, code, loc, err)}
		}
		return attempt{redirect: u, err: fmt.Errorf("SUBSCRIBE to %s: redirected to %s", ep.Host, u.Host)}
	case code >= 400 && code < 500:
		return attempt{fatal: apiError(mesos.CallSubscribe, resp)}
	default: // 503 (no leader yet) and other server errors: retry
		return attempt{err: apiError(mesos.CallSubscribe, resp)}
	}
	streamID := resp.Header.Get("Mesos-Stream-Id")
	if streamID == "" {
		return attempt{err: fmt.Errorf("SUBSCRIBE to %s: 200 without a Mesos-Stream-Id header", ep.Host)}
	}

	timeout := time.Duration(c.cfg.HeartbeatMisses) * defaultHeartbeat
	watchdog := time.AfterFunc(timeout, func() { cancelStream(errHeartbeatLost) })
	defer watchdog.Stop()
	defer c.endSubscription(streamID)

	rd := recordio.NewReader(resp.Body)
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			if cause := context.Cause(streamCtx); errors.Is(cause, errHeartbeatLost) {
				err = fmt.Errorf("%w (%d missed heartbeats, %s)", cause, c.cfg.HeartbeatMisses, timeout)
			} else if err == io.EOF {
				err = errors.New("master closed the stream")
			}
			a.err = fmt.Errorf("stream from %s: %w", ep.Host, err)
			c.endSubscription(streamID)
			if h, ok := c.cfg.Handler.(DisconnectHandler); ok && a.subscribed && ctx.Err() == nil {
				h.Disconnected(ctx, c, a.err)
			}
			return a
		}
		watchdog.Stop() // handlers may take their time
		var ev mesos.Event
		if err := json.Unmarshal(rec, &ev); err != nil {
			c.log.Warn("dropping undecodable event", "err", err, "record", truncate(rec, 200))
			watchdog.Reset(timeout)
			continue
		}
		if ev.Type == mesos.EventSubscribed && ev.Subscribed != nil {
			if err := c.beginSubscription(ctx, ep, streamID, ev.Subscribed); err != nil {
				a.fatal = err
				return a
			}
			a.subscribed = true
			if s := ev.Subscribed.HeartbeatIntervalSeconds; s > 0 {
				timeout = time.Duration(float64(c.cfg.HeartbeatMisses) * s * float64(time.Second))
			}
			c.startReconciliation(streamCtx, &wg)
		} else if !a.subscribed && ev.Type != mesos.EventError {
			c.log.Warn("dropping event received before SUBSCRIBED", "type", ev.Type)
			watchdog.Reset(timeout)
			continue
		}
		if err := c.dispatch(ctx, &ev); err != nil {
			a.fatal = err
			return a
		}
		watchdog.Reset(timeout)
	}
}

func (c *Client) beginSubscription(ctx context.Context, ep *url.URL, streamID string, ev *mesos.EventSubscribedBody) error {
	id := ev.FrameworkID.Value
	c.mu.Lock()
	changed := id != c.frameworkID
	c.mu.Unlock()
	if changed && c.cfg.FrameworkIDStore != nil {
		if err := c.cfg.FrameworkIDStore.Save(ctx, id); err != nil {
			return fmt.Errorf("scheduler: saving framework ID %s: %w", id, err)
		}
	}
	c.mu.Lock()
	c.frameworkID, c.subscribed, c.streamID, c.endpoint = id, true, streamID, ep
	c.mu.Unlock()
	c.log.Info("subscribed", "framework_id", id, "master", ep.Host, "failover", !changed,
		"heartbeat_interval_seconds", ev.HeartbeatIntervalSeconds)
	return nil
}

func (c *Client) endSubscription(streamID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streamID == streamID {
		c.subscribed, c.streamID, c.endpoint, c.reconciler = false, "", nil, nil
	}
}

// dispatch hands one event to the Handler; a non-nil error stops Run.
func (c *Client) dispatch(ctx context.Context, ev *mesos.Event) error {
	h := c.cfg.Handler
	switch ev.Type {
	case mesos.EventSubscribed:
		h.Subscribed(ctx, c, ev.Subscribed)
	case mesos.EventOffers:
		if ev.Offers != nil {
			h.Offers(ctx, c, ev.Offers.Offers)
		}
	case mesos.EventRescind:
		if ev.Rescind != nil {
			h.Rescind(ctx, c, ev.Rescind.OfferID)
		}
	case mesos.EventUpdate:
		if ev.Update == nil {
			break
		}
		st := ev.Update.Status
		c.mu.Lock()
		if c.reconciler != nil {
			c.reconciler.Observe(st.TaskID)
		}
		c.mu.Unlock()
		h.Update(ctx, c, st)
		if c.cfg.AutoAck && len(st.UUID) > 0 && c.acks != nil {
			c.acks.ack(ctx, st)
		}
	case mesos.EventMessage:
		if ev.Message != nil {
			h.Message(ctx, c, ev.Message)
		}
	case mesos.EventFailure:
		if ev.Failure != nil {
			h.Failure(ctx, c, ev.Failure)
		}
	case mesos.EventError:
		msg := ""
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		c.log.Error("master sent ERROR", "message", msg)
		h.Error(ctx, c, msg)
		if isRemovedMessage(msg) {
			return fmt.Errorf("%w: %s", ErrFrameworkRemoved, msg)
		}
	case mesos.EventHeartbeat:
		h.Heartbeat(ctx, c)
	case mesos.EventInverseOffers, mesos.EventRescindInverseOffer:
		dispatchInverse(ctx, c, h, ev)
	default:
		c.log.Debug("ignoring event", "type", ev.Type)
	}
	return nil
}

// isRemovedMessage recognises Mesos' "Framework has been removed" and
// similar wordings of the same fact.
func isRemovedMessage(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "framework") && (strings.Contains(m, "removed") || strings.Contains(m, "torn down"))
}

// startReconciliation starts a round if the Handler lists known tasks. The
// goroutine ends with the stream.
func (c *Client) startReconciliation(ctx context.Context, wg *sync.WaitGroup) {
	lister, ok := c.cfg.Handler.(TaskLister)
	if !ok {
		return
	}
	tasks := lister.KnownTasks()
	if len(tasks) == 0 {
		return
	}
	r := NewReconciler(tasks, c.cfg.MinBackoff, c.cfg.MaxBackoff)
	c.mu.Lock()
	c.reconciler = r
	c.mu.Unlock()
	wg.Go(func() { c.reconcile(ctx, r) })
}

func (c *Client) reconcile(ctx context.Context, r *Reconciler) {
	for {
		c.mu.Lock()
		ask, next := r.Due(time.Now())
		attempts := r.Attempts()
		c.mu.Unlock()
		if next.IsZero() {
			c.log.Info("reconciliation done", "calls", attempts)
			return
		}
		if len(ask) > 0 {
			if err := c.Reconcile(ctx, ask); err != nil && ctx.Err() == nil {
				c.log.Warn("RECONCILE failed; will retry", "tasks", len(ask), "err", err)
			}
		}
		if sleep(ctx, time.Until(next)) != nil {
			return
		}
	}
}

func apiError(call string, resp *http.Response) *APIError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return &APIError{Call: call, StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(b))}
}

// backoff returns the delay before retry number n: MinBackoff doubling per
// retry, capped at MaxBackoff, with jitter in [d/2, d].
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

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

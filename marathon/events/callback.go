package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// CallbackStore keeps the registered callback URLs (state.Repo implements
// it). Add and Remove report whether they changed anything.
type CallbackStore interface {
	EventSubscribers(ctx context.Context) ([]string, error)
	AddEventSubscriber(ctx context.Context, url string) (bool, error)
	RemoveEventSubscriber(ctx context.Context, url string) (bool, error)
}

// Doer sends an HTTP request (*http.Client implements it).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Defaults of CallbackConfig.
const (
	// DefaultCallbackTimeout bounds one POST (Marathon's
	// --http_event_request_timeout, 10 s).
	DefaultCallbackTimeout = 10 * time.Second
	// DefaultCallbackAttempts is how often one event is tried.
	DefaultCallbackAttempts = 3
	// DefaultCallbackRetryDelay is the pause before the first retry; it
	// doubles for each further one.
	DefaultCallbackRetryDelay = 500 * time.Millisecond
	// DefaultCallbackMaxPause bounds the pause of a failing subscriber.
	DefaultCallbackMaxPause = time.Minute
)

// CallbackConfig configures Callbacks.
type CallbackConfig struct {
	Bus   *Bus
	Store CallbackStore
	// Client sends the POSTs (default: an http.Client of its own).
	Client Doer
	Logger *slog.Logger
	// Timeout bounds one POST (default DefaultCallbackTimeout).
	Timeout time.Duration
	// Attempts is how often one event is tried (default
	// DefaultCallbackAttempts).
	Attempts int
	// RetryDelay is the pause before the first retry (default
	// DefaultCallbackRetryDelay), doubled for each further retry.
	RetryDelay time.Duration
	// MaxPause bounds the pause after failed events (default
	// DefaultCallbackMaxPause).
	MaxPause time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *CallbackConfig) defaults() error {
	if c.Bus == nil || c.Store == nil {
		return errors.New("events: CallbackConfig needs Bus and Store")
	}
	if c.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 4
		c.Client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultCallbackTimeout
	}
	if c.Attempts <= 0 {
		c.Attempts = DefaultCallbackAttempts
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultCallbackRetryDelay
	}
	if c.MaxPause <= 0 {
		c.MaxPause = DefaultCallbackMaxPause
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// ErrCallbacksNotRunning is returned while Callbacks is not running (this
// instance does not lead, or is still loading).
var ErrCallbacksNotRunning = errors.New("events: callback subscriptions are served by the leader only, and it is not running yet")

// InvalidCallbackURLError says why a callback URL is refused.
type InvalidCallbackURLError struct {
	URL    string
	Reason string
}

func (e *InvalidCallbackURLError) Error() string {
	return fmt.Sprintf("invalid callbackUrl %q: %s", e.URL, e.Reason)
}

// ValidateCallbackURL accepts absolute http and https URLs with a host.
func ValidateCallbackURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return &InvalidCallbackURLError{URL: raw, Reason: "not a URL: " + err.Error()}
	case u.Scheme != "http" && u.Scheme != "https":
		return &InvalidCallbackURLError{URL: raw, Reason: "must be an absolute http:// or https:// URL"}
	case u.Host == "" || u.Hostname() == "":
		return &InvalidCallbackURLError{URL: raw, Reason: "has no host"}
	}
	return nil
}

// CallbackStats are counters for metrics and tests.
type CallbackStats struct {
	// Delivered events (2xx answers); Failed POST attempts; Skipped events
	// not sent because their subscriber was paused; Overflows: times a
	// subscriber fell more than the bus queue behind and lost events.
	Delivered, Failed, Skipped, Overflows uint64
}

// Callbacks delivers every event of the bus to the registered HTTP
// callback URLs (/v2/eventSubscriptions), Marathon's http_callback event
// subscriber. See the package documentation for the delivery rules.
type Callbacks struct {
	cfg CallbackConfig
	log *slog.Logger

	mu    sync.Mutex
	ctx   context.Context // the Run context; nil when not running
	wg    sync.WaitGroup
	subs  map[string]context.CancelFunc
	stats CallbackStats
}

// NewCallbacks returns Callbacks; nothing is delivered before Run.
func NewCallbacks(cfg CallbackConfig) (*Callbacks, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Callbacks{cfg: cfg, log: cfg.Logger, subs: map[string]context.CancelFunc{}}, nil
}

// Run loads the registered callback URLs and delivers events to them until
// ctx ends; it returns after every goroutine it started has exited. Run it
// while leading: the subscriptions live in the store and follow the
// leader.
func (c *Callbacks) Run(ctx context.Context) {
	var urls []string
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		var err error
		if urls, err = c.cfg.Store.EventSubscribers(ctx); err == nil {
			break
		}
		c.log.Warn("cannot load the event callback subscriptions; retrying", "err", err, "retry_in", wait)
		if !sleep(ctx, wait) {
			return
		}
	}
	c.mu.Lock()
	c.ctx = ctx
	for _, u := range urls {
		c.start(u)
	}
	c.mu.Unlock()
	if len(urls) > 0 {
		c.log.Info("delivering events to HTTP callbacks", "callbacks", len(urls))
	}
	<-ctx.Done()
	c.mu.Lock()
	for u, cancel := range c.subs {
		cancel()
		delete(c.subs, u)
	}
	c.ctx = nil
	c.mu.Unlock()
	c.wg.Wait()
}

// start begins delivery to u; c.mu is held and c.ctx set.
func (c *Callbacks) start(u string) {
	if _, ok := c.subs[u]; ok {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.subs[u] = cancel
	sub := c.cfg.Bus.Subscribe(nil)
	c.wg.Go(func() { c.deliver(ctx, u, sub) })
}

// running returns an error unless Run has loaded the subscriptions.
func (c *Callbacks) running() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		return ErrCallbacksNotRunning
	}
	return nil
}

// URLs lists the registered callback URLs, sorted.
func (c *Callbacks) URLs(ctx context.Context) ([]string, error) {
	if err := c.running(); err != nil {
		return nil, err
	}
	return c.cfg.Store.EventSubscribers(ctx)
}

// Subscribe registers callbackURL (again: no change) and publishes
// subscribe_event; it returns that event's fields.
func (c *Callbacks) Subscribe(ctx context.Context, clientIP, callbackURL string) (map[string]any, error) {
	if err := ValidateCallbackURL(callbackURL); err != nil {
		return nil, err
	}
	if err := c.running(); err != nil {
		return nil, err
	}
	added, err := c.cfg.Store.AddEventSubscriber(ctx, callbackURL)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.ctx != nil {
		c.start(callbackURL)
	}
	c.mu.Unlock()
	if added {
		c.log.Info("event callback subscribed", "url", callbackURL, "client", clientIP)
	}
	return c.publish("subscribe_event", clientIP, callbackURL), nil
}

// Unsubscribe removes callbackURL (if registered) and publishes
// unsubscribe_event; it returns that event's fields.
func (c *Callbacks) Unsubscribe(ctx context.Context, clientIP, callbackURL string) (map[string]any, error) {
	if err := c.running(); err != nil {
		return nil, err
	}
	removed, err := c.cfg.Store.RemoveEventSubscriber(ctx, callbackURL)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if cancel, ok := c.subs[callbackURL]; ok {
		cancel()
		delete(c.subs, callbackURL)
	}
	c.mu.Unlock()
	if removed {
		c.log.Info("event callback unsubscribed", "url", callbackURL, "client", clientIP)
	} else {
		c.log.Warn("unsubscribing a callback that is not subscribed", "url", callbackURL, "client", clientIP)
	}
	return c.publish("unsubscribe_event", clientIP, callbackURL), nil
}

func (c *Callbacks) publish(eventType, clientIP, callbackURL string) map[string]any {
	fields := map[string]any{"clientIp": clientIP, "callbackUrl": callbackURL}
	c.cfg.Bus.Publish(eventType, fields)
	out := map[string]any{"eventType": eventType, "timestamp": c.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

// Stats returns the delivery counters.
func (c *Callbacks) Stats() CallbackStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Callbacks) count(f func(*CallbackStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// deliver posts the events of sub to u until ctx ends.
func (c *Callbacks) deliver(ctx context.Context, u string, sub *Sub) {
	defer func() { c.cfg.Bus.Unsubscribe(sub) }()
	failures := 0
	var pausedUntil time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Gone:
			// The bus dropped us: more than its queue of events piled up
			// while a POST hung. Take the stream up again; what was
			// queued is lost, as for a slow SSE client.
			c.count(func(s *CallbackStats) { s.Overflows++ })
			c.log.Warn("event callback fell behind; events were lost", "url", u)
			sub = c.cfg.Bus.Subscribe(nil)
		case ev := <-sub.C:
			if c.cfg.Now().Before(pausedUntil) {
				c.count(func(s *CallbackStats) { s.Skipped++ })
				continue
			}
			if c.post(ctx, u, ev) {
				if failures > 0 {
					c.log.Info("event callback answers again", "url", u, "after_failed_events", failures)
				}
				failures, pausedUntil = 0, time.Time{}
				continue
			}
			if ctx.Err() != nil {
				return
			}
			failures++
			pause := min(time.Duration(1<<min(failures, 20))*time.Second, c.cfg.MaxPause)
			pausedUntil = c.cfg.Now().Add(pause)
			c.log.Warn("event callback failed; events are skipped while it is paused", "url", u,
				"event", ev.Type, "failed_events", failures, "pause", pause)
		}
	}
}

// post sends one event, retrying; it reports whether it was delivered.
func (c *Callbacks) post(ctx context.Context, u string, ev Event) bool {
	wait := c.cfg.RetryDelay
	for attempt := 0; attempt < c.cfg.Attempts; attempt++ {
		if attempt > 0 {
			if !sleep(ctx, wait) {
				return false
			}
			wait *= 2
		}
		err := c.postOnce(ctx, u, ev)
		if err == nil {
			c.count(func(s *CallbackStats) { s.Delivered++ })
			return true
		}
		c.count(func(s *CallbackStats) { s.Failed++ })
		if ctx.Err() != nil {
			return false
		}
		c.log.Debug("event callback attempt failed", "url", u, "event", ev.Type, "attempt", attempt+1, "err", err)
	}
	return false
}

func (c *Callbacks) postOnce(ctx context.Context, u string, ev Event) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(ev.Data))
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// Subscribed returns the URLs being delivered to (for tests).
func (c *Callbacks) Subscribed() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.subs))
	for u := range c.subs {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

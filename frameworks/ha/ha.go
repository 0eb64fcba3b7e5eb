package ha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/strata-sched/strata/core/store"
)

// Info is what a leader publishes about itself.
type Info struct {
	// Address is the leader's HTTP API, host:port.
	Address string `json:"address"`
	// ID names the instance (for logs and /v2/leader-style endpoints).
	ID string `json:"id,omitempty"`
}

// Config configures a Node.
type Config struct {
	Elector store.Elector
	// Self is this instance's advertised HTTP address, host:port.
	Self string
	// ID defaults to Self.
	ID string
	// Retry is how long to wait after a failed campaign (default 1s).
	Retry  time.Duration
	Logger *slog.Logger
	// LeaderHeader names the response header that carries the leader's
	// address (Marathon: X-Marathon-Leader); empty sets none.
	LeaderHeader string
	// HeaderValue formats the header's value from the leader's address
	// (Marathon sends "http://host:port"); nil uses the address.
	HeaderValue func(addr string) string
}

// Node is one instance of a replicated framework.
type Node struct {
	cfg Config
	log *slog.Logger

	mu         sync.Mutex
	leading    bool
	lostCh     chan struct{} // closed when the current leadership ends
	leadership store.Leadership
}

// New validates cfg and returns a Node.
func New(cfg Config) (*Node, error) {
	if cfg.Elector == nil {
		return nil, errors.New("ha: Config.Elector is required")
	}
	if cfg.Self == "" {
		return nil, errors.New("ha: Config.Self (the advertised host:port) is required")
	}
	if cfg.ID == "" {
		cfg.ID = cfg.Self
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HeaderValue == nil {
		cfg.HeaderValue = func(a string) string { return a }
	}
	return &Node{cfg: cfg, log: cfg.Logger.With("component", "ha", "self", cfg.Self)}, nil
}

// IsLeader reports whether this instance leads now.
func (n *Node) IsLeader() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.leading
}

// Leader returns the current leader's info.
func (n *Node) Leader(ctx context.Context) (Info, error) {
	if n.IsLeader() {
		return Info{Address: n.cfg.Self, ID: n.cfg.ID}, nil
	}
	b, err := n.cfg.Elector.Leader(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("ha: finding the leader: %w", err)
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil || info.Address == "" {
		return Info{}, fmt.Errorf("ha: leader published bad info %q", b)
	}
	return info, nil
}

// Run campaigns for leadership and runs lead while leading, until ctx ends.
// lead's context is cancelled when leadership is lost; a lead that returns
// on its own gives leadership up so that another instance can take over.
func (n *Node) Run(ctx context.Context, lead func(ctx context.Context) error) error {
	info, _ := json.Marshal(Info{Address: n.cfg.Self, ID: n.cfg.ID})
	for {
		l, err := n.cfg.Elector.Campaign(ctx, info)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			n.log.Warn("campaign failed; retrying", "err", err, "retry", n.cfg.Retry)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(n.cfg.Retry):
			}
			continue
		}
		n.log.Info("elected leader")
		n.mu.Lock()
		n.leading, n.leadership = true, l
		n.mu.Unlock()

		lctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- lead(lctx) }()
		var leadErr error
		select {
		case <-l.Lost():
			n.log.Warn("leadership lost; stopping leader work")
			cancel()
			leadErr = <-done
		case leadErr = <-done:
			cancel()
		case <-ctx.Done():
			cancel()
			leadErr = <-done
		}
		n.mu.Lock()
		n.leading, n.leadership = false, nil
		n.mu.Unlock()
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = l.Resign(rctx)
		rcancel()
		if ctx.Err() != nil {
			return nil
		}
		if leadErr != nil {
			n.log.Error("leader work failed; campaigning again", "err", leadErr)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(n.cfg.Retry):
			}
		}
	}
}

// Abdicate gives up leadership now (Marathon's DELETE /v2/leader); the
// Node campaigns again afterwards.
func (n *Node) Abdicate(ctx context.Context) error {
	n.mu.Lock()
	l := n.leadership
	n.mu.Unlock()
	if l == nil {
		return errors.New("ha: not the leader")
	}
	return l.Resign(ctx)
}

// Forward is middleware: the leader serves requests itself; a non-leader
// proxies them to the leader, or answers 307 Temporary Redirect when
// redirect(r) is true (e.g. Marathon's /v2/events). With no known leader
// it answers 503. Every answer carries the leader header when configured.
func (n *Node) Forward(redirect func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.IsLeader() {
				if n.cfg.LeaderHeader != "" {
					w.Header().Set(n.cfg.LeaderHeader, n.cfg.HeaderValue(n.cfg.Self))
				}
				next.ServeHTTP(w, r)
				return
			}
			info, err := n.Leader(r.Context())
			if err != nil || info.Address == n.cfg.Self {
				http.Error(w, "no leader elected yet; retry shortly", http.StatusServiceUnavailable)
				return
			}
			if n.cfg.LeaderHeader != "" {
				w.Header().Set(n.cfg.LeaderHeader, n.cfg.HeaderValue(info.Address))
			}
			if r.Header.Get("X-Strata-Forwarded") != "" {
				// Never forward twice: the leader changed under us.
				http.Error(w, "leadership is changing; retry shortly", http.StatusServiceUnavailable)
				return
			}
			if redirect != nil && redirect(r) {
				u := *r.URL
				u.Scheme, u.Host = "http", info.Address
				http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
				return
			}
			target := &url.URL{Scheme: "http", Host: info.Address}
			proxy := httputil.NewSingleHostReverseProxy(target)
			proxy.FlushInterval = -1
			proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
				http.Error(w, fmt.Sprintf("proxying to the leader %s failed: %v", info.Address, err), http.StatusBadGateway)
			}
			r.Header.Set("X-Strata-Forwarded", n.cfg.Self)
			proxy.ServeHTTP(w, r)
		})
	}
}

// IDStore keeps a framework ID in a store key; it implements
// frameworks/scheduler.FrameworkIDStore.
type IDStore struct {
	Store store.Store
	Key   string
}

// Load returns the saved ID, or "" when none was saved.
func (s IDStore) Load(ctx context.Context) (string, error) {
	kv, err := s.Store.Get(ctx, s.Key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("ha: loading framework ID from %s: %w", s.Key, err)
	}
	return string(kv.Value), nil
}

// Save stores id durably ("" forgets it).
func (s IDStore) Save(ctx context.Context, id string) error {
	if id == "" {
		if err := s.Store.Delete(ctx, s.Key, store.AnyVersion); err != nil {
			return fmt.Errorf("ha: forgetting framework ID at %s: %w", s.Key, err)
		}
		return nil
	}
	if _, err := s.Store.Put(ctx, s.Key, []byte(id), store.AnyVersion); err != nil {
		return fmt.Errorf("ha: saving framework ID at %s: %w", s.Key, err)
	}
	return nil
}

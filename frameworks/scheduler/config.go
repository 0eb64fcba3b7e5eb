package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// Path is the scheduler API's path on a master.
const Path = "/api/v1/scheduler"

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxBackoff      = 15 * time.Second
	DefaultMinBackoff      = 500 * time.Millisecond
	DefaultHeartbeatMisses = 5
	// DefaultCallTimeout bounds one non-streaming call (Mesos suggests ~75 s).
	DefaultCallTimeout = 75 * time.Second
	// defaultHeartbeat is assumed until SUBSCRIBED names the interval.
	defaultHeartbeat = 15 * time.Second
)

// FrameworkIDStore persists the framework ID so that a restarted framework
// re-subscribes as the same framework (failover) instead of registering a
// new one and orphaning its tasks. Load returns "" when nothing is stored.
// Save("") forgets the ID (after TEARDOWN).
type FrameworkIDStore interface {
	Load(ctx context.Context) (string, error)
	Save(ctx context.Context, id string) error
}

// Config configures a Client. New validates it and fills defaults; see
// the field comments for each default.
type Config struct {
	// Master is "host:port", "http://host:port", or a comma-separated list
	// of those tried in turn ("m1:5050,m2:5050"). A URL may carry a path;
	// the default path is /api/v1/scheduler. "zk://host:2181,.../path"
	// follows the leading master published in ZooKeeper, as Mesos'
	// schedulers do. Required.
	Master string
	// Framework is sent in SUBSCRIBE. User and Name are required. If ID is
	// set the first SUBSCRIBE is already a failover. Roles default to ["*"].
	Framework mesos.FrameworkInfo
	// Handler receives the events. Required (use HandlerFuncs{} to ignore
	// everything).
	Handler Handler
	// AutoAck acknowledges every UPDATE that carries a uuid right after the
	// Update handler returns. Updates without uuid are never acknowledged.
	AutoAck bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// HTTPClient defaults to a client on a clone of http.DefaultTransport.
	// The Client never lets it follow redirects (it follows 307s itself)
	// and ignores its Timeout for the SUBSCRIBE stream.
	HTTPClient *http.Client
	// MinBackoff is the first re-subscription delay and the first
	// reconciliation retry delay; default 500ms.
	MinBackoff time.Duration
	// MaxBackoff caps both backoffs; default 15s.
	MaxBackoff time.Duration
	// HeartbeatMisses is how many heartbeat intervals may pass without any
	// event before the stream is declared dead; default 5.
	HeartbeatMisses int
	// CallTimeout bounds each non-streaming call; default 75s.
	CallTimeout time.Duration
	// FrameworkIDStore, if set, is loaded before the first SUBSCRIBE and
	// saved after a SUBSCRIBED that carries a new ID. A failing Save stops
	// Run: a framework that cannot remember its ID must not run tasks.
	FrameworkIDStore FrameworkIDStore
}

// withDefaults validates cfg and returns it with defaults filled in, plus
// the parsed master endpoints.
func (cfg Config) withDefaults() (Config, []*url.URL, error) {
	var errs []error
	var masters []*url.URL
	var err error
	if strings.HasPrefix(cfg.Master, "zk://") {
		// The leader is looked up in ZooKeeper before every subscription.
		_, err = store.ParseZKURL(cfg.Master)
	} else {
		masters, err = parseMasters(cfg.Master)
	}
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.Framework.User == "" {
		errs = append(errs, errors.New("Framework.User is required"))
	}
	if cfg.Framework.Name == "" {
		errs = append(errs, errors.New("Framework.Name is required"))
	}
	if cfg.Handler == nil {
		errs = append(errs, errors.New("Handler is required (HandlerFuncs{} ignores every event)"))
	}
	if cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.HeartbeatMisses < 0 || cfg.CallTimeout < 0 {
		errs = append(errs, errors.New("MinBackoff, MaxBackoff, HeartbeatMisses and CallTimeout must not be negative"))
	}
	if len(errs) > 0 {
		return cfg, nil, fmt.Errorf("scheduler: invalid config: %w", errors.Join(errs...))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = min(DefaultMinBackoff, cfg.MaxBackoff)
	}
	if cfg.MinBackoff > cfg.MaxBackoff {
		cfg.MinBackoff = cfg.MaxBackoff
	}
	if cfg.HeartbeatMisses == 0 {
		cfg.HeartbeatMisses = DefaultHeartbeatMisses
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if len(cfg.Framework.Roles) == 0 && cfg.Framework.Role == "" {
		cfg.Framework.Roles = []string{"*"}
	}
	return cfg, masters, nil
}

// parseMasters parses Config.Master into scheduler API URLs.
func parseMasters(s string) ([]*url.URL, error) {
	var out []*url.URL
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		u, err := parseEndpoint(part, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("Master is required (host:port, http://host:port, or a comma-separated list)")
	}
	return out, nil
}

// parseEndpoint turns "host:port", "http://host:port[/path]" or a redirect
// Location ("//host:port[/path]", resolved against base) into the URL of
// the scheduler API.
func parseEndpoint(s string, base *url.URL) (*url.URL, error) {
	raw := s
	if base == nil && !strings.Contains(s, "//") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("bad master address %q: %w", raw, err)
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if u.Scheme == "" {
		u.Scheme = "http"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("bad master address %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("bad master address %q: no host", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = Path
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

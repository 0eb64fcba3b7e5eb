package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/fetcher"
	"github.com/strata-sched/strata/core/mesos"
)

// Recovery modes (Config.Recover), as Mesos' --recover flag.
const (
	// RecoverReconnect re-attaches to containers left running by an earlier
	// agent process.
	RecoverReconnect = "reconnect"
	// RecoverCleanup kills them and reports their tasks terminal.
	RecoverCleanup = "cleanup"
)

// Config configures an Agent. Zero values take Mesos' defaults; New validates
// and defaults it in one place (Config.withDefaults).
type Config struct {
	// Master is host:port of a master (any master: a non-leader redirects).
	Master string
	// DetectMaster, when set, finds the leading master before every
	// (re-)registration (the caller resolves --master zk://...); Master is
	// then only used in logs.
	DetectMaster func(ctx context.Context) (string, error)
	// MasterChanged, with DetectMaster, returns a channel that is closed
	// when the leading master changes (the caller follows ZooKeeper on one
	// session): the agent then starts its registration backoff over, as a
	// Mesos agent does when its detector names a new leader.
	MasterChanged func() <-chan struct{}
	// randN returns a random integer in [0, n) for the registration
	// backoff; nil uses math/rand/v2 (tests fix it).
	randN func(n int64) int64
	// WorkDir holds sandboxes (<WorkDir>/slaves) and checkpoints (<WorkDir>/meta).
	WorkDir string
	// Hostname advertised to the master (default: os.Hostname).
	Hostname string
	// IP the agent's HTTP server is reachable on (default: the first address
	// of Hostname, else 127.0.0.1). Executors get MESOS_AGENT_ENDPOINT=IP:Port.
	IP string
	// Port of the agent's HTTP server (default 5051). The caller owns the
	// listener and serves Handler() on it.
	Port int
	// Resources is the agent's total (already parsed). Resources checkpointed
	// by CHECKPOINT_RESOURCES replace it after a restart.
	Resources mesos.Resources
	// Attributes advertised to the master.
	Attributes []mesos.Attribute
	// Recover is RecoverReconnect (default) or RecoverCleanup.
	Recover string
	// GCDelay is how long sandboxes of completed executors are kept (1 week).
	GCDelay time.Duration
	// ExecutorRegistrationTimeout bounds how long a custom executor may take
	// to subscribe (1 min).
	ExecutorRegistrationTimeout time.Duration
	// ExecutorReregistrationTimeout bounds how long a recovered custom
	// executor may take to re-subscribe after an agent restart (5 s).
	ExecutorReregistrationTimeout time.Duration
	// ExecutorShutdownGracePeriod is the time between SHUTDOWN and the
	// forced kill of an executor's container (5 s).
	ExecutorShutdownGracePeriod time.Duration
	// RegistrationBackoffFactor: the first (re-)registration attempt waits a
	// random time in [0, factor], doubling per failure, capped at 1 min (1 s).
	RegistrationBackoffFactor time.Duration
	// Containerizer runs the containers (required): posix, cgroups, or a
	// containerizer.Composite of docker and one of those.
	Containerizer containerizer.Containerizer
	// Fetcher fetches CommandInfo.uris into a sandbox before the launch of
	// a command task, a task of a group or a custom executor (default: a
	// fetcher without a cache).
	Fetcher *fetcher.Fetcher
	// Logger (default: slog.Default()).
	Logger *slog.Logger
	// Version reported to the master and by /version.
	Version string
	// Flags is what /flags reports.
	Flags map[string]string
	// KillTasksOnStop kills every container when Run returns (strata dev).
	// A standalone agent leaves them running so that they survive upgrades.
	KillTasksOnStop bool
}

// Defaults (Mesos' flag defaults, src/slave/constants.hpp).
const (
	DefaultPort                          = 5051
	DefaultGCDelay                       = 7 * 24 * time.Hour
	DefaultExecutorRegistrationTimeout   = time.Minute
	DefaultExecutorReregistrationTimeout = 5 * time.Second
	DefaultExecutorShutdownGracePeriod   = 5 * time.Second
	DefaultRegistrationBackoffFactor     = time.Second
	// DefaultTaskKillGracePeriod is the command executor's default grace.
	DefaultTaskKillGracePeriod = 3 * time.Second
)

// ErrInvalidConfig is wrapped by every error New returns for a bad Config.
var ErrInvalidConfig = errors.New("agent: invalid config")

// withDefaults returns a validated copy of c with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	if c.Master == "" && c.DetectMaster == nil {
		return bad("master (host:port) is required")
	}
	if c.DetectMaster == nil {
		if _, _, err := net.SplitHostPort(c.Master); err != nil {
			return bad("master %q is not host:port: %v", c.Master, err)
		}
	}
	if c.WorkDir == "" {
		return bad("work_dir is required")
	}
	abs, err := filepath.Abs(c.WorkDir)
	if err != nil {
		return bad("work_dir %q: %v", c.WorkDir, err)
	}
	c.WorkDir = abs
	if c.Containerizer == nil {
		return bad("a containerizer is required")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Fetcher == nil {
		f, err := fetcher.New(fetcher.Config{Logger: c.Logger})
		if err != nil {
			return bad("fetcher: %v", err)
		}
		c.Fetcher = f
	}
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return bad("hostname not given and os.Hostname failed: %v", err)
		}
		c.Hostname = h
	}
	if c.IP == "" {
		c.IP = "127.0.0.1"
		if addrs, err := net.LookupHost(c.Hostname); err == nil {
			for _, a := range addrs {
				if ip := net.ParseIP(a); ip != nil && ip.To4() != nil {
					c.IP = a
					break
				}
			}
		}
	}
	if net.ParseIP(c.IP) == nil {
		return bad("ip %q is not an IP address", c.IP)
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Port < 0 || c.Port > 65535 {
		return bad("port %d out of range", c.Port)
	}
	switch strings.ToLower(c.Recover) {
	case "", RecoverReconnect:
		c.Recover = RecoverReconnect
	case RecoverCleanup:
		c.Recover = RecoverCleanup
	default:
		return bad("recover must be %q or %q, not %q", RecoverReconnect, RecoverCleanup, c.Recover)
	}
	if err := c.Resources.Validate(); err != nil {
		return bad("resources: %v", err)
	}
	c.Resources = c.Resources.Normalize()
	durations := []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"gc_delay", &c.GCDelay, DefaultGCDelay},
		{"executor_registration_timeout", &c.ExecutorRegistrationTimeout, DefaultExecutorRegistrationTimeout},
		{"executor_reregistration_timeout", &c.ExecutorReregistrationTimeout, DefaultExecutorReregistrationTimeout},
		{"executor_shutdown_grace_period", &c.ExecutorShutdownGracePeriod, DefaultExecutorShutdownGracePeriod},
		{"registration_backoff_factor", &c.RegistrationBackoffFactor, DefaultRegistrationBackoffFactor},
	}
	for _, d := range durations {
		if *d.d < 0 {
			return bad("%s must not be negative (%v)", d.name, *d.d)
		}
		if *d.d == 0 {
			*d.d = d.def
		}
	}
	if c.Version == "" {
		c.Version = "devel"
	}
	if c.Flags == nil {
		c.Flags = map[string]string{}
	}
	return c, nil
}

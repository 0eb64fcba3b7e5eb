package executor

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Path is the executor API's path on an agent.
const Path = "/api/v1/executor"

// Defaults applied by New to zero Config fields (Mesos' agent defaults).
const (
	DefaultRecoveryTimeout        = 15 * time.Minute
	DefaultSubscriptionBackoffMax = 2 * time.Second
	DefaultShutdownGracePeriod    = 5 * time.Second
	minBackoff                    = 100 * time.Millisecond
)

// Config configures an Executor. ConfigFromEnv fills it from the
// environment the agent sets; New validates it and fills defaults.
type Config struct {
	FrameworkID string // MESOS_FRAMEWORK_ID, required
	ExecutorID  string // MESOS_EXECUTOR_ID, required
	// AgentEndpoint is MESOS_AGENT_ENDPOINT: "ip:port" or a URL; required.
	AgentEndpoint string
	// Checkpoint (MESOS_CHECKPOINT) says the framework checkpoints: on a
	// lost connection the executor keeps re-subscribing, for up to
	// RecoveryTimeout, so that it survives an agent restart. Without it the
	// executor stops (Run returns) when the connection is lost.
	Checkpoint bool
	// RecoveryTimeout is MESOS_RECOVERY_TIMEOUT; default 15m.
	RecoveryTimeout time.Duration
	// SubscriptionBackoffMax is MESOS_SUBSCRIPTION_BACKOFF_MAX, the cap of
	// the re-subscription backoff; default 2s.
	SubscriptionBackoffMax time.Duration
	// ShutdownGracePeriod is MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: how long
	// the agent waits after SHUTDOWN before killing the executor; default 5s.
	ShutdownGracePeriod time.Duration
	Directory           string // MESOS_DIRECTORY, the sandbox on the host
	Sandbox             string // MESOS_SANDBOX, the sandbox as the task sees it

	Handler    Handler      // required
	Logger     *slog.Logger // default slog.Default()
	HTTPClient *http.Client // default: a client on a clone of http.DefaultTransport
}

// ConfigFromEnv reads the variables the agent sets for an executor. The
// Handler, Logger and HTTPClient are left for the caller.
func ConfigFromEnv() (Config, error) { return configFrom(os.LookupEnv) }

func configFrom(lookup func(string) (string, bool)) (Config, error) {
	var cfg Config
	var errs []error
	get := func(name string, required bool) string {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		if required && (!ok || v == "") {
			errs = append(errs, fmt.Errorf("%s is not set", name))
		}
		return v
	}
	duration := func(name string) time.Duration {
		v := get(name, false)
		if v == "" {
			return 0
		}
		d, err := ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return d
	}
	cfg.FrameworkID = get("MESOS_FRAMEWORK_ID", true)
	cfg.ExecutorID = get("MESOS_EXECUTOR_ID", true)
	cfg.AgentEndpoint = get("MESOS_AGENT_ENDPOINT", true)
	if v := get("MESOS_CHECKPOINT", false); v != "" {
		b, err := parseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MESOS_CHECKPOINT: %w", err))
		}
		cfg.Checkpoint = b
	}
	cfg.RecoveryTimeout = duration("MESOS_RECOVERY_TIMEOUT")
	cfg.SubscriptionBackoffMax = duration("MESOS_SUBSCRIPTION_BACKOFF_MAX")
	cfg.ShutdownGracePeriod = duration("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD")
	cfg.Directory = get("MESOS_DIRECTORY", false)
	cfg.Sandbox = get("MESOS_SANDBOX", false)
	if len(errs) > 0 {
		return cfg, fmt.Errorf("executor: environment: %w", errors.Join(errs...))
	}
	return cfg, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

// ParseDuration parses a duration as Mesos writes it ("15mins", "2secs",
// "500ms", "1.5hrs", "3days", "1weeks") or as Go does ("15m", "2s").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, fmt.Errorf("bad duration %q: want a number and a unit, e.g. 15mins", s)
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: %w", s, err)
	}
	unit := map[string]time.Duration{
		"ns": time.Nanosecond, "us": time.Microsecond, "ms": time.Millisecond,
		"secs": time.Second, "mins": time.Minute, "hrs": time.Hour,
		"days": 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
	}[s[i:]]
	if unit == 0 {
		return 0, fmt.Errorf("bad duration %q: unknown unit %q (ns, us, ms, secs, mins, hrs, days, weeks)", s, s[i:])
	}
	return time.Duration(n * float64(unit)), nil
}

func (cfg Config) withDefaults() (Config, *url.URL, error) {
	var errs []error
	if cfg.FrameworkID == "" {
		errs = append(errs, errors.New("FrameworkID is required"))
	}
	if cfg.ExecutorID == "" {
		errs = append(errs, errors.New("ExecutorID is required"))
	}
	if cfg.Handler == nil {
		errs = append(errs, errors.New("Handler is required (HandlerFuncs{} ignores every event)"))
	}
	var ep *url.URL
	if cfg.AgentEndpoint == "" {
		errs = append(errs, errors.New("AgentEndpoint is required"))
	} else {
		s := cfg.AgentEndpoint
		if !strings.Contains(s, "://") {
			s = "http://" + s
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("bad AgentEndpoint %q: want ip:port or http://ip:port", cfg.AgentEndpoint))
		} else {
			if u.Path == "" || u.Path == "/" {
				u.Path = Path
			}
			ep = u
		}
	}
	if cfg.RecoveryTimeout < 0 || cfg.SubscriptionBackoffMax < 0 || cfg.ShutdownGracePeriod < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if len(errs) > 0 {
		return cfg, nil, fmt.Errorf("executor: invalid config: %w", errors.Join(errs...))
	}
	if cfg.RecoveryTimeout == 0 {
		cfg.RecoveryTimeout = DefaultRecoveryTimeout
	}
	if cfg.SubscriptionBackoffMax == 0 {
		cfg.SubscriptionBackoffMax = DefaultSubscriptionBackoffMax
	}
	if cfg.ShutdownGracePeriod == 0 {
		cfg.ShutdownGracePeriod = DefaultShutdownGracePeriod
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return cfg, ep, nil
}

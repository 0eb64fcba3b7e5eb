package healthcheck

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// Check types (HealthCheck.type, CheckInfo.type).
const (
	TypeCommand = "COMMAND"
	TypeHTTP    = "HTTP"
	TypeTCP     = "TCP"
)

// General check defaults (mesos.proto CheckInfo).
const (
	DefaultCheckDelaySeconds    = 15.0
	DefaultCheckIntervalSeconds = 10.0
	DefaultCheckTimeoutSeconds  = 20.0
)

// schedule says when probes run: after delay, then interval after each
// probe ended; each probe is bounded by timeout.
type schedule struct {
	delay, interval, timeout time.Duration
}

// seconds converts a proto double; negative and NaN are 0, huge values cap.
func seconds(f float64) time.Duration {
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	if f >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(f * float64(time.Second))
}

// newSchedule applies defaults: a zero (or negative) interval or timeout
// takes the default rather than spinning or failing at once.
func newSchedule(delay, interval, timeout, defInterval, defTimeout float64) schedule {
	s := schedule{delay: seconds(delay), interval: seconds(interval), timeout: seconds(timeout)}
	if s.interval == 0 {
		s.interval = seconds(defInterval)
	}
	if s.timeout == 0 {
		s.timeout = seconds(defTimeout)
	}
	return s
}

func healthSchedule(hc *mesos.HealthCheck) (schedule, healthPolicy) {
	s := newSchedule(hc.Delay(), hc.Interval(), hc.Timeout(), mesos.DefaultHealthIntervalSeconds, mesos.DefaultHealthTimeoutSeconds)
	return s, healthPolicy{gracePeriod: seconds(hc.GracePeriod()), maxFailures: hc.Failures()}
}

func doubleOr(d *mesos.Double, def float64) float64 {
	if d == nil {
		return def
	}
	return float64(*d)
}

func checkSchedule(ci *mesos.CheckInfo) schedule {
	return newSchedule(
		doubleOr(ci.DelaySeconds, DefaultCheckDelaySeconds),
		doubleOr(ci.IntervalSeconds, DefaultCheckIntervalSeconds),
		doubleOr(ci.TimeoutSeconds, DefaultCheckTimeoutSeconds),
		DefaultCheckIntervalSeconds, DefaultCheckTimeoutSeconds)
}

// healthType returns hc's type, inferred from the one probe set when type
// is absent (health checks from before Mesos 1.2 had no type).
func healthType(hc *mesos.HealthCheck) string {
	if hc.Type != "" {
		return strings.ToUpper(hc.Type)
	}
	switch {
	case hc.HTTP != nil && hc.Command == nil && hc.TCP == nil:
		return TypeHTTP
	case hc.TCP != nil && hc.Command == nil && hc.HTTP == nil:
		return TypeTCP
	case hc.Command != nil && hc.HTTP == nil && hc.TCP == nil:
		return TypeCommand
	}
	return ""
}

// ValidateHealthCheck reports what makes hc unusable, as Mesos' validation
// does before a task is launched (TASK_ERROR). RunHealth treats every probe
// of an invalid check as a failure.
func ValidateHealthCheck(hc mesos.HealthCheck) error {
	var errs []error
	errs = append(errs,
		nonNegative("delay_seconds", hc.DelaySeconds), nonNegative("interval_seconds", hc.IntervalSeconds),
		nonNegative("timeout_seconds", hc.TimeoutSeconds), nonNegative("grace_period_seconds", hc.GracePeriodSeconds))
	switch typ := healthType(&hc); typ {
	case TypeCommand:
		if hc.Command == nil {
			errs = append(errs, errors.New("COMMAND health check without 'command'"))
		} else if hc.Command.GetValue() == "" {
			errs = append(errs, errors.New("COMMAND health check without a command value"))
		}
	case TypeHTTP:
		if hc.HTTP == nil {
			errs = append(errs, errors.New("HTTP health check without 'http'"))
			break
		}
		if s := strings.ToLower(hc.HTTP.Scheme); s != "" && s != "http" && s != "https" {
			errs = append(errs, fmt.Errorf("HTTP health check scheme %q is not http or https", hc.HTTP.Scheme))
		}
		if hc.HTTP.Path != "" && !strings.HasPrefix(hc.HTTP.Path, "/") {
			errs = append(errs, fmt.Errorf("HTTP health check path %q must start with '/'", hc.HTTP.Path))
		}
		errs = append(errs, validPort(hc.HTTP.Port))
	case TypeTCP:
		if hc.TCP == nil {
			errs = append(errs, errors.New("TCP health check without 'tcp'"))
		} else {
			errs = append(errs, validPort(hc.TCP.Port))
		}
	case "":
		errs = append(errs, errors.New("health check without a type"))
	default:
		errs = append(errs, fmt.Errorf("unsupported health check type %q", typ))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid health check: %w", err)
	}
	return nil
}

// ValidateCheck reports what makes ci unusable. RunCheck reports an invalid
// check as a result with its type and nothing else.
func ValidateCheck(ci mesos.CheckInfo) error {
	var errs []error
	errs = append(errs, nonNegative("delay_seconds", ci.DelaySeconds),
		nonNegative("interval_seconds", ci.IntervalSeconds), nonNegative("timeout_seconds", ci.TimeoutSeconds))
	switch typ := strings.ToUpper(ci.Type); typ {
	case TypeCommand:
		if ci.Command == nil || ci.Command.Command == nil || ci.Command.Command.GetValue() == "" {
			errs = append(errs, errors.New("COMMAND check without a command"))
		}
	case TypeHTTP:
		if ci.HTTP == nil {
			errs = append(errs, errors.New("HTTP check without 'http'"))
			break
		}
		if ci.HTTP.Path != "" && !strings.HasPrefix(ci.HTTP.Path, "/") {
			errs = append(errs, fmt.Errorf("HTTP check path %q must start with '/'", ci.HTTP.Path))
		}
		errs = append(errs, validPort(ci.HTTP.Port))
	case TypeTCP:
		if ci.TCP == nil {
			errs = append(errs, errors.New("TCP check without 'tcp'"))
		} else {
			errs = append(errs, validPort(ci.TCP.Port))
		}
	case "":
		errs = append(errs, errors.New("check without a type"))
	default:
		errs = append(errs, fmt.Errorf("unsupported check type %q", typ))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid check: %w", err)
	}
	return nil
}

func nonNegative(name string, v *mesos.Double) error {
	if v != nil && (float64(*v) < 0 || math.IsNaN(float64(*v))) {
		return fmt.Errorf("%s must be non-negative", name)
	}
	return nil
}

func validPort(p uint32) error {
	if p == 0 || p > 65535 {
		return fmt.Errorf("port %d is not in 1-65535", p)
	}
	return nil
}

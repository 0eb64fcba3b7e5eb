package scheduler

import "github.com/strata-sched/strata/core/mesos"

// Health checks run by the agent next to the task (Mesos' executor-side
// checks): set TaskInfo.HealthCheck to one of these and the task's
// TASK_RUNNING updates carry `healthy`; after ConsecutiveFailures failed
// probes (past the grace period) the agent kills the task. Timings take
// Mesos' defaults (delay 15 s, interval 10 s, timeout 20 s, 3 failures,
// grace 10 s) unless set on the returned value.

// HealthCheckHTTP probes http://<task>:port/path (200-399 is healthy). For a
// Docker BRIDGE task, port is the container port and the probe runs inside
// the container's network namespace.
func HealthCheckHTTP(port uint32, path string) *mesos.HealthCheck {
	return &mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: port, Path: path}}
}

// HealthCheckTCP checks that a TCP connection to port succeeds.
func HealthCheckTCP(port uint32) *mesos.HealthCheck {
	return &mesos.HealthCheck{Type: "TCP", TCP: &mesos.TCPCheckInfo{Port: port}}
}

// HealthCheckCommand runs shell next to the task (its sandbox, environment
// and user); exit 0 is healthy.
func HealthCheckCommand(shell string) *mesos.HealthCheck {
	return &mesos.HealthCheck{Type: "COMMAND", Command: &mesos.CommandInfo{Value: &shell}}
}

// WithTiming sets the check's timing in seconds; zero values keep Mesos'
// defaults, except failures which must be at least 1 to be set.
func WithTiming(hc *mesos.HealthCheck, delay, interval, timeout, grace float64, failures uint32) *mesos.HealthCheck {
	set := func(v float64) *mesos.Double {
		if v <= 0 {
			return nil
		}
		d := mesos.Double(v)
		return &d
	}
	hc.DelaySeconds, hc.IntervalSeconds, hc.TimeoutSeconds, hc.GracePeriodSeconds = set(delay), set(interval), set(timeout), set(grace)
	if failures > 0 {
		hc.ConsecutiveFailures = &failures
	}
	return hc
}

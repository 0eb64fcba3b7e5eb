// Package healthcheck runs a task's health check (TaskInfo.health_check)
// and general check (TaskInfo.check) next to it, as Mesos' executors do
// (reference/mesos.md §5.6).
//
// What it owns: probing (HTTP and HTTPS GET, TCP connect, COMMAND through a
// caller-supplied runner), probing from inside the task's network namespace,
// the timing (delay, interval, timeout) and the decision of what a result
// means (healthy, a failure to count, a failure to ignore in the grace
// period, a kill). What it leaves to others: running a command next to the
// task (Target.RunCommand), turning results into TASK_RUNNING status updates
// with REASON_TASK_HEALTH_CHECK_STATUS_UPDATED or
// REASON_TASK_CHECK_STATUS_UPDATED, and killing the task (core/agent).
//
// # Health checks
//
// healthState decides; RunHealth probes and reports. From the moment
// RunHealth starts:
//
//	wait delay_seconds (15)
//	loop:
//	  probe, bounded by timeout_seconds (20): a timeout is a failure
//	  success: healthy; reported if it is the first success or follows failures
//	  failure, no success yet and within grace_period_seconds (10) of the
//	    start (the delay included): ignored, not reported
//	  failure otherwise: consecutive failures + 1, reported;
//	    at consecutive_failures (3): Kill is reported and RunHealth returns
//	  wait interval_seconds (10) after the probe ended
//
// A success resets the count. As in Mesos, consecutive_failures = 0 kills
// on the first failure that counts. HTTP succeeds on a final status in
// 200-399 (redirects are followed, HTTPCheckInfo.statuses is ignored as
// Mesos' built-in executors do, HTTPS certificates are not verified); TCP
// succeeds when a connection is established; COMMAND when the command exits
// with 0.
//
// # General checks
//
// RunCheck follows the same timing (delay 15 s, interval 10 s, timeout
// 20 s) and reports every result without interpreting it: the exit code,
// the HTTP status, or whether the TCP connection succeeded. A check that
// times out or cannot be performed reports its type with the result field
// unset, as Mesos does. Mesos sends an update only when the status changes;
// the caller compares consecutive results.
//
// # Network namespaces
//
// With Target.NetNS set, every connection (HTTP and TCP) is opened from
// inside that network namespace: a dedicated goroutine locks its OS thread,
// enters the namespace with setns(2), creates and connects the socket and
// enters its original namespace again before unlocking; if it cannot, it
// exits locked and the Go runtime discards the thread, so no goroutine ever
// runs on a thread left in the wrong namespace (see dialInNetNS for why the
// thread is restored rather than always discarded). The socket stays in the
// namespace it was created in, so the rest of the exchange runs on ordinary
// goroutines. Target.Host should be an IP address: names are resolved by
// the agent, not inside the namespace. COMMAND checks run wherever
// Target.RunCommand runs them.
package healthcheck

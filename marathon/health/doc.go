// Package health runs the health checks Marathon runs itself (HTTP, HTTPS
// and TCP; the others go to the agent in TaskInfo.health_check) and the
// readiness checks of deployments, and decides what their results mean.
//
// # Counting (reference §2.5, HealthCheckActor)
//
// Status.Observe is the pure core. For one task and one check:
//
//	result    task not running, or no success yet and
//	          now < running-since + gracePeriodSeconds  ─► ignored (nothing changes)
//	success   consecutiveFailures = 0, firstSuccess (once), lastSuccess = now
//	failure   if consecutiveFailures >= maxConsecutiveFailures > 0 (the count
//	          BEFORE this failure) ─► kill; then consecutiveFailures + 1,
//	          lastFailure = now, lastFailureCause
//	1xx       with ignoreHttp1xx: ignored
//
// So with maxConsecutiveFailures = 3 the task is killed on the 4th counted
// consecutive failure, and 0 never kills. alive is "the last success is
// later than the last failure".
//
// # Timing
//
// The first probe runs min(intervalSeconds, 5 s) after the task is seen
// running, then every intervalSeconds; each probe is bounded by
// timeoutSeconds (a timeout is a failure). HTTP(S) succeeds on 200-399,
// HTTPS does not verify certificates, TCP succeeds on connect. At most
// MaxConcurrent probes run at once (--max_concurrent_marathon_health_checks).
//
// Readiness checks probe every intervalSeconds until the response status is
// one of httpStatusCodesForReady; then the task is ready and probing stops.
package health

// Package marathon is Strata's Marathon: long-running services deployed and
// kept running through Marathon's v2 REST API, unchanged (reference
// marathon.md). It is a framework like any other: it talks to the master
// only through the public scheduler API (frameworks/scheduler), keeps its
// state in core/store, and runs as several instances with one leader
// (frameworks/ha): non-leaders proxy requests to the leader, redirect
// /v2/events to it, and every answer names the leader in X-Marathon-Leader.
//
// The pieces:
//
//	app      wire types, normalization, validation (422 bodies), groups, selectors, task ids
//	state    the store layout and its records
//	deploy   deployment plans and the rolling-restart arithmetic (pure)
//	sched    offer matching, TaskInfo building, launch backoff (pure)
//	health   Marathon-run HTTP/HTTPS/TCP health checks and readiness checks
//	events   the event bus, the /v2/events SSE stream and HTTP callbacks (/v2/eventSubscriptions)
//	engine   the scheduler shell: state in memory, store writes, deployments
//	api      the /v2 REST API (chi)
//
// Marathon ties them together: New builds them from a Config; Handler is
// the HTTP API (mount it on the Marathon port); Run campaigns for
// leadership and, while leading, loads the state, subscribes to the master
// with the stored framework ID, resumes running deployments and reconciles
// tasks after every subscription.
//
//	Run ──► campaign ──elected──► load state ──► subscribe (framework ID from the store)
//	          ▲                        │             │ SUBSCRIBED: reconcile (explicit + implicit)
//	          │                        │             ▼
//	          └── leadership lost / ◄──┴──── offers, updates, ticks, API calls
//	              ctx ends: stop everything, drop the state
//
// A restart or a new leader loses nothing: besides apps, groups,
// deployments and instances, the store keeps each app's lastTaskFailure and
// launch backoff, each task's Marathon health check results (written when
// they change, not on every probe) and the callback subscriptions. /ping,
// /metrics and /logging (the log level, switched at run time through
// Config.LevelVar) are answered by every instance itself.
//
// Strata extensions (additive JSON fields that Marathon clients ignore):
// "message" on /v2/queue entries and on /v2/deployments currentActions says
// in words why an app's instances are not where the deployment wants them.
package marathon

// Package scheduler is the framework side of the Mesos v1 scheduler HTTP
// API (POST /api/v1/scheduler, JSON): the client every Strata framework —
// Marathon, Chronos, Aurora and external ones — uses to talk to the master.
//
// It owns the subscription: SUBSCRIBE, the RecordIO event stream, the
// Mesos-Stream-Id, the framework ID (and failover with it), redirects to the
// leading master, heartbeat-loss detection, re-subscription with
// exponential backoff, acknowledgements (Config.AutoAck) and explicit
// reconciliation after every (re-)subscription (TaskLister, Reconciler).
// It offers one method per call (Accept, Launch, Decline, Kill, ...) and
// small helpers to carve task resources out of offers (Take, TakePorts,
// CommandTask). It leaves every scheduling decision, and the persistence
// of the framework's own state, to the framework; FrameworkIDStore is the
// one piece it asks the framework to keep.
//
// A Client's life, driven by Run:
//
//	Run(ctx)
//	   │
//	   ▼
//	SUBSCRIBING ──307──► SUBSCRIBING at the Location (up to 9 in a row)
//	   │   │
//	   │   └── 4xx, ERROR "framework removed",
//	   │       FrameworkIDStore.Save fails ──────────► Run returns the error
//	   │ 200, SUBSCRIBED
//	   ▼
//	SUBSCRIBED ── events ──► Handler
//	   │   └── Teardown ─────────────────────────────► Run returns nil
//	   │ stream closed, or no event for
//	   │ HeartbeatMisses × heartbeat_interval_seconds
//	   ▼
//	BACKOFF ──► SUBSCRIBING, as a failover (framework ID set)
//	   ▲        MinBackoff doubling to MaxBackoff, jittered;
//	   │        reset by every SUBSCRIBED
//	   └── from SUBSCRIBING on connection errors, 503, other 5xx
//
// Run ends when ctx ends, in any state.
//
// Calls made while not SUBSCRIBED fail with ErrNotSubscribed; Offers
// received on a stream are void once it ends (DisconnectHandler).
//
// Events are delivered to a Handler one at a time on Run's goroutine.
// HandlerFuncs lets a framework implement only the events it cares about.
//
// The package schedulertest holds a fake master for testing frameworks.
package scheduler

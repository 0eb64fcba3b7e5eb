// Package events is Marathon's event bus and its Server-Sent Events
// endpoint, GET /v2/events (reference §1.7).
//
// Publish encodes an event once and hands it to every subscriber whose
// filter accepts its type. Each subscriber has a bounded queue
// (MaxOutstanding, Marathon's --event_stream_max_outstanding_messages,
// default 1024); a subscriber whose queue is full is disconnected ("slow
// consumer") rather than slowing the publisher or silently losing events,
// so a client knows to reconnect and re-read the state.
//
// The SSE handler answers only requests that accept text/event-stream
// (405 otherwise, as Jetty's EventSourceServlet), flushes the headers at
// once (go-marathon gives up on headers after 10 s), writes each event as
//
//	event: <eventType>
//	data: <one-line JSON with eventType and timestamp>
//
// and sends a ":" comment line every Heartbeat (default 10 s) so idle
// streams stay open through proxies and clients that time out on silence
// (marathon-lb reconnects after 300 s). The event_type query parameter
// (repeatable) filters server-side; plan-format is accepted and ignored.
// Every connect and disconnect is published as event_stream_attached and
// event_stream_detached.
//
// # HTTP callbacks (/v2/eventSubscriptions)
//
// Callbacks is Marathon's http_callback event subscriber, removed from
// Marathon in 1.5 but still go-marathon's default transport. Registered
// URLs are kept in the store (CallbackStore), so they survive restarts and
// follow the leader; Run delivers while this instance leads. Every event
// of the bus is POSTed as its JSON to every URL:
//
//   - Each URL has its own bus subscription, hence its own bounded queue
//     (the bus's MaxOutstanding) and its own goroutine: a slow or dead
//     callback never delays the bus, the engine or another callback.
//   - A POST must answer 2xx within Timeout (10 s, Marathon's
//     --http_event_request_timeout). A failed POST is retried after
//     RetryDelay, doubling, up to Attempts (3) tries in all.
//   - An event that fails every try pauses the URL for 2^n seconds (n =
//     events failed in a row, at most MaxPause, 1 min); events arriving
//     while it is paused are dropped and counted, as Marathon's
//     HttpEventActor skipped "unresponsive hosts". The first delivered
//     event ends the pause. A URL is never unsubscribed automatically:
//     a receiver that comes back gets events again within MaxPause.
//   - If a POST hangs long enough for the URL's queue to overflow, the bus
//     drops its subscription; delivery resumes with a new one and the
//     events in between are lost (counted as an overflow).
//
// Events are cache invalidations, as with SSE: a receiver that missed some
// must re-read the state.
package events

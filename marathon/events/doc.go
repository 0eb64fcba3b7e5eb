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
package events

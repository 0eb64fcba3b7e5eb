// Package ha gives a framework (Marathon, Chronos, Aurora) what it needs to
// run as several instances with one leader, in a few lines:
//
//   - Node campaigns for leadership through a store.Elector (ZooKeeper in
//     production, the embedded store's always-leader elector on a laptop) and
//     runs the framework's leader work only while it leads.
//   - Node.Forward is HTTP middleware for the framework's API: on a non-leader
//     it proxies the request to the leader (Marathon's and Chronos' behaviour)
//     or, with Redirect, answers 307 to it; it sets a header naming the leader.
//   - IDStore persists the framework ID in core/store, so that a new leader
//     re-subscribes with the same ID (frameworks/scheduler.FrameworkIDStore).
//
// Lifecycle of a Node:
//
//	Run ──► CAMPAIGNING ──elected──► LEADING (lead(ctx) runs)
//	            ▲                       │ leadership lost, or lead returns
//	            └───────────────────────┘ (lead's ctx is cancelled first)
//
// Run returns when its context ends, after lead has returned.
package ha

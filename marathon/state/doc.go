// Package state is Marathon's durable state in core/store: the layout of
// its keys, the records stored under them, and Repo, which reads and writes
// them. It decides nothing; the engine calls it before it acts, so that what
// a 2xx answer or a launch depends on is on disk first.
//
// # Layout
//
// Everything lives under "marathon/" (the prefix is configurable so that two
// Marathons can share a store). App ids become SafeIDs ("/a/b" -> "a_b"),
// which are unambiguous because "_" cannot occur in an id segment.
//
//	marathon/framework-id                 the Mesos framework ID (frameworks/ha.IDStore)
//	marathon/apps/<safe>                  the current AppDefinition (JSON, canonical, with version)
//	marathon/app-versions/<safe>/<ts>     every stored version of an app (the last MaxVersions)
//	marathon/groups                       the group tree without apps (ids, dependencies, versions)
//	marathon/root-versions/<ts>           a root group version: the tree plus app id -> app version
//	marathon/deployments/<uuid>           a running deployment (plan, original and target apps, step)
//	marathon/instances/<taskId>           a launched task: where it runs, its ports, its goal,
//	                                      its Marathon health check results (at their changes)
//	marathon/app-failures/<safe>          an app's lastTaskFailure and launch backoff
//	marathon/event-subscribers            the HTTP callback URLs of /v2/eventSubscriptions
//
// # Writes and crashes
//
// The store has no multi-key transactions. Repo writes in an order that
// leaves a usable state after a crash between any two writes: app versions
// before the current app, the deployment before the apps it changes, the
// instance before the task is launched (so a restart never launches a task
// twice and never forgets one) and the instance's deletion only after its
// terminal status update. An app's failure record is deleted with the app
// (and records of apps that no longer exist are dropped at Load); health
// results go with their instance.
package state

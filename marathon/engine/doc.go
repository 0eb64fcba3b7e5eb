// Package engine is Marathon's scheduler shell: it owns the in-memory state
// (the root group, the instances, the running deployments, the launch
// queue), keeps it in core/store through marathon/state, talks to the master
// through frameworks/scheduler, and carries out what the pure packages
// decide (marathon/deploy for deployments, marathon/sched for offers and
// backoff, marathon/health for health results).
//
// # Concurrency
//
// One mutex guards the state. Every change — an API call, an offer, a
// status update, a health result, a tick — runs under it, writes to the
// store before it changes memory or answers, and leaves calls to the master
// (launch, kill, revive) for after the lock is released. A single loop
// goroutine (Run) ticks the deployments, sends kills and keeps the health
// runner in step; the SDK's goroutine delivers offers and updates.
//
// # Demand
//
// The number of instances to launch for an app is a function of the state,
// recomputed whenever it is needed:
//
//	no deployment touches the app, or its step is done   instances − active
//	its ScaleApplication step is running                 instances − active (extras are killed)
//	its RestartApplication step is running               deploy.DecideRestart(...).Launch
//	its step comes later (dependencies)                  0 (held)
//	backoff delay running                                the count, but blocked until the delay ends
//
// "active" instances have goal Running, are not terminal and are not
// unreachable beyond unreachableStrategy.inactiveAfterSeconds. A task that
// fails is not relaunched as such: its instance ends, the count drops and a
// new instance (new task id) is launched after the backoff.
//
// # Durability
//
// An instance is stored before its task is launched and deleted after its
// terminal update, so a restarted Marathon knows every task it launched,
// asks the master about them (explicit reconciliation after every
// SUBSCRIBED, plus an implicit one to find tasks it does not know, which it
// kills), and neither launches twice nor kills what it should keep. A
// deployment is stored before the apps it changes; Load repairs apps that a
// crash left behind their deployment's target.
//
// # Explanations (a Strata extension)
//
// Queue entries (GET /v2/queue) and deployment actions (GET
// /v2/deployments, currentActions[]) carry a "message" saying in words why
// the app is not where its deployment wants it: no offer fits (with the
// reasons and the largest offer seen), launches delayed after failures
// (with the last failure), health or readiness checks not passing (with the
// last failure cause), kills outstanding, or an earlier step still running.
package engine

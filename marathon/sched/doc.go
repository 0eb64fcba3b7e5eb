// Package sched holds Marathon's scheduling decisions as pure functions:
// which pending instances an offer can take (MatchOffer, with the reason
// for every app it could not serve), the Mesos TaskInfo a launch becomes
// (BuildTask), and the per-app launch backoff (Backoff). No I/O, no clock:
// the engine passes offers, demand and `now` in and carries the results out.
//
// # Matching one offer
//
// Requests (one per app with instances to launch) are served round-robin,
// one instance at a time, so that one big app does not starve the others.
// For each instance the offer must, in this order:
//
//  1. be allocated to the app's role and carry resources of an accepted
//     role (acceptedResourceRoles; default the app's role and "*")
//     — else UnfulfilledRole;
//  2. satisfy every constraint given where the app's instances run,
//     including instances placed earlier from the same offer
//     — else UnfulfilledConstraint;
//  3. hold cpus, mem, disk (and gpus) — else InsufficientCpus,
//     InsufficientMemory, InsufficientDisk, InsufficientGpus;
//  4. hold the host ports: any ports for dynamic ones, the exact ports for
//     requirePorts and fixed hostPorts — else InsufficientPorts.
//
// A request stops at its first failure for this offer; the reasons are
// Marathon's names, as GET /v2/queue reports them.
package sched

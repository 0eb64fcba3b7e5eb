// Package primes is an example batch framework: it counts the primes in
// [from, to] by splitting the range into N pieces and running one command
// task per piece on whatever offers arrive (several per offer when the
// offer is large enough). Each task runs the primes binary itself
// ("primes count --from A --to B"), which prints its count and POSTs it to
// a small HTTP listener the framework opens (address in the task's
// PRIMES_RESULT_URL). A task that ends without reporting is run again, up
// to MaxRetries times; when every range is counted the framework prints
// the total, tears itself down and exits.
//
// The pieces follow the project's split between deciding and doing: Split
// and Count are plain functions; Job decides which ranges go on an offer
// and what an update or a report means, with no I/O; Framework is the
// shell that talks to a Driver (a *scheduler.Client, or a fake in tests);
// Run wires the scheduler client, the result listener and the Framework.
//
// The worker binary must exist at the same path on the agents' hosts, which
// holds in `strata dev` (the agent runs on the framework's host) — the
// result listener is on 127.0.0.1 by default for the same reason.
package primes

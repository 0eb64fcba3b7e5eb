// Package allocator decides which framework is offered which agent's
// resources: Mesos' hierarchical DRF (HierarchicalDRF with the drf role and
// framework sorters) with role weights, quota guarantees and limits,
// reservations, refusal filters, suppression, min-allocatable resources and
// GPU filtering.
//
// Allocate is a pure function of a Snapshot: no goroutines, clock, store or
// randomness of its own (time is Snapshot.Now, shuffling uses the caller's
// *rand.Rand). The master builds the snapshot, calls Allocate, and turns the
// returned Offers into Offer messages.
//
// # What it owns
//
// The ordering of roles and frameworks, and the shape of each offer. Roles
// form a tree ("eng/backend" is a child of "eng"); siblings are ordered by
// dominant share
//
//	share = max over scalars r of (allocated_r / total_r) / weight(role)
//
// where allocated counts offered and used resources of the whole subtree and
// total is the sum of every agent's Total. Within a role, frameworks are
// ordered the same way by what they hold in that role (weight 1). Ties go to
// the smaller role path or framework ID. Shares are updated after every offer,
// so the next agent goes to whoever is now furthest behind.
//
// # The two stages
//
// Active agents are shuffled (when a *rand.Rand is given; again before stage
// 2) and walked in that order, once per stage; agent by agent, roles and then
// frameworks are visited in share order, and a framework gets all that is
// left on the agent for its role in one offer:
//
//  1. Quota guarantees. Only roles with an unsatisfied guarantee and active
//     frameworks take part, and only on agents that move them towards it.
//     What the guarantee still misses is offered first; unreserved scalars
//     beyond it are bounded by the role's limits and by the headroom the
//     other unsatisfied guarantees need; reservations, non-scalar and
//     revocable resources ride along.
//  2. Fair share. Every role. Reservations to the role or an ancestor,
//     non-scalar and revocable resources are always offerable; unreserved
//     scalars are chopped to the role's quota limits and to the unreserved
//     headroom still needed by other roles' unsatisfied guarantees
//     (Σ guarantee − consumed). Consumption is reservations plus unreserved
//     allocations (Snapshot.Consumed, or derived from the snapshot). Limits
//     chop per resource, as in Mesos: a role at its cpus limit is still
//     offered memory, disk and ports when they meet the min-allocatable
//     resources.
//
// Resources offered to a (framework, role) on an agent in both stages are
// merged into one Offer, so every agent is offered at most once per
// (framework, role) and cycle.
//
// A (framework, role) is not offered an agent when the framework is inactive,
// the role suppressed, the agent inactive, the agent has GPUs and the
// framework is not GPU aware, an unexpired refusal filter contains what would
// be offered, the offer would satisfy none of the min-allocatable quantity
// sets (default cpus:0.01 | mem:32), quota limits or headroom chopped it
// below that minimum, or nothing allocatable to the role was left. Each of
// these is counted in Result.Skipped under a Reason* code; for every
// framework, offers plus skips add up to agents × roles.
//
// # Cost
//
// Resources' generic math (string identities, deep copies) is far too slow
// for a cycle over 10,000 agents, so a cycle first converts every agent's
// Available into a short list of items with a scalar index, the totals and
// every node's allocation into small float vectors, and the role tree into
// one min-heap of live children per node. Visiting an agent pops nodes in
// share order and pushes them back, re-keyed, afterwards, so an agent costs
// O(depth · log n) when the first framework takes it all. mesos.Resources are
// built only for the offers actually made (and for candidates that a refusal
// filter must be checked against).
//
// # What it leaves to the master
//
// Keeping Available, Allocated and the filters up to date, creating offer IDs
// and sending OFFERS events (one per framework per cycle), rescinding offers,
// offer timeouts, revive (dropping filters and suppression), the allocation
// interval and event-triggered runs, and the recovery pause after a failover.
// Framework carries no REVOCABLE_RESOURCES capability, so revocable
// resources in Available are offered like non-scalars, to any framework;
// shared resources are offered once per cycle, whole.
package allocator

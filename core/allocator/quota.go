package allocator

import (
	"maps"
	"math"
	"slices"

	"github.com/strata-sched/strata/core/mesos"
)

// quotaState is one role's quota as vectors over the cycle's dimensions.
// Names no agent has are dropped: nothing can be offered against them.
type quotaState struct {
	role      string
	guarantee []float64 // 0 where none
	limit     []float64 // +Inf where none
	consumed  []float64 // reservations + unreserved allocations, updated as offers are made
}

// unsat is what the guarantee still misses on dimension d.
func (q *quotaState) unsat(d int) float64 {
	if v := q.guarantee[d] - q.consumed[d]; v > eps {
		return v
	}
	return 0
}

func (q *quotaState) unsatisfied() bool {
	for d := range q.guarantee {
		if q.unsat(d) > 0 {
			return true
		}
	}
	return false
}

// setupQuotas builds the quota states, each role's quota ancestry, the
// required headroom and the available headroom.
func (c *cycle) setupQuotas() {
	s := c.s
	names := slices.Sorted(maps.Keys(s.Quotas))
	for _, role := range names {
		qt := s.Quotas[role]
		q := quotaState{
			role:      role,
			guarantee: make([]float64, c.nd),
			limit:     make([]float64, c.nd),
			consumed:  make([]float64, c.nd),
		}
		for d := range q.limit {
			q.limit[d] = math.Inf(1)
		}
		for name, v := range qt.Guarantees {
			if d := c.dims.lookup(name); d >= 0 {
				q.guarantee[d] = v
			}
		}
		for name, v := range qt.Limits {
			if d := c.dims.lookup(name); d >= 0 {
				q.limit[d] = v
			}
		}
		if s.Consumed != nil {
			for name, v := range s.Consumed[role] {
				if d := c.dims.lookup(name); d >= 0 {
					q.consumed[d] = v
				}
			}
		} else {
			c.deriveConsumed(&q)
		}
		c.quotas = append(c.quotas, q)
	}

	for r := range c.roles {
		ri := &c.roles[r]
		for qi := range c.quotas {
			if allocatableTo(c.quotas[qi].role, ri.name) {
				ri.quotaAnc = append(ri.quotaAnc, int32(qi))
				if c.quotas[qi].role == ri.name {
					ri.quota = int32(qi)
				}
			}
		}
	}

	c.required = make([]float64, c.nd)
	for qi := range c.quotas {
		for d := range c.required {
			c.required[d] += c.quotas[qi].unsat(d)
		}
	}
	c.headroom = make([]float64, c.nd)
	for _, ag := range c.agents {
		for i := ag.lo; i < ag.hi; i++ {
			if it := &c.items[i]; it.kind == kindQuota || it.kind == kindQuotaWhole {
				c.headroom[it.dim] += it.left
			}
		}
	}
}

// deriveConsumed computes q's consumption from the snapshot: reservations to
// the role or its descendants on any agent, plus unreserved non-revocable
// allocations of the role and its descendants.
func (c *cycle) deriveConsumed(q *quotaState) {
	for rr, vec := range c.reservedTotals {
		if allocatableTo(q.role, rr) {
			for d, v := range vec {
				q.consumed[d] += v
			}
		}
	}
	for i := range c.s.Frameworks {
		for role, rs := range c.s.Frameworks[i].Allocated {
			if !allocatableTo(q.role, role) {
				continue
			}
			for j := range rs {
				r := &rs[j]
				if r.Type != mesos.SCALAR || r.Scalar == nil || r.IsReserved() || r.Revocable != nil {
					continue
				}
				if d := c.dims.lookup(r.Name); d >= 0 {
					q.consumed[d] += r.Scalar.Value
				}
			}
		}
	}
}

// capsFor writes into c.caps how much of each unreserved quota scalar role r
// may take now: what its quota limits leave (withLimit), and what the
// unreserved headroom has beyond the unsatisfied guarantees of other roles
// (withHeadroom). In stage 1, as in Mesos, the role's own unsatisfied
// guarantee is offered first and unconditionally; only what it takes beyond
// that is bounded by its limits and by the headroom all guarantees need.
func (c *cycle) capsFor(stage int, r int32, withLimit, withHeadroom bool) []float64 {
	caps := c.caps
	ri := &c.roles[r]
	var own *quotaState
	if stage == 1 {
		own = &c.quotas[ri.quota]
	}
	for d := range caps {
		limit := math.Inf(1)
		if withLimit {
			for _, qi := range ri.quotaAnc {
				q := &c.quotas[qi]
				limit = min(limit, max(q.limit[d]-q.consumed[d], 0))
			}
		}
		var g float64 // guarantee offered first (stage 1)
		if own != nil {
			g = min(own.unsat(d), limit)
		}
		extra := limit - g
		if withHeadroom && c.required[d] > eps {
			// Stage 1 hands out g apart, so all guarantees count; in stage
			// 2 the role's own (and its ancestors') would be served by
			// what it takes anyway.
			needed := c.required[d]
			if own == nil {
				for _, qi := range ri.quotaAnc {
					needed -= c.quotas[qi].unsat(d)
				}
			}
			if needed > eps {
				extra = min(extra, c.headroom[d]-needed)
			}
		}
		caps[d] = g + max(extra, 0)
	}
	return caps
}

// guaranteeProgress reports whether the candidate offer moves role r towards
// its guarantee (stage 1 only offers when it does).
func (c *cycle) guaranteeProgress(r int32) bool {
	q := &c.quotas[c.roles[r].quota]
	for d, v := range c.quotaQ {
		if v > 0 && q.unsat(d) > 0 {
			return true
		}
	}
	return false
}

// consume charges the candidate offer's unreserved quota scalars to role r's
// quota ancestry and to the headroom.
func (c *cycle) consume(r int32) {
	for d, v := range c.quotaQ {
		if v == 0 {
			continue
		}
		c.headroom[d] -= v
		for _, qi := range c.roles[r].quotaAnc {
			q := &c.quotas[qi]
			before := q.unsat(d)
			q.consumed[d] += v
			c.required[d] -= before - q.unsat(d)
		}
	}
}

func floor3(v float64) float64 { return math.Floor(v*1000+1e-6) / 1000 }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

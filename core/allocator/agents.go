package allocator

import (
	"slices"
	"strings"

	"github.com/strata-sched/strata/core/mesos"
)

// eps is below Mesos' scalar resolution (three decimal digits).
const eps = 0.0005

// itemKind says how an item of an agent's Available may be offered.
type itemKind uint8

const (
	// kindQuota is an unreserved, non-revocable, divisible scalar: it counts
	// towards quota and headroom and may be chopped.
	kindQuota itemKind = iota
	// kindQuotaWhole is like kindQuota but cannot be split (a disk with
	// DiskInfo, a shared resource): offered whole or not at all.
	kindQuotaWhole
	// kindReserved is reserved to item.role: offerable to that role and its
	// descendants, always in full.
	kindReserved
	// kindOther is an unreserved non-scalar or revocable resource: always
	// offered in full to whoever takes the agent.
	kindOther
)

// item is one resource of an agent's Available, with what is left of it in
// this cycle. It holds no pointers, so the garbage collector never scans the
// items of a cycle.
type item struct {
	left float64 // scalar amount left; 1 or 0 for non-scalars
	res  int32   // index into the agent's Available
	role int32   // reservation role, index into cycle.resRoles (kindReserved)
	dim  int32   // scalar dimension, -1 for non-scalars
	kind itemKind
}

// agentState is an agent's per-cycle state.
type agentState struct {
	lo, hi int32 // its items are cycle.items[lo:hi]
	left   int32 // items not used up
	unres  int32 // unreserved items not used up
	gpu    bool
}

// cand is an item and the amount of it about to be offered.
type cand struct {
	item int32
	amt  float64
}

// dims maps scalar resource names to vector positions. A handful of names is
// the norm, where a linear scan beats hashing.
type dims struct {
	names []string
	index map[string]int32
}

func (d *dims) lookup(name string) int32 {
	if d.index != nil {
		if i, ok := d.index[name]; ok {
			return i
		}
		return -1
	}
	for i, n := range d.names {
		if n == name {
			return int32(i)
		}
	}
	return -1
}

func (d *dims) add(name string) int32 {
	if i := d.lookup(name); i >= 0 {
		return i
	}
	d.names = append(d.names, name)
	i := int32(len(d.names) - 1)
	if d.index != nil {
		d.index[name] = i
	} else if len(d.names) > 8 {
		d.index = make(map[string]int32, 16)
		for j, n := range d.names {
			d.index[n] = int32(j)
		}
	}
	return i
}

// allocatableTo reports whether resources reserved to reservedRole may be
// offered to role: the same role or a descendant of it.
func allocatableTo(reservedRole, role string) bool {
	return reservedRole == role ||
		len(role) > len(reservedRole) && role[len(reservedRole)] == '/' && strings.HasPrefix(role, reservedRole)
}

func isEmpty(r *mesos.Resource) bool {
	switch r.Type {
	case mesos.SCALAR:
		return r.Scalar == nil || r.Scalar.Value < eps
	case mesos.RANGES:
		return r.Ranges == nil || len(r.Ranges.Range) == 0
	case mesos.SET:
		return r.Set == nil || len(r.Set.Item) == 0
	}
	return true
}

// addAgent converts agent a into items (only for an active agent) and adds
// its Total to the cluster totals.
func (c *cycle) addAgent(a *Agent) {
	st := agentState{lo: int32(len(c.items)), gpu: a.GPU}
	for i := range a.Total {
		r := &a.Total[i]
		if r.Type != mesos.SCALAR || r.Scalar == nil {
			continue
		}
		d := c.dims.add(r.Name)
		if int(d) == len(c.total) {
			c.total = append(c.total, 0)
		}
		c.total[d] += r.Scalar.Value
		if r.Name == "gpus" && r.Scalar.Value > 0 {
			st.gpu = true
		}
		if c.reservedTotals != nil && r.IsReserved() {
			c.reservedTotals[r.ReservationRole()] = addAt(c.reservedTotals[r.ReservationRole()], d, r.Scalar.Value)
		}
	}
	if a.Active {
		for i := range a.Available {
			r := &a.Available[i]
			if isEmpty(r) {
				continue
			}
			it := item{left: 1, res: int32(i), dim: -1}
			if r.Type == mesos.SCALAR {
				it.dim = c.dims.add(r.Name)
				if int(it.dim) == len(c.total) {
					c.total = append(c.total, 0)
				}
				it.left = r.Scalar.Value
				c.arena.nScalars++
			} else if r.Ranges != nil {
				c.arena.nRanges++
				c.arena.nRangeVals += len(r.Ranges.Range)
			}
			switch rr := r.ReservationRole(); {
			case rr != "*":
				it.kind, it.role = kindReserved, c.resRole(rr)
			case r.Type == mesos.SCALAR && r.Revocable == nil:
				it.kind = kindQuota
				if r.Disk != nil || r.Shared != nil {
					it.kind = kindQuotaWhole
				}
				st.unres++
			default:
				it.kind = kindOther
				st.unres++
			}
			c.items = append(c.items, it)
		}
	}
	st.hi = int32(len(c.items))
	st.left = st.hi - st.lo
	c.agents = append(c.agents, st)
}

// resRole interns a reservation role.
func (c *cycle) resRole(role string) int32 {
	for i := len(c.resRoles) - 1; i >= 0; i-- {
		if c.resRoles[i] == role {
			return int32(i)
		}
	}
	c.resRoles = append(c.resRoles, role)
	return int32(len(c.resRoles) - 1)
}

// addAt adds v at position d of vec, growing it as needed.
func addAt(vec []float64, d int32, v float64) []float64 {
	for int(d) >= len(vec) {
		vec = append(vec, 0)
	}
	vec[d] += v
	return vec
}

// allocatableAny reports whether agent a has anything left for role r.
func (c *cycle) allocatableAny(a int32, r int32) bool {
	ag := &c.agents[a]
	if ag.unres > 0 {
		return true
	}
	if ag.left == 0 {
		return false
	}
	role := c.roles[r].name
	for i := ag.lo; i < ag.hi; i++ {
		if it := &c.items[i]; it.left > 0 && it.kind == kindReserved && allocatableTo(c.resRoles[it.role], role) {
			return true
		}
	}
	return false
}

// fill puts into c.cand what agent a can offer role r, unreserved quota
// scalars chopped to caps (nil: no chopping); c.q gets the scalar quantities
// of the candidate offer, c.quotaQ those of its unreserved non-revocable
// part. It reports whether anything is offered.
func (c *cycle) fill(a int32, r int32, caps []float64) bool {
	c.cand = c.cand[:0]
	clear(c.q)
	clear(c.quotaQ)
	rem := c.rem
	if caps != nil {
		copy(rem, caps)
	}
	role := c.roles[r].name
	ag := &c.agents[a]
	for i := ag.lo; i < ag.hi; i++ {
		it := &c.items[i]
		if it.left == 0 {
			continue
		}
		amt := it.left
		switch it.kind {
		case kindReserved:
			if !allocatableTo(c.resRoles[it.role], role) {
				continue
			}
		case kindQuota:
			if caps != nil && amt > rem[it.dim] {
				amt = floor3(rem[it.dim])
				if amt < eps {
					continue
				}
			}
			rem[it.dim] -= amt
			c.quotaQ[it.dim] += amt
		case kindQuotaWhole:
			if caps != nil && amt > rem[it.dim]+eps {
				continue
			}
			rem[it.dim] -= amt
			c.quotaQ[it.dim] += amt
		}
		if it.dim >= 0 {
			c.q[it.dim] += amt
		}
		c.cand = append(c.cand, cand{i, amt})
	}
	return len(c.cand) > 0
}

// take removes the candidate offer from agent a.
func (c *cycle) take(a int32) {
	ag := &c.agents[a]
	for _, cd := range c.cand {
		it := &c.items[cd.item]
		if it.kind == kindQuota {
			it.left = round3(it.left - cd.amt)
			if it.left >= eps {
				continue
			}
		}
		it.left = 0
		ag.left--
		if it.kind != kindReserved {
			ag.unres--
		}
	}
}

// build turns the candidate offer of agent a into Resources, with
// allocation_info.role set to role unless role is empty (the resources of one
// offer share one AllocationInfo). The pieces come from the cycle's arena.
func (c *cycle) build(a int32, role string) mesos.Resources {
	ar := &c.arena
	out := carve(&ar.res, len(c.cand), ar.nItems)
	var info *mesos.AllocationInfo
	if role != "" {
		info = &carve(&ar.infos, 1, len(c.agents))[0]
		info.Role = role
	}
	avail := c.s.Agents[a].Available
	for i, cd := range c.cand {
		// Patch a local copy and store it once: one write barrier pass
		// instead of one per pointer field.
		r := avail[c.items[cd.item].res]
		r.AllocationInfo = info
		switch {
		case r.Type == mesos.SCALAR:
			sc := &carve(&ar.scalars, 1, ar.nScalars)[0]
			sc.Value = cd.amt
			r.Scalar = sc
		case r.Ranges != nil:
			rg := &carve(&ar.ranges, 1, ar.nRanges)[0]
			rg.Range = carve(&ar.rangeVals, len(r.Ranges.Range), ar.nRangeVals)
			copy(rg.Range, r.Ranges.Range)
			r.Ranges = rg
		case r.Set != nil:
			r.Set = &mesos.Set{Item: slices.Clone(r.Set.Item)}
		}
		if r.Reservations != nil {
			r.Reservations = slices.Clone(r.Reservations)
		}
		out[i] = r
	}
	return out
}

// arena hands out the pieces of offers in chunks, which saves most of the
// allocations (and the garbage collection) of building thousands of offers.
// The first chunks are sized for offering every item once, the usual
// worst case.
type arena struct {
	nItems, nScalars, nRanges, nRangeVals int

	res       []mesos.Resource
	infos     []mesos.AllocationInfo
	scalars   []mesos.Scalar
	ranges    []mesos.Ranges
	rangeVals []mesos.Range
}

// carve returns n fresh elements of *buf (length and capacity n), starting a
// new chunk of at least size elements when the current one is full.
func carve[T any](buf *[]T, n int, size int) []T {
	b := *buf
	if cap(b)-len(b) < n {
		if b != nil {
			size = max(size/4, 16) // a later chunk: the estimate was short
		}
		b = make([]T, 0, max(n, size))
	}
	*buf = b[:len(b)+n]
	return b[len(b) : len(b)+n : len(b)+n]
}

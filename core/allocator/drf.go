package allocator

import (
	"cmp"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/strata-sched/strata/core/mesos"
)

// Reason indexes for the per-pair skip counters.
const (
	rSuppressed = iota
	rFiltered
	rBelowMinimum
	rQuotaLimit
	rQuotaHeadroom
	rGPUAgent
	rAgentInactive
	rNothingLeft
	rFrameworkInactive
	numReasons
)

// reasonCode is the Reason* constant of a reason index.
func reasonCode(i int) string {
	return [numReasons]string{
		rSuppressed:        ReasonSuppressed,
		rFiltered:          ReasonFiltered,
		rBelowMinimum:      ReasonBelowMinimum,
		rQuotaLimit:        ReasonQuotaLimit,
		rQuotaHeadroom:     ReasonQuotaHeadroom,
		rGPUAgent:          ReasonGPUAgent,
		rAgentInactive:     ReasonAgentInactive,
		rNothingLeft:       ReasonNothingLeft,
		rFrameworkInactive: ReasonFrameworkInactive,
	}[i]
}

// roleInfo is a role of the tree.
type roleInfo struct {
	name     string
	node     int32   // the role's node
	own      int32   // node holding its framework nodes, -1 when it has none
	quota    int32   // its own entry in cycle.quotas, -1 when none
	quotaAnc []int32 // quotas of the role and its ancestors
}

// pair is a framework in one role.
type pair struct {
	fw      int32
	role    int32
	node    int32
	min     int32 // index into cycle.mins
	live    bool  // active framework, subscribed, role not suppressed
	handled int32 // active agents that got an offer or a skip reason
	skips   [numReasons]int32
}

// minReq is one quantity of a min-allocatable set; dim -1 is a resource no
// agent has.
type minReq struct {
	dim int32
	amt float64
}

// cycle is the working state of one allocate call.
type cycle struct {
	s *Snapshot

	dims  dims
	nd    int       // number of scalar dimensions
	total []float64 // per dimension, over all agents' Total

	agents   []agentState
	items    []item
	resRoles []string // reservation roles of kindReserved items
	order    []int32  // active agents, in visiting order
	nInact   int32    // inactive agents

	nodes []node
	alloc []float64 // len(nodes) × nd
	roles []roleInfo
	pairs []pair

	quotas         []quotaState
	required       []float64 // Σ unsatisfied guarantees
	headroom       []float64 // unreserved non-revocable scalars still available
	reservedTotals map[string][]float64
	stage1Roles    []int32

	mins    [][][]minReq // min-allocatable alternatives; 0 is the snapshot's
	filters map[uint64][]mesos.Resources

	// scratch
	popped []popRec
	cand   []cand
	q      []float64
	quotaQ []float64
	rem    []float64
	caps   []float64

	arena  arena
	offers []Offer
	// stage1Offer maps agent<<32|pair to the offer made in stage 1.
	stage1Offer map[uint64]int
}

func allocate(s *Snapshot, rng *rand.Rand) Result {
	c := newCycle(s)
	c.shuffle(rng)
	if len(c.stage1Roles) > 0 {
		c.stage1()
		c.shuffle(rng)
	}
	for _, a := range c.order {
		c.visit(0, a)
		c.reinsert()
	}
	return c.result()
}

func newCycle(s *Snapshot) *cycle {
	c := &cycle{s: s}
	if len(s.Quotas) > 0 && s.Consumed == nil {
		c.reservedTotals = map[string][]float64{}
	}
	nItems := 0
	for i := range s.Agents {
		nItems += len(s.Agents[i].Available)
	}
	c.items = make([]item, 0, nItems)
	c.agents = make([]agentState, 0, len(s.Agents))
	c.order = make([]int32, 0, len(s.Agents))
	for i := range s.Agents {
		c.addAgent(&s.Agents[i])
		if s.Agents[i].Active {
			c.order = append(c.order, int32(i))
		} else {
			c.nInact++
		}
	}
	c.nd = len(c.dims.names)
	c.q = make([]float64, c.nd)
	c.quotaQ = make([]float64, c.nd)
	c.rem = make([]float64, c.nd)
	c.caps = make([]float64, c.nd)

	c.arena.nItems = len(c.items)
	offerable := 0
	for _, a := range c.order {
		if c.agents[a].left > 0 {
			offerable++
		}
	}
	c.offers = make([]Offer, 0, offerable)
	c.buildTree()
	c.setupQuotas()
	for r := range c.roles {
		ri := &c.roles[r]
		if ri.quota >= 0 && ri.own >= 0 && c.nodes[ri.own].live && c.quotas[ri.quota].unsatisfied() {
			c.stage1Roles = append(c.stage1Roles, int32(r))
		}
	}
	c.setupMins()
	c.setupFilters()
	return c
}

func (c *cycle) shuffle(rng *rand.Rand) {
	if rng != nil {
		rng.Shuffle(len(c.order), func(i, j int) { c.order[i], c.order[j] = c.order[j], c.order[i] })
	}
}

func parentRole(role string) string {
	if i := strings.LastIndexByte(role, '/'); i > 0 {
		return role[:i]
	}
	return ""
}

// buildTree creates the role and framework nodes with their allocations,
// shares and heaps.
func (c *cycle) buildTree() {
	s := c.s
	// Roles: subscribed or holding allocations, plus their ancestors.
	set := map[string]bool{}
	for i := range s.Frameworks {
		f := &s.Frameworks[i]
		for _, r := range f.Roles {
			set[r] = true
		}
		for r := range f.Allocated {
			set[r] = true
		}
	}
	hasChild := map[string]bool{}
	for r := range set {
		for p := parentRole(r); p != ""; p = parentRole(p) {
			hasChild[p] = true
			set[p] = true
		}
	}
	names := slices.Sorted(maps.Keys(set)) // parents sort before children
	roleIdx := make(map[string]int32, len(names))

	// Framework pairs per role are known before nodes are made, to know
	// which roles have frameworks of their own.
	type pairRole struct {
		name       string
		subscribed bool
	}
	fwRoles := make([][]pairRole, len(s.Frameworks))
	hasOwn := map[string]bool{}
	for i := range s.Frameworks {
		f := &s.Frameworks[i]
		var prs []pairRole
		for _, r := range f.Roles {
			if !slices.ContainsFunc(prs, func(p pairRole) bool { return p.name == r }) {
				prs = append(prs, pairRole{r, true})
			}
		}
		if len(f.Allocated) > 0 {
			for _, r := range slices.Sorted(maps.Keys(f.Allocated)) {
				if !slices.ContainsFunc(prs, func(p pairRole) bool { return p.name == r }) {
					prs = append(prs, pairRole{r, false})
				}
			}
		}
		for _, p := range prs {
			hasOwn[p.name] = true
		}
		fwRoles[i] = prs
	}

	nPairs := 0
	for _, prs := range fwRoles {
		nPairs += len(prs)
	}
	c.nodes = make([]node, 1, 1+2*len(names)+nPairs)
	c.nodes[0] = node{parent: -1, pair: -1, ownRole: -1, weight: 1}
	c.roles = make([]roleInfo, 0, len(names))
	for _, name := range names {
		r := int32(len(c.roles))
		roleIdx[name] = r
		parent := int32(0)
		if p := parentRole(name); p != "" {
			parent = c.roles[roleIdx[p]].node
		}
		w := s.Weights[name]
		if !(w > 0) || math.IsInf(w, 1) {
			w = 1 // missing, zero, negative, NaN or infinite
		}
		n := c.addNode(node{name: name, parent: parent, weight: w, pair: -1, ownRole: -1})
		ri := roleInfo{name: name, node: n, own: -1, quota: -1}
		if hasOwn[name] {
			ri.own = n
			if hasChild[name] {
				ri.own = c.addNode(node{name: name, parent: n, weight: w, pair: -1, ownRole: -1})
			}
			c.nodes[ri.own].ownRole = r
		}
		c.roles = append(c.roles, ri)
	}

	c.pairs = make([]pair, 0, nPairs)
	for i := range s.Frameworks {
		f := &s.Frameworks[i]
		for _, pr := range fwRoles[i] {
			r := roleIdx[pr.name]
			p := int32(len(c.pairs))
			n := c.addNode(node{name: f.ID, parent: c.roles[r].own, weight: 1, pair: p, ownRole: -1})
			live := f.Active && pr.subscribed && !f.Suppressed[pr.name]
			c.nodes[n].live = live
			c.pairs = append(c.pairs, pair{fw: int32(i), role: r, node: n, live: live})
		}
	}

	// Allocations: framework nodes from the snapshot, then summed upwards
	// (children always come after their parent).
	c.alloc = make([]float64, len(c.nodes)*c.nd)
	for p := range c.pairs {
		pr := &c.pairs[p]
		rs := s.Frameworks[pr.fw].Allocated[c.roles[pr.role].name]
		a := c.allocOf(pr.node)
		for j := range rs {
			if r := &rs[j]; r.Type == mesos.SCALAR && r.Scalar != nil {
				if d := c.dims.lookup(r.Name); d >= 0 {
					a[d] += r.Scalar.Value
				}
			}
		}
	}
	for n := int32(len(c.nodes)) - 1; n > 0; n-- {
		nd := &c.nodes[n]
		nd.share = c.dominant(c.allocOf(n)) / nd.weight
		if nd.parent > 0 {
			pa := c.allocOf(nd.parent)
			for d, v := range c.allocOf(n) {
				pa[d] += v
			}
		}
		if nd.live {
			c.nodes[nd.parent].live = true
		}
	}

	// Ranks break share ties by name (then creation order).
	idx := make([]int32, len(c.nodes))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		return cmp.Or(strings.Compare(c.nodes[a].name, c.nodes[b].name), cmp.Compare(a, b))
	})
	for rank, n := range idx {
		c.nodes[n].rank = int32(rank)
	}

	// Heaps of live children.
	nKids := make([]int32, len(c.nodes))
	for n := 1; n < len(c.nodes); n++ {
		if c.nodes[n].live {
			nKids[c.nodes[n].parent]++
		}
	}
	for n := range c.nodes {
		if nKids[n] > 0 {
			c.nodes[n].kids = make([]int32, 0, nKids[n])
		}
	}
	for n := 1; n < len(c.nodes); n++ {
		if nd := &c.nodes[n]; nd.live {
			c.nodes[nd.parent].kids = append(c.nodes[nd.parent].kids, int32(n))
		}
	}
	for n := range c.nodes {
		c.heapify(int32(n))
	}
}

func (c *cycle) addNode(n node) int32 {
	if n.parent >= 0 {
		n.depth = c.nodes[n.parent].depth + 1
	}
	c.nodes = append(c.nodes, n)
	return int32(len(c.nodes) - 1)
}

// setupMins converts the min-allocatable sets to dimension vectors.
func (c *cycle) setupMins() {
	def := c.s.MinAllocatable
	if def == nil {
		def = []map[string]float64{{"cpus": 0.01}, {"mem": 32}}
	}
	c.mins = append(c.mins, c.minSets(def))
	for p := range c.pairs {
		pr := &c.pairs[p]
		f := &c.s.Frameworks[pr.fw]
		if sets, ok := f.MinAllocatable[c.roles[pr.role].name]; ok && pr.live {
			pr.min = int32(len(c.mins))
			c.mins = append(c.mins, c.minSets(sets))
		}
	}
}

func (c *cycle) minSets(sets []map[string]float64) [][]minReq {
	out := make([][]minReq, 0, len(sets))
	for _, set := range sets {
		var reqs []minReq
		for _, name := range slices.Sorted(maps.Keys(set)) {
			if v := set[name]; v > 0 {
				reqs = append(reqs, minReq{c.dims.lookup(name), v})
			}
		}
		out = append(out, reqs)
	}
	return out
}

// minOK reports whether quantities q satisfy one of the sets (any when there
// are none).
func (c *cycle) minOK(m int32, q []float64) bool {
	sets := c.mins[m]
	if len(sets) == 0 {
		return true
	}
next:
	for _, set := range sets {
		for _, r := range set {
			if r.dim < 0 || q[r.dim] < r.amt-eps {
				continue next
			}
		}
		return true
	}
	return false
}

func filterKey(a, p int32) uint64 { return uint64(a)<<32 | uint64(uint32(p)) }

// setupFilters indexes the unexpired refusal filters by (agent, pair).
func (c *cycle) setupFilters() {
	s := c.s
	if len(s.Filters) == 0 {
		return
	}
	agentIdx := make(map[string]int32, len(s.Agents))
	for i := range s.Agents {
		agentIdx[s.Agents[i].ID] = int32(i)
	}
	pairIdx := map[[2]string]int32{}
	for p := range c.pairs {
		pr := &c.pairs[p]
		if pr.live {
			pairIdx[[2]string{s.Frameworks[pr.fw].ID, c.roles[pr.role].name}] = int32(p)
		}
	}
	for i := range s.Filters {
		f := &s.Filters[i]
		if !s.Now.Before(f.Expires) {
			continue
		}
		a, ok := agentIdx[f.AgentID]
		if !ok {
			continue
		}
		p, ok := pairIdx[[2]string{f.FrameworkID, f.Role}]
		if !ok {
			continue
		}
		rs := f.Resources
		if slices.ContainsFunc(rs, func(r mesos.Resource) bool { return r.AllocationInfo != nil }) {
			rs = rs.Unallocated()
		}
		if c.filters == nil {
			c.filters = map[uint64][]mesos.Resources{}
		}
		k := filterKey(a, p)
		c.filters[k] = append(c.filters[k], rs)
	}
}

// filtered reports whether a refusal filter of pair p on agent a contains
// the candidate offer.
func (c *cycle) filtered(p, a int32) bool {
	fs := c.filters[filterKey(a, p)]
	if len(fs) == 0 {
		return false
	}
	offer := c.build(a, "")
	for _, f := range fs {
		if f.Contains(offer) {
			return true
		}
	}
	return false
}

// stage1 offers agents to roles with unsatisfied quota guarantees, roles in
// hierarchical share order, frameworks in share order.
func (c *cycle) stage1() {
	roles := slices.Clone(c.stage1Roles)
	offered := false
	for _, a := range c.order {
		if !slices.ContainsFunc(roles, func(r int32) bool { return c.quotas[c.roles[r].quota].unsatisfied() }) {
			break // every guarantee is met
		}
		slices.SortStableFunc(roles, func(x, y int32) int {
			ox, oy := c.roles[x].own, c.roles[y].own
			switch {
			case c.hierLess(ox, oy):
				return -1
			case c.hierLess(oy, ox):
				return 1
			}
			return 0
		})
		for _, r := range roles {
			if c.agents[a].left == 0 {
				break
			}
			if !c.quotas[c.roles[r].quota].unsatisfied() {
				continue
			}
			n := len(c.offers)
			c.serve(1, r, a)
			offered = offered || len(c.offers) > n
		}
		c.reinsert()
	}
	if offered {
		// Stage 1 changed the shares of nodes sitting in heaps.
		c.reheapAll()
	}
}

// visit offers agent a to the live subtree of node n in share order. It
// returns false once the agent has nothing left.
func (c *cycle) visit(n int32, a int32) bool {
	if r := c.nodes[n].ownRole; r >= 0 {
		return c.serve(2, r, a)
	}
	for len(c.nodes[n].kids) > 0 {
		if c.agents[a].left == 0 {
			return false
		}
		if !c.visit(c.popMin(n), a) {
			return false
		}
	}
	return true
}

// serve offers agent a to role r's frameworks in share order, until nothing
// is left for the role. It returns false once the agent has nothing left.
func (c *cycle) serve(stage int, r int32, a int32) bool {
	own := c.roles[r].own
	for c.allocatableAny(a, r) && len(c.nodes[own].kids) > 0 {
		if stage == 1 && !c.quotas[c.roles[r].quota].unsatisfied() {
			return true
		}
		c.try(stage, c.nodes[c.popMin(own)].pair, a)
		if c.agents[a].left == 0 {
			return false
		}
	}
	return true
}

// try offers what agent a has left for pair p's role to p, or records why not.
func (c *cycle) try(stage int, p int32, a int32) {
	pr := &c.pairs[p]
	if c.agents[a].gpu && !c.s.Frameworks[pr.fw].GPUAware {
		c.skip(stage, p, a, rGPUAgent)
		return
	}
	var caps []float64
	if len(c.quotas) > 0 {
		caps = c.capsFor(stage, pr.role, true, true)
	}
	ok := c.fill(a, pr.role, caps)
	if stage == 1 && !c.guaranteeProgress(pr.role) {
		return
	}
	if !ok || !c.minOK(pr.min, c.q) {
		if stage == 2 {
			c.skip(stage, p, a, c.whyNot(p, a))
		}
		return
	}
	if c.filters != nil && c.filtered(p, a) {
		c.skip(stage, p, a, rFiltered)
		return
	}
	c.commit(stage, p, a)
}

// whyNot tells which cap made the stage 2 candidate offer of pair p too small.
func (c *cycle) whyNot(p, a int32) int {
	pr := &c.pairs[p]
	if len(c.quotas) == 0 {
		return rBelowMinimum
	}
	if !c.fill(a, pr.role, nil) || !c.minOK(pr.min, c.q) {
		return rBelowMinimum
	}
	if !c.fill(a, pr.role, c.capsFor(2, pr.role, true, false)) || !c.minOK(pr.min, c.q) {
		return rQuotaLimit
	}
	return rQuotaHeadroom
}

func (c *cycle) skip(stage int, p, a int32, reason int) {
	if stage == 1 {
		return // stage 2 looks at the same agent again
	}
	if _, ok := c.stage1Offer[filterKey(a, p)]; ok {
		return // already offered this agent in stage 1
	}
	c.pairs[p].skips[reason]++
	c.pairs[p].handled++
}

// commit makes the candidate offer to pair p.
func (c *cycle) commit(stage int, p, a int32) {
	pr := &c.pairs[p]
	role := c.roles[pr.role].name
	res := c.build(a, role)
	c.take(a)
	c.charge(pr.node, c.q)
	if len(c.quotas) > 0 {
		c.consume(pr.role)
	}
	k := filterKey(a, p)
	if i, ok := c.stage1Offer[k]; ok {
		c.offers[i].Resources = c.offers[i].Resources.Plus(res)
		return
	}
	if stage == 1 {
		if c.stage1Offer == nil {
			c.stage1Offer = map[uint64]int{}
		}
		c.stage1Offer[k] = len(c.offers)
	}
	pr.handled++
	c.offers = append(c.offers, Offer{
		FrameworkID: c.s.Frameworks[pr.fw].ID,
		AgentID:     c.s.Agents[a].ID,
		Role:        role,
		Resources:   res,
	})
}

// result assembles the Result: offers, skip counts (completed with the
// reasons that apply to whole frameworks, roles or agents) and shares.
func (c *cycle) result() Result {
	res := Result{
		Offers:  c.offers,
		Skipped: map[string]map[string]int{},
		Shares:  make(map[string]float64, len(c.roles)),
	}
	nAgents := int32(len(c.s.Agents))
	for p := range c.pairs {
		pr := &c.pairs[p]
		f := &c.s.Frameworks[pr.fw]
		role := c.roles[pr.role].name
		switch {
		case pr.live:
			pr.skips[rAgentInactive] += c.nInact
			pr.skips[rNothingLeft] += int32(len(c.order)) - pr.handled
		case !slices.Contains(f.Roles, role):
			// Only holds allocations from an earlier subscription.
		case !f.Active:
			pr.skips[rFrameworkInactive] += nAgents
		default:
			pr.skips[rSuppressed] += nAgents
		}
		for reason, n := range pr.skips {
			if n == 0 {
				continue
			}
			m := res.Skipped[f.ID]
			if m == nil {
				m = map[string]int{}
				res.Skipped[f.ID] = m
			}
			m[reasonCode(reason)] += int(n)
		}
	}
	for _, ri := range c.roles {
		res.Shares[ri.name] = c.nodes[ri.node].share
	}
	return res
}

package allocator

// The role tree and its DRF ordering.
//
// Node 0 is the root. Below it sit role nodes ("eng", then "eng/backend"),
// and below the role a framework subscribes to sit framework nodes, one per
// (framework, role) pair. A role that has both its own frameworks and child
// roles gets a virtual node (Mesos' "." leaf, same path and weight as the
// role) holding its frameworks, so that its frameworks compete with its child
// roles as one sibling. Every node keeps its children that can still be
// offered something (live) in a min-heap keyed by (share, rank).
//
// Visiting an agent pops children in order and remembers them in
// cycle.popped; allocations only change the shares of popped nodes (a framework
// node and its ancestors, which are all on the path being visited), and the
// popped nodes are pushed back with their new shares once the agent is done.
// That is Mesos' "sort once per agent, update after every allocation" at
// O(log n) per visited node instead of a full sort.

// node is a vertex of the role tree.
type node struct {
	name   string  // role path, or framework ID for a framework node
	share  float64 // dominant share / weight, kept current
	weight float64
	rank   int32 // position of name among all nodes: the tie-break
	parent int32
	depth  int32
	// pair is the framework node's index in cycle.pairs, -1 for role nodes.
	pair int32
	// ownRole is set (>= 0) on the node whose children are framework nodes
	// of that role: the role node itself or its virtual node.
	ownRole int32
	live    bool
	kids    []int32 // min-heap of live children
}

// popRec is a child taken out of its parent's heap while visiting an agent.
type popRec struct{ parent, child int32 }

func (c *cycle) less(a, b int32) bool {
	na, nb := &c.nodes[a], &c.nodes[b]
	if na.share != nb.share {
		return na.share < nb.share
	}
	return na.rank < nb.rank
}

func (c *cycle) heapify(n int32) {
	h := c.nodes[n].kids
	for i := len(h)/2 - 1; i >= 0; i-- {
		c.siftDown(h, i)
	}
}

func (c *cycle) siftDown(h []int32, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && c.less(h[r], h[l]) {
			m = r
		}
		if !c.less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// push adds child k to n's heap.
func (c *cycle) push(n, k int32) {
	h := append(c.nodes[n].kids, k)
	c.nodes[n].kids = h
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !c.less(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// popMin removes and returns n's child with the lowest share, recording it
// for reinsert.
func (c *cycle) popMin(n int32) int32 {
	h := c.nodes[n].kids
	k := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	c.nodes[n].kids = h
	c.siftDown(h, 0)
	c.popped = append(c.popped, popRec{n, k})
	return k
}

// reinsert pushes back everything popped since the last reinsert.
func (c *cycle) reinsert() {
	for i := len(c.popped) - 1; i >= 0; i-- {
		p := c.popped[i]
		c.push(p.parent, p.child)
	}
	c.popped = c.popped[:0]
}

// reheapAll restores every heap after shares changed behind their back
// (stage 1 updates nodes that are not popped).
func (c *cycle) reheapAll() {
	for n := range c.nodes {
		c.heapify(int32(n))
	}
}

// hierLess orders two nodes, neither an ancestor of the other, as a full
// hierarchical sort would: by their ancestors below the closest common one.
func (c *cycle) hierLess(x, y int32) bool {
	for c.nodes[x].depth > c.nodes[y].depth {
		x = c.nodes[x].parent
	}
	for c.nodes[y].depth > c.nodes[x].depth {
		y = c.nodes[y].parent
	}
	for c.nodes[x].parent != c.nodes[y].parent {
		x, y = c.nodes[x].parent, c.nodes[y].parent
	}
	return c.less(x, y)
}

// dominant is max over dimensions of alloc/total (dimensions with no total
// are ignored).
func (c *cycle) dominant(alloc []float64) float64 {
	var m float64
	for d, v := range alloc {
		if t := c.total[d]; t > 0 && v > 0 {
			if s := v / t; s > m {
				m = s
			}
		}
	}
	return m
}

// allocOf is node n's allocation vector.
func (c *cycle) allocOf(n int32) []float64 {
	d := int32(c.nd)
	return c.alloc[n*d : (n+1)*d : (n+1)*d]
}

// charge adds q to framework node n and its ancestors and updates their
// shares.
func (c *cycle) charge(n int32, q []float64) {
	for ; n > 0; n = c.nodes[n].parent {
		a := c.allocOf(n)
		for d, v := range q {
			a[d] += v
		}
		c.nodes[n].share = c.dominant(a) / c.nodes[n].weight
	}
}

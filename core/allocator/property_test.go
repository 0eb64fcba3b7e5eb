package allocator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// genOpts shapes random snapshots.
type genOpts struct {
	quota bool // add quotas
	frac  bool // allow fractional scalars (exact ties are then not comparable with the oracle)
}

var genRoles = []string{"*", "a", "a/b", "a/b/c", "ab", "c"}

// genSnapshot builds a small random snapshot.
func genSnapshot(tb testing.TB, rng *rand.Rand, o genOpts) *Snapshot {
	tb.Helper()
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	s := &Snapshot{Now: t0, Weights: map[string]float64{}}
	for i := range 1 + rng.IntN(8) {
		cpus, mem := 1+rng.IntN(8), 256*(1+rng.IntN(16))
		text := fmt.Sprintf("cpus:%d;mem:%d", cpus, mem)
		if rng.IntN(2) == 0 {
			text += fmt.Sprintf(";disk:%d", 1024*(1+rng.IntN(4)))
		}
		gpu := rng.IntN(5) == 0
		if gpu {
			text += ";gpus:1"
		}
		if rng.IntN(2) == 0 {
			text += fmt.Sprintf(";ports:[31000-%d]", 31000+rng.IntN(100))
		}
		if rng.IntN(2) == 0 {
			r := pick(genRoles[1:])
			text += fmt.Sprintf(";cpus(%s):%d;mem(%s):%d", r, 1+rng.IntN(4), r, 256*(1+rng.IntN(4)))
		}
		if o.frac && rng.IntN(6) == 0 {
			text += ";cpus(c):0.005"
		}
		total := mustRes(tb, text)
		usedCPU, usedMem := rng.IntN(cpus+1), 256*rng.IntN(mem/256+1)
		if rng.IntN(3) == 0 {
			usedCPU, usedMem = 0, 0
		}
		used := mustRes(tb, fmt.Sprintf("cpus:%d;mem:%d", usedCPU, usedMem))
		if o.frac && rng.IntN(4) == 0 {
			used = mustRes(tb, fmt.Sprintf("cpus:%d.995;mem:%d", max(usedCPU, 1)-1, usedMem))
		}
		s.Agents = append(s.Agents, Agent{
			ID: fmt.Sprintf("ag%d", i), Hostname: fmt.Sprintf("h%d", i),
			Total: total, Available: total.Minus(used), Active: rng.IntN(10) != 0, GPU: gpu,
		})
	}
	for i := range 1 + rng.IntN(6) {
		f := Framework{ID: fmt.Sprintf("fw%d", i), Active: rng.IntN(8) != 0, GPUAware: rng.IntN(2) == 0}
		for range 1 + rng.IntN(2) {
			f.Roles = append(f.Roles, pick(genRoles)) // duplicates on purpose
		}
		if rng.IntN(6) == 0 {
			f.Suppressed = map[string]bool{pick(f.Roles): true}
		}
		if rng.IntN(8) == 0 {
			f.MinAllocatable = map[string][]map[string]float64{pick(f.Roles): {{"cpus": float64(1 + rng.IntN(3))}}}
		}
		for _, r := range append(slices.Clone(f.Roles), pick(genRoles)) {
			if rng.IntN(2) == 0 {
				if f.Allocated == nil {
					f.Allocated = map[string]mesos.Resources{}
				}
				f.Allocated[r] = mustRes(tb, fmt.Sprintf("cpus:%d;mem:%d", rng.IntN(5), 256*rng.IntN(8))).Allocate(r)
			}
		}
		s.Frameworks = append(s.Frameworks, f)
	}
	for range rng.IntN(3) {
		s.Weights[pick(genRoles)] = []float64{0.5, 1, 2, 3}[rng.IntN(4)]
	}
	for range rng.IntN(4) {
		f := s.Frameworks[rng.IntN(len(s.Frameworks))]
		a := s.Agents[rng.IntN(len(s.Agents))]
		flt := Filter{FrameworkID: f.ID, Role: pick(f.Roles), AgentID: a.ID, Resources: a.Available, Expires: t0.Add(time.Second)}
		if rng.IntN(3) == 0 {
			flt.Resources = mustRes(tb, "cpus:1;mem:256")
		}
		if rng.IntN(4) == 0 {
			flt.Expires = t0
		}
		s.Filters = append(s.Filters, flt)
	}
	if rng.IntN(5) == 0 {
		s.MinAllocatable = []map[string]float64{{"cpus": 1, "mem": 512}, {"disk": 1024}}
	}
	if o.quota {
		s.Quotas = map[string]Quota{}
		for range rng.IntN(3) {
			q := Quota{Guarantees: map[string]float64{}, Limits: map[string]float64{}}
			if rng.IntN(2) == 0 {
				q.Guarantees["cpus"] = float64(rng.IntN(8))
				q.Guarantees["mem"] = float64(256 * rng.IntN(12))
			}
			if rng.IntN(2) == 0 {
				q.Limits["cpus"] = q.Guarantees["cpus"] + float64(rng.IntN(6))
			}
			if rng.IntN(3) == 0 {
				q.Limits["mem"] = q.Guarantees["mem"] + float64(256*rng.IntN(6))
			}
			s.Quotas[pick(genRoles)] = q
		}
	}
	return s
}

// consumedOf is role q's quota consumption as the package doc defines it.
func consumedOf(s *Snapshot, q string) map[string]float64 {
	if s.Consumed != nil {
		return s.Consumed[q]
	}
	out := map[string]float64{}
	for _, a := range s.Agents {
		for _, r := range a.Total {
			if r.Type == mesos.SCALAR && r.IsReserved() && allocatableTo(q, r.ReservationRole()) {
				out[r.Name] += r.Scalar.Value
			}
		}
	}
	for _, f := range s.Frameworks {
		for role, rs := range f.Allocated {
			if !allocatableTo(q, role) {
				continue
			}
			for _, r := range rs {
				if r.Type == mesos.SCALAR && !r.IsReserved() && r.Revocable == nil {
					out[r.Name] += r.Scalar.Value
				}
			}
		}
	}
	return out
}

// checkInvariants checks what must hold of any Result.
func checkInvariants(t *testing.T, s *Snapshot, res Result) {
	t.Helper()
	agents := map[string]*Agent{}
	for i := range s.Agents {
		agents[s.Agents[i].ID] = &s.Agents[i]
	}
	fws := map[string]*Framework{}
	for i := range s.Frameworks {
		fws[s.Frameworks[i].ID] = &s.Frameworks[i]
	}
	perAgent := map[string]mesos.Resources{}
	seen := map[[3]string]bool{}
	offersTo := map[string]int{}
	for _, o := range res.Offers {
		a, f := agents[o.AgentID], fws[o.FrameworkID]
		if a == nil || f == nil {
			t.Fatalf("offer to unknown agent or framework: %+v", o)
		}
		offersTo[f.ID]++
		key := [3]string{o.FrameworkID, o.Role, o.AgentID}
		if seen[key] {
			t.Errorf("agent %s offered twice to %s for %s", o.AgentID, o.FrameworkID, o.Role)
		}
		seen[key] = true
		if !a.Active || !f.Active || !slices.Contains(f.Roles, o.Role) || f.Suppressed[o.Role] {
			t.Errorf("offer %s@%s(%s) to an inactive agent/framework or unsubscribed/suppressed role", o.FrameworkID, o.AgentID, o.Role)
		}
		if (a.GPU || a.Total.Scalar("gpus") > 0) && !f.GPUAware {
			t.Errorf("GPU agent %s offered to %s", a.ID, f.ID)
		}
		if len(o.Resources) == 0 {
			t.Errorf("empty offer %+v", o)
		}
		for _, r := range o.Resources {
			if r.AllocationRole() != o.Role {
				t.Errorf("offer for %s carries %s", o.Role, r.String())
			}
			if rr := r.ReservationRole(); rr != "*" && !allocatableTo(rr, o.Role) {
				t.Errorf("%s offered to role %s", r.String(), o.Role)
			}
		}
		sets := s.MinAllocatable
		if sets == nil {
			sets = []map[string]float64{{"cpus": 0.01}, {"mem": 32}}
		}
		if m, ok := f.MinAllocatable[o.Role]; ok {
			sets = m
		}
		if !minSatisfied(sets, o.Resources.ScalarMap()) {
			t.Errorf("offer %v below min allocatable %v", o.Resources, sets)
		}
		un := o.Resources.Unallocated()
		for _, flt := range s.Filters {
			if flt.FrameworkID == o.FrameworkID && flt.Role == o.Role && flt.AgentID == o.AgentID &&
				s.Now.Before(flt.Expires) && flt.Resources.Unallocated().Contains(un) {
				t.Errorf("offer %v covered by filter %v", un, flt.Resources)
			}
		}
		perAgent[o.AgentID] = perAgent[o.AgentID].Plus(un)
	}
	for id, rs := range perAgent {
		if !agents[id].Available.Contains(rs) {
			t.Errorf("agent %s: offers %v exceed available %v", id, rs, agents[id].Available)
		}
	}
	for q, quota := range s.Quotas {
		cons := consumedOf(s, q)
		add := map[string]float64{}
		for _, o := range res.Offers {
			if !allocatableTo(q, o.Role) {
				continue
			}
			for _, r := range o.Resources {
				if r.Type == mesos.SCALAR && !r.IsReserved() && r.Revocable == nil {
					add[r.Name] += r.Scalar.Value
				}
			}
		}
		for name, limit := range quota.Limits {
			if add[name] > 0 && cons[name]+add[name] > max(limit, cons[name])+1e-6 {
				t.Errorf("role %s: %v %s consumed + %v offered > limit %v", q, cons[name], name, add[name], limit)
			}
		}
	}
	for _, f := range s.Frameworks {
		var roles []string
		for _, r := range f.Roles {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
		n := offersTo[f.ID]
		for _, c := range res.Skipped[f.ID] {
			n += c
		}
		if want := len(s.Agents) * len(roles); n != want {
			t.Errorf("framework %s: offers + skips = %d (%v), want agents × roles = %d", f.ID, n, res.Skipped[f.ID], want)
		}
	}
}

func minSatisfied(sets []map[string]float64, q map[string]float64) bool {
	if len(sets) == 0 {
		return true
	}
	for _, set := range sets {
		ok := true
		for name, v := range set {
			if q[name] < v-eps {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// TestInvariants checks random snapshots, with and without quota, fractions
// and shuffling, against checkInvariants; a cycle must also be repeatable.
func TestInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 2000 {
		o := genOpts{quota: i%2 == 0, frac: i%3 == 0}
		s := genSnapshot(t, rng, o)
		var shuffle *rand.Rand
		if i%4 == 0 {
			shuffle = rand.New(rand.NewPCG(uint64(i), 1))
		}
		res := Allocate(s, shuffle)
		if shuffle != nil {
			shuffle = rand.New(rand.NewPCG(uint64(i), 1))
		}
		again := Allocate(s, shuffle)
		ok := t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkInvariants(t, s, res)
			if !reflect.DeepEqual(res, again) {
				t.Errorf("two runs differ:\n%v\n%v", served(res), served(again))
			}
		})
		if !ok {
			t.Logf("snapshot: %s", dump(s))
			break
		}
	}
}

func dump(s *Snapshot) string {
	var b strings.Builder
	for _, a := range s.Agents {
		fmt.Fprintf(&b, "\nagent %s active=%v gpu=%v total=%v avail=%v", a.ID, a.Active, a.GPU, a.Total, a.Available)
	}
	for _, f := range s.Frameworks {
		fmt.Fprintf(&b, "\nframework %s roles=%v active=%v gpu=%v suppressed=%v min=%v alloc=%v", f.ID, f.Roles, f.Active, f.GPUAware, f.Suppressed, f.MinAllocatable, f.Allocated)
	}
	fmt.Fprintf(&b, "\nweights=%v quotas=%v min=%v", s.Weights, s.Quotas, s.MinAllocatable)
	for _, f := range s.Filters {
		fmt.Fprintf(&b, "\nfilter %s/%s/%s %v until %v", f.FrameworkID, f.Role, f.AgentID, f.Resources, f.Expires.Sub(s.Now))
	}
	return b.String()
}

// oracle is a slow, from-scratch model of stage 2 (no quota): before every
// agent it recomputes every share from the snapshot plus the offers made so
// far and sorts the role tree; before every role it sorts the role's
// frameworks; it uses the generic Resources math throughout.
type oracle struct {
	s     *Snapshot
	total map[string]float64
	alloc map[[2]string]map[string]float64 // (framework, role) -> scalars
	roles []string                         // sorted, with ancestors
}

func newOracle(s *Snapshot) *oracle {
	o := &oracle{s: s, total: map[string]float64{}, alloc: map[[2]string]map[string]float64{}}
	for _, a := range s.Agents {
		for n, v := range a.Total.ScalarMap() {
			o.total[n] += v
		}
	}
	set := map[string]bool{}
	for _, f := range s.Frameworks {
		for _, r := range f.Roles {
			set[r] = true
		}
		for r, rs := range f.Allocated {
			set[r] = true
			o.alloc[[2]string{f.ID, r}] = rs.ScalarMap()
		}
	}
	for r := range set {
		for p := parentRole(r); p != ""; p = parentRole(p) {
			set[p] = true
		}
	}
	for r := range set {
		o.roles = append(o.roles, r)
	}
	sort.Strings(o.roles)
	return o
}

func (o *oracle) weight(role string) float64 {
	if w := o.s.Weights[role]; w > 0 {
		return w
	}
	return 1
}

func (o *oracle) share(vec map[string]float64, w float64) float64 {
	var m float64
	for n, v := range vec {
		if t := o.total[n]; t > 0 && v/t > m {
			m = v / t
		}
	}
	return m / w
}

// sum adds the allocations of pairs whose role satisfies in.
func (o *oracle) sum(in func(role string) bool) map[string]float64 {
	out := map[string]float64{}
	for k, v := range o.alloc {
		if in(k[1]) {
			for n, x := range v {
				out[n] += x
			}
		}
	}
	return out
}

func (o *oracle) live(f *Framework, role string) bool {
	return f.Active && slices.Contains(f.Roles, role) && !f.Suppressed[role]
}

func (o *oracle) hasOwn(role string) bool {
	for _, f := range o.s.Frameworks {
		if slices.Contains(f.Roles, role) {
			return true
		}
		if _, ok := f.Allocated[role]; ok {
			return true
		}
	}
	return false
}

func (o *oracle) liveIn(in func(string) bool) bool {
	for i := range o.s.Frameworks {
		for _, r := range o.s.Frameworks[i].Roles {
			if in(r) && o.live(&o.s.Frameworks[i], r) {
				return true
			}
		}
	}
	return false
}

// order lists the roles whose frameworks are visited, in hierarchical DRF
// order.
func (o *oracle) order(parent string) []string {
	type entry struct {
		path    string
		virtual bool
		share   float64
	}
	var es []entry
	for _, r := range o.roles {
		if parentRole(r) != parent {
			continue
		}
		sub := func(x string) bool { return allocatableTo(r, x) }
		if !o.liveIn(sub) {
			continue
		}
		es = append(es, entry{path: r, share: o.share(o.sum(sub), o.weight(r))})
	}
	// A role with children and frameworks of its own: its frameworks
	// compete with its children as one (virtual) sibling.
	own := func(x string) bool { return x == parent }
	if parent != "" && o.hasOwn(parent) && o.liveIn(own) {
		es = append(es, entry{path: parent, virtual: true, share: o.share(o.sum(own), o.weight(parent))})
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].share != es[j].share {
			return es[i].share < es[j].share
		}
		return es[i].path < es[j].path
	})
	var out []string
	for _, e := range es {
		switch {
		case e.virtual, !o.hasChildren(e.path):
			out = append(out, e.path)
		default:
			out = append(out, o.order(e.path)...)
		}
	}
	return out
}

func (o *oracle) hasChildren(role string) bool {
	for _, r := range o.roles {
		if parentRole(r) == role {
			return true
		}
	}
	return false
}

func (o *oracle) run() []Offer {
	s := o.s
	var offers []Offer
	for _, a := range s.Agents {
		if !a.Active {
			continue
		}
		remaining := a.Available.Clone()
		for _, role := range o.order("") {
			if len(remaining) == 0 {
				break
			}
			var fws []*Framework
			for i := range s.Frameworks {
				if o.live(&s.Frameworks[i], role) {
					fws = append(fws, &s.Frameworks[i])
				}
			}
			sort.SliceStable(fws, func(i, j int) bool {
				si := o.share(o.alloc[[2]string{fws[i].ID, role}], 1)
				sj := o.share(o.alloc[[2]string{fws[j].ID, role}], 1)
				if si != sj {
					return si < sj
				}
				return fws[i].ID < fws[j].ID
			})
			for _, f := range fws {
				avail := remaining.AllocatableTo(role)
				if len(avail) == 0 {
					break
				}
				if (a.GPU || a.Total.Scalar("gpus") > 0) && !f.GPUAware {
					continue
				}
				sets := s.MinAllocatable
				if sets == nil {
					sets = []map[string]float64{{"cpus": 0.01}, {"mem": 32}}
				}
				if m, ok := f.MinAllocatable[role]; ok {
					sets = m
				}
				if !minSatisfied(sets, avail.ScalarMap()) {
					continue
				}
				filtered := false
				for _, flt := range s.Filters {
					if flt.FrameworkID == f.ID && flt.Role == role && flt.AgentID == a.ID && s.Now.Before(flt.Expires) && flt.Resources.Contains(avail) {
						filtered = true
					}
				}
				if filtered {
					continue
				}
				offers = append(offers, Offer{FrameworkID: f.ID, AgentID: a.ID, Role: role, Resources: avail.Allocate(role)})
				remaining = remaining.Minus(avail)
				k := [2]string{f.ID, role}
				if o.alloc[k] == nil {
					o.alloc[k] = map[string]float64{}
				}
				for n, v := range avail.ScalarMap() {
					o.alloc[k][n] += v
				}
			}
		}
	}
	return offers
}

// TestOracle compares, over small random snapshots without quota, the offers
// (who is served, in which order, with what) and the final shares with the
// from-scratch oracle.
func TestOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range 3000 {
		s := genSnapshot(t, rng, genOpts{})
		res := Allocate(s, nil)
		o := newOracle(s)
		want := o.run()
		ok := t.Run(fmt.Sprint(i), func(t *testing.T) {
			if !equalStrings(served(res), served(Result{Offers: want})) {
				t.Fatalf("served\n%v\nwant\n%v", served(res), served(Result{Offers: want}))
			}
			for j := range want {
				got, exp := res.Offers[j].Resources, want[j].Resources
				if !got.Contains(exp) || !exp.Contains(got) {
					t.Errorf("offer %d: %v, want %v", j, got, exp)
				}
			}
			for _, r := range o.roles {
				exp := o.share(o.sum(func(x string) bool { return allocatableTo(r, x) }), o.weight(r))
				if got := res.Shares[r]; math.Abs(got-exp) > 1e-9 {
					t.Errorf("share of %s = %v, want %v", r, got, exp)
				}
			}
		})
		if !ok {
			t.Logf("snapshot: %s", dump(s))
			break
		}
	}
}

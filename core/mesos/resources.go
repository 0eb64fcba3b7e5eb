package mesos

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Resources is a list of resources with Mesos' arithmetic: resources that
// share name, type, reservation stack, allocation role, revocability and
// disk identity merge; scalars are kept at 3 decimal digits as Mesos does.
//
// The canonical in-memory form keeps reservations in the Reservations stack
// (post-refinement format); Normalize converts the deprecated role/reservation
// fields on input and PreRefinement converts back for frameworks without the
// RESERVATION_REFINEMENT capability.
type Resources []Resource

// maxRoundable is the magnitude above which a float64 cannot hold three
// decimal digits exactly enough for rounding to be idempotent; larger values
// are kept as they are.
const maxRoundable = 1 << 42

// roundScalar keeps three decimal digits (Mesos' fixed-point scalar).
func roundScalar(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) || math.Abs(v) >= maxRoundable {
		return v
	}
	r := math.Round(v*1000) / 1000
	if r == 0 {
		return 0 // no -0
	}
	return r
}

// ReservationRole returns the role a resource is reserved for (the top of
// its reservation stack), or "*".
func (r *Resource) ReservationRole() string {
	if n := len(r.Reservations); n > 0 {
		return r.Reservations[n-1].Role
	}
	if r.Role != "" {
		return r.Role
	}
	return "*"
}

// IsReserved reports whether the resource is reserved (to any role).
func (r *Resource) IsReserved() bool { return r.ReservationRole() != "*" }

// AllocationRole returns allocation_info.role or "".
func (r *Resource) AllocationRole() string {
	if r.AllocationInfo == nil {
		return ""
	}
	return r.AllocationInfo.Role
}

// numReservations is the depth of r's reservation stack, counting the
// deprecated role/reservation fields as one level when Reservations is empty.
func (r *Resource) numReservations() int {
	if n := len(r.Reservations); n > 0 {
		return n
	}
	if r.Role != "" && r.Role != "*" {
		return 1
	}
	return 0
}

// reservationAt returns level i of r's reservation stack in the
// post-refinement form (see numReservations).
func (r *Resource) reservationAt(i int) ReservationInfo {
	if len(r.Reservations) > 0 {
		return r.Reservations[i]
	}
	if r.Reservation != nil {
		return ReservationInfo{Type: "DYNAMIC", Role: r.Role, Principal: r.Reservation.Principal, Labels: r.Reservation.Labels}
	}
	return ReservationInfo{Type: "STATIC", Role: r.Role}
}

func labelsEqual(a, b *Labels) bool {
	var la, lb []Label
	if a != nil {
		la = a.Labels
	}
	if b != nil {
		lb = b.Labels
	}
	return slices.Equal(la, lb)
}

func reservationEqual(a, b ReservationInfo) bool {
	return a.Type == b.Type && a.Role == b.Role && a.Principal == b.Principal && labelsEqual(a.Labels, b.Labels)
}

// sameIdentity reports whether a and b may be merged: same name, type,
// reservation stack (pre- and post-refinement forms compare equal),
// allocation role, revocability, sharedness, disk and provider.
func sameIdentity(a, b *Resource) bool {
	if a.Name != b.Name || a.Type != b.Type || a.AllocationRole() != b.AllocationRole() ||
		(a.Revocable == nil) != (b.Revocable == nil) || (a.Shared == nil) != (b.Shared == nil) {
		return false
	}
	n := a.numReservations()
	if n != b.numReservations() {
		return false
	}
	for i := 0; i < n; i++ {
		if !reservationEqual(a.reservationAt(i), b.reservationAt(i)) {
			return false
		}
	}
	if (a.Disk == nil) != (b.Disk == nil) || (a.Disk != nil && !reflect.DeepEqual(a.Disk, b.Disk)) {
		return false
	}
	if (a.ProviderID == nil) != (b.ProviderID == nil) || (a.ProviderID != nil && a.ProviderID.Value != b.ProviderID.Value) {
		return false
	}
	return true
}

func cloneResource(r Resource) Resource {
	c := r
	if r.Scalar != nil {
		s := *r.Scalar
		c.Scalar = &s
	}
	if r.Ranges != nil {
		c.Ranges = &Ranges{Range: slices.Clone(r.Ranges.Range)}
	}
	if r.Set != nil {
		c.Set = &Set{Item: slices.Clone(r.Set.Item)}
	}
	if r.AllocationInfo != nil {
		a := *r.AllocationInfo
		c.AllocationInfo = &a
	}
	c.Reservations = slices.Clone(r.Reservations)
	for i := range c.Reservations {
		c.Reservations[i].Labels = cloneLabels(c.Reservations[i].Labels)
	}
	if r.Reservation != nil {
		res := *r.Reservation
		res.Labels = cloneLabels(res.Labels)
		c.Reservation = &res
	}
	return c
}

func cloneLabels(l *Labels) *Labels {
	if l == nil {
		return nil
	}
	return &Labels{Labels: slices.Clone(l.Labels)}
}

// Clone returns a copy that shares no values, ranges, items, allocation or
// reservation data with rs (disk, provider and the revocable/shared markers
// are still shared; they are never modified in place).
func (rs Resources) Clone() Resources {
	if rs == nil {
		return nil
	}
	out := make(Resources, len(rs))
	for i, r := range rs {
		out[i] = cloneResource(r)
	}
	return out
}

func (r *Resource) isEmpty() bool {
	switch r.Type {
	case SCALAR:
		return r.Scalar == nil || !(r.Scalar.Value > 0) // also NaN
	case RANGES:
		return r.Ranges == nil || len(r.Ranges.Range) == 0
	case SET:
		return r.Set == nil || len(r.Set.Item) == 0
	}
	return true
}

// Validate checks one resource the way Mesos' Resources::validate does:
// a name, a known type with exactly its payload, a finite non-negative
// scalar, ranges with begin <= end, valid roles and a well-formed
// reservation stack (pre-refinement role/reservation or post-refinement
// reservations, where each refined level is DYNAMIC and a strict subrole of
// the level below).
func (r *Resource) Validate() error {
	if r.Name == "" {
		return fmt.Errorf("resource has no name")
	}
	switch r.Type {
	case SCALAR:
		if r.Scalar == nil || r.Ranges != nil || r.Set != nil {
			return fmt.Errorf("invalid scalar resource %q: exactly 'scalar' must be set", r.Name)
		}
		if r.Scalar.Value < 0 || math.IsNaN(r.Scalar.Value) || math.IsInf(r.Scalar.Value, 0) {
			return fmt.Errorf("invalid scalar resource %q: value %v must be a finite non-negative number", r.Name, r.Scalar.Value)
		}
	case RANGES:
		if r.Ranges == nil || r.Scalar != nil || r.Set != nil {
			return fmt.Errorf("invalid ranges resource %q: exactly 'ranges' must be set", r.Name)
		}
		for _, rg := range r.Ranges.Range {
			if rg.Begin > rg.End {
				return fmt.Errorf("invalid ranges resource %q: range [%d-%d] has begin > end", r.Name, rg.Begin, rg.End)
			}
		}
	case SET:
		if r.Set == nil || r.Scalar != nil || r.Ranges != nil {
			return fmt.Errorf("invalid set resource %q: exactly 'set' must be set", r.Name)
		}
	default:
		return fmt.Errorf("invalid resource %q: unknown type %q (want SCALAR, RANGES or SET)", r.Name, r.Type)
	}
	if r.Role != "" {
		if err := ValidateRole(r.Role); err != nil {
			return fmt.Errorf("invalid resource %q: %w", r.Name, err)
		}
	}
	if len(r.Reservations) == 0 {
		if r.Reservation != nil && (r.Role == "" || r.Role == "*") {
			return fmt.Errorf("invalid resource %q: role '*' cannot be dynamically reserved", r.Name)
		}
	} else {
		if r.Role != "" && r.Role != "*" {
			return fmt.Errorf("invalid resource %q: 'role' must not be set together with 'reservations'", r.Name)
		}
		if r.Reservation != nil {
			return fmt.Errorf("invalid resource %q: 'reservation' must not be set together with 'reservations'", r.Name)
		}
	}
	for i, res := range r.Reservations {
		if res.Role == "" || res.Role == "*" {
			return fmt.Errorf("invalid resource %q: reservation to role %q", r.Name, res.Role)
		}
		if err := ValidateRole(res.Role); err != nil {
			return fmt.Errorf("invalid resource %q: reservation: %w", r.Name, err)
		}
		switch res.Type {
		case "STATIC", "DYNAMIC":
		default:
			return fmt.Errorf("invalid resource %q: reservation type %q (want STATIC or DYNAMIC)", r.Name, res.Type)
		}
		if i > 0 {
			if res.Type != "DYNAMIC" {
				return fmt.Errorf("invalid resource %q: a refined reservation must be DYNAMIC", r.Name)
			}
			if parent := r.Reservations[i-1].Role; !strings.HasPrefix(res.Role, parent+"/") {
				return fmt.Errorf("invalid resource %q: refined reservation role %q is not a subrole of %q", r.Name, res.Role, parent)
			}
		}
	}
	return nil
}

// Validate checks every resource.
func (rs Resources) Validate() error {
	for i := range rs {
		if err := rs[i].Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Normalize converts deprecated role/reservation fields into the
// Reservations stack, drops empty resources, merges duplicates and returns
// the result. It does not modify rs.
func (rs Resources) Normalize() Resources {
	out := make(Resources, 0, len(rs))
	for _, r := range rs {
		c := cloneResource(r)
		if len(c.Reservations) == 0 && c.Role != "" && c.Role != "*" {
			typ := "STATIC"
			principal := ""
			var labels *Labels
			if c.Reservation != nil {
				typ = "DYNAMIC"
				principal = c.Reservation.Principal
				labels = c.Reservation.Labels
			}
			c.Reservations = []ReservationInfo{{Type: typ, Role: c.Role, Principal: principal, Labels: labels}}
		}
		c.Role = ""
		c.Reservation = nil
		if c.Scalar != nil {
			c.Scalar.Value = roundScalar(c.Scalar.Value)
		}
		out = out.add1(c)
	}
	return out
}

// Accumulate adds other to rs in place and returns it: unlike Plus it does
// not copy rs, so summing many small sets (every task's resources) costs
// no allocation per set once their kinds are known. rs must be owned by
// the caller (built by Accumulate from nil, or a copy). The result is not
// normalized; call Normalize on the (small) sum.
func (rs Resources) Accumulate(other Resources) Resources {
	for _, r := range other {
		rs = rs.add1(r)
	}
	return rs
}

// merged returns an owned copy of rs with empty resources dropped and
// resources of the same identity merged (Mesos keeps Resources in this
// form; a hand-built slice may not be).
func (rs Resources) merged() Resources {
	out := make(Resources, 0, len(rs))
	for _, r := range rs {
		out = out.add1(r)
	}
	return out
}

// PreRefinement returns rs in the format for frameworks without the
// RESERVATION_REFINEMENT capability: role set ("*" when unreserved) and the
// single reservation level in the deprecated reservation field.
//
// Refined (multi-level) reservations cannot be expressed in that format;
// they come out as their top level (Mesos never shows them to such
// frameworks).
func (rs Resources) PreRefinement() Resources {
	out := rs.Clone()
	for i := range out {
		r := &out[i]
		r.Role = r.ReservationRole()
		if n := len(r.Reservations); n > 0 {
			r.Reservation = nil
			if top := r.Reservations[n-1]; top.Type == "DYNAMIC" {
				r.Reservation = &ReservationInfo{Principal: top.Principal, Labels: top.Labels}
			}
		}
		r.Reservations = nil
	}
	return out
}

// add1 adds one resource in place (rs must be owned by the caller). Empty
// resources (zero or negative scalars, no ranges or items, unknown types)
// are not added.
func (rs Resources) add1(r Resource) Resources {
	if r.isEmpty() {
		return rs
	}
	for i := range rs {
		if !sameIdentity(&rs[i], &r) {
			continue
		}
		if rs[i].isEmpty() {
			// An invalid or empty entry of a caller's slice: replace it.
			break
		}
		switch r.Type {
		case SCALAR:
			rs[i].Scalar.Value = roundScalar(rs[i].Scalar.Value + r.Scalar.Value)
		case RANGES:
			rs[i].Ranges.Range = mergeRanges(append(rs[i].Ranges.Range, r.Ranges.Range...))
		case SET:
			rs[i].Set.Item = unionSet(rs[i].Set.Item, r.Set.Item)
		}
		return rs
	}
	rs = slices.DeleteFunc(rs, func(x Resource) bool { return x.isEmpty() && sameIdentity(&x, &r) })
	c := cloneResource(r)
	switch c.Type {
	case SCALAR:
		if c.Scalar.Value = roundScalar(c.Scalar.Value); c.isEmpty() {
			return rs
		}
	case RANGES:
		c.Ranges.Range = mergeRanges(c.Ranges.Range)
	case SET:
		c.Set.Item = unionSet(nil, c.Set.Item)
	}
	return append(rs, c)
}

// Plus returns rs + other, merged (empty resources dropped).
func (rs Resources) Plus(other Resources) Resources {
	out := rs.merged()
	for _, r := range other {
		out = out.add1(r)
	}
	return out
}

// Minus returns rs - other, merged; parts of other not in rs are ignored.
func (rs Resources) Minus(other Resources) Resources {
	out := rs.merged()
	for _, r := range other {
		if r.isEmpty() {
			continue
		}
		for i := range out {
			if !sameIdentity(&out[i], &r) {
				continue
			}
			switch r.Type {
			case SCALAR:
				out[i].Scalar.Value = roundScalar(out[i].Scalar.Value - r.Scalar.Value)
			case RANGES:
				out[i].Ranges.Range = subtractRanges(out[i].Ranges.Range, r.Ranges.Range)
			case SET:
				out[i].Set.Item = differenceSet(out[i].Set.Item, r.Set.Item)
			}
			break
		}
	}
	return slices.DeleteFunc(out, func(r Resource) bool { return r.isEmpty() })
}

// Contains reports whether other is a subset of rs.
func (rs Resources) Contains(other Resources) bool {
	have := rs.merged()
	for _, r := range other.merged() {
		found := false
		for i := range have {
			if !sameIdentity(&have[i], &r) {
				continue
			}
			switch r.Type {
			case SCALAR:
				found = roundScalar(have[i].Scalar.Value-r.Scalar.Value) >= 0
			case RANGES:
				found = rangesContain(have[i].Ranges.Range, r.Ranges.Range)
			case SET:
				found = setContains(have[i].Set.Item, r.Set.Item)
			}
			break
		}
		if !found {
			return false
		}
	}
	return true
}

// Filter returns the resources for which keep returns true.
func (rs Resources) Filter(keep func(*Resource) bool) Resources {
	var out Resources
	for i := range rs {
		if keep(&rs[i]) {
			out = append(out, cloneResource(rs[i]))
		}
	}
	return out
}

// Scalar returns the sum of scalar resource name across all roles.
func (rs Resources) Scalar(name string) float64 {
	var v float64
	for i := range rs {
		if rs[i].Name == name && rs[i].Type == SCALAR && rs[i].Scalar != nil {
			v += rs[i].Scalar.Value
		}
	}
	return roundScalar(v)
}

// Ranges returns the merged ranges of resource name across all roles.
func (rs Resources) Ranges(name string) []Range {
	var out []Range
	for i := range rs {
		if rs[i].Name == name && rs[i].Type == RANGES && rs[i].Ranges != nil {
			out = append(out, rs[i].Ranges.Range...)
		}
	}
	return mergeRanges(out)
}

// Allocate returns a copy with allocation_info.role set on every resource
// (merged, since resources that differed only in allocation now merge).
func (rs Resources) Allocate(role string) Resources {
	out := rs.Clone()
	for i := range out {
		out[i].AllocationInfo = &AllocationInfo{Role: role}
	}
	return out.merged()
}

// Unallocated returns a copy without allocation_info.
func (rs Resources) Unallocated() Resources {
	out := rs.Clone()
	for i := range out {
		out[i].AllocationInfo = nil
	}
	return out.Normalize()
}

// AllocatableTo returns the resources a role may use: unreserved ones and
// those reserved to the role or one of its ancestors.
func (rs Resources) AllocatableTo(role string) Resources {
	return rs.Filter(func(r *Resource) bool {
		rr := r.ReservationRole()
		return rr == "*" || rr == role || strings.HasPrefix(role, rr+"/")
	})
}

// Names returns the sorted distinct resource names.
func (rs Resources) Names() []string {
	var names []string
	for i := range rs {
		if !slices.Contains(names, rs[i].Name) {
			names = append(names, rs[i].Name)
		}
	}
	sort.Strings(names)
	return names
}

// ScalarMap returns name -> total for scalar resources.
func (rs Resources) ScalarMap() map[string]float64 {
	m := map[string]float64{}
	for i := range rs {
		if rs[i].Type == SCALAR && rs[i].Scalar != nil {
			m[rs[i].Name] = roundScalar(m[rs[i].Name] + rs[i].Scalar.Value)
		}
	}
	return m
}

// V0 returns the resources in the v0 JSON endpoints' map form
// ({"cpus":1,"mem":128,"ports":"[31000-31005]"}); cpus, mem, disk and gpus are
// always present. As in Mesos' model(Resources), revocable resources are
// left out and resources of one name are summed across roles.
func (rs Resources) V0() map[string]any {
	m := map[string]any{"cpus": 0.0, "mem": 0.0, "disk": 0.0, "gpus": 0.0}
	// One pass, no copies: the state endpoints call this for every task.
	var ranges map[string][]Range
	var sets map[string][]string
	for i := range rs {
		r := &rs[i]
		if r.Revocable != nil {
			continue
		}
		switch {
		case r.Type == SCALAR && r.Scalar != nil:
			sum, _ := m[r.Name].(float64)
			m[r.Name] = roundScalar(sum + r.Scalar.Value)
		case r.Type == RANGES && r.Ranges != nil && len(r.Ranges.Range) > 0:
			if ranges == nil {
				ranges = map[string][]Range{}
			}
			ranges[r.Name] = append(ranges[r.Name], r.Ranges.Range...)
		case r.Type == SET && r.Set != nil:
			if sets == nil {
				sets = map[string][]string{}
			}
			sets[r.Name] = unionSet(sets[r.Name], r.Set.Item)
		}
	}
	for name, rg := range ranges {
		m[name] = formatRanges(mergeRanges(rg))
	}
	for name, items := range sets {
		m[name] = formatSet(items)
	}
	return m
}

// String formats resources as Mesos does: "cpus(*):4; ports(*):[31000-32000]".
func (rs Resources) String() string {
	parts := make([]string, 0, len(rs))
	for i := range rs {
		parts = append(parts, rs[i].String())
	}
	return strings.Join(parts, "; ")
}

func (r *Resource) String() string {
	var v string
	switch r.Type {
	case SCALAR:
		if r.Scalar != nil {
			v = strconv.FormatFloat(r.Scalar.Value, 'f', -1, 64)
		}
	case RANGES:
		if r.Ranges != nil {
			v = formatRanges(r.Ranges.Range)
		}
	case SET:
		if r.Set != nil {
			v = formatSet(r.Set.Item)
		}
	}
	role := r.ReservationRole()
	if a := r.AllocationRole(); a != "" {
		return fmt.Sprintf("%s(allocated: %s)(%s):%s", r.Name, a, role, v)
	}
	return fmt.Sprintf("%s(%s):%s", r.Name, role, v)
}

func formatSet(items []string) string { return "{" + strings.Join(items, ",") + "}" }

func formatRanges(rg []Range) string {
	parts := make([]string, len(rg))
	for i, r := range rg {
		parts[i] = fmt.Sprintf("%d-%d", r.Begin, r.End)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// mergeRanges sorts and coalesces overlapping or adjacent ranges.
func mergeRanges(in []Range) []Range {
	if len(in) == 0 {
		return nil
	}
	rg := slices.Clone(in)
	sort.Slice(rg, func(i, j int) bool { return rg[i].Begin < rg[j].Begin })
	out := rg[:1]
	for _, r := range rg[1:] {
		last := &out[len(out)-1]
		if last.End == math.MaxUint64 || r.Begin <= last.End+1 {
			if r.End > last.End {
				last.End = r.End
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

func subtractRanges(a, b []Range) []Range {
	cur := mergeRanges(a)
	for _, s := range mergeRanges(b) {
		var next []Range
		for _, r := range cur {
			if s.End < r.Begin || s.Begin > r.End {
				next = append(next, r)
				continue
			}
			if s.Begin > r.Begin {
				next = append(next, Range{r.Begin, s.Begin - 1})
			}
			if s.End < r.End {
				next = append(next, Range{s.End + 1, r.End})
			}
		}
		cur = next
	}
	return cur
}

func rangesContain(a, b []Range) bool {
	ma := mergeRanges(a)
	for _, r := range b {
		if r.Begin > r.End {
			return false
		}
		ok := false
		for _, x := range ma {
			if r.Begin >= x.Begin && r.End <= x.End {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func unionSet(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func differenceSet(a, b []string) []string {
	return slices.DeleteFunc(slices.Clone(a), func(x string) bool { return slices.Contains(b, x) })
}

func setContains(a, b []string) bool {
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// NumRanges counts the values in ranges (saturating at math.MaxUint64;
// ranges with begin > end count as empty).
func NumRanges(rg []Range) uint64 {
	var n uint64
	for _, r := range rg {
		if r.Begin > r.End {
			continue
		}
		k := r.End - r.Begin + 1 // 0 only for [0-MaxUint64]
		if k == 0 || n+k < n {
			return math.MaxUint64
		}
		n += k
	}
	return n
}

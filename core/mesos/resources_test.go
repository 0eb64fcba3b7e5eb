package mesos

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// Test helpers building resources.

func sc(name string, v float64) Resource {
	return Resource{Name: name, Type: SCALAR, Scalar: &Scalar{Value: v}}
}

func rg(name string, pairs ...uint64) Resource {
	r := Resource{Name: name, Type: RANGES, Ranges: &Ranges{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		r.Ranges.Range = append(r.Ranges.Range, Range{Begin: pairs[i], End: pairs[i+1]})
	}
	return r
}

func st(name string, items ...string) Resource {
	return Resource{Name: name, Type: SET, Set: &Set{Item: items}}
}

// static reserves r statically for role (post-refinement form).
func static(r Resource, role string) Resource {
	r.Reservations = append(r.Reservations, ReservationInfo{Type: "STATIC", Role: role})
	return r
}

// dynamic pushes a dynamic reservation level for role by principal.
func dynamic(r Resource, role, principal string) Resource {
	r.Reservations = append(r.Reservations, ReservationInfo{Type: "DYNAMIC", Role: role, Principal: principal})
	return r
}

func allocated(r Resource, role string) Resource {
	r.AllocationInfo = &AllocationInfo{Role: role}
	return r
}

func rs(r ...Resource) Resources { return Resources(r) }

// canon renders resources order-independently for comparison: each resource
// as JSON, sorted.
func canon(t testing.TB, x Resources) string {
	t.Helper()
	parts := make([]string, 0, len(x))
	for _, r := range x {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal %v: %v", r, err)
		}
		parts = append(parts, string(b))
	}
	sort.Strings(parts)
	return "[" + strings.Join(parts, ",") + "]"
}

func assertSame(t testing.TB, what string, got, want Resources) {
	t.Helper()
	if g, w := canon(t, got), canon(t, want); g != w {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func TestResourcesPlus(t *testing.T) {
	tests := []struct {
		name    string
		a, b    Resources
		want    Resources
		wantLen int
	}{
		{"scalars add", rs(sc("cpus", 1), sc("mem", 128)), rs(sc("cpus", 2)), rs(sc("cpus", 3), sc("mem", 128)), 2},
		{"scalars round to 3 decimals", rs(sc("cpus", 0.1)), rs(sc("cpus", 0.2)), rs(sc("cpus", 0.3)), 1},
		{"scalar thirds", rs(sc("cpus", 0.333), sc("cpus", 0.333)), rs(sc("cpus", 0.334)), rs(sc("cpus", 1)), 1},
		{"tiny scalar vanishes", nil, rs(sc("cpus", 0.0004)), nil, 0},
		{"zero and negative ignored", rs(sc("cpus", 1)), rs(sc("cpus", 0), sc("cpus", -3)), rs(sc("cpus", 1)), 1},
		{"new name appended", rs(sc("cpus", 1)), rs(sc("gpus", 1)), rs(sc("cpus", 1), sc("gpus", 1)), 2},
		{"ranges adjacent merge", rs(rg("ports", 1, 2)), rs(rg("ports", 3, 4)), rs(rg("ports", 1, 4)), 1},
		{"ranges overlap merge", rs(rg("ports", 1, 10)), rs(rg("ports", 5, 20)), rs(rg("ports", 1, 20)), 1},
		{"ranges disjoint stay apart", rs(rg("ports", 1, 2)), rs(rg("ports", 5, 6)), rs(rg("ports", 1, 2, 5, 6)), 1},
		{"ranges unsorted input", rs(rg("ports", 10, 12, 1, 3)), rs(rg("ports", 4, 9)), rs(rg("ports", 1, 12)), 1},
		{"ranges up to MaxUint64 absorb", rs(rg("ports", 0, math.MaxUint64)), rs(rg("ports", 5, 6)), rs(rg("ports", 0, math.MaxUint64)), 1},
		{"sets union", rs(st("s", "a", "b")), rs(st("s", "b", "c")), rs(st("s", "a", "b", "c")), 1},
		{"sets dedupe", nil, rs(st("s", "a", "a")), rs(st("s", "a")), 1},
		{"different reservation roles do not merge",
			rs(sc("cpus", 1)), rs(static(sc("cpus", 1), "ads")),
			rs(sc("cpus", 1), static(sc("cpus", 1), "ads")), 2},
		{"same reservation role merges",
			rs(static(sc("cpus", 1), "ads")), rs(static(sc("cpus", 2), "ads")),
			rs(static(sc("cpus", 3), "ads")), 1},
		{"different allocation roles do not merge",
			rs(allocated(sc("cpus", 1), "a")), rs(allocated(sc("cpus", 1), "b")),
			rs(allocated(sc("cpus", 1), "a"), allocated(sc("cpus", 1), "b")), 2},
		{"allocated vs unallocated do not merge",
			rs(sc("cpus", 1)), rs(allocated(sc("cpus", 1), "a")),
			rs(sc("cpus", 1), allocated(sc("cpus", 1), "a")), 2},
		{"different principals do not merge",
			rs(dynamic(sc("cpus", 1), "ads", "p1")), rs(dynamic(sc("cpus", 1), "ads", "p2")),
			rs(dynamic(sc("cpus", 1), "ads", "p1"), dynamic(sc("cpus", 1), "ads", "p2")), 2},
		{"static vs dynamic do not merge",
			rs(static(sc("cpus", 1), "ads")), rs(dynamic(sc("cpus", 1), "ads", "")),
			rs(static(sc("cpus", 1), "ads"), dynamic(sc("cpus", 1), "ads", "")), 2},
		{"refined vs unrefined do not merge",
			rs(static(sc("cpus", 1), "eng")), rs(dynamic(static(sc("cpus", 1), "eng"), "eng/a", "p")),
			rs(static(sc("cpus", 1), "eng"), dynamic(static(sc("cpus", 1), "eng"), "eng/a", "p")), 2},
		{"revocable does not merge with regular",
			rs(sc("cpus", 1)), rs(Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Revocable: &struct{}{}}),
			rs(sc("cpus", 1), Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Revocable: &struct{}{}}), 2},
		{"same name different type do not merge", rs(sc("x", 1)), rs(st("x", "a")), rs(sc("x", 1), st("x", "a")), 2},
		{"duplicates in receiver merge", rs(sc("cpus", 1), sc("cpus", 1)), nil, rs(sc("cpus", 2)), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			aBefore, bBefore := canon(t, tc.a), canon(t, tc.b)
			got := tc.a.Plus(tc.b)
			assertSame(t, "Plus", got, tc.want)
			if len(got) != tc.wantLen {
				t.Errorf("len = %d, want %d (%v)", len(got), tc.wantLen, got)
			}
			if canon(t, tc.a) != aBefore || canon(t, tc.b) != bBefore {
				t.Errorf("Plus modified its operands")
			}
		})
	}
}

func TestResourcesPlusExactRounding(t *testing.T) {
	got := rs(sc("cpus", 0.1)).Plus(rs(sc("cpus", 0.2)))
	if v := got.Scalar("cpus"); v != 0.3 {
		t.Fatalf("0.1+0.2 = %v, want exactly 0.3", v)
	}
	var sum Resources
	for i := 0; i < 10; i++ {
		sum = sum.Plus(rs(sc("cpus", 0.1)))
	}
	if v := sum.Scalar("cpus"); v != 1 {
		t.Fatalf("10 x 0.1 = %v, want exactly 1", v)
	}
	if v := sum.Minus(rs(sc("cpus", 0.9))).Scalar("cpus"); v != 0.1 {
		t.Fatalf("1 - 0.9 = %v, want exactly 0.1", v)
	}
}

func TestResourcesMinus(t *testing.T) {
	tests := []struct {
		name string
		a, b Resources
		want Resources
	}{
		{"scalar", rs(sc("cpus", 4), sc("mem", 1024)), rs(sc("cpus", 1.5)), rs(sc("cpus", 2.5), sc("mem", 1024))},
		{"scalar rounding", rs(sc("cpus", 0.3)), rs(sc("cpus", 0.1)), rs(sc("cpus", 0.2))},
		{"scalar to zero removed", rs(sc("cpus", 0.3)), rs(sc("cpus", 0.1), sc("cpus", 0.2)), nil},
		{"scalar below zero removed", rs(sc("cpus", 1)), rs(sc("cpus", 2)), nil},
		{"absent name ignored", rs(sc("cpus", 1)), rs(sc("gpus", 1)), rs(sc("cpus", 1))},
		{"range middle splits", rs(rg("ports", 1, 10)), rs(rg("ports", 4, 6)), rs(rg("ports", 1, 3, 7, 10))},
		{"range prefix", rs(rg("ports", 1, 10)), rs(rg("ports", 0, 3)), rs(rg("ports", 4, 10))},
		{"range suffix", rs(rg("ports", 1, 10)), rs(rg("ports", 8, 12)), rs(rg("ports", 1, 7))},
		{"range whole removed", rs(rg("ports", 1, 10)), rs(rg("ports", 1, 10)), nil},
		{"range disjoint unchanged", rs(rg("ports", 1, 10)), rs(rg("ports", 20, 30)), rs(rg("ports", 1, 10))},
		{"range single port", rs(rg("ports", 31000, 32000)), rs(rg("ports", 31000, 31000)), rs(rg("ports", 31001, 32000))},
		{"range across several", rs(rg("ports", 1, 5, 10, 15, 20, 25)), rs(rg("ports", 4, 21)), rs(rg("ports", 1, 3, 22, 25))},
		{"range edges of uint64", rs(rg("ports", 0, math.MaxUint64)), rs(rg("ports", 0, 0, math.MaxUint64, math.MaxUint64)), rs(rg("ports", 1, math.MaxUint64-1))},
		{"set", rs(st("s", "a", "b", "c")), rs(st("s", "b")), rs(st("s", "a", "c"))},
		{"set all removed", rs(st("s", "a")), rs(st("s", "a", "z")), nil},
		{"other role untouched", rs(sc("cpus", 2), static(sc("cpus", 2), "ads")), rs(static(sc("cpus", 1), "ads")),
			rs(sc("cpus", 2), static(sc("cpus", 1), "ads"))},
		{"other allocation untouched", rs(allocated(sc("cpus", 2), "a")), rs(allocated(sc("cpus", 1), "b")), rs(allocated(sc("cpus", 2), "a"))},
		{"duplicates in receiver are summed first", rs(sc("cpus", 1), sc("cpus", 1)), rs(sc("cpus", 2)), nil},
		{"empty subtrahend ignored", rs(sc("cpus", 1)), rs(Resource{Name: "cpus", Type: SCALAR}), rs(sc("cpus", 1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			aBefore := canon(t, tc.a)
			assertSame(t, "Minus", tc.a.Minus(tc.b), tc.want)
			if canon(t, tc.a) != aBefore {
				t.Errorf("Minus modified its receiver")
			}
		})
	}
}

func TestResourcesContains(t *testing.T) {
	have := rs(sc("cpus", 4), sc("mem", 1024), rg("ports", 31000, 31005, 31010, 31020), st("disks", "sda", "sdb"),
		static(sc("cpus", 2), "ads"), allocated(sc("gpus", 1), "ml"))
	tests := []struct {
		name string
		want Resources
		ok   bool
	}{
		{"empty", nil, true},
		{"scalar less", rs(sc("cpus", 3.5)), true},
		{"scalar equal", rs(sc("cpus", 4), sc("mem", 1024)), true},
		{"scalar more", rs(sc("cpus", 4.001)), false},
		{"scalar summed over duplicates", rs(sc("cpus", 2), sc("cpus", 2.5)), false},
		{"scalar rounding", rs(sc("cpus", 3.9), sc("cpus", 0.1)), true},
		{"zero scalar ignored", rs(sc("tpus", 0)), true},
		{"absent name", rs(sc("tpus", 1)), false},
		{"ranges inside", rs(rg("ports", 31001, 31003, 31015, 31020)), true},
		{"range spanning hole", rs(rg("ports", 31004, 31011)), false},
		{"range outside", rs(rg("ports", 30000, 30000)), false},
		{"set subset", rs(st("disks", "sdb")), true},
		{"set not subset", rs(st("disks", "sdb", "sdc")), false},
		{"reserved present", rs(static(sc("cpus", 2), "ads")), true},
		{"reserved more", rs(static(sc("cpus", 3), "ads")), false},
		{"reserved other role", rs(static(sc("cpus", 1), "web")), false},
		{"unreserved does not cover reserved", rs(sc("cpus", 4), static(sc("cpus", 2.5), "ads")), false},
		{"allocated needs same allocation", rs(sc("gpus", 1)), false},
		{"allocated same", rs(allocated(sc("gpus", 1), "ml")), true},
		{"allocated other", rs(allocated(sc("gpus", 1), "other")), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := have.Contains(tc.want); got != tc.ok {
				t.Errorf("Contains(%v) = %v, want %v", tc.want, got, tc.ok)
			}
		})
	}
}

func TestResourcesArithmeticProperties(t *testing.T) {
	a := rs(sc("cpus", 4), sc("mem", 1024), rg("ports", 31000, 32000), st("s", "a", "b"), static(sc("cpus", 1), "ads"))
	b := rs(sc("cpus", 1.25), rg("ports", 31500, 31600), st("s", "b"), static(sc("cpus", 0.5), "ads"))
	if !a.Contains(b) {
		t.Fatalf("a should contain b")
	}
	diff := a.Minus(b)
	if !a.Contains(diff) {
		t.Errorf("a should contain a-b")
	}
	assertSame(t, "(a-b)+b", diff.Plus(b), a.Normalize())
	if got := a.Minus(a); len(got) != 0 {
		t.Errorf("a-a = %v, want empty", got)
	}
	if !(Resources{}).Contains(nil) {
		t.Errorf("empty should contain empty")
	}
}

func TestResourcesInvalidDoNotPanic(t *testing.T) {
	bad := rs(
		Resource{Name: "cpus", Type: SCALAR},
		Resource{Name: "ports", Type: RANGES},
		Resource{Name: "s", Type: SET},
		Resource{Name: "x", Type: "BOGUS"},
		Resource{Name: "y"},
		Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: math.NaN()}},
	)
	good := rs(sc("cpus", 1), rg("ports", 1, 2), st("s", "a"))
	assertSame(t, "bad+good", bad.Plus(good), good)
	assertSame(t, "good+bad", good.Plus(bad), good)
	assertSame(t, "good-bad", good.Minus(bad), good)
	assertSame(t, "bad-good", bad.Minus(good), nil)
	if !good.Contains(bad) {
		t.Errorf("empty/invalid resources should be contained in anything")
	}
	if bad.Contains(good) {
		t.Errorf("bad should not contain good")
	}
	_ = bad.String()
	_ = bad.V0()
	_ = bad.Normalize()
	_ = bad.PreRefinement()
	_ = bad.Allocate("r")
}

func TestResourcesCloneIsDeep(t *testing.T) {
	orig := rs(Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1},
		Reservations: []ReservationInfo{{Type: "DYNAMIC", Role: "a", Labels: &Labels{Labels: []Label{{Key: "k", Value: "v"}}}}}},
		rg("ports", 1, 2), st("s", "a"))
	c := orig.Clone()
	c[0].Scalar.Value = 9
	c[0].Reservations[0].Labels.Labels[0].Value = "changed"
	c[1].Ranges.Range[0].End = 99
	c[2].Set.Item[0] = "z"
	if orig[0].Scalar.Value != 1 || orig[0].Reservations[0].Labels.Labels[0].Value != "v" ||
		orig[1].Ranges.Range[0].End != 2 || orig[2].Set.Item[0] != "a" {
		t.Errorf("Clone shares memory with the original: %+v", orig)
	}
	if Resources(nil).Clone() != nil {
		t.Errorf("nil.Clone() should be nil")
	}
}

func TestNormalize(t *testing.T) {
	labels := &Labels{Labels: []Label{{Key: "owner", Value: "bob"}}}
	tests := []struct {
		name string
		in   Resources
		want Resources
	}{
		{"unreserved role star dropped",
			rs(Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "*"}),
			rs(sc("cpus", 1))},
		{"static role becomes reservations",
			rs(Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "ads"}),
			rs(static(sc("cpus", 1), "ads"))},
		{"dynamic reservation becomes reservations",
			rs(Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "ads",
				Reservation: &ReservationInfo{Principal: "ops", Labels: labels}}),
			rs(Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1},
				Reservations: []ReservationInfo{{Type: "DYNAMIC", Role: "ads", Principal: "ops", Labels: labels}}})},
		{"post-refinement kept",
			rs(dynamic(static(sc("cpus", 1), "eng"), "eng/web", "p")),
			rs(dynamic(static(sc("cpus", 1), "eng"), "eng/web", "p"))},
		{"scalars rounded, duplicates merged, empties dropped",
			rs(sc("cpus", 0.1234), sc("cpus", 0.2), sc("mem", 0), Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "ads"},
				static(sc("cpus", 1), "ads")),
			rs(sc("cpus", 0.323), static(sc("cpus", 2), "ads"))},
		{"ranges merged", rs(rg("ports", 5, 6, 1, 4)), rs(rg("ports", 1, 6))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := canon(t, tc.in)
			got := tc.in.Normalize()
			assertSame(t, "Normalize", got, tc.want)
			for _, r := range got {
				if r.Role != "" || r.Reservation != nil {
					t.Errorf("normalized resource keeps deprecated fields: %+v", r)
				}
			}
			assertSame(t, "Normalize twice", got.Normalize(), got)
			if canon(t, tc.in) != before {
				t.Errorf("Normalize modified its receiver")
			}
		})
	}
}

func TestPreRefinement(t *testing.T) {
	labels := &Labels{Labels: []Label{{Key: "k", Value: "v"}}}
	post := rs(
		sc("cpus", 1),
		static(sc("mem", 128), "ads"),
		Resource{Name: "disk", Type: SCALAR, Scalar: &Scalar{Value: 10},
			Reservations: []ReservationInfo{{Type: "DYNAMIC", Role: "web", Principal: "ops", Labels: labels}}},
	)
	pre := post.PreRefinement()
	want := rs(
		Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "*"},
		Resource{Name: "mem", Type: SCALAR, Scalar: &Scalar{Value: 128}, Role: "ads"},
		Resource{Name: "disk", Type: SCALAR, Scalar: &Scalar{Value: 10}, Role: "web",
			Reservation: &ReservationInfo{Principal: "ops", Labels: labels}},
	)
	if !reflect.DeepEqual(pre, want) {
		t.Errorf("PreRefinement:\n got  %s\n want %s", canon(t, pre), canon(t, want))
	}
	for _, r := range pre {
		if len(r.Reservations) != 0 {
			t.Errorf("pre-refinement resource has reservations: %+v", r)
		}
	}
	// Normalize inverts PreRefinement.
	if !reflect.DeepEqual(pre.Normalize(), post) {
		t.Errorf("Normalize(PreRefinement(x)) != x:\n got  %s\n want %s", canon(t, pre.Normalize()), canon(t, post))
	}
	// The pre-refinement JSON uses "role" and "reservation", never "reservations".
	b, _ := json.Marshal(pre)
	if strings.Contains(string(b), `"reservations"`) || !strings.Contains(string(b), `"role":"*"`) {
		t.Errorf("pre-refinement JSON: %s", b)
	}
	// Refined reservations come out as their top level.
	refined := rs(dynamic(static(sc("cpus", 1), "eng"), "eng/web", "p"))
	if got := refined.PreRefinement(); got[0].Role != "eng/web" || got[0].Reservation == nil || got[0].Reservation.Principal != "p" {
		t.Errorf("refined PreRefinement = %+v", got[0])
	}
	// Pre-refinement and post-refinement forms of the same reservation merge.
	mixed := rs(Resource{Name: "mem", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "ads"}).Plus(rs(static(sc("mem", 2), "ads")))
	if len(mixed) != 1 || mixed[0].Scalar.Value != 3 {
		t.Errorf("pre+post refinement forms did not merge: %v", mixed)
	}
}

func TestAllocatableTo(t *testing.T) {
	all := rs(
		sc("cpus", 1),
		static(sc("cpus", 2), "eng"),
		static(sc("cpus", 3), "eng/backend"),
		static(sc("cpus", 4), "eng/frontend"),
		static(sc("cpus", 5), "engineering"),
		dynamic(static(sc("cpus", 6), "eng/backend"), "eng/backend/db", "p"),
		static(sc("cpus", 7), "ops"),
		Resource{Name: "mem", Type: SCALAR, Scalar: &Scalar{Value: 8}, Role: "eng"}, // pre-refinement form
	)
	tests := []struct {
		role string
		want float64 // total cpus+mem, each value above is distinct
	}{
		{"eng/backend", 1 + 2 + 3 + 8},
		{"eng", 1 + 2 + 8},
		{"eng/backend/db", 1 + 2 + 3 + 6 + 8},
		{"engineering", 1 + 5},
		{"ops", 1 + 7},
		{"*", 1},
		{"other", 1},
	}
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			got := all.AllocatableTo(tc.role)
			if v := got.Scalar("cpus") + got.Scalar("mem"); v != tc.want {
				t.Errorf("AllocatableTo(%q) = %v (total %v), want total %v", tc.role, got, v, tc.want)
			}
		})
	}
}

func TestResourcesV0(t *testing.T) {
	r := rs(sc("cpus", 2), static(sc("cpus", 1.5), "ads"), sc("mem", 1024), rg("ports", 31000, 31005), static(rg("ports", 31010, 31010), "ads"),
		st("zones", "a"), static(st("zones", "b"), "ads"),
		Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 8}, Revocable: &struct{}{}})
	got := r.V0()
	want := map[string]any{"cpus": 3.5, "mem": 1024.0, "disk": 0.0, "gpus": 0.0, "ports": "[31000-31005, 31010-31010]", "zones": "{a,b}"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("V0 = %#v, want %#v", got, want)
	}
	b, _ := json.Marshal(Resources(nil).V0())
	if string(b) != `{"cpus":0,"disk":0,"gpus":0,"mem":0}` {
		t.Errorf("empty V0 = %s", b)
	}
}

func TestResourcesString(t *testing.T) {
	tests := []struct {
		in   Resources
		want string
	}{
		{nil, ""},
		{rs(sc("cpus", 4), rg("ports", 31000, 32000)), "cpus(*):4; ports(*):[31000-32000]"},
		{rs(sc("cpus", 0.1)).Plus(rs(sc("cpus", 0.2))), "cpus(*):0.3"},
		{rs(static(sc("cpus", 8), "ads")), "cpus(ads):8"},
		{rs(Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "web"}), "cpus(web):1"},
		{rs(allocated(sc("cpus", 1), "r")), "cpus(allocated: r)(*):1"},
		{rs(rg("ports", 1, 5, 10, 20)), "ports(*):[1-5, 10-20]"},
		{rs(st("s", "a", "b")), "s(*):{a,b}"},
		{rs(sc("mem", 1e15)), "mem(*):1000000000000000"},
		{rs(sc("mem", math.Inf(1))), "mem(*):+Inf"},
	}
	for _, tc := range tests {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestResourceValidate(t *testing.T) {
	tests := []struct {
		name string
		r    Resource
		err  string // "" = valid; else a substring of the error
	}{
		{"scalar", sc("cpus", 1), ""},
		{"zero scalar", sc("cpus", 0), ""},
		{"ranges", rg("ports", 1, 2), ""},
		{"empty ranges", rg("ports"), ""},
		{"set", st("s", "a"), ""},
		{"static", static(sc("cpus", 1), "ads"), ""},
		{"refined", dynamic(static(sc("cpus", 1), "eng"), "eng/web", "p"), ""},
		{"pre-refinement static", Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "ads"}, ""},
		{"pre-refinement dynamic", Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "ads", Reservation: &ReservationInfo{Principal: "p"}}, ""},
		{"no name", Resource{Type: SCALAR, Scalar: &Scalar{Value: 1}}, "no name"},
		{"negative scalar", sc("cpus", -1), "non-negative"},
		{"NaN scalar", sc("cpus", math.NaN()), "finite"},
		{"infinite scalar", sc("cpus", math.Inf(1)), "finite"},
		{"begin > end", rg("ports", 5, 1), "begin > end"},
		{"missing scalar", Resource{Name: "cpus", Type: SCALAR}, "'scalar'"},
		{"missing ranges", Resource{Name: "ports", Type: RANGES}, "'ranges'"},
		{"missing set", Resource{Name: "s", Type: SET}, "'set'"},
		{"two payloads", Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Set: &Set{}}, "'scalar'"},
		{"unknown type", Resource{Name: "x", Type: "TEXT", Scalar: &Scalar{Value: 1}}, "unknown type"},
		{"empty type", Resource{Name: "x", Scalar: &Scalar{Value: 1}}, "unknown type"},
		{"reserved to star", static(sc("cpus", 1), "*"), "role"},
		{"reserved to empty", static(sc("cpus", 1), ""), "role"},
		{"reserved to bad role", static(sc("cpus", 1), "-x"), "'-'"},
		{"bad pre-refinement role", Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "a b"}, "whitespace"},
		{"reservation without type", Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Reservations: []ReservationInfo{{Role: "a"}}}, "reservation type"},
		{"refined not subrole", dynamic(static(sc("cpus", 1), "eng"), "ops", "p"), "subrole"},
		{"refined prefix trap", dynamic(static(sc("cpus", 1), "eng"), "engineering", "p"), "subrole"},
		{"refined static", static(static(sc("cpus", 1), "eng"), "eng/web"), "DYNAMIC"},
		{"role and reservations", Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "a", Reservations: []ReservationInfo{{Type: "STATIC", Role: "a"}}}, "'role'"},
		{"dynamic reservation of star", Resource{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 1}, Role: "*", Reservation: &ReservationInfo{Principal: "p"}}, "'*'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.err != "" && err == nil:
				t.Errorf("Validate() = nil, want error containing %q", tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Errorf("Validate() = %v, want error containing %q", err, tc.err)
			}
			if err != nil && tc.r.Name != "" && !strings.Contains(err.Error(), tc.r.Name) {
				t.Errorf("error %q does not name the resource %q", err, tc.r.Name)
			}
			// Resources.Validate reports the same.
			if err2 := rs(sc("ok", 1), tc.r).Validate(); (err2 == nil) != (err == nil) {
				t.Errorf("Resources.Validate() = %v, Resource.Validate() = %v", err2, err)
			}
		})
	}
}

func TestResourcesAccessors(t *testing.T) {
	r := rs(sc("cpus", 1), static(sc("cpus", 0.5), "ads"), rg("ports", 10, 20), static(rg("ports", 21, 30), "ads"), st("s", "a"), sc("mem", 64))
	if v := r.Scalar("cpus"); v != 1.5 {
		t.Errorf("Scalar(cpus) = %v", v)
	}
	if v := r.Scalar("nothing"); v != 0 {
		t.Errorf("Scalar(nothing) = %v", v)
	}
	if got := r.Ranges("ports"); !reflect.DeepEqual(got, []Range{{10, 30}}) {
		t.Errorf("Ranges(ports) = %v", got)
	}
	if got := r.Names(); !reflect.DeepEqual(got, []string{"cpus", "mem", "ports", "s"}) {
		t.Errorf("Names = %v", got)
	}
	if got := r.ScalarMap(); !reflect.DeepEqual(got, map[string]float64{"cpus": 1.5, "mem": 64}) {
		t.Errorf("ScalarMap = %v", got)
	}
	if got := r.Filter(func(x *Resource) bool { return x.IsReserved() }); len(got) != 2 {
		t.Errorf("Filter(reserved) = %v", got)
	}
	a := rs(allocated(sc("cpus", 1), "x"), allocated(sc("cpus", 2), "y")).Allocate("z")
	if len(a) != 1 || a[0].Scalar.Value != 3 || a[0].AllocationRole() != "z" {
		t.Errorf("Allocate(z) = %v", a)
	}
	u := a.Unallocated()
	if len(u) != 1 || u[0].AllocationInfo != nil {
		t.Errorf("Unallocated = %v", u)
	}
	if a[0].AllocationInfo == nil {
		t.Errorf("Unallocated modified its receiver")
	}
	res := static(sc("cpus", 1), "ads")
	if !res.IsReserved() || res.ReservationRole() != "ads" {
		t.Errorf("reservation accessors on %v", res)
	}
	plain := sc("cpus", 1)
	if plain.IsReserved() || plain.ReservationRole() != "*" || plain.AllocationRole() != "" {
		t.Errorf("accessors on unreserved %v", plain)
	}
}

func TestNumRanges(t *testing.T) {
	tests := []struct {
		in   []Range
		want uint64
	}{
		{nil, 0},
		{[]Range{{1, 1}}, 1},
		{[]Range{{31000, 32000}}, 1001},
		{[]Range{{1, 5}, {10, 19}}, 15},
		{[]Range{{5, 1}}, 0},
		{[]Range{{0, math.MaxUint64}}, math.MaxUint64},
		{[]Range{{0, math.MaxUint64 - 1}, {0, 10}}, math.MaxUint64},
	}
	for _, tc := range tests {
		if got := NumRanges(tc.in); got != tc.want {
			t.Errorf("NumRanges(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestRoundScalarIdempotent(t *testing.T) {
	for _, v := range []float64{0, 0.1, 0.3, 1.0005, 123.4567, 1e9 + 0.123, 4398046511103.999, 1 << 42, 1e15, 1e300, -0.0004} {
		r := roundScalar(v)
		if roundScalar(r) != r {
			t.Errorf("roundScalar not idempotent at %v: %v -> %v", v, r, roundScalar(r))
		}
		if math.Signbit(roundScalar(-0.0001)) {
			t.Errorf("roundScalar produced -0")
		}
	}
}

func BenchmarkResourcesPlusMinus(b *testing.B) {
	agent := rs(sc("cpus", 32), sc("mem", 131072), sc("disk", 1e6), sc("gpus", 4), rg("ports", 31000, 32000),
		static(sc("cpus", 8), "ads"), static(sc("mem", 16384), "ads"), st("zones", "a", "b"))
	task := rs(sc("cpus", 0.5), sc("mem", 128), rg("ports", 31500, 31500), static(sc("cpus", 0.25), "ads"))
	b.ReportAllocs()
	for b.Loop() {
		avail := agent
		for i := 0; i < 10; i++ {
			avail = avail.Minus(task)
		}
		for i := 0; i < 10; i++ {
			avail = avail.Plus(task)
		}
		if !avail.Contains(task) {
			b.Fatal("lost resources")
		}
	}
}

func TestAccumulateMatchesPlus(t *testing.T) {
	parts := []string{"cpus:1;mem:128", "cpus(web):0.5;ports:[31000-31001]", "cpus:0.25;ports:[31002-31005];mem(web):64", "disk:10"}
	var acc, plus Resources
	for _, p := range parts {
		rs, err := ParseResources(p, "")
		if err != nil {
			t.Fatal(err)
		}
		before := rs.Clone()
		acc = acc.Accumulate(rs)
		plus = plus.Plus(rs)
		if !reflect.DeepEqual(rs, before) {
			t.Fatalf("Accumulate changed its argument: %v", rs)
		}
	}
	if got, want := acc.Normalize().String(), plus.Normalize().String(); got != want {
		t.Fatalf("Accumulate %s, Plus %s", got, want)
	}
}

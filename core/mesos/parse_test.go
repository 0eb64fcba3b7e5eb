package mesos

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseResources(t *testing.T) {
	tests := []struct {
		name, in, role string
		want           Resources
		str            string // expected String() of the result
	}{
		{"agent default", "cpus:4;mem:8192;disk:20000;ports:[31000-32000]", "",
			rs(sc("cpus", 4), sc("mem", 8192), sc("disk", 20000), rg("ports", 31000, 32000)),
			"cpus(*):4; mem(*):8192; disk(*):20000; ports(*):[31000-32000]"},
		{"role", "cpus(ads):8", "", rs(static(sc("cpus", 8), "ads")), "cpus(ads):8"},
		{"star role is unreserved", "cpus(*):8", "", rs(sc("cpus", 8)), "cpus(*):8"},
		{"hierarchical role", "cpus(eng/backend):2", "", rs(static(sc("cpus", 2), "eng/backend")), "cpus(eng/backend):2"},
		{"default role", "cpus:1;mem(*):2", "ads", rs(static(sc("cpus", 1), "ads"), sc("mem", 2)), "cpus(ads):1; mem(*):2"},
		{"mixed roles stay apart", "cpus:1;cpus(ads):2;cpus:3", "", rs(sc("cpus", 4), static(sc("cpus", 2), "ads")), "cpus(*):4; cpus(ads):2"},
		{"set", "disks:{a,b}", "", rs(st("disks", "a", "b")), "disks(*):{a,b}"},
		{"set spaces and duplicates", "disks:{ a , b ,a,}", "", rs(st("disks", "a", "b")), "disks(*):{a,b}"},
		{"multiple ranges", "ports:[1-5,10-20]", "", rs(rg("ports", 1, 5, 10, 20)), "ports(*):[1-5, 10-20]"},
		{"ranges merged and sorted", "ports:[10-20, 1-5, 6-9]", "", rs(rg("ports", 1, 20)), "ports(*):[1-20]"},
		{"single-value range", "ports:[8080]", "", rs(rg("ports", 8080, 8080)), "ports(*):[8080-8080]"},
		{"empty ranges dropped", "ports:[]", "", rs(), ""},
		{"fractional", "cpus:0.5;mem:0.0001", "", rs(sc("cpus", 0.5)), "cpus(*):0.5"},
		{"rounding", "cpus:0.1;cpus:0.2", "", rs(sc("cpus", 0.3)), "cpus(*):0.3"},
		{"zero dropped", "cpus:0;mem:1", "", rs(sc("mem", 1)), "mem(*):1"},
		{"whitespace and empty items", "  cpus : 4 ; ; mem:1;  ", "", rs(sc("cpus", 4), sc("mem", 1)), "cpus(*):4; mem(*):1"},
		{"exponent", "mem:1e3", "", rs(sc("mem", 1000)), "mem(*):1000"},
		{"empty", "", "", nil, ""},
		{"blank", "   ", "", nil, ""},
		{"JSON array", `[{"name":"cpus","type":"SCALAR","scalar":{"value":2}}]`, "", rs(sc("cpus", 2)), "cpus(*):2"},
		{"JSON default role", `[{"name":"cpus","type":"SCALAR","scalar":{"value":2}}]`, "ads", rs(static(sc("cpus", 2), "ads")), "cpus(ads):2"},
		{"JSON explicit star role", `[{"name":"cpus","type":"SCALAR","scalar":{"value":2},"role":"*"}]`, "ads", rs(sc("cpus", 2)), "cpus(*):2"},
		{"JSON pre-refinement role", `[{"name":"cpus","type":"SCALAR","scalar":{"value":"2"},"role":"web"}]`, "", rs(static(sc("cpus", 2), "web")), "cpus(web):2"},
		{"JSON ranges and set", ` [{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":3,"end":4},{"begin":1,"end":2}]}},
			{"name":"s","type":"SET","set":{"item":["x"]}}] `, "",
			rs(rg("ports", 1, 4), st("s", "x")), "ports(*):[1-4]; s(*):{x}"},
		{"JSON post-refinement", `[{"name":"mem","type":"SCALAR","scalar":{"value":64},"reservations":[{"type":"DYNAMIC","role":"eng","principal":"p"}]}]`, "",
			rs(dynamic(sc("mem", 64), "eng", "p")), "mem(eng):64"},
		{"JSON nulls", `[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"reservations":null,"allocation_info":null}]`, "", rs(sc("cpus", 1)), "cpus(*):1"},
		{"JSON empty array", `[]`, "", rs(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseResources(tc.in, tc.role)
			if err != nil {
				t.Fatalf("ParseResources(%q) error: %v", tc.in, err)
			}
			assertSame(t, "ParseResources", got, tc.want)
			if s := got.String(); s != tc.str {
				t.Errorf("String() = %q, want %q", s, tc.str)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("result does not validate: %v", err)
			}
			checkReparse(t, got)
		})
	}
}

// textRepresentable reports whether the text form (String()) can express
// rs: unallocated, at most one STATIC reservation level without principal
// or labels, no disk, revocable, shared or provider.
func textRepresentable(rs Resources) bool {
	for _, r := range rs {
		if r.AllocationInfo != nil || r.Disk != nil || r.Revocable != nil || r.Shared != nil || r.ProviderID != nil ||
			r.Role != "" || r.Reservation != nil || len(r.Reservations) > 1 {
			return false
		}
		if len(r.Reservations) == 1 {
			if res := r.Reservations[0]; res.Type != "STATIC" || res.Principal != "" || res.Labels != nil {
				return false
			}
		}
	}
	return true
}

// checkReparse checks that parsed resources survive both serialized forms:
// String() (when it can express them) and JSON.
func checkReparse(t testing.TB, got Resources) {
	t.Helper()
	if textRepresentable(got) {
		again, err := ParseResources(got.String(), "")
		if err != nil {
			t.Fatalf("re-parse of String() %q: %v", got.String(), err)
		}
		assertSame(t, "re-parse of String()", again, got)
	}
	js, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if len(got) == 0 {
		return // "null" or "[]": not a resources value to re-parse
	}
	again, err := ParseResources(string(js), "")
	if err != nil {
		t.Fatalf("re-parse of JSON %s: %v", js, err)
	}
	if !reflect.DeepEqual(again, got) {
		t.Errorf("re-parse of JSON:\n got  %s\n want %s", canon(t, again), canon(t, got))
	}
}

func TestParseResourcesOrderAndExactValues(t *testing.T) {
	got, err := ParseResources("cpus:4;mem:8192;disk:20000;ports:[31000-32000]", "")
	if err != nil {
		t.Fatal(err)
	}
	want := Resources{sc("cpus", 4), sc("mem", 8192), sc("disk", 20000), rg("ports", 31000, 32000)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestParseResourcesErrors(t *testing.T) {
	tests := []struct {
		in, role string
		names    string // the error must mention this
	}{
		{"cpus", "", `"cpus"`},
		{"cpus:abc", "", `"cpus:abc"`},
		{"cpus:-1", "", `"cpus:-1"`},
		{"ports:[5-1]", "", `"ports:[5-1]"`},
		{"ports:[1-", "", `"ports:[1-"`},
		{"cpus(:1", "", `"cpus(:1"`},
		{"cpus(-x):1", "", `"cpus(-x):1"`},
		{":4", "", `":4"`},
		{"mem:1;cpus:abc;disk:1", "", `"cpus:abc"`},
		{"cpus:", "", `"cpus:"`},
		{"cpus():1", "", `"cpus():1"`},
		{"cpus(a b):1", "", `"cpus(a b):1"`},
		{"cpus(a)(b):1", "", `"cpus(a)(b):1"`},
		{"cpus(.):1", "", `"cpus(.):1"`},
		{"cp us:1", "", `"cp us:1"`},
		{"cpus:NaN", "", `"cpus:NaN"`},
		{"cpus:inf", "", `"cpus:inf"`},
		{"cpus:1e16", "", `"cpus:1e16"`},
		{"cpus:1:2", "", `"cpus:1:2"`},
		{"ports:[a-b]", "", `"ports:[a-b]"`},
		{"ports:[1-2,]", "", `"ports:[1-2,]"`},
		{"ports:[-1-2]", "", `"ports:[-1-2]"`},
		{"ports:[1-2-3]", "", `"ports:[1-2-3]"`},
		{"ports:[1-99999999999999999999]", "", `"ports:[1-99999999999999999999]"`},
		{"s:{a,b", "", `"s:{a,b"`},
		{"s:{a(b}", "", `"s:{a(b}"`},
		{"ports:[1-2;3-4]", "", `"ports:[1-2"`},
		{"cpus:1", "-bad", "default role"},
		{"cpus:1", "a(b", "default role"},
		{"mem:1;\xffcpus:1", "", "UTF-8"},
		{"cpus:1", "\xff", "default role"},
		{`[{"name":"cpus"`, "", "JSON"},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]`, "", `"cpus"`},
		{`[{"name":"cpus","type":"SCALAR"}]`, "", `"cpus"`},
		{`[{"name":"cpus","type":"FOO","scalar":{"value":1}}]`, "", `"cpus"`},
		{`[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":5,"end":1}]}}]`, "", `"ports"`},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"-x"}]`, "", `"cpus"`},
		{`[{"name":"cpus","type":"SCALAR","scalar":{"value":"abc"}}]`, "", "JSON"},
		{`[1,2]`, "", "JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseResources(tc.in, tc.role)
			if err == nil {
				t.Fatalf("ParseResources(%q) = %v, want error", tc.in, got)
			}
			if !strings.Contains(err.Error(), tc.names) {
				t.Errorf("error %q does not mention %s", err, tc.names)
			}
		})
	}
}

func TestParseAttributes(t *testing.T) {
	got, err := ParseAttributes("rack:r1;zone:a;level:10;keys:[1000-1500];s:{a,b}")
	if err != nil {
		t.Fatal(err)
	}
	want := []Attribute{
		{Name: "rack", Type: TEXT, Text: &Text{Value: "r1"}},
		{Name: "zone", Type: TEXT, Text: &Text{Value: "a"}},
		{Name: "level", Type: SCALAR, Scalar: &Scalar{Value: 10}},
		{Name: "keys", Type: RANGES, Ranges: &Ranges{Range: []Range{{1000, 1500}}}},
		{Name: "s", Type: SET, Set: &Set{Item: []string{"a", "b"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if f := FormatAttributes(got); f != "rack:r1;zone:a;level:10;keys:[1000-1500];s:{a,b}" {
		t.Errorf("FormatAttributes = %q", f)
	}
	for i := range got {
		if err := got[i].Validate(); err != nil {
			t.Errorf("attribute %d: %v", i, err)
		}
	}
}

func TestParseAttributesValues(t *testing.T) {
	tests := []struct {
		in      string
		typ     ValueType
		valueOf string // ValueString()
	}{
		{"a:r1", TEXT, "r1"},
		{"a:10", SCALAR, "10"},
		{"a:-2.5", SCALAR, "-2.5"},
		{"a:+3", SCALAR, "3"},
		{"a:.5", SCALAR, "0.5"},
		{"a: 10 ", SCALAR, "10"},
		{"a:1e3", TEXT, "1e3"},
		{"a:0x10", TEXT, "0x10"},
		{"a:inf", TEXT, "inf"},
		{"a:NaN", TEXT, "NaN"},
		{"a:us-east-1", TEXT, "us-east-1"},
		{"a:http://x:8080/p", TEXT, "http://x:8080/p"},
		{"a:two words", TEXT, "two words"},
		{"a:[1-2,5-6]", RANGES, "[1-2, 5-6]"},
		{"a:[]", RANGES, "[]"},
		{"a:{x}", SET, "{x}"},
		{"a:{}", SET, "{}"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAttributes(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Type != tc.typ || got[0].ValueString() != tc.valueOf {
				t.Fatalf("ParseAttributes(%q) = %+v (%q), want %s %q", tc.in, got, got[0].ValueString(), tc.typ, tc.valueOf)
			}
			if err := got[0].Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestParseAttributesSeparatorsAndEmpty(t *testing.T) {
	got, err := ParseAttributes(" rack:r1 ;\nzone:a\n;; ")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "rack" || got[1].Name != "zone" {
		t.Errorf("got %+v", got)
	}
	if got, err := ParseAttributes(""); err != nil || got != nil {
		t.Errorf(`ParseAttributes("") = %v, %v`, got, err)
	}
}

func TestParseAttributesErrors(t *testing.T) {
	tests := []struct{ in, names string }{
		{"rack:r1;rack:r2", `"rack"`},
		{"rack", `"rack"`},
		{":r1", `":r1"`},
		{"rack:", `"rack:"`},
		{"zone:a;rack", `"rack"`},
		{"keys:[5-1]", `"keys:[5-1]"`},
		{"keys:[1-", `"keys:[1-"`},
		{"keys:[a]", `"keys:[a]"`},
		{"s:{a,b", `"s:{a,b"`},
		{"zone:\xff", "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAttributes(tc.in)
			if err == nil {
				t.Fatalf("ParseAttributes(%q) = %+v, want error", tc.in, got)
			}
			if !strings.Contains(err.Error(), tc.names) {
				t.Errorf("error %q does not mention %s", err, tc.names)
			}
		})
	}
}

func TestAttributeValidate(t *testing.T) {
	tests := []struct {
		a  Attribute
		ok bool
	}{
		{Attribute{Name: "a", Type: TEXT, Text: &Text{Value: "x"}}, true},
		{Attribute{Name: "a", Type: SCALAR, Scalar: &Scalar{Value: -1}}, true},
		{Attribute{Type: TEXT, Text: &Text{}}, false},
		{Attribute{Name: "a", Type: TEXT}, false},
		{Attribute{Name: "a", Type: TEXT, Text: &Text{}, Scalar: &Scalar{}}, false},
		{Attribute{Name: "a", Type: "BOGUS", Text: &Text{}}, false},
		{Attribute{Name: "a", Type: RANGES, Ranges: &Ranges{Range: []Range{{2, 1}}}}, false},
	}
	for i, tc := range tests {
		if err := tc.a.Validate(); (err == nil) != tc.ok {
			t.Errorf("%d: Validate(%+v) = %v, want ok=%v", i, tc.a, err, tc.ok)
		}
	}
}

func TestValidateRole(t *testing.T) {
	tests := []struct {
		role string
		ok   bool
	}{
		{"*", true},
		{"ads", true},
		{"eng/backend", true},
		{"eng/backend/db", true},
		{"a.b", true},
		{"a-b", true},
		{"...", true},
		{"über", true},
		{"", false},
		{".", false},
		{"..", false},
		{"-a", false},
		{"eng/-a", false},
		{"/eng", false},
		{"eng/", false},
		{"eng//backend", false},
		{"eng/./backend", false},
		{"eng/../backend", false},
		{"eng/*", false},
		{"**", true},
		{"a b", false},
		{"a\tb", false},
		{"a\nb", false},
		{"a\bb", false},
		{"a\x7f", false},
		{"a\x00", false},
		{"a\xff", false},
	}
	for _, tc := range tests {
		if err := ValidateRole(tc.role); (err == nil) != tc.ok {
			t.Errorf("ValidateRole(%q) = %v, want ok=%v", tc.role, err, tc.ok)
		}
	}
}

func TestValidateID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"web.1a2b", true},
		{"a", true},
		{"task-1_x:y@z", true},
		{"...", true},
		{"名前", true},
		{strings.Repeat("x", 255), true},
		{strings.Repeat("x", 256), false},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{`a\b`, false},
		{"a\nb", false},
		{"a\tb", false},
		{"a\x00", false},
		{"a\x7f", false},
		{"a b", true},
		{"a\xff", false},
	}
	for _, tc := range tests {
		err := ValidateID(tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateID(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("error for a %d-byte ID is %d bytes long", len(tc.id), len(err.Error()))
		}
	}
}

func TestIDGen(t *testing.T) {
	g := &IDGen{MasterID: "m"}
	if got := g.Framework().Value; got != "m-0000" {
		t.Errorf("first framework = %q", got)
	}
	if got := g.Framework().Value; got != "m-0001" {
		t.Errorf("second framework = %q", got)
	}
	if got := g.Agent().Value; got != "m-S0" {
		t.Errorf("first agent = %q", got)
	}
	if got := g.Offer().Value; got != "m-O0" {
		t.Errorf("first offer = %q", got)
	}
	if got := g.Offer().Value; got != "m-O1" {
		t.Errorf("second offer = %q", got)
	}
	if n := NewIDGen(); len(n.MasterID) != 36 {
		t.Errorf("master ID %q is not a UUID", n.MasterID)
	}
	if u := NewUUID(); len(u) != 16 {
		t.Errorf("NewUUID length %d", len(u))
	}
}

func BenchmarkParseResources(b *testing.B) {
	const in = "cpus:32;mem:131072;disk:1000000;gpus:4;ports:[31000-32000,33000-33010];cpus(ads):8;mem(ads):16384;zones:{a,b,c}"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseResources(in, ""); err != nil {
			b.Fatal(err)
		}
	}
}

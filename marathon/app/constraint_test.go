package app

import "testing"

func mustConstraint(t *testing.T, c ...string) Constraint {
	t.Helper()
	pc, err := ParseConstraint(c)
	if err != nil {
		t.Fatalf("ParseConstraint(%v): %v", c, err)
	}
	return pc
}

func on(host string, attrs ...string) Placement {
	p := Placement{Hostname: host, Attributes: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		p.Attributes[attrs[i]] = attrs[i+1]
	}
	return p
}

func TestSatisfied(t *testing.T) {
	rackA := map[string]string{"rack": "a", "level": "10", "keys": "[1000-1500]", "@zone": "z1"}
	running := []Placement{on("h1", "rack", "a"), on("h2", "rack", "b"), on("h3", "rack", "a")}
	tests := []struct {
		name    string
		c       []string
		host    string
		attrs   map[string]string
		running []Placement
		want    bool
	}{
		{"unique new host", []string{"hostname", "UNIQUE"}, "h9", nil, running, true},
		{"unique taken host", []string{"hostname", "unique"}, "h2", nil, running, false},
		{"unique @hostname", []string{"@hostname", "UNIQUE"}, "h1", nil, running, false},
		{"unique attribute", []string{"rack", "UNIQUE"}, "h9", rackA, running, false},
		{"cluster value match", []string{"rack", "CLUSTER", "a"}, "h9", rackA, nil, true},
		{"cluster value mismatch", []string{"rack", "CLUSTER", "b"}, "h9", rackA, nil, false},
		{"cluster first placement", []string{"rack", "CLUSTER"}, "h9", rackA, nil, true},
		{"cluster follows first", []string{"rack", "CLUSTER"}, "h9", rackA, []Placement{on("h2", "rack", "b")}, false},
		{"group_by new value", []string{"rack", "GROUP_BY"}, "h9", map[string]string{"rack": "c"}, running, true},
		{"group_by fuller group", []string{"rack", "GROUP_BY"}, "h9", rackA, running, false},
		{"group_by smallest group", []string{"rack", "GROUP_BY"}, "h9", map[string]string{"rack": "b"}, running, true},
		{"group_by waits for values", []string{"rack", "GROUP_BY", "3"}, "h9", map[string]string{"rack": "b"}, running, false},
		{"like", []string{"rack", "LIKE", "[a-c]"}, "h9", rackA, nil, true},
		{"like is a full match", []string{"rack", "LIKE", "a|bc"}, "h9", map[string]string{"rack": "abc"}, nil, false},
		{"unlike", []string{"rack", "UNLIKE", "a"}, "h9", rackA, nil, false},
		{"unlike missing attribute", []string{"gpu", "UNLIKE", "x"}, "h9", rackA, nil, true},
		{"like missing attribute", []string{"gpu", "LIKE", ".*"}, "h9", rackA, nil, false},
		{"max_per below", []string{"rack", "MAX_PER", "3"}, "h9", rackA, running, true},
		{"max_per reached", []string{"rack", "MAX_PER", "2"}, "h9", rackA, running, false},
		{"is text", []string{"rack", "IS", "a"}, "h9", rackA, nil, true},
		{"is scalar formatted", []string{"level", "IS", "10.0"}, "h9", rackA, nil, true},
		{"is mismatch", []string{"level", "IS", "11"}, "h9", rackA, nil, false},
		{"ranges compared as text", []string{"keys", "LIKE", `\[1000-1500\]`}, "h9", rackA, nil, true},
		{"zone pseudo attribute", []string{"@zone", "IS", "z1"}, "h9", rackA, nil, true},
		{"missing attribute unique", []string{"gpu", "UNIQUE"}, "h9", rackA, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustConstraint(t, tc.c...)
			if got := Satisfied(c, tc.host, tc.attrs, tc.running); got != tc.want {
				t.Errorf("Satisfied = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseConstraintErrors(t *testing.T) {
	for _, c := range [][]string{{"hostname"}, {"hostname", "NEAR"}, {"", "UNIQUE"}, {"rack", "LIKE", "("}, {"a", "b", "c", "d"}} {
		if _, err := ParseConstraint(c); err == nil {
			t.Errorf("ParseConstraint(%v): no error", c)
		}
	}
	cs, err := ParseConstraints([][]string{{"hostname", "UNIQUE"}, {"rack", "group_by", "2"}})
	if err != nil || len(cs) != 2 || cs[1].Operator != OpGroupBy || !SatisfiesAll(cs, "h1", map[string]string{"rack": "a"}, nil) {
		t.Errorf("ParseConstraints: %+v %v", cs, err)
	}
}

func TestAttributeFormatting(t *testing.T) {
	scalars := map[float64]string{1: "1", 1.0005: "1", 1.00051: "1.001", 1.1005: "1.101", 2.5: "2.5", 0.0004: "0", -1.25: "-1.25", 10: "10", 0.1235: "0.123"}
	for f, want := range scalars {
		if got := FormatScalar(f); got != want {
			t.Errorf("FormatScalar(%v) = %q, want %q", f, got, want)
		}
	}
	if got := FormatRanges([]Range{{31000, 32000}, {1000, 1500}}); got != "[1000-1500,31000-32000]" {
		t.Errorf("FormatRanges = %q", got)
	}
	if got := FormatSet([]string{"b", "a"}); got != "{a,b}" {
		t.Errorf("FormatSet = %q", got)
	}
}

func BenchmarkSatisfied(b *testing.B) {
	cs, err := ParseConstraints([][]string{{"hostname", "UNIQUE"}, {"rack", "GROUP_BY", "3"}, {"rack", "LIKE", "rack-[0-9]+"}})
	if err != nil {
		b.Fatal(err)
	}
	var running []Placement
	for i := range 100 {
		running = append(running, Placement{Hostname: "h" + FormatScalar(float64(i)), Attributes: map[string]string{"rack": "rack-" + FormatScalar(float64(i%3))}})
	}
	attrs := map[string]string{"rack": "rack-1"}
	for b.Loop() {
		SatisfiesAll(cs, "h-new", attrs, running)
	}
}

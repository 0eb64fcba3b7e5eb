package app

import (
	"reflect"
	"testing"
)

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in   string
		want Selector
	}{
		{"", Selector{}},
		{"partition", Selector{{Key: "partition", Op: "exists"}}},
		{"env==prod", Selector{{Key: "env", Op: "==", Values: []string{"prod"}}}},
		{"tier != frontend", Selector{{Key: "tier", Op: "!=", Values: []string{"frontend"}}}},
		{"environment in (production, qa)", Selector{{Key: "environment", Op: "in", Values: []string{"production", "qa"}}}},
		{"tier notin (frontend, backend)", Selector{{Key: "tier", Op: "notin", Values: []string{"frontend", "backend"}}}},
		{`\!\!\! in (\-\-\-, \&\&\&, \+\+\+)`, Selector{{Key: "!!!", Op: "in", Values: []string{"---", "&&&", "+++"}}}},
		{"a in (t1, t2, t3), b notin (t1), c, d", Selector{
			{Key: "a", Op: "in", Values: []string{"t1", "t2", "t3"}},
			{Key: "b", Op: "notin", Values: []string{"t1"}},
			{Key: "c", Op: "exists"}, {Key: "d", Op: "exists"},
		}},
		{"in", Selector{{Key: "in", Op: "exists"}}},
		{"HAPROXY_GROUP==external,consul", Selector{{Key: "HAPROXY_GROUP", Op: "==", Values: []string{"external"}}, {Key: "consul", Op: "exists"}}},
	}
	for _, tc := range tests {
		got, err := ParseSelector(tc.in)
		if err != nil {
			t.Errorf("ParseSelector(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSelector(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"a b", "a in", "a in (b", "a ==", "a,", ",a", "a == b c", "a in (b,)", "x=y"} {
		_, err := ParseSelector(bad)
		status, body := errorBody(t, err)
		if status != 422 {
			t.Errorf("ParseSelector(%q): status %d %s", bad, status, body)
		}
	}
}

func TestSelectorMatch(t *testing.T) {
	labels := map[string]string{"env": "prod", "tier": "web", "consul": ""}
	tests := []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"env", true},
		{"missing", false},
		{"env==prod", true},
		{"env==dev", false},
		{"env!=dev", true},
		{"missing!=dev", false}, // the label must exist
		{"env in (dev, prod)", true},
		{"env notin (dev, prod)", false},
		{"missing notin (x)", false},
		{"env==prod, tier==web, consul", true},
		{"env==prod, tier==db", false},
	}
	for _, tc := range tests {
		s, err := ParseSelector(tc.sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Match(labels); got != tc.want {
			t.Errorf("%q.Match = %v, want %v", tc.sel, got, tc.want)
		}
	}
}

package store

import (
	"slices"
	"testing"
)

func TestEscapeSegment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"agent-1_a.b~c:d@e+f=g", "agent-1_a.b~c:d@e+f=g"},
		{"", ""},
		{"a b", "a%20b"},
		{"%", "%25"},
		{"ü", "%C3%BC"},
		{"\x00\xff", "%00%FF"},
		{"..", ".."},
	}
	for _, tc := range tests {
		got := escapeSegment(tc.in)
		if got != tc.want {
			t.Errorf("escapeSegment(%q) = %q, want %q", tc.in, got, tc.want)
		}
		back, err := unescapeSegment(got)
		if err != nil || back != tc.in {
			t.Errorf("unescapeSegment(%q) = %q, %v; want %q", got, back, err, tc.in)
		}
		if err := validZnodeName(zkKeyPrefix + got); err != nil {
			t.Errorf("escaped %q is not a valid znode name: %v", tc.in, err)
		}
	}
	for _, bad := range []string{"%", "%4", "%zz", "a%g0"} {
		if _, err := unescapeSegment(bad); err == nil {
			t.Errorf("unescapeSegment(%q) succeeded", bad)
		}
	}
}

func TestKeyPath(t *testing.T) {
	z := &ZK{kvRoot: "/s/kv"}
	tests := []struct{ key, want string }{
		{"a", "/s/kv/k-a"},
		{"registry/agents/a1", "/s/kv/d-registry/d-agents/k-a1"},
		{"/lead", "/s/kv/d-/k-lead"},
		{"trail/", "/s/kv/d-trail/k-"},
		{"a b/c", "/s/kv/d-a%20b/k-c"},
	}
	for _, tc := range tests {
		if got := z.keyPath(tc.key); got != tc.want {
			t.Errorf("keyPath(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestSortMembers(t *testing.T) {
	got := sortMembers([]string{"json.info_0000000010", "log_replicas", "info_0000000001", "json.info_0000000002", "json.info_x", "json.info_0000000009"})
	want := []string{"json.info_0000000002", "json.info_0000000009", "json.info_0000000010"}
	if !slices.Equal(got, want) {
		t.Errorf("sortMembers = %q, want %q", got, want)
	}
}

func TestZKOptionsDefaults(t *testing.T) {
	o, err := ZKOptions{}.withDefaults()
	if err != nil || o.SessionTimeout != DefaultZKSessionTimeout || o.ChunkSize != DefaultZKChunkSize {
		t.Errorf("defaults = %+v, %v", o, err)
	}
	for _, bad := range []ZKOptions{{SessionTimeout: 10}, {ChunkSize: 100}, {ChunkSize: 2 << 20}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

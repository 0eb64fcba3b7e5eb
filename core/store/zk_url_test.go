package store_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/strata-sched/strata/core/store"
)

func TestParseZKURL(t *testing.T) {
	tests := []struct {
		in      string
		servers []string
		path    string
		user    string
		pass    string
		err     string // substring of the error; "" for success
	}{
		{in: "zk://h1:2181,h2:2182/mesos", servers: []string{"h1:2181", "h2:2182"}, path: "/mesos"},
		{in: "zk://h1/strata/", servers: []string{"h1:2181"}, path: "/strata"},
		{in: "zk://u:p%40ss:w@10.0.0.1:2181/a/b", servers: []string{"10.0.0.1:2181"}, path: "/a/b", user: "u", pass: "p@ss:w"},
		{in: "zk://[::1]:2181,[::2]/x", servers: []string{"[::1]:2181", "[::2]:2181"}, path: "/x"},
		{in: "http://h1:2181/x", err: "does not start with zk://"},
		{in: "zk://h1:2181", err: "no path"},
		{in: "zk://h1:2181/", err: "path is empty"},
		{in: "zk://h1:2181//x", err: "empty znode name"},
		{in: "zk://h1:2181/zookeeper/x", err: "reserved"},
		{in: "zk://h1:2181/a/../b", err: "not allowed"},
		{in: "zk:///x", err: "no servers"},
		{in: "zk://h1:2181,,h2/x", err: "empty server"},
		{in: "zk://h1:99999/x", err: "bad port"},
		{in: "zk://user@h1/x", err: "user:password"},
	}
	for _, tc := range tests {
		u, err := store.ParseZKURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "zk://[user:password@]host1:2181") {
				t.Errorf("ParseZKURL(%q) = %v; want an error about %q naming the expected form", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseZKURL(%q) = %v", tc.in, err)
			continue
		}
		if !slices.Equal(u.Servers, tc.servers) || u.Path != tc.path || u.User != tc.user || u.Password != tc.pass {
			t.Errorf("ParseZKURL(%q) = %+v, want servers %q path %q user %q password %q", tc.in, u, tc.servers, tc.path, tc.user, tc.pass)
		}
	}

	u, _ := store.ParseZKURL("zk://alice:secret@h1/x")
	if s := u.String(); strings.Contains(s, "secret") || s != "zk://alice:xxxxx@h1:2181/x" {
		t.Errorf("String() = %q, want the password redacted", s)
	}
	if _, err := store.ParseZKURL("zk://alice:secret@h1:0/x"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("parse error leaks the password: %v", err)
	}
}

package testenv

import (
	"regexp"
	"testing"
	"time"
)

func TestStartZooKeeper(t *testing.T) {
	start := time.Now()
	zk := StartZooKeeper(t, 1)
	t.Logf("ZooKeeper serving after %v", time.Since(start).Round(time.Millisecond))

	if got := zk.ConnString(); !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(got) {
		t.Errorf("ConnString() = %q, want 127.0.0.1:<port>", got)
	}
	if got, want := zk.URL("u:p", "/strata"), "zk://u:p@"+zk.ConnString()+"/strata"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	s := zk.servers[0]
	if !s.serving() {
		t.Fatal("server does not answer srvr after StartZooKeeper")
	}

	zk.Kill(0)
	if s.running() || s.serving() {
		t.Fatal("server still up after Kill")
	}
	zk.Kill(0) // killing a stopped server is a no-op

	start = time.Now()
	zk.Start(0)
	if !s.serving() {
		t.Fatal("server does not answer srvr after Start")
	}
	t.Logf("ZooKeeper restarted in %v", time.Since(start).Round(time.Millisecond))
}

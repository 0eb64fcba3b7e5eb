package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/internal/testenv"
)

// TestZKLeaderFollower: an agent's follower of --master zk://... names the
// leading master, signals a change of leader, and waits (rather than
// naming the old one) while there is none.
func TestZKLeaderFollower(t *testing.T) {
	ens := testenv.StartZooKeeper(t, 1)
	url := ens.URL("", "/follower")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)

	f := newZKLeaderFollower(url, log)
	fctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.run(fctx) }()
	defer func() { stop(); <-done }()

	// No master yet: Detect gives up after its wait, naming nobody.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	if addr, err := f.Detect(short); err == nil {
		t.Fatalf("Detect with no master = %q, want an error", addr)
	}
	cancelShort()

	campaign := func(port int) (store.Leadership, *store.ZK) {
		t.Helper()
		zk, err := store.OpenZK(ctx, url, store.ZKOptions{}, log)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := json.Marshal(mesos.MasterInfo{ID: "master-" + strconv.Itoa(port), Hostname: "127.0.0.1", Port: uint32(port),
			Address: &mesos.Address{IP: "127.0.0.1", Port: int32(port)}})
		l, err := zk.Elector("").Campaign(ctx, info)
		if err != nil {
			t.Fatal(err)
		}
		return l, zk
	}
	changed := f.Changed()
	l1, zk1 := campaign(5051)
	defer zk1.Close()
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no change signalled when the first master was elected")
	}
	if addr, err := f.Detect(ctx); err != nil || addr != "127.0.0.1:5051" {
		t.Fatalf("Detect = %q, %v; want 127.0.0.1:5051", addr, err)
	}

	changed = f.Changed()
	if err := l1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	_, zk2 := campaign(5052)
	defer zk2.Close()
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no change signalled when the leader changed")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		addr, err := f.Detect(ctx)
		if err == nil && addr == "127.0.0.1:5052" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Detect after the change = %q, %v; want 127.0.0.1:5052", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

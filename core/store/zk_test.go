package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/core/store/storetest"
	"github.com/strata-sched/strata/internal/testenv"
)

// newBase returns a fresh base path, so that tests sharing a server do not
// see each other's data.
func newBase() string { return "/strata-" + strings.ToLower(rand.Text()[:12]) }

// openZK opens a store and closes it when the test ends.
func openZK(tb testing.TB, url string, opts store.ZKOptions) *store.ZK {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	level := slog.LevelInfo
	if _, bench := tb.(*testing.B); bench {
		level = slog.LevelWarn
	}
	s, err := store.OpenZK(ctx, url, opts, slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: level})))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// rawZK connects a plain ZooKeeper client, to look at the znodes directly.
func rawZK(tb testing.TB, ens *testenv.ZKEnsemble) *zk.Conn {
	tb.Helper()
	conn, _, err := zk.Connect(strings.Split(ens.ConnString(), ","), 5*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(conn.Close)
	deadline := time.Now().Add(10 * time.Second)
	for conn.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			tb.Fatal("raw ZooKeeper client: no session")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return conn
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func TestZK(t *testing.T) {
	ens := testenv.StartZooKeeper(t, 1)

	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return openZK(t, ens.URL("", newBase()), store.ZKOptions{})
		})
	})
	t.Run("Layout", func(t *testing.T) { testZKLayout(t, ens) })
	t.Run("LargeValue", func(t *testing.T) { testZKLargeValue(t, ens) })
	t.Run("ChunkedReadsAreAtomic", func(t *testing.T) { testZKChunkedAtomic(t, ens) })
	t.Run("AbandonedChunkedWrite", func(t *testing.T) { testZKAbandonedChunks(t, ens) })
	t.Run("Election", func(t *testing.T) { testZKElection(t, ens) })
	t.Run("MesosLayout", func(t *testing.T) { testZKMesosLayout(t, ens) })
	t.Run("WatchLeader", func(t *testing.T) { testZKWatchLeader(t, ens) })
	t.Run("DigestAuth", func(t *testing.T) { testZKDigestAuth(t, ens) })
}

func BenchmarkZK(b *testing.B) {
	ens := testenv.StartZooKeeper(b, 1)
	storetest.Bench(b, func(b *testing.B) store.Store {
		return openZK(b, ens.URL("", newBase()), store.ZKOptions{})
	})
}

// testZKLayout checks the znodes behind keys, including keys with
// characters that are not valid in znode names, and directory pruning.
func testZKLayout(t *testing.T, ens *testenv.ZKEnsemble) {
	ctx := t.Context()
	base := newBase()
	s := openZK(t, ens.URL("", base), store.ZKOptions{})
	raw := rawZK(t, ens)

	if _, err := s.Put(ctx, "registry/agents/a1", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	want := base + "/kv/d-registry/d-agents/k-a1"
	data, stat, err := raw.Get(want)
	if err != nil {
		t.Fatalf("znode %s: %v", want, err)
	}
	if !bytes.Equal(data, []byte("\x00v")) || stat.Version != 0 {
		t.Errorf("znode %s = %q version %d, want %q version 0", want, data, stat.Version, "\x00v")
	}

	odd := []string{"/leading", "trailing/", "a//b", "sp ace/ü/%41", "dots/../.", "bin\x00\xff\x7f", "zookeeper", strings.Repeat("x/", 100) + "deep"}
	for i, k := range odd {
		if _, err := s.Put(ctx, k, []byte(fmt.Sprint(i)), 0); err != nil {
			t.Fatalf("Put(%q) = %v", k, err)
		}
	}
	for i, k := range odd {
		kv, err := s.Get(ctx, k)
		if err != nil || string(kv.Value) != fmt.Sprint(i) || kv.Version != 1 {
			t.Errorf("Get(%q) = %q v%d, %v; want %q v1", k, kv.Value, kv.Version, err, fmt.Sprint(i))
		}
	}
	kvs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range kvs {
		keys = append(keys, kv.Key)
	}
	wantKeys := append(slices.Clone(odd), "registry/agents/a1")
	slices.Sort(wantKeys)
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("List(\"\") keys = %q, want %q", keys, wantKeys)
	}

	// Deleting the last key of a directory removes the empty directories.
	if err := s.Delete(ctx, "registry/agents/a1", 1); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := raw.Exists(base + "/kv/d-registry"); ok {
		t.Errorf("directory znode %s/kv/d-registry left behind", base)
	}
	// Directories that still hold keys stay.
	if _, err := s.Put(ctx, "registry/agents/a2", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "registry/weights", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "registry/agents/a2", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := raw.Exists(base + "/kv/d-registry"); !ok {
		t.Errorf("directory znode %s/kv/d-registry removed while it holds a key", base)
	}
}

// chunkedPaths lists the blobs under base.
func blobs(t *testing.T, raw *zk.Conn, base string) []string {
	t.Helper()
	names, _, err := raw.Children(base + "/blobs")
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		t.Fatal(err)
	}
	return names
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func testZKLargeValue(t *testing.T, ens *testenv.ZKEnsemble) {
	ctx := t.Context()
	base := newBase()
	s := openZK(t, ens.URL("", base), store.ZKOptions{})
	raw := rawZK(t, ens)

	big := randomBytes(3<<20 + 123) // 3 MiB: 7 chunks of 512 KiB
	v, err := s.Put(ctx, "big", big, 0)
	if err != nil || v != 1 {
		t.Fatalf("Put(3 MiB) = %d, %v; want version 1", v, err)
	}
	kv, err := s.Get(ctx, "big")
	if err != nil || !bytes.Equal(kv.Value, big) || kv.Version != 1 {
		t.Fatalf("Get(big) = %d bytes v%d, %v; want the 3 MiB value v1", len(kv.Value), kv.Version, err)
	}
	if b := blobs(t, raw, base); len(b) != 1 {
		t.Fatalf("blobs after one chunked put = %q, want one", b)
	}
	chunks, _, err := raw.Children(base + "/blobs/" + blobs(t, raw, base)[0])
	if err != nil || len(chunks) != 7 {
		t.Errorf("chunks = %q, %v; want 7 (and no lease)", chunks, err)
	}

	// CAS keeps working across chunked and inline values; replaced blobs go.
	big2 := randomBytes(1<<20 + 1)
	for i, val := range [][]byte{big2, []byte("small"), big, big2} {
		want := uint64(i + 2)
		if v, err := s.Put(ctx, "big", val, want-1); err != nil || v != want {
			t.Fatalf("Put #%d (%d bytes) = %d, %v; want version %d", i, len(val), v, err, want)
		}
		kv, err := s.Get(ctx, "big")
		if err != nil || !bytes.Equal(kv.Value, val) || kv.Version != want {
			t.Fatalf("Get after put #%d = %d bytes v%d, %v", i, len(kv.Value), kv.Version, err)
		}
		wantBlobs := 1
		if len(val) <= store.DefaultZKChunkSize {
			wantBlobs = 0
		}
		if b := blobs(t, raw, base); len(b) != wantBlobs {
			t.Errorf("after put #%d: blobs = %q, want %d", i, b, wantBlobs)
		}
	}
	if _, err := s.Put(ctx, "big", big, 2); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale chunked Put = %v, want ErrConflict", err)
	}
	if _, err := s.Put(ctx, "big", big, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("chunked create of an existing key = %v, want ErrConflict", err)
	}
	if b := blobs(t, raw, base); len(b) != 1 {
		t.Errorf("after failed chunked puts: blobs = %q, want only the live one", b)
	}

	kvs, err := s.List(ctx, "")
	if err != nil || len(kvs) != 1 || !bytes.Equal(kvs[0].Value, big2) || kvs[0].Version != 5 {
		t.Errorf("List = %d entries, %v; want big v5", len(kvs), err)
	}
	if v, err := s.Put(ctx, "other", big, store.AnyVersion); err != nil || v != 1 {
		t.Errorf("unconditional chunked Put of a new key = %d, %v", v, err)
	}
	if err := s.Delete(ctx, "big", 4); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale Delete of a chunked value = %v, want ErrConflict", err)
	}
	if err := s.Delete(ctx, "big", 5); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "other", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if b := blobs(t, raw, base); len(b) != 0 {
		t.Errorf("blobs after deleting every key = %q, want none", b)
	}
	if _, err := s.Get(ctx, "big"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
}

// testZKChunkedAtomic overwrites a chunked value while readers check that
// every value they see is whole and matches its version.
func testZKChunkedAtomic(t *testing.T, ens *testenv.ZKEnsemble) {
	ctx := t.Context()
	base := newBase()
	opts := store.ZKOptions{ChunkSize: 4 << 10}
	w := openZK(t, ens.URL("", base), opts)
	r := openZK(t, ens.URL("", base), opts) // another session: no read-your-writes help

	valueFor := func(version uint64) []byte { // 8 to 40 chunks, one byte value
		return bytes.Repeat([]byte{byte(version)}, (32<<10)+int(version%5)*(32<<10)+int(version))
	}
	if _, err := w.Put(ctx, "k", valueFor(1), 0); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	reads := make([]int, 3)
	for i := range reads {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				kv, err := r.Get(ctx, "k")
				if err != nil {
					t.Errorf("Get = %v", err)
					return
				}
				if !bytes.Equal(kv.Value, valueFor(kv.Version)) {
					t.Errorf("Get returned %d bytes starting %v for version %d: not the value written", len(kv.Value), kv.Value[:1], kv.Version)
					return
				}
				reads[i]++
			}
		})
	}
	for v := uint64(1); v < 30; v++ {
		if _, err := w.Put(ctx, "k", valueFor(v+1), v); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("reads during 29 chunked overwrites: %v", reads)
}

// testZKAbandonedChunks checks that chunks without a manifest are never
// visible, that a write given up midway leaves the old value, and that the
// sweep removes orphaned chunks but not ones still being written.
func testZKAbandonedChunks(t *testing.T, ens *testenv.ZKEnsemble) {
	ctx := t.Context()
	base := newBase()
	opts := store.ZKOptions{ChunkSize: 1 << 10}
	s := openZK(t, ens.URL("", base), opts)
	raw := rawZK(t, ens)

	old := randomBytes(5000)
	if _, err := s.Put(ctx, "k", old, 0); err != nil {
		t.Fatal(err)
	}

	// A Put given up midway (2000 chunks cannot be written in 20 ms).
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err := s.Put(short, "k", randomBytes(2000<<10), 1)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, store.ErrOutcomeUnknown) {
		t.Fatalf("Put abandoned by its context = %v, want DeadlineExceeded and ErrOutcomeUnknown", err)
	}
	kv, err := s.Get(ctx, "k")
	if err != nil || !bytes.Equal(kv.Value, old) || kv.Version != 1 {
		t.Fatalf("Get after an abandoned Put = %d bytes v%d, %v; want the old value v1", len(kv.Value), kv.Version, err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if b := blobs(t, raw, base); len(b) != 1 { // only the old value's
			return fmt.Errorf("blobs = %d, want 1", len(b))
		}
		return nil
	})

	// Chunks left by a writer that died before switching the manifest
	// (no lease, no reference), and chunks being written (a live lease).
	keyPath := base + "/kv/k-k"
	mkBlob := func(name string, leased bool) {
		blob := base + "/blobs/" + name
		if _, err := raw.Create(blob, []byte(keyPath), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Create(blob+"/c000000", []byte("half"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		if leased {
			if _, err := raw.Create(blob+"/lease", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
		}
	}
	mkBlob("DEAD", false)
	mkBlob("LIVE", true)
	if kv, err := s.Get(ctx, "k"); err != nil || !bytes.Equal(kv.Value, old) {
		t.Fatalf("Get with stray chunks = %d bytes, %v; want the old value", len(kv.Value), err)
	}

	openZK(t, ens.URL("", base), opts) // sweeps on open
	b := blobs(t, raw, base)
	if slices.Contains(b, "DEAD") || !slices.Contains(b, "LIVE") || len(b) != 2 {
		t.Errorf("blobs after the sweep = %q, want LIVE and the old value's", b)
	}
	if kv, err := s.Get(ctx, "k"); err != nil || !bytes.Equal(kv.Value, old) {
		t.Errorf("Get after the sweep = %d bytes, %v; want the old value", len(kv.Value), err)
	}
}

var memberName = regexp.MustCompile(`^json\.info_\d{10}$`)

func testZKElection(t *testing.T, ens *testenv.ZKEnsemble) {
	ctx := t.Context()
	base := newBase()
	opts := store.ZKOptions{SessionTimeout: 2 * time.Second}
	s1 := openZK(t, ens.URL("", base), opts)
	s2 := openZK(t, ens.URL("", base), opts)
	s3 := openZK(t, ens.URL("", base), opts)
	raw := rawZK(t, ens)
	info1, info2 := []byte(`{"id":"m1","port":5050}`), []byte(`{"id":"m2","port":5051}`)

	if _, err := s3.Elector("masters").Leader(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Leader() before any campaign = %v, want ErrNotFound", err)
	}
	l1, err := s1.Elector("masters").Campaign(ctx, info1)
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		l   store.Leadership
		err error
	}
	second := make(chan result, 1)
	go func() {
		l, err := s2.Elector("masters").Campaign(ctx, info2)
		second <- result{l, err}
	}()

	// Exactly one leads: the second contender waits with its node in place.
	testenv.Eventually(t, 5*time.Second, func() error {
		names, _, err := raw.Children(base + "/masters")
		if err != nil || len(names) != 2 {
			return fmt.Errorf("members = %q, %v; want 2", names, err)
		}
		return nil
	})
	select {
	case r := <-second:
		t.Fatalf("second Campaign returned while the first leads: %v", r.err)
	case <-time.After(300 * time.Millisecond):
	}
	names, _, _ := raw.Children(base + "/masters")
	for _, n := range names {
		if !memberName.MatchString(n) {
			t.Errorf("member znode %q does not look like json.info_<10 digits>", n)
		}
	}
	if node := l1.(*store.ZKLeadership).Node(); !strings.HasPrefix(node, base+"/masters/json.info_") {
		t.Errorf("Node() = %q", node)
	}
	if got, err := s3.Elector("masters").Leader(ctx); err != nil || !bytes.Equal(got, info1) {
		t.Errorf("Leader() = %q, %v; want %q", got, err, info1)
	}

	// A contender that gives up removes its node.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = s3.Elector("masters").Campaign(short, []byte("quitter"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Campaign with an expiring context = %v, want DeadlineExceeded", err)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if names, _, _ := raw.Children(base + "/masters"); len(names) != 2 {
			return fmt.Errorf("members = %q, want the quitter gone", names)
		}
		return nil
	})

	// Closing the leader's store ends its session: the standby takes over.
	start := time.Now()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l1.Lost():
	default:
		t.Error("Lost() not closed after Close")
	}
	var l2 store.Leadership
	select {
	case r := <-second:
		if r.err != nil {
			t.Fatal(r.err)
		}
		l2 = r.l
	case <-time.After(opts.SessionTimeout + 3*time.Second):
		t.Fatal("standby not elected within the session timeout + 3 s")
	}
	t.Logf("failover after Close took %v", time.Since(start).Round(time.Millisecond))
	if got, err := s3.Elector("masters").Leader(ctx); err != nil || !bytes.Equal(got, info2) {
		t.Errorf("Leader() after failover = %q, %v; want %q", got, err, info2)
	}

	if err := l2.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l2.Lost():
	default:
		t.Error("Lost() not closed after Resign")
	}
	if err := l2.Resign(ctx); err != nil {
		t.Errorf("second Resign = %v", err)
	}
	if _, err := s3.Elector("masters").Leader(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Leader() after Resign = %v, want ErrNotFound", err)
	}

	// Deleting the leader's node (an operator's zkCli rmr) ends leadership.
	l3, err := s2.Elector("masters").Campaign(ctx, info2)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Delete(l3.(*store.ZKLeadership).Node(), -1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l3.Lost():
	case <-time.After(5 * time.Second):
		t.Error("Lost() not closed after the node was deleted")
	}

	if _, err := s2.Elector("kv").Campaign(ctx, nil); err == nil {
		t.Error(`Elector("kv") accepted a reserved group`)
	}
}

// testZKMesosLayout checks that with group "" the leader is published where
// Mesos tools look for it: <path>/json.info_<seq>, lowest sequence first.
func testZKMesosLayout(t *testing.T, ens *testenv.ZKEnsemble) {
	ctx := t.Context()
	base := newBase()
	s := openZK(t, ens.URL("", base), store.ZKOptions{})
	raw := rawZK(t, ens)
	if _, err := s.Put(ctx, "registry/x", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	info := []byte(`{"id":"m1","pid":"master@127.0.0.1:5050","port":5050}`)
	l, err := s.Elector("").Campaign(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Resign(ctx)

	// What a Mesos detector does.
	names, _, err := raw.Children(base)
	if err != nil {
		t.Fatal(err)
	}
	var members []string
	for _, n := range names {
		if strings.HasPrefix(n, "json.info_") {
			members = append(members, n)
		}
	}
	slices.Sort(members)
	if len(members) != 1 || !memberName.MatchString(members[0]) || path.Join(base, members[0]) != l.(*store.ZKLeadership).Node() {
		t.Fatalf("children of %s = %q; want one json.info_<10 digits> (the leader)", base, names)
	}
	data, stat, err := raw.Get(path.Join(base, members[0]))
	if err != nil || !bytes.Equal(data, info) || stat.EphemeralOwner == 0 {
		t.Errorf("leader znode = %q (ephemeral owner %d), %v; want %q, ephemeral", data, stat.EphemeralOwner, err, info)
	}
}

func testZKWatchLeader(t *testing.T, ens *testenv.ZKEnsemble) {
	ctx := t.Context()
	base := newBase()
	s1 := openZK(t, ens.URL("", base), store.ZKOptions{})
	s2 := openZK(t, ens.URL("", base), store.ZKOptions{})
	agent := openZK(t, ens.URL("", base), store.ZKOptions{})

	wctx, stop := context.WithCancel(ctx)
	updates := agent.WatchLeader(wctx, "")
	next := func(want []byte) {
		t.Helper()
		select {
		case got, ok := <-updates:
			if !ok || !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Fatalf("WatchLeader sent %q (open %v), want %q", got, ok, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("WatchLeader sent nothing, want %q", want)
		}
	}
	next(nil) // no leader yet

	l1, err := s1.Elector("").Campaign(ctx, []byte("m1"))
	if err != nil {
		t.Fatal(err)
	}
	next([]byte("m1"))
	second := make(chan store.Leadership, 1)
	go func() {
		l, err := s2.Elector("").Campaign(ctx, []byte("m2"))
		if err != nil {
			t.Error(err)
		}
		second <- l
	}()
	if err := l1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	next([]byte("m2"))
	l2 := <-second
	if err := l2.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	next(nil)

	stop()
	select {
	case _, ok := <-updates:
		if ok {
			t.Error("WatchLeader sent after its context ended")
		}
	case <-time.After(5 * time.Second):
		t.Error("WatchLeader channel not closed after its context ended")
	}
}

func testZKDigestAuth(t *testing.T, ens *testenv.ZKEnsemble) {
	ctx := t.Context()
	base := newBase()
	owner := openZK(t, ens.URL("alice:s3cret", base), store.ZKOptions{})
	if _, err := owner.Put(ctx, "registry/k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Elector("").Campaign(ctx, []byte("m1")); err != nil {
		t.Fatal(err)
	}

	for _, who := range []string{"", "alice:wrong", "mallory:s3cret"} {
		other := openZK(t, ens.URL(who, base), store.ZKOptions{})
		for _, try := range []struct {
			op  string
			err error
		}{
			{"put new", func() error { _, err := other.Put(ctx, "registry/k2", []byte("x"), 0); return err }()},
			{"overwrite", func() error { _, err := other.Put(ctx, "registry/k", []byte("x"), store.AnyVersion); return err }()},
			{"put elsewhere", func() error { _, err := other.Put(ctx, "other", []byte("x"), 0); return err }()},
			{"delete", other.Delete(ctx, "registry/k", store.AnyVersion)},
			{"read", func() error { _, err := other.Get(ctx, "registry/k"); return err }()},
		} {
			if !errors.Is(try.err, zk.ErrNoAuth) || errors.Is(try.err, store.ErrOutcomeUnknown) || !strings.Contains(fmt.Sprint(try.err), "denied") {
				t.Errorf("%q: %s = %v; want a definite 'denied' error wrapping zk.ErrNoAuth", who, try.op, try.err)
			}
		}
		// The leader stays visible to everyone, as in Mesos.
		if got, err := other.Elector("").Leader(ctx); err != nil || string(got) != "m1" {
			t.Errorf("%q: Leader() = %q, %v; want m1", who, got, err)
		}
		if _, err := other.Elector("").Campaign(ctx, []byte("intruder")); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("%q: Campaign = %v, want zk.ErrNoAuth", who, err)
		}
	}
	if kv, err := owner.Get(ctx, "registry/k"); err != nil || string(kv.Value) != "v" || kv.Version != 1 {
		t.Errorf("owner's key after the attempts = %q v%d, %v; want v v1", kv.Value, kv.Version, err)
	}
}

// TestZKLeadershipDisconnect kills the only server under a leader: the
// leadership must end within a fraction of the session timeout, and once
// the server is back, the stale member node must go so a standby can lead.
func TestZKLeadershipDisconnect(t *testing.T) {
	ens := testenv.StartZooKeeper(t, 1)
	ctx := t.Context()
	base := newBase()
	opts := store.ZKOptions{SessionTimeout: 2 * time.Second}
	s1 := openZK(t, ens.URL("", base), opts)
	s2 := openZK(t, ens.URL("", base), opts)

	l1, err := s1.Elector("").Campaign(ctx, []byte("m1"))
	if err != nil {
		t.Fatal(err)
	}
	second := make(chan store.Leadership, 1)
	go func() {
		l, err := s2.Elector("").Campaign(ctx, []byte("m2"))
		if err != nil {
			t.Error(err)
		}
		second <- l
	}()
	time.Sleep(200 * time.Millisecond) // let the standby join

	start := time.Now()
	ens.Kill(0)
	select {
	case <-l1.Lost():
		t.Logf("leadership lost %v after the server died", time.Since(start).Round(time.Millisecond))
	case <-time.After(opts.SessionTimeout):
		t.Fatal("leadership not lost within the session timeout of losing ZooKeeper")
	}

	// Writes fail, bounded by their context, while no server is up.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = s1.Put(wctx, "k", []byte("v"), store.AnyVersion)
	cancel()
	if err == nil {
		t.Fatal("Put succeeded with ZooKeeper down")
	}
	t.Logf("Put with ZooKeeper down: %v", err)

	ens.Start(0)
	select {
	case l := <-second:
		t.Logf("standby elected %v after the server died", time.Since(start).Round(time.Millisecond))
		if got, err := s1.Elector("").Leader(ctx); err != nil || string(got) != "m2" {
			t.Errorf("Leader() = %q, %v; want m2", got, err)
		}
		_ = l.Resign(ctx)
	case <-time.After(opts.SessionTimeout + 10*time.Second):
		t.Fatal("standby not elected after the server came back")
	}
}

// TestZKEnsemble runs the store on three servers: it survives the loss of
// one, fails cleanly (bounded by the context) without a quorum, and
// recovers when the servers return.
func TestZKEnsemble(t *testing.T) {
	start := time.Now()
	ens := testenv.StartZooKeeper(t, 3)
	t.Logf("3-server ensemble up in %v", time.Since(start).Round(time.Millisecond))
	ctx := t.Context()
	opts := store.ZKOptions{SessionTimeout: 4 * time.Second}
	s := openZK(t, ens.URL("", newBase()), opts)
	l, err := s.Elector("").Campaign(ctx, []byte("m1"))
	if err != nil {
		t.Fatal(err)
	}

	// put writes value unconditionally, re-reading after an unknown outcome
	// the way callers must.
	put := func(value string, timeout time.Duration) error {
		var err error
		for range 3 {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			_, err = s.Put(pctx, "k", []byte(value), store.AnyVersion)
			cancel()
			if !errors.Is(err, store.ErrOutcomeUnknown) {
				return err
			}
			if kv, gerr := s.Get(ctx, "k"); gerr == nil && string(kv.Value) == value {
				return nil
			}
		}
		return err
	}
	if err := put("v0", 10*time.Second); err != nil {
		t.Fatal(err)
	}

	ens.Kill(0)
	for i := 1; i <= 5; i++ {
		if err := put(fmt.Sprintf("v%d", i), 10*time.Second); err != nil {
			t.Fatalf("Put with one of three servers down: %v", err)
		}
	}
	if kv, err := s.Get(ctx, "k"); err != nil || string(kv.Value) != "v5" {
		t.Fatalf("Get = %q, %v; want v5", kv.Value, err)
	}
	select {
	case <-l.Lost():
		t.Error("leadership lost although a quorum stayed up")
	default:
	}

	ens.Kill(1)
	begin := time.Now()
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = s.Put(pctx, "k", []byte("lost"), store.AnyVersion)
	cancel()
	took := time.Since(begin)
	if err == nil {
		t.Fatal("Put succeeded without a quorum")
	}
	if took > 5*time.Second {
		t.Errorf("Put without a quorum took %v; its context allowed 3s", took)
	}
	if !strings.Contains(err.Error(), "ZooKeeper") {
		t.Errorf("error without a quorum does not mention ZooKeeper: %v", err)
	}
	t.Logf("Put without a quorum failed after %v: %v", took.Round(time.Millisecond), err)
	select {
	case <-l.Lost():
	case <-time.After(opts.SessionTimeout):
		t.Error("leadership kept without a quorum")
	}

	ens.Start(0)
	ens.Start(1)
	testenv.Eventually(t, 30*time.Second, func() error { return put("back", 5*time.Second) })
	kv, err := s.Get(ctx, "k")
	if err != nil || (string(kv.Value) != "back") {
		t.Fatalf("Get after recovery = %q, %v; want back", kv.Value, err)
	}
	t.Logf("recovered %v after the quorum was lost", time.Since(begin).Round(time.Millisecond))
}

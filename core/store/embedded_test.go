package store_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/core/store/storetest"
)

// openEmbedded opens a store in dir and closes it when the test ends.
func openEmbedded(tb testing.TB, dir string) *store.Embedded {
	tb.Helper()
	s, err := store.OpenEmbedded(dir, slog.New(slog.NewTextHandler(tb.Output(), nil)))
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

func TestEmbeddedConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openEmbedded(t, t.TempDir()) })
}

func BenchmarkEmbedded(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := store.OpenEmbedded(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestEmbeddedSurvivesReopen(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "nested", "work") // created on demand

	s := openEmbedded(t, dir)
	for _, step := range []struct {
		key      string
		value    string
		expected uint64
	}{
		{"registry/agents/a1", "v1", 0},
		{"registry/agents/a1", "v2", 1},
		{"registry/agents/a1", "v3", 2},
		{"registry/agents/a2", "gone", 0},
		{"registry/frameworks/f1", "f", 0},
	} {
		if _, err := s.Put(ctx, step.key, []byte(step.value), step.expected); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "registry/agents/a2", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.EmbeddedFile)); err != nil {
		t.Fatalf("database file: %v", err)
	}

	s = openEmbedded(t, dir)
	kvs, err := s.List(ctx, "registry/")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.KV{
		{Key: "registry/agents/a1", Value: []byte("v3"), Version: 3},
		{Key: "registry/frameworks/f1", Value: []byte("f"), Version: 1},
	}
	if len(kvs) != len(want) {
		t.Fatalf("after reopen List = %v, want %v", kvs, want)
	}
	for i := range want {
		if kvs[i].Key != want[i].Key || string(kvs[i].Value) != string(want[i].Value) || kvs[i].Version != want[i].Version {
			t.Errorf("after reopen List[%d] = %+v, want %+v", i, kvs[i], want[i])
		}
	}
	// Versions carry on from where they were.
	if v, err := s.Put(ctx, "registry/agents/a1", []byte("v4"), 3); err != nil || v != 4 {
		t.Errorf("CAS after reopen = %d, %v; want 4, nil", v, err)
	}
}

func TestEmbeddedWorkDirLocked(t *testing.T) {
	dir := t.TempDir()
	first := openEmbedded(t, dir)

	start := time.Now()
	second, err := store.OpenEmbedded(dir, nil)
	if err == nil {
		second.Close()
		t.Fatal("second OpenEmbedded on the same dir succeeded")
	}
	for _, want := range []string{dir, "in use by another strata process", "--work_dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second OpenEmbedded took %v to fail", d)
	}

	// Once the first closes, the dir is usable again.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	openEmbedded(t, dir)
}

func TestEmbeddedElector(t *testing.T) {
	ctx := t.Context()
	s := openEmbedded(t, t.TempDir())
	el := s.Elector()

	if _, err := el.Leader(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Leader before Campaign = %v, want ErrNotFound", err)
	}

	info := []byte(`{"id":"m1"}`)
	l1, err := el.Campaign(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	info[0] = 'X' // Campaign must have copied info
	wantLeader(t, el, `{"id":"m1"}`)
	wantHeld(t, l1)
	wantLeader(t, s.Elector(), `{"id":"m1"}`) // Electors share state

	// Resign ends leadership; resigning again is harmless.
	if err := l1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	wantLost(t, l1)
	if _, err := el.Leader(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Leader after Resign = %v, want ErrNotFound", err)
	}
	if err := l1.Resign(ctx); err != nil {
		t.Errorf("second Resign = %v", err)
	}

	// A later Campaign supersedes the previous leadership.
	l2, err := el.Campaign(ctx, []byte("m2"))
	if err != nil {
		t.Fatal(err)
	}
	l3, err := el.Campaign(ctx, []byte("m3"))
	if err != nil {
		t.Fatal(err)
	}
	wantLost(t, l2)
	wantHeld(t, l3)
	wantLeader(t, el, "m3")
	if err := l2.Resign(ctx); err != nil { // must not disturb l3
		t.Fatal(err)
	}
	wantHeld(t, l3)
	wantLeader(t, el, "m3")

	// A cancelled context wins nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := el.Campaign(cctx, []byte("m4")); !errors.Is(err, context.Canceled) {
		t.Errorf("Campaign(cancelled) = %v, want context.Canceled", err)
	}
	wantLeader(t, el, "m3")

	// Closing the store ends leadership.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantLost(t, l3)
	if _, err := el.Leader(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Leader after Close = %v, want ErrClosed", err)
	}
	if _, err := el.Campaign(ctx, []byte("m5")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Campaign after Close = %v, want ErrClosed", err)
	}
	if err := l3.Resign(ctx); err != nil {
		t.Errorf("Resign after Close = %v", err)
	}
}

func TestEmbeddedCloseTwice(t *testing.T) {
	s := openEmbedded(t, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func wantLeader(t *testing.T, el store.Elector, want string) {
	t.Helper()
	got, err := el.Leader(t.Context())
	if err != nil || string(got) != want {
		t.Errorf("Leader = %q, %v; want %q", got, err, want)
	}
}

func wantHeld(t *testing.T, l store.Leadership) {
	t.Helper()
	select {
	case <-l.Lost():
		t.Error("leadership lost, want held")
	default:
	}
}

func wantLost(t *testing.T, l store.Leadership) {
	t.Helper()
	select {
	case <-l.Lost():
	default:
		t.Error("leadership held, want lost")
	}
}

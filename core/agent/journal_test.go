package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testJournal runs a journal whose sync is counted (and may fail).
type testJournal struct {
	*journal
	mu      sync.Mutex // the "agent lock"
	syncs   atomic.Int32
	failing atomic.Bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startJournal(t *testing.T) *testJournal {
	tj := &testJournal{}
	tj.journal = newJournal(func() error {
		tj.syncs.Add(1)
		if tj.failing.Load() {
			return errors.New("disk on fire")
		}
		return nil
	}, &tj.mu, slog.New(slog.DiscardHandler))
	tj.retryMin, tj.retryMax = time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	tj.cancel = cancel
	tj.start(ctx, func(f func()) {
		tj.wg.Add(1)
		go func() { defer tj.wg.Done(); f() }()
	})
	t.Cleanup(func() { cancel(); tj.wg.Wait() })
	return tj
}

func (tj *testJournal) appendLocked(e journalEntry) {
	tj.mu.Lock()
	defer tj.mu.Unlock()
	tj.append(e)
}

// Records of one file are written in order; a record's callback runs,
// under the lock, only after a sync that followed its write; a barrier
// returns after the callbacks of the records appended before it.
func TestJournalGroupCommit(t *testing.T) {
	tj := startJournal(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "task.updates")
	var durable []int
	for i := range 100 {
		tj.appendLocked(journalEntry{path: path, line: []byte(strconv.Itoa(i) + "\n"), create: true, done: func() {
			if tj.mu.TryLock() {
				t.Error("callback ran without the lock held")
				tj.mu.Unlock()
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("callback before the write: %v", err)
			}
			if tj.syncs.Load() == 0 {
				t.Error("callback before any sync")
			}
			durable = append(durable, i)
		}})
	}
	if err := tj.barrier(context.Background()); err != nil {
		t.Fatal(err)
	}
	tj.mu.Lock()
	n := len(durable)
	tj.mu.Unlock()
	if n != 100 {
		t.Fatalf("%d callbacks ran before the barrier returned, want 100", n)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for i := range 100 {
		want += strconv.Itoa(i) + "\n"
	}
	if string(data) != want {
		t.Fatalf("file = %q", data)
	}
	if s := tj.syncs.Load(); s >= 100 {
		t.Fatalf("%d syncs for 100 records: no grouping", s)
	}

	// A record for a directory that is gone (a collected run) is dropped
	// unless it may create it; a marker is created empty.
	gone := filepath.Join(dir, "gone", "task.updates")
	marker := filepath.Join(dir, "sub", "run.completed")
	tj.appendLocked(journalEntry{path: gone, line: []byte("ack\n")})
	tj.appendLocked(journalEntry{path: marker})
	if err := tj.barrier(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fileExists(gone) || !fileExists(marker) {
		t.Fatalf("gone written: %v, marker created: %v", fileExists(gone), fileExists(marker))
	}
}

// A failing sync fails the barriers waiting for it and holds the records'
// callbacks until a sync succeeds.
func TestJournalSyncFailure(t *testing.T) {
	tj := startJournal(t)
	tj.failing.Store(true)
	ran := make(chan struct{})
	tj.appendLocked(journalEntry{path: filepath.Join(t.TempDir(), "u"), line: []byte("x\n"), create: true,
		done: func() { close(ran) }})
	if err := tj.barrier(context.Background()); err == nil {
		t.Fatal("barrier succeeded while syncs fail")
	}
	select {
	case <-ran:
		t.Fatal("callback ran although no sync succeeded")
	case <-time.After(20 * time.Millisecond):
	}
	tj.failing.Store(false)
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("callback did not run after the sync recovered")
	}
}

// Without a running journal (before Run), appends are written, synced and
// reported at once.
func TestJournalInline(t *testing.T) {
	var syncs int
	j := newJournal(func() error { syncs++; return nil }, &sync.Mutex{}, slog.New(slog.DiscardHandler))
	path := filepath.Join(t.TempDir(), "u")
	done := false
	j.append(journalEntry{path: path, line: []byte("x\n"), create: true, done: func() { done = true }})
	if !done || syncs != 1 || !fileExists(path) {
		t.Fatalf("done %v, syncs %d, file %v", done, syncs, fileExists(path))
	}
	if err := j.barrier(context.Background()); err != nil || syncs != 2 {
		t.Fatalf("barrier: %v, syncs %d", err, syncs)
	}
}

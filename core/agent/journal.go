package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// journal makes checkpoint writes durable in groups ("group commit").
//
// Writing a status update used to cost an fsync under the agent's lock, and
// every launch fsynced its files and directories one by one: at a thousand
// tasks the agent spent its time waiting for the disk, one update at a time.
// Instead:
//
//   - Records that are appended to a file (task.updates lines, markers) are
//     handed to the journal under the agent's lock without any I/O (append).
//     The journal's goroutine writes everything queued, syncs the work dir's
//     filesystem once (syncfs(2)), and only then runs each record's callback,
//     under the agent's lock: that is where a status update becomes
//     sendable, so an update is durable before it is forwarded.
//   - Files written atomically without fsync (stageFile, stageJSON) become
//     durable at the next sync; a caller that must not proceed before that
//     (a launch: the task is checkpointed before it runs) waits at barrier,
//     which returns once a sync that started after the call has completed.
//
// Many appends and barriers share one write pass and one sync. Per file the
// records are written in the order they were appended.
type journal struct {
	// sync makes everything written to the work dir so far durable.
	sync func() error
	// locker is held while callbacks run (the agent's lock).
	locker sync.Locker
	log    *slog.Logger

	mu       sync.Mutex
	entries  []journalEntry
	barriers []chan error
	running  bool // run is serving; otherwise append and barrier work inline
	wake     chan struct{}

	// retry bounds the wait between attempts after a write or sync error.
	retryMin, retryMax time.Duration
}

// journalEntry is one record to append to a file.
type journalEntry struct {
	path string
	line []byte
	// create: create the file's directory if it is missing. Without it a
	// missing directory (a run already garbage-collected) drops the record.
	// The file itself is always created if missing (an empty line makes a
	// marker file).
	create bool
	// done runs with the agent's lock held once the record is durable.
	done func()
}

func newJournal(syncFn func() error, locker sync.Locker, log *slog.Logger) *journal {
	return &journal{sync: syncFn, locker: locker, log: log, wake: make(chan struct{}, 1),
		retryMin: 50 * time.Millisecond, retryMax: 5 * time.Second}
}

// append queues e. Called with the agent's lock held; it does no I/O while
// the journal runs. Otherwise (before Run, after it) the record is written
// and synced at once and done is called directly.
func (j *journal) append(e journalEntry) {
	j.mu.Lock()
	if j.running {
		j.entries = append(j.entries, e)
		j.mu.Unlock()
		j.notify()
		return
	}
	j.mu.Unlock()
	err := writeGroup(e.path, e.line, e.create)
	if err == nil {
		err = j.sync()
	}
	if err != nil && !(isNotExist(err) && !e.create) {
		j.log.Error("checkpoint write failed", "path", e.path, "err", err)
	}
	if e.done != nil {
		e.done()
	}
}

// barrier returns once everything written before the call is durable and
// the callbacks of the records appended before it have run. It must not be
// called with the agent's lock held.
func (j *journal) barrier(ctx context.Context) error {
	j.mu.Lock()
	if !j.running {
		j.mu.Unlock()
		return j.sync()
	}
	ch := make(chan error, 1)
	j.barriers = append(j.barriers, ch)
	j.mu.Unlock()
	j.notify()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (j *journal) notify() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// start makes appends and barriers asynchronous and serves them in a
// goroutine started with spawn until ctx ends; then what is queued is
// flushed and later appends are written inline.
func (j *journal) start(ctx context.Context, spawn func(func())) {
	j.mu.Lock()
	j.running = true
	j.mu.Unlock()
	spawn(func() { j.run(ctx) })
}

func (j *journal) run(ctx context.Context) {
	for {
		select {
		case <-j.wake:
			j.cycle(ctx)
		case <-ctx.Done():
			j.mu.Lock()
			j.running = false
			j.mu.Unlock()
			// A last pass for what was queued; nothing waits for it any more,
			// so errors are not retried.
			j.cycle(ctx)
			return
		}
	}
}

// cycle writes what is queued, syncs once, releases the barriers and runs
// the callbacks.
func (j *journal) cycle(ctx context.Context) {
	j.mu.Lock()
	entries, barriers := j.entries, j.barriers
	j.entries, j.barriers = nil, nil
	j.mu.Unlock()
	if len(entries) == 0 && len(barriers) == 0 {
		return
	}
	if !j.writeAll(ctx, entries) {
		// Stopping with records that could not be written: nothing may be
		// reported durable.
		for _, b := range barriers {
			b <- ctx.Err()
		}
		return
	}
	err := j.sync()
	if err != nil {
		for _, b := range barriers {
			b <- err // a launch waiting for its checkpoint fails rather than waits
		}
		barriers = nil
	}
	for wait := j.retryMin; err != nil; wait = min(2*wait, j.retryMax) {
		// Barriers that arrived while syncs fail learn it too, instead of
		// waiting behind this retry loop.
		j.mu.Lock()
		late := j.barriers
		j.barriers = nil
		j.mu.Unlock()
		for _, b := range late {
			b <- err
		}
		j.log.Error("syncing checkpoints failed; status updates wait until it succeeds", "err", err, "retry_in", wait)
		if !sleepCtx(ctx, wait) {
			return
		}
		err = j.sync()
	}
	var done []func()
	for _, e := range entries {
		if e.done != nil {
			done = append(done, e.done)
		}
	}
	if len(done) > 0 {
		j.locker.Lock()
		for _, f := range done {
			f()
		}
		j.locker.Unlock()
	}
	for _, b := range barriers {
		b <- nil
	}
}

// writeAll appends the entries, one write per file, in order per file.
// A file that fails is retried with backoff (its partial write truncated
// away) until it succeeds or ctx ends: its records must not be reported
// durable, and nothing after them in the same file may be written first.
// It reports false if ctx ended first.
func (j *journal) writeAll(ctx context.Context, entries []journalEntry) bool {
	type group struct {
		path   string
		data   []byte
		create bool
	}
	var order []*group
	byPath := map[string]*group{}
	for _, e := range entries {
		g := byPath[e.path]
		if g == nil {
			g = &group{path: e.path}
			byPath[e.path] = g
			order = append(order, g)
		}
		g.data = append(g.data, e.line...)
		g.create = g.create || e.create
	}
	write := func(g *group) bool {
		for wait := j.retryMin; ; wait = min(2*wait, j.retryMax) {
			err := writeGroup(g.path, g.data, g.create)
			if err == nil {
				return true
			}
			if isNotExist(err) && !g.create {
				j.log.Debug("checkpoint record dropped: its directory is gone", "path", g.path)
				return true
			}
			j.log.Error("writing checkpoint failed; retrying", "path", g.path, "err", err, "retry_in", wait)
			if !sleepCtx(ctx, wait) {
				return false
			}
		}
	}
	// Files are independent: they are written in parallel.
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(len(order), maxParallelWrites) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(order) || failed.Load() {
					return
				}
				if !write(order[i]) {
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return !failed.Load()
}

// maxParallelWrites bounds the files a journal cycle writes at once.
const maxParallelWrites = 8

// writeGroup appends data to path (created if missing) in one write; on
// failure the file is truncated back so that a retry does not leave a torn
// record in between. With create, a missing directory is created too.
func writeGroup(path string, data []byte, create bool) error {
	const flags = os.O_WRONLY | os.O_APPEND | os.O_CREATE
	f, err := os.OpenFile(path, flags, 0o644)
	if create && errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("append %s: %w", path, err)
		}
		f, err = os.OpenFile(path, flags, 0o644)
	}
	if err != nil {
		return fmt.Errorf("append %s: %w", path, err)
	}
	if len(data) == 0 {
		return f.Close()
	}
	fi, err := f.Stat()
	if err == nil {
		if _, err = f.Write(data); err != nil {
			_ = f.Truncate(fi.Size())
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append %s: %w", path, err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

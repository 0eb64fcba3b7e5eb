package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

const (
	// EmbeddedFile is the name of the embedded backend's file in the work dir.
	EmbeddedFile = "strata.db"

	// lockTimeout bounds the wait for the file lock. Another strata process
	// holds it for its whole life, so waiting longer would only delay the error.
	lockTimeout = 500 * time.Millisecond

	// kvBucket is the single bbolt bucket holding every key.
	kvBucket = "kv"

	// versionLen is the size of the version header in front of each value.
	versionLen = 8
)

// Embedded is the bbolt-backed Store for a single master. The database file
// is locked exclusively, so the process that opened it is the only writer and
// therefore always the leader (see Elector).
//
// Each record is stored as an 8-byte big-endian version followed by the value.
// Every Put or Delete that changes something is its own read-write bbolt
// transaction, fsynced before it returns nil.
type Embedded struct {
	dir string
	log *slog.Logger

	// mu is held shared by every operation and exclusively by Close, so Close
	// waits for operations in flight and later calls see db == nil.
	mu sync.RWMutex
	db *bolt.DB // nil once closed

	// lmu guards leader, the live Leadership (nil when nobody leads).
	lmu    sync.Mutex
	leader *embeddedLeadership
}

var (
	_ Store   = (*Embedded)(nil)
	_ Elector = embeddedElector{}
)

// OpenEmbedded opens (creating if needed) the embedded store at
// <dir>/strata.db, creating dir with mode 0o755 if it is missing. It fails
// with a clear error if another process has the store open. A nil logger
// discards logs.
func OpenEmbedded(dir string, logger *slog.Logger) (*Embedded, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dir == "" {
		return nil, errors.New("store: work dir is empty; pass --work_dir")
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // clearer in errors and logs
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: create work dir: %w", err)
	}

	path := filepath.Join(dir, EmbeddedFile)
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)

	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      lockTimeout,
		FreelistType: bolt.FreelistArrayType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: work dir %s is in use by another strata process (%s is locked); stop it or pass a different --work_dir",
			dir, EmbeddedFile)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte(kvBucket))
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: initialise %s: %w", path, err)
	}
	if created {
		// Make the new file's directory entry durable too.
		if err := syncDir(dir); err != nil {
			logger.Warn("store: could not fsync work dir", "dir", dir, "err", err)
		}
	}

	logger.Info("store: opened embedded store", "path", path, "created", created)
	return &Embedded{dir: dir, log: logger, db: db}, nil
}

// Get returns the current value of key, or ErrNotFound.
func (e *Embedded) Get(ctx context.Context, key string) (KV, error) {
	if err := CheckKey(key); err != nil {
		return KV{}, err
	}
	var kv KV
	err := e.read(ctx, func(b *bolt.Bucket) error {
		raw := b.Get([]byte(key))
		if raw == nil {
			return fmt.Errorf("%w: %q", ErrNotFound, key)
		}
		var err error
		kv, err = decode(key, raw)
		return err
	})
	return kv, err
}

// List returns every key starting with prefix, sorted by key. An empty
// prefix lists the whole store.
func (e *Embedded) List(ctx context.Context, prefix string) ([]KV, error) {
	var kvs []KV
	err := e.read(ctx, func(b *bolt.Bucket) error {
		p := []byte(prefix)
		c := b.Cursor()
		for k, raw := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, raw = c.Next() {
			kv, err := decode(string(k), raw)
			if err != nil {
				return err
			}
			kvs = append(kvs, kv)
		}
		return nil
	})
	return kvs, err
}

// Keys returns every key starting with prefix, sorted, without decoding
// the values. An empty prefix lists the whole store.
func (e *Embedded) Keys(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	err := e.read(ctx, func(b *bolt.Bucket) error {
		p := []byte(prefix)
		c := b.Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			keys = append(keys, string(k))
		}
		return nil
	})
	return keys, err
}

// Put writes value if key's current version (0 when missing) equals expected,
// or unconditionally with AnyVersion, and returns the new version. A mismatch
// returns an error wrapping ErrConflict; values over MaxValueSize return
// ErrTooLarge. Neither writes anything.
func (e *Embedded) Put(ctx context.Context, key string, value []byte, expected uint64) (uint64, error) {
	if err := CheckKey(key); err != nil {
		return 0, err
	}
	if len(value) > MaxValueSize {
		return 0, fmt.Errorf("%w: put %q: %d bytes, the limit is %d", ErrTooLarge, key, len(value), MaxValueSize)
	}
	var version uint64
	err := e.write(ctx, "put", key, func(b *bolt.Bucket) (bool, error) {
		cur, err := currentVersion(b, key)
		if err != nil {
			return false, err
		}
		if expected != AnyVersion && expected != cur {
			return false, conflict("put", key, expected, cur)
		}
		version = cur + 1
		return true, b.Put([]byte(key), encode(version, value))
	})
	if err != nil {
		return 0, err
	}
	return version, nil
}

// Delete removes key if its current version (0 when missing) equals expected,
// or unconditionally with AnyVersion. Deleting a missing key with AnyVersion
// (or 0) is a no-op; with any other version it returns an error wrapping
// ErrConflict, like any other version mismatch, rather than ErrNotFound.
func (e *Embedded) Delete(ctx context.Context, key string, expected uint64) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	return e.write(ctx, "delete", key, func(b *bolt.Bucket) (bool, error) {
		cur, err := currentVersion(b, key)
		if err != nil {
			return false, err
		}
		if expected != AnyVersion && expected != cur {
			return false, conflict("delete", key, expected, cur)
		}
		if cur == 0 {
			return false, nil // already gone
		}
		return true, b.Delete([]byte(key))
	})
}

// Close ends any Leadership, waits for operations in flight, and releases
// the file lock. Every later call, including Close, returns ErrClosed.
func (e *Embedded) Close() error {
	e.mu.Lock()
	db := e.db
	e.db = nil
	e.mu.Unlock()
	if db == nil {
		return ErrClosed
	}

	e.lmu.Lock()
	if e.leader != nil {
		e.endLeadership(e.leader)
	}
	e.lmu.Unlock()

	if err := db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.Path(), err)
	}
	e.log.Info("store: closed embedded store", "dir", e.dir)
	return nil
}

// read runs fn in a read-only transaction.
func (e *Embedded) read(ctx context.Context, fn func(b *bolt.Bucket) error) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.db == nil {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.db.View(func(tx *bolt.Tx) error {
		return fn(tx.Bucket([]byte(kvBucket)))
	})
}

// write runs fn in a read-write transaction and commits (and fsyncs) only if
// fn returns nil and reports a change; otherwise it rolls back. A failed
// commit may have reached the disk, so it is reported as ErrOutcomeUnknown.
func (e *Embedded) write(ctx context.Context, op, key string, fn func(b *bolt.Bucket) (changed bool, err error)) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.db == nil {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s %q: %w", op, key, err)
	}
	tx, err := e.db.Begin(true)
	if err != nil {
		return fmt.Errorf("store: %s %q: %w", op, key, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after a successful Commit

	// Begin may have waited for other writers; give up if the caller has.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s %q: %w", op, key, err)
	}
	changed, err := fn(tx.Bucket([]byte(kvBucket)))
	if err != nil || !changed {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s %q: %w: %w", op, key, ErrOutcomeUnknown, err)
	}
	return nil
}

// Elector returns the embedded backend's Elector. The file lock guarantees a
// single process, so Campaign wins at once and the Leadership lasts until
// Resign, a later Campaign, or Close. All Electors of one store share state.
func (e *Embedded) Elector() Elector { return embeddedElector{e: e} }

type embeddedElector struct{ e *Embedded }

// Campaign makes this process the leader immediately, publishing info. A
// previous Leadership from this store is ended first: there is one leader.
func (el embeddedElector) Campaign(ctx context.Context, info []byte) (Leadership, error) {
	e := el.e
	e.mu.RLock() // keeps Close from running until the leadership is installed
	defer e.mu.RUnlock()
	if e.db == nil {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	l := &embeddedLeadership{e: e, info: bytes.Clone(info), lost: make(chan struct{})}
	e.lmu.Lock()
	if e.leader != nil {
		e.endLeadership(e.leader)
	}
	e.leader = l
	e.lmu.Unlock()
	e.log.Info("store: elected leader (embedded store, single process)", "dir", e.dir)
	return l, nil
}

// Leader returns the info of the live Leadership, or ErrNotFound.
func (el embeddedElector) Leader(ctx context.Context) ([]byte, error) {
	e := el.e
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.db == nil {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.lmu.Lock()
	defer e.lmu.Unlock()
	if e.leader == nil {
		return nil, fmt.Errorf("%w: no leader", ErrNotFound)
	}
	return bytes.Clone(e.leader.info), nil
}

// embeddedLeadership is one Campaign's win. Its fields other than lost and
// info are guarded by e.lmu.
type embeddedLeadership struct {
	e     *Embedded
	info  []byte
	lost  chan struct{}
	ended bool
}

func (l *embeddedLeadership) Lost() <-chan struct{} { return l.lost }

// Resign ends the leadership; it never fails and may be called repeatedly.
func (l *embeddedLeadership) Resign(context.Context) error {
	l.e.lmu.Lock()
	defer l.e.lmu.Unlock()
	if !l.ended {
		l.e.endLeadership(l)
		l.e.log.Info("store: resigned leadership", "dir", l.e.dir)
	}
	return nil
}

// endLeadership closes l's Lost channel and forgets l if it is the live
// leadership. e.lmu must be held.
func (e *Embedded) endLeadership(l *embeddedLeadership) {
	if e.leader == l {
		e.leader = nil
	}
	if !l.ended {
		l.ended = true
		close(l.lost)
	}
}

// currentVersion returns key's version, 0 if it is missing.
func currentVersion(b *bolt.Bucket, key string) (uint64, error) {
	rec := b.Get([]byte(key))
	if rec == nil {
		return 0, nil
	}
	if len(rec) < versionLen {
		return 0, corrupt(key, rec)
	}
	return binary.BigEndian.Uint64(rec), nil
}

// conflict describes a version mismatch; the error wraps ErrConflict.
func conflict(op, key string, expected, cur uint64) error {
	describe := func(v uint64) string {
		if v == 0 {
			return "absent"
		}
		return fmt.Sprintf("version %d", v)
	}
	return fmt.Errorf("%w: %s %q: expected %s, found %s", ErrConflict, op, key, describe(expected), describe(cur))
}

// encode lays out a record: big-endian version, then the value.
func encode(version uint64, value []byte) []byte {
	rec := make([]byte, versionLen+len(value))
	binary.BigEndian.PutUint64(rec, version)
	copy(rec[versionLen:], value)
	return rec
}

// decode parses a record, copying the value out of bbolt's memory map (which
// is only valid for the transaction).
func decode(key string, rec []byte) (KV, error) {
	if len(rec) < versionLen {
		return KV{}, corrupt(key, rec)
	}
	return KV{
		Key:     key,
		Value:   bytes.Clone(rec[versionLen:]),
		Version: binary.BigEndian.Uint64(rec),
	}, nil
}

func corrupt(key string, rec []byte) error {
	return fmt.Errorf("store: corrupt record for %q: %d bytes, want at least %d", key, len(rec), versionLen)
}

// syncDir fsyncs a directory so that entries created in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

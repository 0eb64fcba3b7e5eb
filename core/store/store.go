package store

import (
	"context"
	"errors"
	"fmt"
)

// AnyVersion makes Put and Delete unconditional.
const AnyVersion = ^uint64(0)

// Limits every backend enforces. A backend may accept less (ZooKeeper's
// default znode limit is about 1 MiB) but never more, so that data written
// through one backend can be migrated to another.
const (
	// MaxKeySize is the longest key, in bytes.
	MaxKeySize = 4096
	// MaxValueSize is the largest value, in bytes; larger values get ErrTooLarge.
	MaxValueSize = 64 << 20
)

// Errors distinguish what a caller must do next.
var (
	// ErrNotFound: the key does not exist.
	ErrNotFound = errors.New("store: key not found")
	// ErrConflict: the expected version did not match; re-read and retry the compare-and-set.
	ErrConflict = errors.New("store: version conflict")
	// ErrNotLeader: this process is not the leader; redirect or proxy.
	ErrNotLeader = errors.New("store: not leader")
	// ErrOutcomeUnknown: the write may or may not have happened; reconcile before retrying.
	ErrOutcomeUnknown = errors.New("store: outcome unknown")
	// ErrTooLarge: the value exceeds what the backend can hold.
	ErrTooLarge = errors.New("store: value too large")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrInvalidKey: the key is empty or longer than MaxKeySize; a caller bug.
	ErrInvalidKey = errors.New("store: invalid key")
)

// CheckKey returns an error wrapping ErrInvalidKey unless key is usable:
// non-empty and at most MaxKeySize bytes. Backends call it on every key.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: key is empty", ErrInvalidKey)
	case len(key) > MaxKeySize:
		return fmt.Errorf("%w: key is %d bytes, the limit is %d", ErrInvalidKey, len(key), MaxKeySize)
	}
	return nil
}

// KV is one stored value and its version. Versions start at 1 and grow by one
// on every successful write of the key.
type KV struct {
	Key     string
	Value   []byte
	Version uint64
}

// Store is a versioned key-value store. Keys are '/'-separated paths such as
// "registry/agents/<id>". Implementations are safe for concurrent use.
type Store interface {
	// Get returns the current value of key, or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)
	// List returns every key with the given prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]KV, error)
	// Keys returns every key with the given prefix, sorted, without reading
	// the values: on ZooKeeper it costs one children listing per directory
	// instead of one read per key. Like List, it is not a snapshot.
	Keys(ctx context.Context, prefix string) ([]string, error)
	// Put writes value if the key's current version equals expected
	// (0: the key must not exist; AnyVersion: unconditional) and returns the
	// new version. A mismatch returns ErrConflict and changes nothing.
	Put(ctx context.Context, key string, value []byte, expected uint64) (uint64, error)
	// Delete removes key if its version equals expected (AnyVersion:
	// unconditional). Deleting a missing key with AnyVersion is not an error.
	Delete(ctx context.Context, key string, expected uint64) error
	// Close releases the backend (file locks, sessions).
	Close() error
}

// Elector runs leader elections among processes that share a backend.
type Elector interface {
	// Campaign blocks until this process leads (or ctx ends). info is published
	// so that others can find the leader (Mesos publishes MasterInfo JSON).
	Campaign(ctx context.Context, info []byte) (Leadership, error)
	// Leader returns the info published by the current leader, or ErrNotFound.
	Leader(ctx context.Context) ([]byte, error)
}

// Leadership is held until Lost is closed or Resign is called.
type Leadership interface {
	// Lost is closed when leadership ends for any reason.
	Lost() <-chan struct{}
	// Resign gives leadership up.
	Resign(ctx context.Context) error
}

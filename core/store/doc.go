// Package store is Strata's only persistence interface: versioned keys with
// compare-and-set (Store), plus a leadership abstraction (Elector and
// Leadership). No other package touches disk or a coordination service for
// state that must survive a restart.
//
// # Backends
//
//   - Embedded (OpenEmbedded): a single bbolt file, <work_dir>/strata.db, for a
//     single master. An exclusive file lock keeps a second process from opening
//     the same work dir, so that process is always the leader.
//   - ZooKeeper (planned): for replicated masters, with leader election.
//
// Every backend passes the same conformance suite and benchmark suite
// (package storetest), so callers can rely on the semantics documented on
// Store and nothing else.
//
// # Durability
//
// A nil error from Put or Delete means the write is durable: it has reached
// stable storage (the embedded backend fsyncs every write transaction) and
// survives a crash or restart, so callers may answer 2xx. Any other error
// means the write did not happen, except ErrOutcomeUnknown, after which the
// caller must re-read the key before deciding what to do.
//
// # Versions and compare-and-set
//
// Every key carries a version: 1 on creation, plus one on every successful
// write. A missing key has version 0, so Put(key, v, 0) creates a key only if
// it does not exist. Read-modify-write loops look like this:
//
//	for {
//		kv, err := s.Get(ctx, key) // on ErrNotFound, use Version 0
//		...
//		_, err = s.Put(ctx, key, modify(kv.Value), kv.Version)
//		if !errors.Is(err, store.ErrConflict) {
//			return err
//		}
//	}
//
// Errors are wrapped with the key for context; always test them with
// errors.Is.
//
// # Key layout
//
// Keys are '/'-separated paths without a leading or trailing slash, at most
// MaxKeySize bytes, for example "registry/agents/<id>". The first segment
// names the subsystem that owns the subtree; only that subsystem writes
// under it. List takes a raw byte prefix, so list a directory with a trailing
// slash: List(ctx, "registry/agents/") does not return "registry/agentsX".
// Values are opaque bytes of at most MaxValueSize.
package store

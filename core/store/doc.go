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
//   - ZooKeeper (OpenZK): for replicated masters, with leader election
//     (Elector) and leader detection (WatchLeader). It is addressed the way
//     Mesos' --zk is: zk://[user:password@]host1:2181,host2:2181/path.
//
// Every backend passes the same conformance suite and benchmark suite
// (package storetest), so callers can rely on the semantics documented on
// Store and nothing else.
//
// # Durability
//
// A nil error from Put or Delete means the write is durable: it has reached
// stable storage (the embedded backend fsyncs every write transaction;
// ZooKeeper answers once a quorum has logged it to disk) and survives a
// crash or restart, so callers may answer 2xx. Any other error
// means the write did not happen, except ErrOutcomeUnknown, after which the
// caller must re-read the key before deciding what to do. With ZooKeeper,
// ErrOutcomeUnknown follows a lost connection during a write, or a context
// that ended first; a write still queued in the client is then sent when
// the connection returns, so a compare-and-set may land after the caller
// has given up (never a lost update: the version check still applies).
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
//
// # Leader election
//
// An Elector's Campaign blocks until the caller leads; the Leadership it
// returns closes Lost when leadership ends, whatever the cause. With
// ZooKeeper, contenders are EPHEMERAL_SEQUENTIAL znodes and the lowest
// sequence leads; each contender watches only its predecessor. A leader
// steps down when its session expires, its node is deleted, or it has been
// disconnected for a quarter of the session timeout (see ZKLeadership); a
// standby takes over when the old leader's session ends: at once when the
// old leader closes its store, otherwise after the session timeout.
// Followers (agents, frameworks, the CLI) call WatchLeader.
//
// # ZooKeeper layout
//
// Everything lives under the URL's path, <base> (for example /strata):
//
//	<base>/json.info_0000000007            member of the election group "" (Mesos' layout)
//	<base>/<group>/json.info_0000000003    member of the election group <group>
//	<base>/kv/d-registry/d-agents/k-a1     the key "registry/agents/a1"
//	<base>/kv/k-big/ref-<blob>             a chunked key's reference to its blob
//	<base>/blobs/<blob>                    a chunked value; data: its key's znode path
//	<base>/blobs/<blob>/c000000, c000001…  the value's chunks, in order
//	<base>/blobs/<blob>/lease              ephemeral; exists while the chunks are written
//
// Election members hold the contender's info (a master's MasterInfo JSON),
// so Mesos tools pointed at zk://…/<base> find a Strata master that
// campaigns in the group "".
//
// Keys: every '/'-separated segment is percent-encoded (bytes other than
// ASCII letters, digits and -._~:@+= become %XX, so any key is a valid,
// distinct znode name) and prefixed with "d-" for a directory or "k-" for
// the last segment, so "a/b" and "a/b/c" can both be keys. Directory znodes
// are created on demand and removed when their last key goes.
//
// Records: a key znode holds one format byte, then either the value (0x00)
// or a JSON manifest (0x01: {"blob","chunks","size","crc32c"}). The store
// version is the znode version plus one, so a write is one request: Create
// for expected version 0, Set with znode version expected-1 otherwise.
//
// Chunked values: values over ZKOptions.ChunkSize (512 KiB by default,
// below ZooKeeper's 1 MiB jute.maxbuffer) up to MaxValueSize are split.
// The writer creates a fresh blob with its lease, writes the chunks, then in
// one multi-op sets the key's manifest (checking the version), creates the
// key's ref-<blob> child and deletes the lease. Readers therefore see the
// old value or the whole new one, never part of it; a reader racing a
// replacement reads again. The writer then deletes the blobs the key no
// longer references. A blob with neither lease nor reference (its writer
// died or gave up) is deleted by the next OpenZK. Every value lives in the
// ensemble's memory: keep large values rare.
//
// ACLs: with user:password in the URL, keys and blobs can be read and
// written only by that digest identity; the base path and election nodes
// are readable by anyone (as in Mesos, so that followers need no
// credentials) and writable only by that identity.
//
// Consistency: writes are linearizable. A read is served by the server the
// session is connected to and may lag the ensemble, but a session always
// sees its own writes and, once Campaign returns, every write committed
// before the election (Campaign syncs the session). List is not a snapshot:
// each entry is read atomically, one by one.
package store

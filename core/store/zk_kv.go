package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Record formats: the first byte of a key znode's data.
const (
	zkInline  = 0x00 // the value follows
	zkChunked = 0x01 // a JSON zkManifest follows; the value is in a blob
)

const (
	zkDirPrefix   = "d-"    // a key segment that has keys below it
	zkKeyPrefix   = "k-"    // the last segment of a key
	zkRefPrefix   = "ref-"  // child of a key znode naming a blob it references
	zkLeaseName   = "lease" // ephemeral child of a blob being written
	zkChunkPrefix = "c"     // chunk znodes: c000000, c000001, ...

	// zkParallel bounds the requests one operation keeps in flight.
	zkParallel = 16
	// zkRetries bounds retries after benign races (a parent directory
	// pruned under a create, a value replaced while being read).
	zkRetries = 20
)

// zkManifest describes a value stored in chunks.
type zkManifest struct {
	Blob   string `json:"blob"`   // name under <base>/blobs
	Chunks int    `json:"chunks"` // number of chunk znodes
	Size   int    `json:"size"`   // value length in bytes
	CRC32C uint32 `json:"crc32c"` // Castagnoli CRC of the value
}

// Get returns the current value of key, or ErrNotFound.
func (z *ZK) Get(ctx context.Context, key string) (KV, error) {
	if err := CheckKey(key); err != nil {
		return KV{}, err
	}
	if err := z.begin(ctx, "get", key); err != nil {
		return KV{}, err
	}
	var kv KV
	err := z.call(ctx, func() error {
		value, version, err := z.load(ctx, z.keyPath(key))
		if errors.Is(err, zk.ErrNoNode) {
			return fmt.Errorf("%w: %q", ErrNotFound, key)
		}
		kv = KV{Key: key, Value: value, Version: version}
		return err
	})
	if err != nil {
		return KV{}, z.opErr("get", key, false, err)
	}
	return kv, nil
}

// List returns every key starting with prefix, sorted by key. Each entry is
// read atomically, but the list as a whole is not a snapshot: keys written
// while List runs may or may not appear.
func (z *ZK) List(ctx context.Context, prefix string) ([]KV, error) {
	if err := z.begin(ctx, "list", prefix); err != nil {
		return nil, err
	}
	var kvs []KV
	err := z.call(ctx, func() error {
		var err error
		kvs, err = z.list(ctx, prefix)
		return err
	})
	if err != nil {
		return nil, z.opErr("list", prefix, false, err)
	}
	return kvs, nil
}

// Keys returns every key starting with prefix, sorted. It lists children
// only (one request per directory below the prefix) and reads no values.
func (z *ZK) Keys(ctx context.Context, prefix string) ([]string, error) {
	if err := z.begin(ctx, "keys", prefix); err != nil {
		return nil, err
	}
	var keys []string
	err := z.call(ctx, func() error {
		entries, err := z.walk(ctx, prefix)
		keys = make([]string, len(entries))
		for i, e := range entries {
			keys[i] = e.key
		}
		return err
	})
	if err != nil {
		return nil, z.opErr("keys", prefix, false, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// Put writes value if key's current version (0 when missing) equals
// expected, or unconditionally with AnyVersion, and returns the new version.
// Values over the chunk size are split into chunks that become visible
// atomically. A nil error means a quorum of the ensemble has the write on
// disk.
func (z *ZK) Put(ctx context.Context, key string, value []byte, expected uint64) (uint64, error) {
	if err := CheckKey(key); err != nil {
		return 0, err
	}
	if len(value) > MaxValueSize {
		return 0, fmt.Errorf("%w: put %q: %d bytes, the limit is %d", ErrTooLarge, key, len(value), MaxValueSize)
	}
	if err := z.begin(ctx, "put", key); err != nil {
		return 0, err
	}
	// Copy now: an abandoned write may go on after Put returns.
	var record []byte
	chunked := len(value) > z.opts.ChunkSize
	if chunked {
		record = bytes.Clone(value)
	} else {
		record = make([]byte, 1+len(value))
		record[0] = zkInline
		copy(record[1:], value)
	}
	var version uint64
	err := z.call(ctx, func() error {
		var err error
		p := z.keyPath(key)
		if chunked {
			version, err = z.putChunked(ctx, key, p, record, expected)
		} else {
			version, err = z.putInline(key, p, record, expected)
		}
		return err
	})
	if err != nil {
		return 0, z.opErr("put", key, true, err)
	}
	return version, nil
}

// Delete removes key if its current version (0 when missing) equals
// expected, or unconditionally with AnyVersion. Deleting a missing key with
// AnyVersion (or 0) is a no-op; with any other version it is a conflict.
func (z *ZK) Delete(ctx context.Context, key string, expected uint64) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := z.begin(ctx, "delete", key); err != nil {
		return err
	}
	err := z.call(ctx, func() error { return z.del(key, z.keyPath(key), expected) })
	return z.opErr("delete", key, true, err)
}

// putInline writes a record that fits in the key's znode.
func (z *ZK) putInline(key, p string, record []byte, expected uint64) (uint64, error) {
	switch expected {
	case 0:
		return z.create(key, p, record)
	case AnyVersion:
		for range zkRetries {
			stat, err := z.conn.Set(p, record, -1)
			if errors.Is(err, zk.ErrNoNode) {
				v, err := z.create(key, p, record)
				if errors.Is(err, ErrConflict) {
					continue // created by someone else meanwhile: overwrite it
				}
				return v, err
			}
			if err != nil {
				return 0, err
			}
			z.afterSet(p, stat)
			return uint64(stat.Version) + 1, nil
		}
		return 0, notWritten{fmt.Errorf("key %q keeps being created and deleted concurrently", key)}
	default:
		zv, ok := znodeVersion(expected)
		if !ok {
			return 0, zkConflict("put", key, expected, "another version")
		}
		stat, err := z.conn.Set(p, record, zv)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return 0, zkConflict("put", key, expected, "absent")
		case errors.Is(err, zk.ErrBadVersion):
			return 0, zkConflict("put", key, expected, "another version")
		case err != nil:
			return 0, err
		}
		z.afterSet(p, stat)
		return uint64(stat.Version) + 1, nil
	}
}

// create creates the key znode p, creating missing directories.
func (z *ZK) create(key, p string, record []byte) (uint64, error) {
	for range zkRetries {
		_, err := z.conn.Create(p, record, 0, z.privateACL)
		switch {
		case err == nil:
			return 1, nil
		case errors.Is(err, zk.ErrNodeExists):
			return 0, zkConflict("put", key, 0, "an existing key")
		case errors.Is(err, zk.ErrNoNode):
			// A directory is missing, or was pruned by a concurrent Delete.
			if err := z.ensurePath(path.Dir(p)); err != nil {
				return 0, err
			}
		default:
			return 0, err
		}
	}
	return 0, notWritten{fmt.Errorf("the directories of key %q keep being removed concurrently", key)}
}

// afterSet collects blobs a write has just unreferenced. A key znode has
// children only while it holds (or recently held) a chunked value.
func (z *ZK) afterSet(p string, stat *zk.Stat) {
	if stat != nil && stat.NumChildren > 0 {
		z.collectBlobs(p)
	}
}

// putChunked writes a value larger than a znode: first the chunks, into a
// fresh blob that nothing references, then the manifest, in one multi-op
// that also references the blob and drops its lease. Readers see the old
// value or the whole new one, never a part.
func (z *ZK) putChunked(ctx context.Context, key, p string, value []byte, expected uint64) (uint64, error) {
	var zv int32 = -1
	if expected != 0 && expected != AnyVersion {
		v, ok := znodeVersion(expected)
		if !ok {
			return 0, zkConflict("put", key, expected, "another version")
		}
		zv = v
	}

	gen := rand.Text()
	blob := z.blobRoot + "/" + gen
	if err := z.writeBlob(ctx, blob, p, value); err != nil {
		z.discardBlob(p, gen)
		return 0, notWritten{err}
	}

	m := zkManifest{
		Blob:   gen,
		Chunks: chunkCount(len(value), z.opts.ChunkSize),
		Size:   len(value),
		CRC32C: crc32.Checksum(value, crc32.MakeTable(crc32.Castagnoli)),
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return 0, err
	}
	record := append([]byte{zkChunked}, mj...)
	ref := &zk.CreateRequest{Path: p + "/" + zkRefPrefix + gen, Acl: z.privateACL}
	unlease := &zk.DeleteRequest{Path: blob + "/" + zkLeaseName, Version: 0}

	create := expected == 0
	for range zkRetries {
		var first any = &zk.SetDataRequest{Path: p, Data: record, Version: zv}
		if create {
			first = &zk.CreateRequest{Path: p, Data: record, Acl: z.privateACL}
		}
		res, err := z.conn.Multi(first, ref, unlease)
		if err == nil {
			if create {
				return 1, nil
			}
			z.collectBlobs(p)
			return uint64(res[0].Stat.Version) + 1, nil
		}
		failed := failedOp(res)
		switch {
		case failed == 0 && errors.Is(err, zk.ErrNoNode) && create:
			if err := z.ensurePath(path.Dir(p)); err != nil {
				z.discardBlob(p, gen)
				return 0, err
			}
			continue
		case failed == 0 && errors.Is(err, zk.ErrNoNode) && expected == AnyVersion:
			create = true
			continue
		case failed == 0 && errors.Is(err, zk.ErrNodeExists) && expected == AnyVersion:
			create = false
			continue
		}
		if zkDefinite(err) {
			z.discardBlob(p, gen)
		}
		switch {
		case failed == 0 && errors.Is(err, zk.ErrNoNode):
			return 0, zkConflict("put", key, expected, "absent")
		case failed == 0 && errors.Is(err, zk.ErrNodeExists):
			return 0, zkConflict("put", key, expected, "an existing key")
		case failed == 0 && errors.Is(err, zk.ErrBadVersion):
			return 0, zkConflict("put", key, expected, "another version")
		case failed == 2 && errors.Is(err, zk.ErrNoNode):
			return 0, notWritten{fmt.Errorf("the ZooKeeper session expired while the chunks were written: %w", err)}
		case zkDefinite(err):
			return 0, err
		}
		z.settleBlob(p, gen)
		return 0, err // outcome unknown
	}
	z.discardBlob(p, gen)
	return 0, notWritten{fmt.Errorf("key %q keeps being created and deleted concurrently", key)}
}

// writeBlob creates blob (holding the key path, for the sweep) with an
// ephemeral lease, then the chunks of value.
func (z *ZK) writeBlob(ctx context.Context, blob, keyPath string, value []byte) error {
	for attempt := 0; ; attempt++ {
		_, err := z.conn.Multi(
			&zk.CreateRequest{Path: blob, Data: []byte(keyPath), Acl: z.privateACL},
			&zk.CreateRequest{Path: blob + "/" + zkLeaseName, Acl: z.privateACL, Flags: zk.FlagEphemeral},
		)
		if err == nil {
			break
		}
		if attempt > 0 || !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		if err := z.ensurePath(z.blobRoot); err != nil {
			return err
		}
	}
	n := chunkCount(len(value), z.opts.ChunkSize)
	return z.parallel(ctx, n, func(i int) error {
		chunk := value[i*z.opts.ChunkSize : min((i+1)*z.opts.ChunkSize, len(value))]
		_, err := z.conn.Create(chunkPath(blob, i), chunk, 0, z.privateACL)
		return err
	})
}

// load reads the key znode p and, for a chunked value, its chunks. It
// returns zk.ErrNoNode if the key does not exist.
func (z *ZK) load(ctx context.Context, p string) ([]byte, uint64, error) {
	for range zkRetries {
		data, stat, err := z.readRetry(func() ([]byte, *zk.Stat, error) { return z.conn.Get(p) })
		if err != nil {
			return nil, 0, err
		}
		version := uint64(stat.Version) + 1
		if len(data) == 0 {
			return nil, 0, fmt.Errorf("store: znode %s has no record header; it was not written by strata", p)
		}
		switch data[0] {
		case zkInline:
			return data[1:], version, nil // the client allocated data for us
		case zkChunked:
			value, err := z.loadChunks(ctx, p, data[1:])
			if errors.Is(err, zk.ErrNoNode) {
				continue // replaced or deleted while we read it: read again
			}
			return value, version, err
		default:
			return nil, 0, fmt.Errorf("store: znode %s has unknown record format %#x", p, data[0])
		}
	}
	return nil, 0, fmt.Errorf("store: znode %s kept changing while it was read", p)
}

// loadChunks reads and checks the value a manifest describes.
func (z *ZK) loadChunks(ctx context.Context, p string, manifest []byte) ([]byte, error) {
	var m zkManifest
	if err := json.Unmarshal(manifest, &m); err != nil || m.Chunks < 1 || m.Chunks > MaxValueSize/minZKChunkSize+1 ||
		m.Size < 0 || m.Size > MaxValueSize {
		return nil, fmt.Errorf("store: znode %s has a corrupt chunk manifest %q", p, manifest)
	}
	blob := z.blobRoot + "/" + m.Blob
	chunks := make([][]byte, m.Chunks)
	err := z.parallel(ctx, m.Chunks, func(i int) error {
		data, _, err := z.readRetry(func() ([]byte, *zk.Stat, error) { return z.conn.Get(chunkPath(blob, i)) })
		chunks[i] = data
		return err
	})
	if err != nil {
		return nil, err
	}
	value := slices.Concat(chunks...)
	if value == nil {
		value = []byte{}
	}
	if len(value) != m.Size || crc32.Checksum(value, crc32.MakeTable(crc32.Castagnoli)) != m.CRC32C {
		return nil, fmt.Errorf("store: value of %s does not match its manifest (%d bytes read, %d expected, or bad checksum)", p, len(value), m.Size)
	}
	return value, nil
}

// readRetry runs a read, repeating it if the connection dropped under it
// (the client reconnects on its own; reads are safe to repeat).
func (z *ZK) readRetry(read func() ([]byte, *zk.Stat, error)) ([]byte, *zk.Stat, error) {
	var err error
	for range 3 {
		var data []byte
		var stat *zk.Stat
		data, stat, err = read()
		if !errors.Is(err, zk.ErrConnectionClosed) || z.isClosed() {
			return data, stat, err
		}
	}
	return nil, nil, err
}

// children lists a znode's children, repeating on a dropped connection.
func (z *ZK) children(p string) ([]string, error) {
	var names []string
	_, _, err := z.readRetry(func() ([]byte, *zk.Stat, error) {
		var err error
		names, _, err = z.conn.Children(p)
		return nil, nil, err
	})
	return names, err
}

// zkEntry is a key found by walk and its znode.
type zkEntry struct{ key, path string }

// walk lists the keys starting with prefix: it walks the directory znodes
// under the prefix's directory, reading children only.
func (z *ZK) walk(ctx context.Context, prefix string) ([]zkEntry, error) {
	dir, keyBase, namePrefix := z.kvRoot, "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir, keyBase, namePrefix = z.dirPath(prefix[:i]), prefix[:i+1], prefix[i+1:]
	}

	var entries []zkEntry
	var walk func(dir, keyBase, namePrefix string) error
	walk = func(dir, keyBase, namePrefix string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		names, err := z.children(dir)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, n := range names {
			kind, seg, ok := parseChildName(n)
			if !ok || !strings.HasPrefix(seg, namePrefix) {
				continue
			}
			if kind == zkKeyPrefix {
				entries = append(entries, zkEntry{keyBase + seg, dir + "/" + n})
				continue
			}
			if err := walk(dir+"/"+n, keyBase+seg+"/", ""); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(dir, keyBase, namePrefix); err != nil {
		return nil, err
	}
	return entries, nil
}

// list implements List: it walks the keys, then reads them in parallel.
func (z *ZK) list(ctx context.Context, prefix string) ([]KV, error) {
	entries, err := z.walk(ctx, prefix)
	if err != nil {
		return nil, err
	}

	kvs := make([]KV, len(entries))
	found := make([]bool, len(entries))
	err = z.parallel(ctx, len(entries), func(i int) error {
		value, version, err := z.load(ctx, entries[i].path)
		if errors.Is(err, zk.ErrNoNode) {
			return nil // deleted since the walk
		}
		kvs[i] = KV{Key: entries[i].key, Value: value, Version: version}
		found[i] = err == nil
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []KV
	for i, kv := range kvs {
		if found[i] {
			out = append(out, kv)
		}
	}
	slices.SortFunc(out, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// del implements Delete.
func (z *ZK) del(key, p string, expected uint64) error {
	if expected == 0 {
		exists, _, err := z.conn.Exists(p)
		switch {
		case err != nil:
			return notWritten{err} // only a read was attempted
		case exists:
			return zkConflict("delete", key, 0, "an existing key")
		}
		return nil
	}
	var zv int32 = -1
	if expected != AnyVersion {
		v, ok := znodeVersion(expected)
		if !ok {
			return zkConflict("delete", key, expected, "another version")
		}
		zv = v
	}
	for range zkRetries {
		err := z.conn.Delete(p, zv)
		if errors.Is(err, zk.ErrNotEmpty) {
			// The key holds a chunked value: its znode has blob references.
			err = z.deleteWithRefs(p, zv)
			if errors.Is(err, zk.ErrNotEmpty) || errors.Is(err, errRetry) {
				continue
			}
		}
		switch {
		case err == nil:
			z.pruneDirs(p)
			return nil
		case errors.Is(err, zk.ErrNoNode) && expected == AnyVersion:
			return nil
		case errors.Is(err, zk.ErrNoNode):
			return zkConflict("delete", key, expected, "absent")
		case errors.Is(err, zk.ErrBadVersion):
			return zkConflict("delete", key, expected, "another version")
		}
		return err
	}
	return notWritten{fmt.Errorf("key %q keeps changing during the delete", key)}
}

// errRetry asks del to start over.
var errRetry = errors.New("retry")

// deleteWithRefs deletes the key znode p and its blob references in one
// multi-op, then the blobs. It returns the key's own error (zk.ErrNoNode,
// zk.ErrBadVersion), or errRetry if the references changed meanwhile.
func (z *ZK) deleteWithRefs(p string, zv int32) error {
	refs, err := z.children(p)
	if err != nil {
		return err
	}
	ops := make([]any, 0, len(refs)+1)
	for _, r := range refs {
		ops = append(ops, &zk.DeleteRequest{Path: p + "/" + r, Version: -1})
	}
	ops = append(ops, &zk.DeleteRequest{Path: p, Version: zv})
	res, err := z.conn.Multi(ops...)
	if err != nil {
		if failedOp(res) < len(refs) && errors.Is(err, zk.ErrNoNode) {
			return errRetry // a reference went away under us
		}
		return err
	}
	for _, r := range refs {
		if gen, ok := strings.CutPrefix(r, zkRefPrefix); ok {
			_ = z.deleteBlob(z.blobRoot + "/" + gen) // on failure, the sweep finds it
		}
	}
	return nil
}

// pruneDirs removes the directory znodes above a deleted key while they
// are empty. A concurrent create that loses its directory recreates it.
func (z *ZK) pruneDirs(p string) {
	for dir := path.Dir(p); strings.HasPrefix(dir, z.kvRoot+"/"); dir = path.Dir(dir) {
		if err := z.conn.Delete(dir, -1); err != nil {
			return
		}
	}
}

// collectBlobs deletes the blobs a key znode references but no longer
// uses. The children are listed before the record is read: a reference
// listed but not current then is unused for good, because a reference is
// created in the same multi-op that makes its blob current.
func (z *ZK) collectBlobs(p string) {
	refs, err := z.children(p)
	if err != nil || len(refs) == 0 {
		return
	}
	data, _, err := z.conn.Get(p)
	if err != nil {
		return // deleted: the deleter removes the blobs
	}
	current := ""
	if len(data) > 0 && data[0] == zkChunked {
		var m zkManifest
		if json.Unmarshal(data[1:], &m) == nil {
			current = m.Blob
		}
	}
	for _, r := range refs {
		gen, ok := strings.CutPrefix(r, zkRefPrefix)
		if !ok || gen == current {
			continue
		}
		if z.deleteBlob(z.blobRoot+"/"+gen) == nil {
			_ = z.conn.Delete(p+"/"+r, -1)
		}
	}
}

// deleteBlob deletes a blob and its chunks. A blob that is already gone is
// not an error.
func (z *ZK) deleteBlob(blob string) error {
	for range zkRetries {
		names, err := z.children(blob)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		ops := make([]any, 0, len(names)+1)
		for _, n := range names {
			ops = append(ops, &zk.DeleteRequest{Path: blob + "/" + n, Version: -1})
		}
		ops = append(ops, &zk.DeleteRequest{Path: blob, Version: -1})
		_, err = z.conn.Multi(ops...)
		if err == nil {
			return nil
		}
		if !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrNotEmpty) {
			return err
		}
		// Someone else is deleting it too, or a chunk was still being
		// created: look again.
	}
	return fmt.Errorf("blob %s keeps changing", blob)
}

// discardBlob deletes the blob gen that a failed write of keyPath left
// behind, in the background if ZooKeeper cannot be reached now.
func (z *ZK) discardBlob(keyPath, gen string) {
	if err := z.deleteBlob(z.blobRoot + "/" + gen); err != nil {
		z.settleBlob(keyPath, gen)
	}
}

// settleBlob finishes, in the background, a chunked write whose outcome is
// unknown: once ZooKeeper answers, it deletes the blob (and its lease, which
// would otherwise keep the sweep away for the session's life) unless the
// key references it. A request lost with its connection cannot apply after
// the session has moved to a new connection, so the check is final.
func (z *ZK) settleBlob(keyPath, gen string) {
	_ = z.goTracked(func() {
		for range zkRetries {
			referenced, _, err := z.conn.Exists(keyPath + "/" + zkRefPrefix + gen)
			if err == nil && (referenced || z.deleteBlob(z.blobRoot+"/"+gen) == nil) {
				return
			}
			select {
			case <-z.closing:
				return
			case <-time.After(time.Second):
			}
		}
	})
}

// sweepBlobs deletes orphaned blobs: those whose writer is gone (no lease)
// and that no key references (the writer failed before the switch, or
// crashed after a key stopped referencing them).
func (z *ZK) sweepBlobs() error {
	gens, err := z.children(z.blobRoot)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	removed := 0
	for _, gen := range gens {
		blob := z.blobRoot + "/" + gen
		// Lease first, then reference: the switch creates the reference and
		// deletes the lease atomically, so this order never misses both.
		leased, _, err := z.conn.Exists(blob + "/" + zkLeaseName)
		if err != nil || leased {
			continue
		}
		keyPath, _, err := z.conn.Get(blob)
		if err != nil {
			continue
		}
		referenced, _, err := z.conn.Exists(string(keyPath) + "/" + zkRefPrefix + gen)
		if err != nil || referenced {
			continue
		}
		if z.deleteBlob(blob) == nil {
			removed++
		}
	}
	if removed > 0 {
		z.log.Info("store: removed orphaned chunked values", "count", removed)
	}
	return nil
}

// parallel runs fn(0..n-1) with up to zkParallel calls in flight (the
// client pipelines them on its one connection) and returns the first error.
func (z *ZK) parallel(ctx context.Context, n int, fn func(i int) error) error {
	if n == 1 {
		return fn(0)
	}
	var (
		mu       sync.Mutex
		firstErr error
		next     int
		wg       sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil || next >= n {
			return 0, false
		}
		if err := ctx.Err(); err != nil {
			firstErr = err
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range min(n, zkParallel) {
		wg.Go(func() {
			for {
				i, ok := take()
				if !ok {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// keyPath maps a key to its znode: every segment but the last becomes a
// directory znode "d-<escaped>", the last a key znode "k-<escaped>".
func (z *ZK) keyPath(key string) string {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return z.kvRoot + "/" + zkKeyPrefix + escapeSegment(key)
	}
	return z.dirPath(key[:i]) + "/" + zkKeyPrefix + escapeSegment(key[i+1:])
}

// dirPath maps the directory part of a key ("a/b") to its znode.
func (z *ZK) dirPath(dir string) string {
	var b strings.Builder
	b.WriteString(z.kvRoot)
	for _, seg := range strings.Split(dir, "/") {
		b.WriteString("/" + zkDirPrefix)
		b.WriteString(escapeSegment(seg))
	}
	return b.String()
}

// parseChildName splits a child of a directory znode into its kind
// (zkDirPrefix or zkKeyPrefix) and the unescaped key segment.
func parseChildName(name string) (kind, seg string, ok bool) {
	for _, k := range []string{zkKeyPrefix, zkDirPrefix} {
		if rest, found := strings.CutPrefix(name, k); found {
			seg, err := unescapeSegment(rest)
			return k, seg, err == nil
		}
	}
	return "", "", false
}

// escapeSegment percent-encodes every byte of a key segment other than
// ASCII letters, digits and -._~:@+=, so that any key (even one that is not
// UTF-8) maps to a valid, distinct znode name.
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if segmentSafe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func segmentSafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:@+=", c) >= 0
}

// unescapeSegment reverses escapeSegment.
func unescapeSegment(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// znodeVersion maps a store version (1, 2, ...) to the znode version it
// corresponds to (0, 1, ...).
func znodeVersion(v uint64) (int32, bool) {
	if v == 0 || v-1 > math.MaxInt32 {
		return 0, false
	}
	return int32(v - 1), true
}

// zkConflict describes a failed compare-and-set; found is what the key
// turned out to be ("absent", "another version", ...).
func zkConflict(op, key string, expected uint64, found string) error {
	want := "absent"
	if expected != 0 {
		want = fmt.Sprintf("version %d", expected)
	}
	return fmt.Errorf("%w: %s %q: expected %s, found %s", ErrConflict, op, key, want, found)
}

// failedOp returns the index of the operation that failed a multi-op
// (ZooKeeper reports success for the ones before it), or -1.
func failedOp(res []zk.MultiResponse) int {
	for i, r := range res {
		if r.Error != nil {
			return i
		}
	}
	return -1
}

func chunkCount(size, chunk int) int { return max(1, (size+chunk-1)/chunk) }

func chunkPath(blob string, i int) string { return fmt.Sprintf("%s/%s%06d", blob, zkChunkPrefix, i) }

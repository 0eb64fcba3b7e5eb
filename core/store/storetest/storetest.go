// Package storetest is the conformance and benchmark suite that every
// store.Store backend must pass. A backend's test file calls Run and Bench
// with a function that opens a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//	}
//
//	func BenchmarkStore(b *testing.B) {
//		storetest.Bench(b, func(b *testing.B) store.Store { return openFresh(b) })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/strata-sched/strata/core/store"
)

// Run runs the conformance suite. open must return a new, empty store each
// time it is called and register its Close with t.Cleanup; that Close may
// return store.ErrClosed, because one subtest closes the store itself.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutCreate", testPutCreate},
		{"PutCreateExisting", testPutCreateExisting},
		{"CASIncrementsVersion", testCASIncrementsVersion},
		{"StaleCAS", testStaleCAS},
		{"PutUnconditional", testPutUnconditional},
		{"DeleteWithVersion", testDeleteWithVersion},
		{"DeleteAnyVersion", testDeleteAnyVersion},
		{"DeleteMissing", testDeleteMissing},
		{"RecreateAfterDelete", testRecreateAfterDelete},
		{"EmptyValue", testEmptyValue},
		{"ValuesAreCopied", testValuesAreCopied},
		{"ListPrefix", testListPrefix},
		{"KeysPrefix", testKeysPrefix},
		{"ConcurrentCAS", testConcurrentCAS},
		{"TooLarge", testTooLarge},
		{"InvalidKey", testInvalidKey},
		{"CancelledContext", testCancelledContext},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	_, err := s.Get(t.Context(), "missing")
	wantErr(t, err, store.ErrNotFound)
}

func testPutCreate(t *testing.T, s store.Store) {
	v := mustPut(t, s, "k", "v1", 0)
	if v != 1 {
		t.Errorf("Put(create) version = %d, want 1", v)
	}
	wantKV(t, s, "k", "v1", 1)
}

func testPutCreateExisting(t *testing.T, s store.Store) {
	mustPut(t, s, "k", "v1", 0)
	_, err := s.Put(t.Context(), "k", []byte("v2"), 0)
	wantErr(t, err, store.ErrConflict)
	wantKV(t, s, "k", "v1", 1)
}

func testCASIncrementsVersion(t *testing.T, s store.Store) {
	v := mustPut(t, s, "k", "v1", 0)
	for i := 2; i <= 5; i++ {
		next := mustPut(t, s, "k", fmt.Sprintf("v%d", i), v)
		if next != v+1 {
			t.Fatalf("Put(expected %d) version = %d, want %d", v, next, v+1)
		}
		v = next
	}
	wantKV(t, s, "k", "v5", 5)
}

func testStaleCAS(t *testing.T, s store.Store) {
	mustPut(t, s, "k", "v1", 0)
	mustPut(t, s, "k", "v2", 1)
	_, err := s.Put(t.Context(), "k", []byte("stale"), 1)
	wantErr(t, err, store.ErrConflict)
	wantKV(t, s, "k", "v2", 2)

	// Expecting a version of a key that does not exist is also a conflict.
	_, err = s.Put(t.Context(), "other", []byte("x"), 3)
	wantErr(t, err, store.ErrConflict)
	wantMissing(t, s, "other")
}

func testPutUnconditional(t *testing.T, s store.Store) {
	if v := mustPut(t, s, "k", "a", store.AnyVersion); v != 1 {
		t.Errorf("Put(AnyVersion) on missing key: version = %d, want 1", v)
	}
	if v := mustPut(t, s, "k", "b", store.AnyVersion); v != 2 {
		t.Errorf("Put(AnyVersion) on existing key: version = %d, want 2", v)
	}
	wantKV(t, s, "k", "b", 2)
}

func testDeleteWithVersion(t *testing.T, s store.Store) {
	mustPut(t, s, "k", "v1", 0)
	mustPut(t, s, "k", "v2", 1)
	wantErr(t, s.Delete(t.Context(), "k", 1), store.ErrConflict)
	wantKV(t, s, "k", "v2", 2)
	if err := s.Delete(t.Context(), "k", 2); err != nil {
		t.Fatalf("Delete(version 2) = %v", err)
	}
	wantMissing(t, s, "k")
}

func testDeleteAnyVersion(t *testing.T, s store.Store) {
	mustPut(t, s, "k", "v1", 0)
	mustPut(t, s, "k", "v2", 1)
	if err := s.Delete(t.Context(), "k", store.AnyVersion); err != nil {
		t.Fatalf("Delete(AnyVersion) = %v", err)
	}
	wantMissing(t, s, "k")
}

func testDeleteMissing(t *testing.T, s store.Store) {
	if err := s.Delete(t.Context(), "missing", store.AnyVersion); err != nil {
		t.Errorf("Delete(missing, AnyVersion) = %v, want nil", err)
	}
	wantErr(t, s.Delete(t.Context(), "missing", 3), store.ErrConflict)
	wantMissing(t, s, "missing")
}

func testRecreateAfterDelete(t *testing.T, s store.Store) {
	mustPut(t, s, "k", "v1", 0)
	mustPut(t, s, "k", "v2", 1)
	if err := s.Delete(t.Context(), "k", 2); err != nil {
		t.Fatal(err)
	}
	if v := mustPut(t, s, "k", "new", 0); v != 1 {
		t.Errorf("recreated key: version = %d, want 1", v)
	}
	wantKV(t, s, "k", "new", 1)
}

func testEmptyValue(t *testing.T, s store.Store) {
	if _, err := s.Put(t.Context(), "k", nil, 0); err != nil {
		t.Fatal(err)
	}
	wantKV(t, s, "k", "", 1)
}

func testValuesAreCopied(t *testing.T, s store.Store) {
	ctx := t.Context()
	buf := []byte("original")
	if _, err := s.Put(ctx, "k", buf, 0); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXX") // the store must not alias the caller's slice
	kv, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	copy(kv.Value, "YYYYYYYY") // nor hand out its own memory
	wantKV(t, s, "k", "original", 1)
}

func testListPrefix(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Inserted out of order; "ab" and "a" share bytes with "a/" but are not under it.
	for _, k := range []string{"a/c", "ab", "a/a", "b/a", "a/b/x", "a", "a/b"} {
		mustPut(t, s, k, "val-"+k, 0)
	}
	mustPut(t, s, "a/c", "val-a/c-2", 1)

	tests := []struct {
		prefix string
		want   []string
	}{
		{"a/", []string{"a/a", "a/b", "a/b/x", "a/c"}},
		{"a/b/", []string{"a/b/x"}},
		{"b/", []string{"b/a"}},
		{"c/", nil},
		{"", []string{"a", "a/a", "a/b", "a/b/x", "a/c", "ab", "b/a"}},
	}
	for _, tc := range tests {
		kvs, err := s.List(ctx, tc.prefix)
		if err != nil {
			t.Fatalf("List(%q) = %v", tc.prefix, err)
		}
		var got []string
		for _, kv := range kvs {
			got = append(got, kv.Key)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("List(%q) keys = %q, want %q", tc.prefix, got, tc.want)
		}
	}

	// Values and versions come back with the keys.
	kvs, err := s.List(ctx, "a/c")
	if err != nil || len(kvs) != 1 {
		t.Fatalf("List(a/c) = %v, %v; want one entry", kvs, err)
	}
	if kv := kvs[0]; string(kv.Value) != "val-a/c-2" || kv.Version != 2 {
		t.Errorf("List(a/c) = %q version %d, want %q version 2", kv.Value, kv.Version, "val-a/c-2")
	}
}

// testKeysPrefix checks that Keys names exactly the keys List returns,
// in order, whatever the value (empty, large, rewritten) and after deletes.
func testKeysPrefix(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, k := range []string{"a/c", "ab", "a/a", "b/a", "a/b/x", "a", "a/b", "a/gone", "a/b/gone"} {
		mustPut(t, s, k, "val-"+k, 0)
	}
	mustPut(t, s, "a/c", "val-a/c-2", 1)
	if _, err := s.Put(ctx, "a/empty", nil, 0); err != nil {
		t.Fatalf("Put(a/empty) = %v", err)
	}
	// Larger than a ZooKeeper znode: stored in chunks there.
	if _, err := s.Put(ctx, "a/large", bytes.Repeat([]byte("L"), 3<<20), 0); err != nil {
		t.Fatalf("Put(a/large) = %v", err)
	}
	for _, k := range []string{"a/gone", "a/b/gone"} {
		if err := s.Delete(ctx, k, store.AnyVersion); err != nil {
			t.Fatalf("Delete(%s) = %v", k, err)
		}
	}

	tests := []struct {
		prefix string
		want   []string
	}{
		{"a/", []string{"a/a", "a/b", "a/b/x", "a/c", "a/empty", "a/large"}},
		{"a/b", []string{"a/b", "a/b/x"}},
		{"a/b/", []string{"a/b/x"}},
		{"a/gone", nil},
		{"b/", []string{"b/a"}},
		{"c/", nil},
		{"", []string{"a", "a/a", "a/b", "a/b/x", "a/c", "a/empty", "a/large", "ab", "b/a"}},
	}
	for _, tc := range tests {
		keys, err := s.Keys(ctx, tc.prefix)
		if err != nil {
			t.Fatalf("Keys(%q) = %v", tc.prefix, err)
		}
		if fmt.Sprint(keys) != fmt.Sprint(tc.want) {
			t.Errorf("Keys(%q) = %q, want %q", tc.prefix, keys, tc.want)
		}
		kvs, err := s.List(ctx, tc.prefix)
		if err != nil {
			t.Fatalf("List(%q) = %v", tc.prefix, err)
		}
		var listed []string
		for _, kv := range kvs {
			listed = append(listed, kv.Key)
		}
		if fmt.Sprint(keys) != fmt.Sprint(listed) {
			t.Errorf("Keys(%q) = %q but List(%q) has keys %q", tc.prefix, keys, tc.prefix, listed)
		}
	}
}

// testConcurrentCAS increments one counter from many goroutines, each
// retrying on conflict; no increment may be lost or applied twice.
func testConcurrentCAS(t *testing.T, s store.Store) {
	const (
		workers    = 8
		increments = 50
		maxTries   = 100_000 // guards against a livelocked backend
	)
	ctx := t.Context()
	mustPut(t, s, "counter", "0", 0)

	increment := func() error {
		for range maxTries {
			kv, err := s.Get(ctx, "counter")
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(string(kv.Value))
			if err != nil {
				return err
			}
			_, err = s.Put(ctx, "counter", []byte(strconv.Itoa(n+1)), kv.Version)
			if !errors.Is(err, store.ErrConflict) {
				return err
			}
		}
		return fmt.Errorf("no success after %d conflicts", maxTries)
	}

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range increments {
				if err := increment(); err != nil {
					t.Errorf("increment: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	wantKV(t, s, "counter", strconv.Itoa(workers*increments), workers*increments+1)
}

func testTooLarge(t *testing.T, s store.Store) {
	mustPut(t, s, "k", "small", 0)
	big := make([]byte, store.MaxValueSize+1)
	_, err := s.Put(t.Context(), "k", big, store.AnyVersion)
	wantErr(t, err, store.ErrTooLarge)
	wantKV(t, s, "k", "small", 1)

	_, err = s.Put(t.Context(), "new", big, 0)
	wantErr(t, err, store.ErrTooLarge)
	wantMissing(t, s, "new")
}

func testInvalidKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	long := string(bytes.Repeat([]byte("k"), store.MaxKeySize+1))
	for _, key := range []string{"", long} {
		_, err := s.Put(ctx, key, []byte("v"), 0)
		wantErr(t, err, store.ErrInvalidKey)
		_, err = s.Get(ctx, key)
		wantErr(t, err, store.ErrInvalidKey)
		wantErr(t, s.Delete(ctx, key, store.AnyVersion), store.ErrInvalidKey)
	}
	kvs, err := s.List(ctx, "")
	if err != nil || len(kvs) != 0 {
		t.Errorf("List after invalid puts = %v, %v; want empty", kvs, err)
	}
	keys, err := s.Keys(ctx, "")
	if err != nil || len(keys) != 0 {
		t.Errorf("Keys after invalid puts = %q, %v; want empty", keys, err)
	}
}

func testCancelledContext(t *testing.T, s store.Store) {
	mustPut(t, s, "k", "v1", 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := s.Put(ctx, "new", []byte("v"), 0)
	wantErr(t, err, context.Canceled)
	_, err = s.Put(ctx, "k", []byte("v2"), store.AnyVersion)
	wantErr(t, err, context.Canceled)
	wantErr(t, s.Delete(ctx, "k", store.AnyVersion), context.Canceled)
	_, err = s.Get(ctx, "k")
	wantErr(t, err, context.Canceled)
	_, err = s.List(ctx, "")
	wantErr(t, err, context.Canceled)
	_, err = s.Keys(ctx, "")
	wantErr(t, err, context.Canceled)

	wantMissing(t, s, "new")
	wantKV(t, s, "k", "v1", 1)
}

func testClosed(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustPut(t, s, "k", "v1", 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	_, err := s.Get(ctx, "k")
	wantErr(t, err, store.ErrClosed)
	_, err = s.List(ctx, "")
	wantErr(t, err, store.ErrClosed)
	_, err = s.Keys(ctx, "")
	wantErr(t, err, store.ErrClosed)
	_, err = s.Put(ctx, "k", []byte("v2"), store.AnyVersion)
	wantErr(t, err, store.ErrClosed)
	wantErr(t, s.Delete(ctx, "k", store.AnyVersion), store.ErrClosed)
}

// Bench runs the benchmark suite. open must return a new, empty store each
// time it is called and register its Close with b.Cleanup.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	value := bytes.Repeat([]byte("x"), 128) // a typical small record

	// Put: unconditional writes of small values to fresh keys.
	b.Run("Put", func(b *testing.B) {
		s, ctx := open(b), b.Context()
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Put(ctx, fmt.Sprintf("bench/put/%08d", i), value, store.AnyVersion); err != nil {
				b.Fatal(err)
			}
		}
	})

	// CAS: successive compare-and-sets of one key.
	b.Run("CAS", func(b *testing.B) {
		s, ctx := open(b), b.Context()
		version := uint64(0)
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := s.Put(ctx, "bench/cas", value, version)
			if err != nil {
				b.Fatal(err)
			}
			version = v
		}
	})

	// Get: reads spread over 1000 keys.
	b.Run("Get", func(b *testing.B) {
		s, ctx := open(b), b.Context()
		keys := fill(b, s, "bench/get/", 1000, value)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Get(ctx, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
		}
	})

	// List1000: one List returning 1000 keys, next to keys it must skip.
	b.Run("List1000", func(b *testing.B) {
		s, ctx := open(b), b.Context()
		fill(b, s, "bench/list/", 1000, value)
		fill(b, s, "bench/other/", 100, value)
		b.ReportAllocs()
		for b.Loop() {
			kvs, err := s.List(ctx, "bench/list/")
			if err != nil {
				b.Fatal(err)
			}
			if len(kvs) != 1000 {
				b.Fatalf("List returned %d keys, want 1000", len(kvs))
			}
		}
	})

	// Keys1000: the same listing without the values.
	b.Run("Keys1000", func(b *testing.B) {
		s, ctx := open(b), b.Context()
		fill(b, s, "bench/list/", 1000, value)
		fill(b, s, "bench/other/", 100, value)
		b.ReportAllocs()
		for b.Loop() {
			keys, err := s.Keys(ctx, "bench/list/")
			if err != nil {
				b.Fatal(err)
			}
			if len(keys) != 1000 {
				b.Fatalf("Keys returned %d keys, want 1000", len(keys))
			}
		}
	})
}

// fill writes n keys under prefix and returns them.
func fill(b *testing.B, s store.Store, prefix string, n int, value []byte) []string {
	b.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%08d", prefix, i)
		if _, err := s.Put(b.Context(), keys[i], value, 0); err != nil {
			b.Fatal(err)
		}
	}
	return keys
}

// mustPut writes value and returns the new version, failing the test on error.
func mustPut(t *testing.T, s store.Store, key, value string, expected uint64) uint64 {
	t.Helper()
	v, err := s.Put(t.Context(), key, []byte(value), expected)
	if err != nil {
		t.Fatalf("Put(%q, %q, %d) = %v", key, value, expected, err)
	}
	return v
}

// wantKV checks key's current value and version.
func wantKV(t *testing.T, s store.Store, key, value string, version uint64) {
	t.Helper()
	kv, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q) = %v", key, err)
	}
	if kv.Key != key || string(kv.Value) != value || kv.Version != version {
		t.Errorf("Get(%q) = {%q, %q, version %d}, want {%q, %q, version %d}",
			key, kv.Key, kv.Value, kv.Version, key, value, version)
	}
}

// wantMissing checks that key does not exist.
func wantMissing(t *testing.T, s store.Store, key string) {
	t.Helper()
	_, err := s.Get(t.Context(), key)
	wantErr(t, err, store.ErrNotFound)
}

// wantErr checks that err matches target with errors.Is.
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("error = %v, want %v", err, target)
	}
}

package fetcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// flight is one download into the cache that other fetches of the same
// key wait for.
type flight struct {
	done chan struct{}
	// Set before done is closed:
	err   error // nil: the entry was admitted; else why not (cacheError or a source error)
	retry bool  // the downloader gave up for its own reasons: waiters try again
}

// cacheError marks failures of the cache itself; the caller falls back to
// a direct download.
type cacheError struct{ err error }

func (e *cacheError) Error() string { return "fetcher cache: " + e.err.Error() }
func (e *cacheError) Unwrap() error { return e.err }

// cacheKey names the cache entry of (user, URI).
func cacheKey(user, uri string) string {
	h := sha256.Sum256([]byte(user + "\x00" + uri))
	return hex.EncodeToString(h[:])
}

// isCacheFileName reports whether a file in CacheDir is an entry or a
// partial download of this package ("<64 hex>" or "<64 hex>.<n>.part").
func isCacheFileName(n string) bool {
	if len(n) < 64 {
		return false
	}
	for _, c := range n[:64] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	rest := n[64:]
	return rest == "" || strings.HasPrefix(rest, ".") && strings.HasSuffix(rest, ".part")
}

func (f *Fetcher) entryPath(key string) string { return filepath.Join(f.cfg.CacheDir, key) }

// fetchThroughCache copies the entry of key into the sandbox, downloading
// it first on a miss. Concurrent calls for one key download once.
func (f *Fetcher) fetchThroughCache(ctx context.Context, src source, key string, root *os.Root, name string, log io.Writer) error {
	for {
		f.mu.Lock()
		if e := f.index.acquire(key); e != nil {
			f.stats.CacheHits++
			f.mu.Unlock()
			logf(log, "Cache hit for %q", src)
			return f.copyFromCache(key, e, root, name)
		}
		if fl, ok := f.inflight[key]; ok {
			f.mu.Unlock()
			logf(log, "Waiting for another fetch of %q into the cache", src)
			select {
			case <-fl.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if fl.err == nil || fl.retry {
				continue
			}
			return fl.err
		}
		fl := &flight{done: make(chan struct{})}
		f.inflight[key] = fl
		f.stats.CacheMisses++
		f.mu.Unlock()
		logf(log, "Cache miss for %q: downloading into the cache", src)
		return f.downloadIntoCache(ctx, src, key, fl, root, name, log)
	}
}

// land ends a flight; called with f.mu held.
func (f *Fetcher) land(key string, fl *flight, err error, retry bool) {
	delete(f.inflight, key)
	fl.err, fl.retry = err, retry
	close(fl.done)
}

func (f *Fetcher) downloadIntoCache(ctx context.Context, src source, key string, fl *flight, root *os.Root, name string, log io.Writer) (err error) {
	landed := false
	defer func() {
		if !landed {
			f.mu.Lock()
			f.land(key, fl, err, ctx.Err() != nil)
			f.mu.Unlock()
		}
	}()

	tmp, err := os.CreateTemp(f.cfg.CacheDir, key+".*.part")
	if err != nil {
		return &cacheError{err}
	}
	tmpName := tmp.Name()
	ew := &errWriter{w: tmp}
	n, err := download(ctx, f.cfg.HTTPClient, src, ew, f.cfg.StallTimeout)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		ew.err, err = cerr, cerr
	}
	if err != nil {
		_ = os.Remove(tmpName)
		if ew.err != nil {
			return &cacheError{ew.err}
		}
		return err
	}

	f.mu.Lock()
	e, evicted := f.index.admit(key, n)
	for _, k := range evicted {
		if err := os.Remove(f.entryPath(k)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			f.logger.Warn("fetcher cache: removing evicted entry", "err", err)
		}
	}
	var renameErr error
	if e != nil {
		if renameErr = os.Rename(tmpName, f.entryPath(key)); renameErr != nil {
			f.index.remove(key)
			e = nil
		}
	}
	if e != nil {
		f.land(key, fl, nil, false)
	} else {
		reason := fmt.Errorf("%d bytes do not fit in the cache (%d bytes, %d in use)", n, f.index.capacity, f.index.used)
		if renameErr != nil {
			reason = renameErr
		}
		f.land(key, fl, &cacheError{reason}, false)
	}
	landed = true
	f.mu.Unlock()

	if len(evicted) > 0 {
		logf(log, "Evicted %d cache entries to make room", len(evicted))
		f.logger.Debug("fetcher cache: evicted entries", "count", len(evicted))
	}
	logf(log, "Downloaded %d bytes from %q", n, src)
	if e == nil {
		// Use the download once, without keeping it.
		defer os.Remove(tmpName)
		if renameErr == nil {
			logf(log, "Not caching %q: %d bytes do not fit in the cache", src, n)
		}
		if err := copyIntoFrom(tmpName, root, name); err != nil {
			return &cacheError{err}
		}
		return nil
	}
	return f.copyFromCache(key, e, root, name)
}

// copyFromCache copies a pinned entry into the sandbox and releases it.
func (f *Fetcher) copyFromCache(key string, e *cacheEntry, root *os.Root, name string) error {
	r, err := os.Open(f.entryPath(key))
	if err == nil {
		err = copyInto(r, root, name)
		r.Close()
	}
	f.mu.Lock()
	f.index.release(e)
	if r == nil && f.index.entries[key] == e {
		// The entry's file is gone or unreadable: forget it so that the
		// next fetch downloads again.
		f.index.remove(key)
		_ = os.Remove(f.entryPath(key))
	}
	f.mu.Unlock()
	if err != nil {
		return &cacheError{err}
	}
	return nil
}

// errWriter records write errors so that they can be told from read errors.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	n, err := e.w.Write(b)
	if err != nil {
		e.err = err
	}
	return n, err
}

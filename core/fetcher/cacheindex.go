package fetcher

import (
	"container/list"
)

// cacheIndex is the cache's bookkeeping: which entries exist, their sizes,
// the order in which they were last used and which of them are being copied
// from (pinned). It decides what to evict; the caller deletes the files.
// It is not safe for concurrent use. Every operation is O(1) except admit,
// which walks only as far as the entries it evicts (and pinned ones it
// skips).
type cacheIndex struct {
	capacity int64
	used     int64
	order    *list.List // of *cacheEntry, most recently used first
	entries  map[string]*cacheEntry
}

type cacheEntry struct {
	key  string
	size int64
	pins int
	elem *list.Element
}

func newCacheIndex(capacity int64) *cacheIndex {
	return &cacheIndex{capacity: capacity, order: list.New(), entries: make(map[string]*cacheEntry)}
}

// acquire returns key's entry, or nil if key is not cached. The entry is
// pinned (it cannot be evicted until release) and becomes the most recently
// used.
func (c *cacheIndex) acquire(key string) *cacheEntry {
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	c.order.MoveToFront(e.elem)
	e.pins++
	return e
}

// release unpins an entry returned by acquire or admit. Releasing an entry
// that was removed meanwhile is harmless: it no longer counts.
func (c *cacheIndex) release(e *cacheEntry) {
	if e != nil && e.pins > 0 {
		e.pins--
	}
}

// admit records a new entry of size bytes, pinned and most recently used.
// To make room it evicts unpinned entries, least recently used first, and
// returns their keys. If the entry cannot fit even after evicting every
// unpinned entry, admit changes nothing and returns a nil entry. Admitting
// a key that is already present acquires it.
func (c *cacheIndex) admit(key string, size int64) (e *cacheEntry, evicted []string) {
	if e := c.acquire(key); e != nil {
		return e, nil
	}
	if size < 0 || size > c.capacity {
		return nil, nil
	}
	if need := c.used + size - c.capacity; need > 0 { // bytes to free
		var victims []*cacheEntry
		for el := c.order.Back(); el != nil && need > 0; el = el.Prev() {
			if v := el.Value.(*cacheEntry); v.pins == 0 {
				victims = append(victims, v)
				need -= v.size
			}
		}
		if need > 0 {
			return nil, nil
		}
		for _, v := range victims {
			evicted = append(evicted, v.key)
			c.remove(v.key)
		}
	}
	e = &cacheEntry{key: key, size: size, pins: 1}
	e.elem = c.order.PushFront(e)
	c.entries[key] = e
	c.used += size
	return e, evicted
}

// remove forgets key (its file was evicted or turned out to be unusable),
// pinned or not.
func (c *cacheIndex) remove(key string) {
	if e, ok := c.entries[key]; ok {
		c.used -= e.size
		c.order.Remove(e.elem)
		delete(c.entries, key)
	}
}

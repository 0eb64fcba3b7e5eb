package fetcher

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// op is one step of a cacheIndex scenario.
type op struct {
	do   string // "admit", "acquire", "release", "remove"
	key  string
	size int64
	// expectations
	ok      bool     // admit: an entry was returned; acquire: found
	evicted []string // admit
}

func TestCacheIndex(t *testing.T) {
	tests := []struct {
		name     string
		capacity int64
		ops      []op
		used     int64
		keys     []string
	}{
		{
			name: "fits without eviction", capacity: 100,
			ops: []op{
				{do: "admit", key: "a", size: 40, ok: true},
				{do: "release", key: "a"},
				{do: "admit", key: "b", size: 60, ok: true},
			},
			used: 100, keys: []string{"a", "b"},
		},
		{
			name: "evicts least recently used first", capacity: 100,
			ops: []op{
				{do: "admit", key: "a", size: 40, ok: true}, {do: "release", key: "a"},
				{do: "admit", key: "b", size: 40, ok: true}, {do: "release", key: "b"},
				{do: "acquire", key: "a", ok: true}, {do: "release", key: "a"},
				{do: "admit", key: "c", size: 40, ok: true, evicted: []string{"b"}},
			},
			used: 80, keys: []string{"a", "c"},
		},
		{
			name: "evicts as many as needed, oldest first", capacity: 100,
			ops: []op{
				{do: "admit", key: "a", size: 30, ok: true}, {do: "release", key: "a"},
				{do: "admit", key: "b", size: 30, ok: true}, {do: "release", key: "b"},
				{do: "admit", key: "c", size: 30, ok: true}, {do: "release", key: "c"},
				{do: "admit", key: "d", size: 70, ok: true, evicted: []string{"a", "b"}},
			},
			used: 100, keys: []string{"c", "d"},
		},
		{
			name: "pinned entries are not evicted", capacity: 100,
			ops: []op{
				{do: "admit", key: "a", size: 40, ok: true}, // stays pinned
				{do: "admit", key: "b", size: 40, ok: true}, {do: "release", key: "b"},
				{do: "admit", key: "c", size: 40, ok: true, evicted: []string{"b"}},
			},
			used: 80, keys: []string{"a", "c"},
		},
		{
			name: "no room when everything is pinned: nothing changes", capacity: 100,
			ops: []op{
				{do: "admit", key: "a", size: 60, ok: true},
				{do: "admit", key: "b", size: 60, ok: false},
			},
			used: 60, keys: []string{"a"},
		},
		{
			name: "larger than the cache is never admitted", capacity: 100,
			ops: []op{
				{do: "admit", key: "a", size: 10, ok: true}, {do: "release", key: "a"},
				{do: "admit", key: "big", size: 101, ok: false},
			},
			used: 10, keys: []string{"a"},
		},
		{
			name: "exactly the capacity fits after evicting all", capacity: 100,
			ops: []op{
				{do: "admit", key: "a", size: 10, ok: true}, {do: "release", key: "a"},
				{do: "admit", key: "all", size: 100, ok: true, evicted: []string{"a"}},
			},
			used: 100, keys: []string{"all"},
		},
		{
			name: "admitting a present key acquires it", capacity: 100,
			ops: []op{
				{do: "admit", key: "a", size: 10, ok: true}, {do: "release", key: "a"},
				{do: "admit", key: "a", size: 10, ok: true},
			},
			used: 10, keys: []string{"a"},
		},
		{
			name: "acquire misses absent keys", capacity: 100,
			ops: []op{{do: "acquire", key: "a", ok: false}},
		},
		{
			name: "remove frees space", capacity: 100,
			ops: []op{
				{do: "admit", key: "a", size: 70, ok: true},
				{do: "remove", key: "a"},
				{do: "admit", key: "b", size: 70, ok: true},
			},
			used: 70, keys: []string{"b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCacheIndex(tt.capacity)
			pinned := map[string][]*cacheEntry{}
			for i, o := range tt.ops {
				switch o.do {
				case "admit":
					e, ev := c.admit(o.key, o.size)
					if (e != nil) != o.ok || !slices.Equal(ev, o.evicted) {
						t.Fatalf("op %d admit(%s, %d) = %v, %v; want ok=%v, evicted %v", i, o.key, o.size, e != nil, ev, o.ok, o.evicted)
					}
					if e != nil {
						pinned[o.key] = append(pinned[o.key], e)
					}
				case "acquire":
					e := c.acquire(o.key)
					if (e != nil) != o.ok {
						t.Fatalf("op %d acquire(%s) = %v; want %v", i, o.key, e != nil, o.ok)
					}
					if e != nil {
						pinned[o.key] = append(pinned[o.key], e)
					}
				case "release":
					es := pinned[o.key]
					c.release(es[len(es)-1])
					pinned[o.key] = es[:len(es)-1]
				case "remove":
					c.remove(o.key)
				}
			}
			if c.used != tt.used {
				t.Errorf("used = %d, want %d", c.used, tt.used)
			}
			var keys []string
			for k := range c.entries {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.keys) {
				t.Errorf("keys = %v, want %v", keys, tt.keys)
			}
		})
	}
}

// A release of an entry removed meanwhile must not unpin its successor.
func TestCacheIndexStaleRelease(t *testing.T) {
	c := newCacheIndex(100)
	old, _ := c.admit("a", 50)
	c.remove("a")
	cur, _ := c.admit("a", 50)
	c.release(old)
	if cur.pins != 1 {
		t.Fatalf("pins = %d, want 1", cur.pins)
	}
	if e, _ := c.admit("b", 60); e != nil {
		t.Fatal("admitted b by evicting a pinned entry")
	}
}

// BenchmarkCacheIndexAdmit admits into a full cache of 10,000 entries, so
// that every admission evicts (the worst case: a sort of the candidates).
func BenchmarkCacheIndexAdmit(b *testing.B) {
	const entries = 10_000
	c := newCacheIndex(entries)
	for i := range entries {
		e, _ := c.admit("k"+strconv.Itoa(i), 1)
		c.release(e)
	}
	b.ReportAllocs()
	i := entries
	for b.Loop() {
		e, ev := c.admit("k"+strconv.Itoa(i), 1)
		if e == nil || len(ev) != 1 {
			b.Fatal("no eviction")
		}
		c.release(e)
		i++
	}
}

// oracleCache is an obviously correct, slow LRU: a slice in use order.
type oracleCache struct {
	capacity int64
	keys     []string // least recently used first
	size     map[string]int64
	pins     map[string]int
}

func (o *oracleCache) used() (n int64) {
	for _, k := range o.keys {
		n += o.size[k]
	}
	return n
}

func (o *oracleCache) touch(k string) {
	o.keys = slices.DeleteFunc(o.keys, func(x string) bool { return x == k })
	o.keys = append(o.keys, k)
}

func (o *oracleCache) admit(k string, size int64) (bool, []string) {
	if _, ok := o.size[k]; ok {
		o.touch(k)
		o.pins[k]++
		return true, nil
	}
	if size > o.capacity {
		return false, nil
	}
	var evicted []string
	keep := slices.Clone(o.keys)
	for o.used()+size > o.capacity {
		i := slices.IndexFunc(o.keys, func(x string) bool { return o.pins[x] == 0 })
		if i < 0 {
			o.keys = keep // undo
			return false, nil
		}
		evicted = append(evicted, o.keys[i])
		o.keys = slices.Delete(o.keys, i, i+1)
	}
	for _, k := range evicted {
		delete(o.size, k)
		delete(o.pins, k)
	}
	o.keys = append(o.keys, k)
	o.size[k] = size
	o.pins[k] = 1
	return true, evicted
}

// TestCacheIndexMatchesOracle drives the index and the oracle with the
// same random operations.
func TestCacheIndexMatchesOracle(t *testing.T) {
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 0))
		c := newCacheIndex(100)
		o := &oracleCache{capacity: 100, size: map[string]int64{}, pins: map[string]int{}}
		held := map[string][]*cacheEntry{}
		for step := range 300 {
			k := "k" + strconv.Itoa(r.IntN(12))
			switch r.IntN(4) {
			case 0, 1:
				size := int64(r.IntN(60))
				e, ev := c.admit(k, size)
				ok, oev := o.admit(k, size)
				if (e != nil) != ok || !slices.Equal(ev, oev) {
					t.Fatalf("seed %d step %d admit(%s,%d): index %v %v, oracle %v %v", seed, step, k, size, e != nil, ev, ok, oev)
				}
				if e != nil {
					held[k] = append(held[k], e)
				}
			case 2:
				e := c.acquire(k)
				_, ok := o.size[k]
				if (e != nil) != ok {
					t.Fatalf("seed %d step %d acquire(%s): index %v, oracle %v", seed, step, k, e != nil, ok)
				}
				if ok {
					o.touch(k)
					o.pins[k]++
					held[k] = append(held[k], e)
				}
			case 3:
				if hs := held[k]; len(hs) > 0 {
					e := hs[len(hs)-1]
					held[k] = hs[:len(hs)-1]
					c.release(e)
					if c.entries[k] == e && o.pins[k] > 0 {
						o.pins[k]--
					}
				}
			}
			if c.used != o.used() || c.used > c.capacity {
				t.Fatalf("seed %d step %d: used %d, oracle %d", seed, step, c.used, o.used())
			}
		}
	}
}

package primes

import (
	"math/rand/v2"
	"testing"
)

func TestCountKnownValues(t *testing.T) {
	for _, tc := range []struct {
		from, to, want uint64
	}{
		{1, 100, 25},
		{1, 1_000_000, 78498},
		{0, 1, 0},
		{2, 2, 1},
		{0, 0, 0},
		{10, 1, 0},
		{14, 16, 0},
		{1_000_000, 1_000_100, 6}, // 1000003 1000033 1000037 1000039 1000081 1000099
		{1, 10_000_000, 664579},
	} {
		if got := Count(tc.from, tc.to); got != tc.want {
			t.Errorf("Count(%d, %d) = %d, want %d", tc.from, tc.to, got, tc.want)
		}
	}
}

// Count against trial division, the slow obvious oracle, on random ranges
// that straddle segment boundaries.
func TestCountMatchesTrialDivision(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		from := rng.Uint64N(3 * segment)
		to := from + rng.Uint64N(2000)
		var want uint64
		for n := from; n <= to; n++ {
			if isPrime(n) {
				want++
			}
		}
		if got := Count(from, to); got != want {
			t.Fatalf("Count(%d, %d) = %d, trial division says %d", from, to, got, want)
		}
	}
}

func isPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	for d := uint64(2); d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		from, to uint64
		n        int
		want     []Range
	}{
		{1, 10, 3, []Range{{1, 4}, {5, 7}, {8, 10}}},
		{1, 10, 1, []Range{{1, 10}}},
		{5, 7, 8, []Range{{5, 5}, {6, 6}, {7, 7}}},
		{1, 10_000_000, 8, nil}, // checked by the invariants below
	} {
		got, err := Split(tc.from, tc.to, tc.n)
		if err != nil {
			t.Fatalf("Split(%d, %d, %d): %v", tc.from, tc.to, tc.n, err)
		}
		if tc.want != nil && !equal(got, tc.want) {
			t.Errorf("Split(%d, %d, %d) = %v, want %v", tc.from, tc.to, tc.n, got, tc.want)
		}
		// Invariants: contiguous cover of [from, to], sizes within one.
		next, lo, hi := tc.from, ^uint64(0), uint64(0)
		for _, r := range got {
			if r.From != next || r.To < r.From {
				t.Fatalf("Split(%d, %d, %d) = %v: not contiguous at %v", tc.from, tc.to, tc.n, got, r)
			}
			next = r.To + 1
			lo, hi = min(lo, r.To-r.From+1), max(hi, r.To-r.From+1)
		}
		if next != tc.to+1 || hi-lo > 1 || len(got) > tc.n {
			t.Errorf("Split(%d, %d, %d) = %v: bad cover or balance", tc.from, tc.to, tc.n, got)
		}
	}
	for _, bad := range []struct {
		from, to uint64
		n        int
	}{{10, 1, 2}, {1, 10, 0}, {0, ^uint64(0), 2}} {
		if _, err := Split(bad.from, bad.to, bad.n); err == nil {
			t.Errorf("Split(%d, %d, %d): no error", bad.from, bad.to, bad.n)
		}
	}
}

func equal(a, b []Range) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func BenchmarkCount1e6(b *testing.B) {
	for b.Loop() {
		Count(1, 1_000_000)
	}
}

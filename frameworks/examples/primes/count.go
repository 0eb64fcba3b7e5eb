package primes

import (
	"fmt"
	"math"
)

// Range is an inclusive range of integers [From, To].
type Range struct {
	From, To uint64
}

func (r Range) String() string { return fmt.Sprintf("[%d,%d]", r.From, r.To) }

// Split divides [from, to] into n contiguous ranges whose sizes differ by
// at most one (fewer ranges if there are fewer than n numbers).
func Split(from, to uint64, n int) ([]Range, error) {
	if from > to {
		return nil, fmt.Errorf("empty range: from %d > to %d", from, to)
	}
	if n < 1 {
		return nil, fmt.Errorf("need at least one range, got %d", n)
	}
	size := to - from + 1 // wraps to 0 only for the full uint64 range
	if size == 0 {
		return nil, fmt.Errorf("range [%d,%d] too large", from, to)
	}
	if uint64(n) > size {
		n = int(size)
	}
	chunk, extra := size/uint64(n), size%uint64(n)
	out := make([]Range, 0, n)
	lo := from
	for i := range uint64(n) {
		hi := lo + chunk - 1
		if i < extra {
			hi++
		}
		out = append(out, Range{From: lo, To: hi})
		lo = hi + 1
	}
	return out, nil
}

// segment is how many numbers Count sieves at a time (bounds memory).
const segment = 1 << 18

// Count returns the number of primes in [from, to] with a segmented sieve
// of Eratosthenes.
func Count(from, to uint64) uint64 {
	from = max(from, 2)
	if to < from {
		return 0
	}
	if to > math.MaxUint64-segment {
		to = math.MaxUint64 - segment // keeps segment arithmetic from overflowing
	}
	base := smallPrimes(isqrt(to))
	composite := make([]bool, segment)
	var n uint64
	for lo := from; lo <= to; lo += segment {
		hi := min(lo+segment-1, to)
		clear(composite)
		for _, p := range base {
			if p*p > hi {
				break
			}
			start := max(p*p, (lo+p-1)/p*p)
			for m := start; m <= hi; m += p {
				composite[m-lo] = true
			}
		}
		for _, c := range composite[:hi-lo+1] {
			if !c {
				n++
			}
		}
	}
	return n
}

// smallPrimes returns the primes <= limit.
func smallPrimes(limit uint64) []uint64 {
	if limit < 2 {
		return nil
	}
	composite := make([]bool, limit+1)
	var out []uint64
	for i := uint64(2); i <= limit; i++ {
		if composite[i] {
			continue
		}
		out = append(out, i)
		for m := i * i; m <= limit; m += i {
			composite[m] = true
		}
	}
	return out
}

func isqrt(n uint64) uint64 {
	r := uint64(math.Sqrt(float64(n)))
	for r*r > n {
		r--
	}
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}

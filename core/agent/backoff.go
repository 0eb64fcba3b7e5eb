package agent

import "time"

// registrationRetryMax caps the registration backoff (Mesos'
// REGISTER_RETRY_INTERVAL_MAX).
const registrationRetryMax = time.Minute

// regBackoff decides how long to wait before each (re-)registration
// attempt, as a Mesos agent does: the first wait is random in [0, factor],
// the bound doubles after each failed attempt, capped at
// registrationRetryMax. reset starts over after a successful registration.
type regBackoff struct {
	factor time.Duration
	bound  time.Duration
}

// next returns the wait before the next attempt; randN(n) returns a random
// integer in [0, n).
func (b *regBackoff) next(randN func(n int64) int64) time.Duration {
	if b.bound == 0 {
		b.bound = b.factor
	} else {
		b.bound = min(2*b.bound, registrationRetryMax)
	}
	if b.bound <= 0 {
		return 0
	}
	return time.Duration(randN(int64(b.bound) + 1))
}

func (b *regBackoff) reset() { b.bound = 0 }

package webhook

import (
	"math/rand/v2"
	"time"
)

// Backoff computes retry delays: exponential from Base, doubling with
// each attempt up to Cap, with jitter so that the events and sidecars
// that failed together do not all retry together.
type Backoff struct {
	// Base is the delay before the first retry. Default: 1 s.
	Base time.Duration
	// Cap is the longest delay. Default: 5 min.
	Cap time.Duration
}

// Defaults of Backoff.
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffCap  = 5 * time.Minute
)

// Delay returns the delay after the given number of failed attempts
// (1 for the first failure): a random duration between half and all of
// min(Cap, Base·2^(failures-1)). Keeping at least half ("equal jitter")
// spreads retries without ever retrying almost at once.
func (b Backoff) Delay(failures int) time.Duration {
	base, cap := b.Base, b.Cap
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if cap <= 0 {
		cap = DefaultBackoffCap
	}
	if cap < base {
		cap = base
	}
	d := base
	for i := 1; i < failures && d < cap; i++ {
		if d > cap/2 {
			d = cap // also keeps the doubling from overflowing
			break
		}
		d *= 2
	}
	half := d / 2
	return d - half + rand.N(half+1)
}

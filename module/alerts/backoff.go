package alerts

import (
	"math/rand/v2"
	"time"
)

// backoff returns how long to wait before retrying an alert after the
// given number of consecutive failed attempts (1 for the first): a
// random duration between half and all of min(hi, lo·2^(failures-1)),
// and never less than lo. Keeping at least half ("equal jitter")
// spreads the retries of sidecars that failed together without ever
// retrying almost at once. It expects 0 < lo <= hi.
func backoff(failures int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		if d > hi/2 {
			d = hi // also keeps the doubling from overflowing
			break
		}
		d *= 2
	}
	d = min(d, hi)
	floor := max(d/2, lo)
	return floor + rand.N(d-floor+1)
}

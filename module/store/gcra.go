package store

import "time"

// minRetryAfter is the shortest retryAfter a refused reservation reports,
// so that a caller that sleeps on it never spins.
const minRetryAfter = time.Millisecond

// gcra decides one reservation in a generic cell rate algorithm bucket
// with reservation. tat is the bucket's theoretical arrival time (zero for
// a new bucket); all values are in one unit (ns in Memory). The request
// waits tat − now − (burst−1)·interval, or goes at once when that is not
// positive; a wait above maxWait is refused, and then nothing changes.
//
// The Redis script mirrors this function in microseconds.
func gcra(tat, now, interval, burst, maxWait int64) (newTAT, wait int64, ok bool) {
	if tat < now {
		tat = now
	}
	wait = tat - now - (burst-1)*interval
	if wait > maxWait {
		return tat, wait, false
	}
	if wait < 0 {
		wait = 0
	}
	return tat + interval, wait, true
}

// refusedRetryAfter turns a refused wait into the caller's retryAfter:
// how long until a slot within maxWait is likely.
func refusedRetryAfter(wait, maxWait time.Duration) time.Duration {
	return max(wait-maxWait, minRetryAfter)
}

package alerts

import (
	"math"
	"testing"
	"time"
)

// TestBackoff: each wait is within its range, which doubles from lo and
// stops at hi, and hi is reached.
func TestBackoff(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi time.Duration
	}{
		{"defaults", DefaultMinBackoff, DefaultMaxBackoff},
		{"small", time.Millisecond, 10 * time.Millisecond},
		{"equal", time.Second, time.Second},
		{"not a power of two apart", 3 * time.Second, 10 * time.Second},
		{"huge cap", time.Nanosecond, math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 200 {
				reachedCap := false
				for failures := 1; failures <= 100; failures++ {
					got := backoff(failures, tc.lo, tc.hi)
					nominal := tc.hi
					if failures-1 < 63 && tc.lo <= tc.hi>>(failures-1) {
						nominal = min(tc.hi, tc.lo<<(failures-1))
					}
					if lo := max(nominal/2, tc.lo); got < lo || got > nominal {
						t.Fatalf("backoff(%d) = %s, want within [%s, %s]", failures, got, lo, nominal)
					}
					reachedCap = reachedCap || nominal == tc.hi
				}
				if !reachedCap && tc.hi < math.MaxInt64/2 {
					t.Fatalf("100 failures never reached the cap %s", tc.hi)
				}
			}
		})
	}
	if got := backoff(1, time.Second, time.Minute); got != time.Second {
		t.Errorf("backoff(1) = %s, want exactly the minimum", got)
	}
}

// TestBackoffJitter: waits at the cap are spread, not all the same.
func TestBackoffJitter(t *testing.T) {
	seen := make(map[time.Duration]bool)
	for range 100 {
		seen[backoff(30, time.Second, time.Minute)] = true
	}
	if len(seen) < 50 {
		t.Errorf("100 waits took %d values, want them spread", len(seen))
	}
}

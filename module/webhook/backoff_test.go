package webhook

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		name     string
		b        Backoff
		failures int
		max      time.Duration // the delay is in [max/2, max]
	}{
		{"first failure", Backoff{Base: time.Second, Cap: time.Minute}, 1, time.Second},
		{"doubles", Backoff{Base: time.Second, Cap: time.Minute}, 3, 4 * time.Second},
		{"capped", Backoff{Base: time.Second, Cap: time.Minute}, 10, time.Minute},
		{"huge attempt count", Backoff{Base: time.Second, Cap: time.Minute}, 1 << 30, time.Minute},
		{"zero failures treated as first", Backoff{Base: time.Second, Cap: time.Minute}, 0, time.Second},
		{"defaults", Backoff{}, 1, DefaultBackoffBase},
		{"default cap", Backoff{}, 100, DefaultBackoffCap},
		{"cap below base", Backoff{Base: time.Minute, Cap: time.Second}, 3, time.Minute},
		{"cap near the largest duration", Backoff{Base: time.Second, Cap: time.Duration(1<<63 - 1)}, 200, time.Duration(1<<63 - 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				d := tc.b.Delay(tc.failures)
				if d < tc.max/2 || d > tc.max {
					t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tc.failures, d, tc.max/2, tc.max)
				}
			}
		})
	}
}

func TestBackoffJitter(t *testing.T) {
	b := Backoff{Base: time.Second, Cap: time.Minute}
	seen := make(map[time.Duration]bool)
	for range 20 {
		seen[b.Delay(4)] = true
	}
	// Twenty draws from half a second of nanoseconds all equal would
	// mean no jitter at all.
	if len(seen) < 2 {
		t.Fatalf("Delay(4) returned the same value 20 times: no jitter")
	}
}

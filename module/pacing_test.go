package restlink

import (
	"context"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/store"
)

func TestCompileRateLimit(t *testing.T) {
	for _, tc := range []struct {
		rate     string
		interval time.Duration
		burst    int64
	}{
		{"", 0, 0},
		{"900/s", time.Second / 900, 90},
		{"30000/m", time.Minute / 30000, 50},
		{"10/s", 100 * time.Millisecond, 1},
		{"1/h", time.Hour, 1},
		{"100/10s", 100 * time.Millisecond, 1},
	} {
		var p problems
		pp := compileRateLimit(UpstreamConfig{RateLimit: tc.rate, MaxWait: time.Second}, &p)
		if p.err() != nil || pp.pace.Interval != tc.interval || pp.pace.Burst != tc.burst || pp.on() != (tc.rate != "") {
			t.Errorf("%q: %+v %v", tc.rate, pp.pace, p.err())
		}
	}
}

// TestAwaitSlot: a request waits for its slot, one that would wait longer
// than max_wait is refused with Retry-After, and one whose app goes away
// while waiting is refused (nothing was sent).
func TestAwaitSlot(t *testing.T) {
	st := store.NewMemory(store.MemoryOptions{})
	pp := pacePlan{pace: store.Pace{Key: "a", Interval: 50 * time.Millisecond, Burst: 1, MaxWait: time.Second}}
	if rj := awaitSlot(context.Background(), st, pp); rj != nil {
		t.Fatalf("first request: %v", rj)
	}
	start := time.Now()
	if rj := awaitSlot(context.Background(), st, pp); rj != nil || time.Since(start) < 40*time.Millisecond {
		t.Errorf("second request: %v after %v, want a wait of about 50ms", rj, time.Since(start))
	}

	slow := pacePlan{pace: store.Pace{Key: "b", Interval: time.Second, Burst: 1, MaxWait: 100 * time.Millisecond}}
	awaitSlot(context.Background(), st, slow)
	if rj := awaitSlot(context.Background(), st, slow); rj == nil || rj.code != CodeUpstreamRateLimited || rj.retryAfter != 1 {
		t.Errorf("over max_wait: %+v", rj)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	awaitSlot(context.Background(), st, pacePlan{pace: store.Pace{Key: "c", Interval: time.Second, Burst: 1, MaxWait: 5 * time.Second}})
	if rj := awaitSlot(ctx, st, pacePlan{pace: store.Pace{Key: "c", Interval: time.Second, Burst: 1, MaxWait: 5 * time.Second}}); rj == nil {
		t.Error("an app that went away while waiting was not refused")
	}
}

package restlink

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/23telecom/restlink-sidecar/module/store"
)

// pacePlan is the compiled upstream.rate_limit: the account's pacing
// bucket. A zero pacePlan paces nothing.
type pacePlan struct {
	pace store.Pace
}

// paceKey names the account's bucket in the store: one for every sidecar
// sharing the store, as restlink's limit is one per account.
const paceKey = "account"

// compileRateLimit parses upstream.rate_limit, "<requests>/<unit>" with
// unit s, m or h (or a duration such as 10s), and upstream.max_wait.
func compileRateLimit(c UpstreamConfig, p *problems) pacePlan {
	if c.MaxWait < 0 {
		p.add("upstream.max_wait", "must not be negative")
	}
	if c.RateLimit == "" {
		return pacePlan{}
	}
	count, unit, ok := strings.Cut(strings.TrimSpace(c.RateLimit), "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(count), 64)
	var per time.Duration
	switch unit = strings.TrimSpace(unit); unit {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		per, _ = time.ParseDuration(unit)
	}
	if !ok || err != nil || n <= 0 || math.IsInf(n, 0) || per <= 0 {
		p.add("upstream.rate_limit", "must be \"<requests>/<unit>\", such as 900/s or 30000/m")
		return pacePlan{}
	}
	interval := time.Duration(float64(per) / n)
	if interval <= 0 {
		p.add("upstream.rate_limit", "is faster than one request a nanosecond")
		return pacePlan{}
	}
	// A tenth of a second's worth may go at once, so that requests that
	// arrive together are not spread out needlessly.
	burst := max(1, int64(math.Round(float64(100*time.Millisecond)/float64(interval))))
	return pacePlan{pace: store.Pace{Key: paceKey, Interval: interval, Burst: burst, MaxWait: c.MaxWait}}
}

// on reports whether requests are paced.
func (pp pacePlan) on() bool { return pp.pace.Interval > 0 }

// awaitSlot takes a slot in the account's bucket, waiting for it if need
// be. It refuses a request that would wait longer than max_wait, and one
// whose app hangs up while waiting (nothing has been sent).
func awaitSlot(ctx context.Context, st store.Store, pp pacePlan) *rejection {
	if !pp.on() {
		return nil
	}
	wait, ok, retryAfter, err := st.Reserve(ctx, pp.pace, time.Now())
	switch {
	case err != nil:
		return reject(CodeStoreUnavailable, "the store of the account's pacing bucket could not be reached; nothing was sent")
	case !ok:
		rj := reject(CodeUpstreamRateLimited, "this sidecar's share of the account's rate limit (upstream.rate_limit) is used up for longer than upstream.max_wait; retry after the time in Retry-After")
		rj.retryAfter = max(1, int(math.Ceil(retryAfter.Seconds())))
		return rj
	case wait <= 0:
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return reject(CodeUpstreamRateLimited, "the app went away while the request waited for its slot under upstream.rate_limit; nothing was sent")
	}
}

// awaitBackgroundSlot takes a slot in the account's bucket for a request
// the sidecar makes of its own accord (a key's probe, a price or balance
// read), waiting as long as it takes: they count against this sidecar's
// share of the account's rate limit like the apps' requests, so that
// together they never exceed it. It fails only if the store cannot be
// reached or ctx ends.
func awaitBackgroundSlot(ctx context.Context, st store.Store, pp pacePlan) error {
	for pp.on() {
		wait, ok, retryAfter, err := st.Reserve(ctx, pp.pace, time.Now())
		if err != nil {
			return err
		}
		if ok {
			retryAfter = wait
		}
		if retryAfter > 0 {
			timer := time.NewTimer(retryAfter)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return ctx.Err()
			}
		}
		if ok {
			return nil
		}
	}
	return nil
}

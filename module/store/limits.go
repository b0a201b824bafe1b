package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// windowSteps is how many equal steps a sliding window is measured in.
// Sixty keeps a counter small (at most 60 numbers) while a request
// charged just before a step ends is forgotten at most 1/60 of the window
// early.
const windowSteps = 60

// dayNanos is the length of a UTC calendar day: Unix time has no leap
// seconds, so every day is exactly this long.
const dayNanos = int64(24 * time.Hour)

// errForeignTicket is returned when a store is asked to settle a Ticket
// that another store issued: its charges name counters this store does
// not have.
var errForeignTicket = errors.New("settling: ticket was issued by another store")

// validateAdmission checks an admission before any store touches it. Its
// errors name limits by position, never by key: a per-recipient key holds
// a phone number.
func validateAdmission(a *Admission) error {
	if err := validateScope("admitting", a.Scope); err != nil {
		return err
	}
	if a.Now.IsZero() {
		return errors.New("admitting: no time of decision")
	}
	if c := a.Idempotency; c != nil {
		if c.Key == "" {
			return errors.New("admitting: idempotency claim has no key")
		}
		if c.TTL <= 0 {
			return errors.New("admitting: idempotency claim needs a positive ttl")
		}
	}
	return validateLimits("admitting", a.Limits)
}

// validateScope checks a scope: it becomes a Redis Cluster hash tag,
// which braces would cut short and which must not be empty.
func validateScope(doing, scope string) error {
	if scope == "" {
		return fmt.Errorf("%s: no scope", doing)
	}
	if strings.ContainsAny(scope, "{}") {
		return fmt.Errorf("%s: scope must not contain braces", doing)
	}
	return nil
}

// validateLimits checks limits for the operation named by doing.
func validateLimits(doing string, limits []Limit) error {
	for i := range limits {
		l := &limits[i]
		switch {
		case l.Key == "":
			return fmt.Errorf("%s: limit %d has no key", doing, i)
		case l.Cost < 0:
			return fmt.Errorf("%s: limit %d has a negative cost", doing, i)
		case l.Window < 0:
			return fmt.Errorf("%s: limit %d has a negative window", doing, i)
		case l.Window > 0 && l.Window < windowSteps:
			return fmt.Errorf("%s: limit %d has a window shorter than %d ns", doing, i, windowSteps)
		case l.Cost > maxExact:
			return fmt.Errorf("%s: limit %d has a cost above 2^53-1, the most a store counts exactly", doing, i)
		case l.Max > maxExact:
			return fmt.Errorf("%s: limit %d has a max above 2^53-1, the most a store counts exactly", doing, i)
		}
		if l.Period.Name != "" || !l.Period.Ends.IsZero() {
			if err := validatePeriod(doing, "limit", i, l.Period, l.Window); err != nil {
				return err
			}
		}
	}
	return nil
}

// windowStep is the length of one step of a sliding window, in ns.
func windowStep(window time.Duration) int64 { return int64(window) / windowSteps }

// floorDiv divides rounding towards minus infinity, so that times before
// 1970 still fall in the right step.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// dayOf returns the UTC calendar day (days since 1970-01-01) of a Unix
// time in ns.
func dayOf(now int64) int64 { return floorDiv(now, dayNanos) }

// untilMidnight is how long from now (Unix ns) until the next UTC
// midnight: when a day counter starts again from zero.
func untilMidnight(now int64) time.Duration {
	return time.Duration((dayOf(now)+1)*dayNanos - now)
}

// liveStep says whether step idx counts at step cur: it is one of the
// last 60, or slightly ahead (charged by a caller whose clock runs
// ahead). Steps further ahead were left by another window length.
func liveStep(idx, cur int64) bool {
	return idx > cur-windowSteps && idx <= cur+windowSteps
}

// stepCount is the charge held by one step of a sliding window.
type stepCount struct {
	idx int64 // the step's index: Unix ns / step length
	n   int64
}

// windowRetryAfter says how long until a request of cost fits under limit
// in a window whose live steps (ascending by index) hold value: the time
// until enough of the oldest steps have left the window. A cost above limit
// never fits; the answer is then the whole window.
func windowRetryAfter(steps []stepCount, value, cost, limit, cur, step, now int64) time.Duration {
	if cost > limit {
		return time.Duration(step * windowSteps)
	}
	freed := int64(0)
	for _, s := range steps {
		if !liveStep(s.idx, cur) {
			continue
		}
		freed += s.n
		if value-freed+cost <= limit {
			return time.Duration((s.idx+windowSteps)*step - now)
		}
	}
	return time.Duration(step * windowSteps)
}

// ceilDiv divides two positive numbers rounding up: how limits are shared
// out across a fleet, so that no sidecar gets a limit of zero.
func ceilDiv(a, b int64) int64 {
	if b <= 1 {
		return a
	}
	return (a + b - 1) / b
}

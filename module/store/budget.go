package store

import (
	"fmt"
	"strings"
	"time"
)

// maxExact is the largest Max, Cost or Delta a store accepts: 2^53−1.
// Redis runs its scripts in Lua, whose numbers are doubles, exact only to
// 2^53; counters themselves are kept as exact 64-bit integers (INCRBY),
// but the scripts compare and add in doubles. With every Max and Cost at
// most maxExact, every check is exact; a value past 2^53 (which only
// Adjust or a settlement can give a counter) may read back rounded.
const maxExact = 1<<53 - 1

// periodLinger is how long a period counter outlives its period: a
// settlement or an adjustment that comes after the period's end (a
// delivery report) still finds it for a day.
const periodLinger = 24 * time.Hour

// counterKind is what kind of counter a Memory charge was made on.
type counterKind uint8

// Counter kinds.
const (
	kindWindow counterKind = iota // a sliding window
	kindDay                       // a UTC calendar day
	kindPeriod                    // a named Period
)

// validatePeriod checks the period of limit or adjustment i (what names
// it) for the operation named by doing; window is the limit's Window.
func validatePeriod(doing, what string, i int, p Period, window time.Duration) error {
	switch {
	case p.Name == "" && !p.Ends.IsZero():
		return fmt.Errorf("%s: %s %d has a period end but no period name", doing, what, i)
	case p.Name == "":
		return nil
	case window != 0:
		return fmt.Errorf("%s: %s %d has both a window and a period", doing, what, i)
	case strings.Contains(p.Name, ":"):
		return fmt.Errorf("%s: %s %d has a period name with a colon", doing, what, i)
	case p.Ends.IsZero():
		return fmt.Errorf("%s: %s %d has a period without an end", doing, what, i)
	}
	return nil
}

// periodRetryAfter is how long from now (Unix ns) until period p ends,
// when its counter starts again from zero (as another period's).
func periodRetryAfter(p Period, now int64) time.Duration {
	return max(time.Duration(p.Ends.UnixNano()-now), 0)
}

// periodExpiry is when (Unix ns) the counter of period p expires.
func periodExpiry(p Period) int64 {
	return p.Ends.Add(periodLinger).UnixNano()
}

// validateCosts checks a settlement's Costs against its ticket: one per
// charge, each between 0 and maxExact. A refund ignores them.
func validateCosts(t *Ticket, s *Settlement) error {
	if s.Costs == nil || s.Refund {
		return nil
	}
	if len(s.Costs) != len(t.Charges) {
		return fmt.Errorf("settling: %d costs for %d charges", len(s.Costs), len(t.Charges))
	}
	for i, c := range s.Costs {
		if c < 0 || c > maxExact {
			return fmt.Errorf("settling: cost %d is not between 0 and 2^53-1", i)
		}
	}
	return nil
}

// validateAdjustments checks an Adjust call.
func validateAdjustments(scope string, adjustments []Adjustment) error {
	if err := validateScope("adjusting", scope); err != nil {
		return err
	}
	for i := range adjustments {
		a := &adjustments[i]
		switch {
		case a.Key == "":
			return fmt.Errorf("adjusting: adjustment %d has no key", i)
		case a.Period.Name == "":
			return fmt.Errorf("adjusting: adjustment %d has no period", i)
		case a.Delta > maxExact || a.Delta < -maxExact:
			return fmt.Errorf("adjusting: adjustment %d has a delta beyond 2^53-1 either way", i)
		}
		if err := validatePeriod("adjusting", "adjustment", i, a.Period, 0); err != nil {
			return err
		}
	}
	return nil
}

// periodEnded reports whether period p has ended at now.
func periodEnded(p Period, now time.Time) bool { return !now.Before(p.Ends) }

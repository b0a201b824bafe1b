package pricing

import (
	"time"

	"github.com/23telecom/restlink-sidecar/module/money"
)

// Rate returns the per-segment rate of a recipient at the time now, and
// whether one is known. digits is the recipient's number in E.164
// without its '+'. Every entry whose dialcode is a prefix of digits
// applies, and of those whose rate is current (rate_start_date ≤ now <
// rate_end_date) the highest rate is returned. The lookup tries each
// prefix of digits up to the longest dialcode in the table, and
// allocates nothing.
func (t *Table) Rate(digits string, now time.Time) (money.Amount, bool) {
	if t == nil {
		return 0, false
	}
	at := now.Unix() // whole seconds, rounded down: the dates are whole seconds too
	var best money.Amount
	found := false
	for n := 1; n <= len(digits) && n <= t.longest; n++ {
		for _, r := range t.byDialcode[digits[:n]] {
			if r.from <= at && at < r.until && (!found || r.amount > best) {
				best, found = r.amount, true
			}
		}
	}
	return best, found
}

// Estimate returns what restlink will charge for a message of the given
// number of segments to a recipient, its segments times its Rate, and
// whether it is known: not when no rate is, when segments is negative,
// or when the product does not fit in a money.Amount.
func (t *Table) Estimate(digits string, segments int, now time.Time) (money.Amount, bool) {
	r, ok := t.Rate(digits, now)
	if !ok || segments < 0 {
		return 0, false
	}
	cost, err := r.Times(segments)
	return cost, err == nil
}

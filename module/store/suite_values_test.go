package store

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// valuesCase is an admission of limits made twice, and the values the
// second must return.
type valuesCase struct {
	name   string
	limits []Limit
	want   []int64
}

// nineLimits returns nine limits, the last the first's key again, and
// their values after two admissions: more than a Memory admission keeps
// on its stack.
func nineLimits() ([]Limit, []int64) {
	var limits []Limit
	var want []int64
	for i := range 8 {
		limits = append(limits, Limit{Key: "rcpt:+44770090000" + strconv.Itoa(i), Cost: int64(i + 1), Max: 100, Window: time.Hour})
		want = append(want, 2*int64(i+1))
	}
	want[0] = 4
	return append(limits, limits[0]), append(want, 4)
}

// testValues: an admission that charged returns each limit's value after
// the charge; any other returns none.
func testValues(t *testing.T, hs []harness) {
	rate := Limit{Key: "rate:acme", Cost: 1, Max: 100, Window: time.Minute}
	daily := Limit{Key: "daily:acme", Cost: 2, Max: 100}
	budget := Limit{Key: "budget:acme:day", Cost: 250_000, Max: 5e15, Period: day2099}
	rcpt := Limit{Key: "rcpt:+447700900001", Cost: 1, Max: 10, Window: time.Hour}
	cases := []valuesCase{
		{"window_day_and_period", []Limit{rate, daily, budget}, []int64{2, 4, 500_000}},
		{"a_key_twice_reads_both_charges", []Limit{rcpt, budget, rcpt}, []int64{4, 500_000, 4}},
		{"zero_cost_reads_the_counter", []Limit{rate, {Key: "budget:acme:day", Max: 5e15, Period: day2099}}, []int64{2, 0}},
		{"money_near_2^53", []Limit{{Key: "budget:acme:day", Cost: 4e15, Max: maxExact, Period: day2099}}, []int64{8e15}},
		{"five_limits", []Limit{rate, daily, budget, rcpt, {Key: "budget:acme:month", Cost: 3, Max: 100, Period: day2099}}, []int64{2, 4, 500_000, 2, 6}},
	}
	limits, want := nineLimits()
	cases = append(cases, valuesCase{"nine_limits_a_key_twice", limits, want})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				a := Admission{Scope: "acme", Limits: c.limits, Charge: true, Now: future}
				first := admit(t, s, a)
				if first.Verdict != Admitted || len(first.Values) != len(c.limits) {
					t.Fatalf("first: %v with values %v", first.Verdict, first.Values)
				}
				// The second has room for eight charges and values, left
				// as an earlier admission wrote them: its values are
				// written there, and its ticket refunds from there.
				var charges [8]Charge
				var values [8]int64
				for i := range values {
					charges[i], values[i] = Charge{Key: "stale", Amount: 99}, -1
				}
				a.ChargeBuf, a.ValueBuf = charges[:0], values[:0]
				d := admit(t, s, a)
				if d.Verdict != Admitted || !reflect.DeepEqual(d.Values, c.want) {
					t.Errorf("second: %v with values %v, want %v", d.Verdict, d.Values, c.want)
				}
				if inRoom := len(d.Values) > 0 && &d.Values[0] == &values[0]; inRoom != (len(c.limits) <= len(values)) {
					t.Errorf("%d values, in the room for %d: %v", len(d.Values), len(values), inRoom)
				}
				if err := s.Settle(context.Background(), d.Ticket, Settlement{Refund: true, Outcome: Release, Now: future}); err != nil {
					t.Fatal(err)
				}
				if d := admit(t, s, a); !reflect.DeepEqual(d.Values, c.want) {
					t.Errorf("after the second was refunded: values %v, want %v", d.Values, c.want)
				}
			})
		})
	}

	t.Run("none_unless_admitted_and_charged", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			limits := []Limit{rate, budget}
			claim := &IdempotencyClaim{Key: "acme:v", BodyHash: [32]byte{1}, TTL: time.Hour}
			if d := admit(t, s, Admission{Scope: "acme", Limits: limits, Now: future}); d.Verdict != Admitted || d.Values != nil {
				t.Errorf("dry run: %v with values %v, want none", d.Verdict, d.Values)
			}
			if d := admit(t, s, Admission{Scope: "acme", Limits: limits, Idempotency: claim, Charge: true, Now: future}); d.Verdict != Admitted || d.Values == nil {
				t.Fatalf("claim: %v with values %v", d.Verdict, d.Values)
			}
			if d := admit(t, s, Admission{Scope: "acme", Limits: limits, Idempotency: claim, Charge: true, Now: future}); d.Verdict != InProgress || d.Values != nil {
				t.Errorf("in progress: %v with values %v, want none", d.Verdict, d.Values)
			}
			over := []Limit{rate, {Key: "budget:acme:day", Cost: 6e15, Max: 5e15, Period: day2099}}
			if d := admit(t, s, Admission{Scope: "acme", Limits: over, Charge: true, Now: future}); d.Verdict != Refused || d.Values != nil {
				t.Errorf("refused: %v with values %v, want none", d.Verdict, d.Values)
			}
		})
	})
}

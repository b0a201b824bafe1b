package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testCosts: a settlement with Costs moves each counter from its
// estimate to the final cost, up or down, without a limit check.
func testCosts(t *testing.T, hs []harness) {
	limits := []Limit{
		{Key: "rate:acme", Cost: 3, Max: 10, Window: time.Minute},
		{Key: "daily:acme", Cost: 3, Max: 10},
		{Key: "budget:acme:day", Cost: 500_000, Max: 1e15, Period: day2099},
	}
	cases := []struct {
		name     string
		settle   Settlement
		settleAt time.Duration // after future
		usageAt  time.Duration
		want     []int64 // the counters after a first admission (kept) and a second (settled)
	}{
		{"nil_keeps_the_estimates", Settlement{}, 0, 0, []int64{6, 6, 1_000_000}},
		{"up", Settlement{Costs: []int64{5, 4, 1_200_000}}, 0, 0, []int64{8, 7, 1_700_000}},
		{"up_past_max_without_a_check", Settlement{Costs: []int64{9, 9, 1e15}}, 0, 0, []int64{12, 12, 1e15 + 500_000}},
		{"down", Settlement{Costs: []int64{1, 2, 250_000}}, 0, 0, []int64{4, 5, 750_000}},
		{"down_to_nothing", Settlement{Costs: []int64{0, 0, 0}}, 0, 0, []int64{3, 3, 500_000}},
		{"unchanged", Settlement{Costs: []int64{3, 3, 500_000}}, 0, 0, []int64{6, 6, 1_000_000}},
		{"both_ways_at_once", Settlement{Costs: []int64{1, 9, 2e14}}, 0, 0, []int64{4, 12, 2e14 + 500_000}},
		{"money_near_2^53", Settlement{Costs: []int64{3, 3, maxExact - 500_000}}, 0, 0, []int64{6, 6, maxExact}},
		{"refund_ignores_costs", Settlement{Refund: true, Costs: []int64{9, 9, 9}}, 0, 0, []int64{3, 3, 500_000}},
		{"refund_ignores_costs_of_any_length", Settlement{Refund: true, Costs: []int64{9}}, 0, 0, []int64{3, 3, 500_000}},
		// A delivery report after the period: the period counter, kept a
		// day after the end, still moves; the next day's counter and
		// the window's next steps (charged then) are not touched.
		{"after_the_period", Settlement{Costs: []int64{30, 30, 700_000}}, 12*time.Hour + time.Minute, 12*time.Hour + time.Minute, []int64{3, 3, 1_200_000}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				admit(t, s, Admission{Scope: "acme", Limits: limits, Charge: true, Now: future})
				d := admit(t, s, Admission{Scope: "acme", Limits: limits, Charge: true, Now: future})
				if d.Verdict != Admitted || len(d.Ticket.Charges) != 3 {
					t.Fatalf("admit: %v with %d charges", d.Verdict, len(d.Ticket.Charges))
				}
				if c.usageAt > 0 { // the next day's and minute's charges
					admit(t, s, Admission{Scope: "acme", Limits: limits[:2], Charge: true, Now: future.Add(c.usageAt)})
				}
				c.settle.Now = future.Add(c.settleAt)
				settle(t, s, d.Ticket, c.settle)
				if got := usage(t, s, "acme", limits, future.Add(c.usageAt)); !reflect.DeepEqual(got, c.want) {
					t.Errorf("usage %v, want %v", got, c.want)
				}
			})
		})
	}

	t.Run("moves_only_its_own_charges", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			a := Admission{Scope: "acme", Limits: limits[2:], Charge: true, Now: future}
			first, second := admit(t, s, a), admit(t, s, a)
			settle(t, s, first.Ticket, Settlement{Costs: []int64{100}, Now: future})
			settle(t, s, second.Ticket, Settlement{Costs: []int64{900_000}, Now: future})
			if got := usage(t, s, "acme", limits[2:], future); got[0] != 900_100 {
				t.Errorf("usage %d, want 900100", got[0])
			}
			if d := admit(t, s, Admission{Scope: "acme", Limits: []Limit{{Key: "budget:acme:day", Cost: 1e15 - 900_100, Max: 1e15, Period: day2099}}, Charge: true, Now: future}); d.Verdict != Admitted {
				t.Errorf("the rest of the budget: %v, want admitted", d.Verdict)
			}
		})
	})

	t.Run("with_an_idempotency_record", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			a := Admission{Scope: "acme", Idempotency: &IdempotencyClaim{Key: "acme:c", BodyHash: [32]byte{3}, TTL: time.Hour}, Limits: limits[2:], Charge: true, Now: future}
			d := admit(t, s, a)
			settle(t, s, d.Ticket, Settlement{Costs: []int64{700_000}, Outcome: Completed, Record: &Record{Status: 202}, Now: future})
			if got := usage(t, s, "acme", limits[2:], future); got[0] != 700_000 {
				t.Errorf("usage %d, want 700000", got[0])
			}
			if d := admit(t, s, a); d.Verdict != Replay || d.Record.Status != 202 {
				t.Errorf("retry: %v, want the replay of the completed record", d.Verdict)
			}
		})
	})

	t.Run("invalid", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			d := admit(t, s, Admission{Scope: "acme", Limits: limits, Charge: true, Now: future})
			for _, c := range []struct {
				costs []int64
				want  string
			}{
				{[]int64{1, 2}, "2 costs for 3 charges"},
				{[]int64{1, -2, 3}, "cost 1 is not between 0 and 2^53-1"},
				{[]int64{1, 2, 1 << 53}, "cost 2 is not between 0 and 2^53-1"},
			} {
				err := s.Settle(context.Background(), d.Ticket, Settlement{Costs: c.costs, Now: future})
				if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrUnavailable) {
					t.Errorf("costs %v: %v, want an error containing %q", c.costs, err, c.want)
				}
			}
			if got := usage(t, s, "acme", limits, future); !reflect.DeepEqual(got, []int64{3, 3, 500_000}) {
				t.Errorf("usage %v after refused settlements, want the charges untouched", got)
			}
		})
	})
}

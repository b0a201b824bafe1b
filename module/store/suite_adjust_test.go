package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// adjust calls s.Adjust and fails the test on an error.
func adjust(t *testing.T, s Store, scope string, adjustments []Adjustment, now time.Time) []int64 {
	t.Helper()
	v, err := s.Adjust(context.Background(), scope, adjustments, now)
	if err != nil {
		t.Fatalf("Adjust: %v", err)
	}
	return v
}

// testAdjust: Adjust moves the very counter a budget Limit charges,
// either way, without a limit check.
func testAdjust(t *testing.T, hs []harness) {
	budget := Limit{Key: "budget:acme:day", Max: 1000, Period: day2099}
	by := func(delta int64) Adjustment {
		return Adjustment{Key: budget.Key, Period: budget.Period, Delta: delta}
	}
	ended := Period{Name: "2099-12-04", Ends: day2099.Ends.Add(-24 * time.Hour)}

	t.Run("moves_the_limits_counter", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			if got := adjust(t, s, "acme", []Adjustment{by(800)}, future); !reflect.DeepEqual(got, []int64{800}) {
				t.Errorf("seeding: %v, want [800]", got)
			}
			budget.Cost = 201
			if d := admit(t, s, Admission{Scope: "acme", Limits: []Limit{budget}, Charge: true, Now: future}); d.Verdict != Refused || d.Current != 800 {
				t.Errorf("over the seeded budget: %v with %d, want refused with 800", d.Verdict, d.Current)
			}
			budget.Cost = 200
			if d := admit(t, s, Admission{Scope: "acme", Limits: []Limit{budget}, Charge: true, Now: future}); d.Verdict != Admitted {
				t.Errorf("to the seeded budget's max: %v", d.Verdict)
			}
			if got := adjust(t, s, "acme", []Adjustment{by(500)}, future); !reflect.DeepEqual(got, []int64{1500}) {
				t.Errorf("past max: %v, want [1500] (no limit check)", got)
			}
			if got := adjust(t, s, "acme", []Adjustment{by(-1200)}, future); !reflect.DeepEqual(got, []int64{300}) {
				t.Errorf("negative: %v, want [300]", got)
			}
			if got := usage(t, s, "acme", []Limit{budget}, future); got[0] != 300 {
				t.Errorf("usage %d, want 300", got[0])
			}
			if got := adjust(t, s, "acme", []Adjustment{by(-301)}, future); !reflect.DeepEqual(got, []int64{0}) {
				t.Errorf("below zero: %v, want [0]", got)
			}
			if got := adjust(t, s, "acme", []Adjustment{by(5)}, future); !reflect.DeepEqual(got, []int64{5}) {
				t.Errorf("after a floor at zero: %v, want [5]", got)
			}
			if got := adjust(t, s, "other", []Adjustment{by(0)}, future); !reflect.DeepEqual(got, []int64{0}) {
				t.Errorf("another scope: %v, want [0]", got)
			}
		})
	})

	t.Run("several_at_once", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			month := Adjustment{Key: "budget:acme:month", Period: Period{Name: "2099-12", Ends: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}, Delta: 7}
			got := adjust(t, s, "acme", []Adjustment{by(10), month, {Key: budget.Key, Period: ended, Delta: 50}, by(-3), by(0)}, future)
			if want := []int64{7, 7, 0, 7, 7}; !reflect.DeepEqual(got, want) {
				t.Errorf("values %v, want %v: each counter's value after all of them, an ended period's 0", got, want)
			}
		})
	})

	t.Run("ended_period_changes_nothing", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			l := Limit{Key: budget.Key, Cost: 1, Max: 10, Period: ended}
			before := ended.Ends.Add(-time.Hour)
			admit(t, s, Admission{Scope: "acme", Limits: []Limit{l}, Charge: true, Now: before})
			for _, now := range []time.Time{ended.Ends, ended.Ends.Add(time.Hour)} {
				if got := adjust(t, s, "acme", []Adjustment{{Key: l.Key, Period: ended, Delta: 9}}, now); !reflect.DeepEqual(got, []int64{0}) {
					t.Errorf("at %v: %v, want [0]", now, got)
				}
			}
			if got := usage(t, s, "acme", []Limit{l}, before); got[0] != 1 {
				t.Errorf("the ended period's counter %d, want 1: an adjustment after its end changed it", got[0])
			}
		})
	})

	t.Run("money_near_2^53", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			l := Limit{Key: budget.Key, Max: maxExact, Period: day2099}
			if got := adjust(t, s, "acme", []Adjustment{{Key: l.Key, Period: l.Period, Delta: 9e15}}, future); got[0] != 9e15 {
				t.Errorf("seeded %d, want 9e15", got[0])
			}
			l.Cost = maxExact - 9e15 + 1
			if d := admit(t, s, Admission{Scope: "acme", Limits: []Limit{l}, Charge: true, Now: future}); d.Verdict != Refused {
				t.Errorf("one past 2^53-1: %v, want refused", d.Verdict)
			}
			l.Cost--
			if d := admit(t, s, Admission{Scope: "acme", Limits: []Limit{l}, Charge: true, Now: future}); d.Verdict != Admitted || d.Values[0] != maxExact {
				t.Errorf("to 2^53-1: %v with %v, want admitted at %d", d.Verdict, d.Values, int64(maxExact))
			}
		})
	})

	t.Run("invalid", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			for _, c := range []struct {
				scope string
				a     Adjustment
				want  string
			}{
				{"", by(1), "no scope"},
				{"acme", Adjustment{Period: day2099, Delta: 1}, "adjustment 0 has no key"},
				{"acme", Adjustment{Key: "k", Delta: 1}, "adjustment 0 has no period"},
				{"acme", Adjustment{Key: "k", Period: Period{Name: "2099-12-05"}, Delta: 1}, "adjustment 0 has a period without an end"},
				{"acme", Adjustment{Key: "k", Period: Period{Name: "2099:12", Ends: future}, Delta: 1}, "adjustment 0 has a period name with a colon"},
				{"acme", by(-1 << 53), "adjustment 0 has a delta beyond 2^53-1"},
			} {
				_, err := s.Adjust(context.Background(), c.scope, []Adjustment{c.a}, future)
				if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrUnavailable) {
					t.Errorf("%+v: %v, want an error containing %q", c.a, err, c.want)
				}
			}
		})
	})
}

package store

import (
	"reflect"
	"testing"
	"time"
)

// future is the clock origin of the tests of period counters: Redis
// expires them on its own clock, a day after their end, so their periods
// must end after the real time.
var future = time.Date(2099, 12, 5, 12, 0, 0, 0, time.UTC)

// day2099 is the period of future's day, which ends at midnight UTC.
var day2099 = Period{Name: "2099-12-05", Ends: time.Date(2099, 12, 6, 0, 0, 0, 0, time.UTC)}

func testPeriod(t *testing.T, hs []harness) {
	cases := []struct {
		name  string
		max   int64
		steps []step
	}{
		{"refuses_at_max_until_the_period_ends", 1000, []step{
			{at: 0, cost: 600, verdict: Admitted},
			{at: time.Hour, cost: 401, verdict: Refused, current: 600, retry: 11 * time.Hour},
			{at: time.Hour, cost: 400, verdict: Admitted},
			{at: 11*time.Hour + 59*time.Minute + 59*time.Second + 500*time.Millisecond, cost: 1,
				verdict: Refused, current: 1000, retry: 500 * time.Millisecond},
			{at: 12*time.Hour + time.Minute, cost: 1, verdict: Refused, current: 1000, retry: 0}, // ended: retry at least 0
		}},
		{"cost_above_max_waits_for_the_end", 1000, []step{
			{at: 0, cost: 1001, verdict: Refused, current: 0, retry: 12 * time.Hour},
		}},
		{"zero_cost_checks_only", 1000, []step{
			{at: 0, cost: 1000, verdict: Admitted},
			{at: 0, cost: 0, verdict: Admitted},
			{at: 0, cost: 1, verdict: Refused, current: 1000, retry: 12 * time.Hour},
		}},
		{"money_counts_exactly_to_2^53-1", maxExact, []step{
			{at: 0, cost: 1e15, verdict: Admitted},
			{at: 0, cost: maxExact - 1e15, verdict: Admitted},
			{at: 0, cost: 1, verdict: Refused, current: maxExact, retry: 12 * time.Hour},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				l := Limit{Key: "budget:acme:day", Max: c.max, Period: day2099}
				runStepsFrom(t, s, l, future, c.steps)
				var want int64
				for _, st := range c.steps {
					if st.verdict == Admitted {
						want += st.cost
					}
				}
				if got := usage(t, s, "acme", []Limit{l}, future); got[0] != want {
					t.Errorf("usage %d, want %d", got[0], want)
				}
			})
		})
	}
}

// testDistinctPeriods: a limit's key in two periods is two counters, and
// a period counter is not the day or window counter of the same key.
func testDistinctPeriods(t *testing.T, hs []harness) {
	next := Period{Name: "2099-12-06", Ends: day2099.Ends.Add(24 * time.Hour)}
	runSuite(t, hs, func(t *testing.T, s Store) {
		today := Limit{Key: "budget:acme:day", Cost: 10, Max: 10, Period: day2099}
		tomorrow := Limit{Key: "budget:acme:day", Cost: 10, Max: 10, Period: next}
		if d := admit(t, s, Admission{Scope: "acme", Limits: []Limit{today}, Charge: true, Now: future}); d.Verdict != Admitted {
			t.Fatalf("today: %v", d.Verdict)
		}
		if d := admit(t, s, Admission{Scope: "acme", Limits: []Limit{today}, Charge: true, Now: future}); d.Verdict != Refused {
			t.Fatalf("today again: %v, want refused", d.Verdict)
		}
		if d := admit(t, s, Admission{Scope: "acme", Limits: []Limit{tomorrow}, Charge: true, Now: future}); d.Verdict != Admitted {
			t.Fatalf("tomorrow's period: %v, want admitted (its own counter)", d.Verdict)
		}
		others := []Limit{
			today, tomorrow,
			{Key: "budget:acme:day", Period: Period{Name: "2099-12-07", Ends: next.Ends.Add(24 * time.Hour)}},
			{Key: "budget:acme:day"},                    // the day counter of the key
			{Key: "budget:acme:day", Window: time.Hour}, // its window counter
			{Key: "budget:acme:month", Period: day2099}, // another key in the period
		}
		if got, want := usage(t, s, "acme", others, future), []int64{10, 10, 0, 0, 0, 0}; !reflect.DeepEqual(got, want) {
			t.Errorf("usage %v, want %v", got, want)
		}
		if got := usage(t, s, "other", others[:2], future); !reflect.DeepEqual(got, []int64{0, 0}) {
			t.Errorf("another scope reads %v: scopes share period counters", got)
		}
	})
}

// testSharedOnly: a SharedOnly admission is decided like any other by a
// store that answers (Memory and Redis ignore the flag).
func testSharedOnly(t *testing.T, hs []harness) {
	runSuite(t, hs, func(t *testing.T, s Store) {
		l := Limit{Key: "budget:acme:day", Cost: 600, Max: 1000, Period: day2099}
		a := Admission{Scope: "acme", Limits: []Limit{l}, Charge: true, SharedOnly: true, Now: future}
		if d := admit(t, s, a); d.Verdict != Admitted || !reflect.DeepEqual(d.Values, []int64{600}) {
			t.Errorf("first: %v with %v", d.Verdict, d.Values)
		}
		if d := admit(t, s, a); d.Verdict != Refused || d.Current != 600 {
			t.Errorf("second: %v with %d, want refused with 600", d.Verdict, d.Current)
		}
	})
}

package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSuite runs the behaviours every Store must share against Memory,
// Redis and a Fallback over Redis.
func TestSuite(t *testing.T) {
	hs := harnesses(t)
	t.Run("window", func(t *testing.T) { testWindow(t, hs) })
	t.Run("day", func(t *testing.T) { testDay(t, hs) })
	t.Run("period", func(t *testing.T) { testPeriod(t, hs) })
	t.Run("distinct_periods", func(t *testing.T) { testDistinctPeriods(t, hs) })
	t.Run("shared_only", func(t *testing.T) { testSharedOnly(t, hs) })
	t.Run("values", func(t *testing.T) { testValues(t, hs) })
	t.Run("costs", func(t *testing.T) { testCosts(t, hs) })
	t.Run("adjust", func(t *testing.T) { testAdjust(t, hs) })
	t.Run("attributions", func(t *testing.T) { testAttributions(t, hs) })
	t.Run("all_or_nothing", func(t *testing.T) { testAllOrNothing(t, hs) })
	t.Run("repeated_key", func(t *testing.T) { testRepeatedKey(t, hs) })
	t.Run("refund", func(t *testing.T) { testRefund(t, hs) })
	t.Run("dry_run", func(t *testing.T) { testDryRun(t, hs) })
	t.Run("idempotency", func(t *testing.T) { testIdempotency(t, hs) })
	t.Run("idempotency_stale_ticket", func(t *testing.T) { testStaleTicket(t, hs) })
	t.Run("pacing", func(t *testing.T) { testPacing(t, hs) })
	t.Run("signing_seconds", func(t *testing.T) { testSigningSeconds(t, hs) })
	t.Run("markers", func(t *testing.T) { testMarkers(t, hs) })
	t.Run("tallies", func(t *testing.T) { testTallies(t, hs) })
	t.Run("holds", func(t *testing.T) { testHolds(t, hs) })
	t.Run("invalid", func(t *testing.T) { testInvalid(t, hs) })
}

// step is one admission of a table test and what it must get.
type step struct {
	at      time.Duration // after base
	cost    int64
	verdict Verdict
	current int64         // when refused
	retry   time.Duration // when refused
}

func testWindow(t *testing.T, hs []harness) {
	cases := []struct {
		name   string
		max    int64
		window time.Duration
		steps  []step
	}{
		{"slides_step_by_step", 3, time.Minute, []step{
			{at: 0, cost: 2, verdict: Admitted},
			{at: 30 * time.Second, cost: 1, verdict: Admitted},
			{at: 59*time.Second + 999*time.Millisecond, cost: 1, verdict: Refused, current: 3, retry: time.Millisecond},
			{at: time.Minute, cost: 1, verdict: Admitted},
			{at: time.Minute, cost: 2, verdict: Refused, current: 2, retry: 30 * time.Second},
			{at: 90 * time.Second, cost: 2, verdict: Admitted},
		}},
		{"charge_counts_until_its_step_is_a_window_old", 1, time.Minute, []step{
			{at: 900 * time.Millisecond, cost: 1, verdict: Admitted},
			{at: 59*time.Second + 950*time.Millisecond, cost: 1, verdict: Refused, current: 1, retry: 50 * time.Millisecond},
			{at: time.Minute, cost: 1, verdict: Admitted},
		}},
		{"retry_waits_for_enough_steps", 4, time.Minute, []step{
			{at: 0, cost: 1, verdict: Admitted},
			{at: 10 * time.Second, cost: 1, verdict: Admitted},
			{at: 20 * time.Second, cost: 2, verdict: Admitted},
			{at: 30 * time.Second, cost: 2, verdict: Refused, current: 4, retry: 40 * time.Second},
		}},
		{"cost_above_max_waits_a_window", 3, time.Minute, []step{
			{at: 0, cost: 4, verdict: Refused, current: 0, retry: time.Minute},
		}},
		{"hour_window_has_minute_steps", 1, time.Hour, []step{
			{at: 30 * time.Second, cost: 1, verdict: Admitted},
			{at: 59*time.Minute + 59*time.Second, cost: 1, verdict: Refused, current: 1, retry: time.Second},
			{at: time.Hour, cost: 1, verdict: Admitted},
		}},
		{"day_window_has_24_minute_steps", 1, 24 * time.Hour, []step{
			{at: 20 * time.Minute, cost: 1, verdict: Admitted},
			{at: 23*time.Hour + 59*time.Minute, cost: 1, verdict: Refused, current: 1, retry: time.Minute},
			{at: 24 * time.Hour, cost: 1, verdict: Admitted},
		}},
		{"zero_cost_checks_only", 1, time.Minute, []step{
			{at: 0, cost: 0, verdict: Admitted},
			{at: 0, cost: 1, verdict: Admitted},
			{at: 0, cost: 0, verdict: Admitted},
			{at: 0, cost: 1, verdict: Refused, current: 1, retry: time.Minute},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				runSteps(t, s, Limit{Key: "rate:acme", Max: c.max, Window: c.window}, c.steps)
			})
		})
	}
}

// runSteps admits each step against limit l and checks the decisions.
func runSteps(t *testing.T, s Store, l Limit, steps []step) {
	t.Helper()
	runStepsFrom(t, s, l, base, steps)
}

// runStepsFrom is runSteps with the steps' times after origin.
func runStepsFrom(t *testing.T, s Store, l Limit, origin time.Time, steps []step) {
	t.Helper()
	for i, st := range steps {
		l.Cost = st.cost
		d := admit(t, s, Admission{Scope: "acme", Limits: []Limit{l}, Charge: true, Now: origin.Add(st.at)})
		if d.Verdict != st.verdict {
			t.Fatalf("step %d (+%v, cost %d): verdict %v, want %v", i, st.at, st.cost, d.Verdict, st.verdict)
		}
		if st.verdict != Refused {
			continue
		}
		if d.Refused != 0 || d.Current != st.current || d.RetryAfter != st.retry {
			t.Errorf("step %d (+%v): refused %d, current %d, retry after %v; want 0, %d, %v",
				i, st.at, d.Refused, d.Current, d.RetryAfter, st.current, st.retry)
		}
	}
}

func testDay(t *testing.T, hs []harness) {
	cases := []struct {
		name  string
		steps []step
	}{
		{"counts_the_utc_day", []step{
			{at: 0, cost: 3, verdict: Admitted},
			{at: time.Hour, cost: 3, verdict: Refused, current: 3, retry: 11 * time.Hour},
			{at: time.Hour, cost: 2, verdict: Admitted},
			{at: 11*time.Hour + 59*time.Minute + 59*time.Second + 500*time.Millisecond, cost: 1,
				verdict: Refused, current: 5, retry: 500 * time.Millisecond},
			{at: 12 * time.Hour, cost: 5, verdict: Admitted},
			{at: 13 * time.Hour, cost: 1, verdict: Refused, current: 5, retry: 23 * time.Hour},
		}},
		{"cost_above_max_waits_for_midnight", []step{
			{at: 0, cost: 6, verdict: Refused, current: 0, retry: 12 * time.Hour},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				runSteps(t, s, Limit{Key: "daily:acme", Max: 5}, c.steps)
			})
		})
	}
}

func testAllOrNothing(t *testing.T, hs []harness) {
	limits := func(costA, costB, costC int64) []Limit {
		return []Limit{
			{Key: "rate:acme", Cost: costA, Max: 10, Window: time.Minute},
			{Key: "rcpt:+447700900001", Cost: costB, Max: 1, Window: time.Hour},
			{Key: "daily:acme", Cost: costC, Max: 5},
		}
	}
	runSuite(t, hs, func(t *testing.T, s Store) {
		now := at(0)
		if d := admit(t, s, Admission{Scope: "acme", Limits: limits(1, 1, 2), Charge: true, Now: now}); d.Verdict != Admitted {
			t.Fatalf("first: %v", d.Verdict)
		}
		d := admit(t, s, Admission{Scope: "acme", Limits: limits(1, 1, 2), Charge: true, Now: now})
		if d.Verdict != Refused || d.Refused != 1 || d.Current != 1 {
			t.Fatalf("second: %v on limit %d (current %d); want refused on limit 1 with 1", d.Verdict, d.Refused, d.Current)
		}
		d = admit(t, s, Admission{Scope: "acme", Limits: limits(1, 0, 4), Charge: true, Now: now})
		if d.Verdict != Refused || d.Refused != 2 || d.Current != 2 {
			t.Fatalf("third: %v on limit %d (current %d); want refused on limit 2 with 2", d.Verdict, d.Refused, d.Current)
		}
		if got, want := usage(t, s, "acme", limits(0, 0, 0), now), []int64{1, 1, 2}; !reflect.DeepEqual(got, want) {
			t.Errorf("usage after refusals %v, want %v: a refused admission charged something", got, want)
		}
		if got := usage(t, s, "other", limits(0, 0, 0), now); !reflect.DeepEqual(got, []int64{0, 0, 0}) {
			t.Errorf("another scope reads %v: scopes share counters", got)
		}
	})
}

// testRepeatedKey: a key twice in one admission (a recipient listed
// twice) is checked with both charges together.
func testRepeatedKey(t *testing.T, hs []harness) {
	cases := []struct {
		name      string
		window    time.Duration
		max       int64
		charge    bool
		verdict   Verdict
		current   int64
		wantUsage int64
	}{
		{"window_over", time.Hour, 1, true, Refused, 1, 0},
		{"window_fits", time.Hour, 2, true, Admitted, 0, 2},
		{"day_over", 0, 1, true, Refused, 1, 0},
		{"day_fits", 0, 2, true, Admitted, 0, 2},
		{"dry_run_over", time.Hour, 1, false, Refused, 1, 0},
		{"dry_run_fits", time.Hour, 2, false, Admitted, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				l := Limit{Key: "rcpt:+447700900001", Cost: 1, Max: c.max, Window: c.window}
				rate := Limit{Key: "rate:acme", Cost: 2, Max: 100, Window: time.Minute}
				d := admit(t, s, Admission{Scope: "acme", Limits: []Limit{rate, l, l}, Charge: c.charge, Now: at(0)})
				if d.Verdict != c.verdict || (d.Verdict == Refused && (d.Refused != 2 || d.Current != c.current)) {
					t.Fatalf("%v on limit %d (current %d); want %v on limit 2 (current %d)", d.Verdict, d.Refused, d.Current, c.verdict, c.current)
				}
				got := usage(t, s, "acme", []Limit{l, rate}, at(0))
				if got[0] != c.wantUsage || (c.wantUsage == 0 && got[1] != 0) {
					t.Errorf("usage %v, want %d on the recipient (and the rate charged only with it)", got, c.wantUsage)
				}
			})
		})
	}
}

func testRefund(t *testing.T, hs []harness) {
	limits := []Limit{
		{Key: "rate:acme", Cost: 3, Max: 10, Window: time.Minute},
		{Key: "daily:acme", Cost: 3, Max: 10},
	}
	cases := []struct {
		name      string
		settle    Settlement
		settleAt  time.Duration
		times     int
		usageAt   time.Duration
		wantUsage []int64
	}{
		{"refund_takes_back_the_charges", Settlement{Refund: true}, time.Second, 1, time.Second, []int64{0, 0}},
		{"keep_keeps_them", Settlement{}, time.Second, 1, time.Second, []int64{3, 3}},
		{"refund_never_goes_below_zero", Settlement{Refund: true}, time.Second, 2, time.Second, []int64{0, 0}},
		{"refund_after_the_day_leaves_the_new_day_alone", Settlement{Refund: true}, 12*time.Hour + time.Minute, 1, 12*time.Hour + time.Minute, []int64{3, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				d := admit(t, s, Admission{Scope: "acme", Limits: limits, Charge: true, Now: at(0)})
				if d.Verdict != Admitted || len(d.Ticket.Charges) != 2 {
					t.Fatalf("admit: %v with %d charges", d.Verdict, len(d.Ticket.Charges))
				}
				// Charges of the next day and minute, which a late refund must not touch.
				if c.usageAt > 12*time.Hour {
					admit(t, s, Admission{Scope: "acme", Limits: limits, Charge: true, Now: at(c.usageAt)})
				}
				c.settle.Now = at(c.settleAt)
				for range c.times {
					settle(t, s, d.Ticket, c.settle)
				}
				if got := usage(t, s, "acme", limits, at(c.usageAt)); !reflect.DeepEqual(got, c.wantUsage) {
					t.Errorf("usage %v, want %v", got, c.wantUsage)
				}
			})
		})
	}
}

func testDryRun(t *testing.T, hs []harness) {
	runSuite(t, hs, func(t *testing.T, s Store) {
		l := []Limit{{Key: "rate:acme", Cost: 1, Max: 1, Window: time.Minute}}
		claim := &IdempotencyClaim{Key: "acme:k1", BodyHash: [32]byte{1}, TTL: time.Hour}
		d := admit(t, s, Admission{Scope: "acme", Limits: l, Idempotency: claim, Now: at(0)})
		if d.Verdict != Admitted || len(d.Ticket.Charges) != 0 {
			t.Fatalf("dry run: %v with %d charges", d.Verdict, len(d.Ticket.Charges))
		}
		if got := usage(t, s, "acme", l, at(0)); got[0] != 0 {
			t.Errorf("a dry run charged: usage %d", got[0])
		}
		if d := admit(t, s, Admission{Scope: "acme", Idempotency: claim, Now: at(0)}); d.Verdict != InProgress {
			t.Errorf("a dry run's idempotency claim: then %v, want in_progress", d.Verdict)
		}
		l[0].Cost = 2
		if d := admit(t, s, Admission{Scope: "acme", Limits: l, Now: at(0)}); d.Verdict != Refused {
			t.Errorf("a dry run over the limit: %v, want refused", d.Verdict)
		}
	})
}

func testIdempotency(t *testing.T, hs []harness) {
	hashA, hashB := [32]byte{0xa}, [32]byte{0xb}
	answer := &Record{Status: 202, ContentType: "application/json", Body: []byte(`{"message_id":"api_1"}`)}
	limit := Limit{Key: "rate:acme", Cost: 1, Max: 10, Window: time.Hour}

	type then struct {
		at      time.Duration
		hash    [32]byte
		verdict Verdict
	}
	cases := []struct {
		name    string
		settle  *Settlement // after the first admission, if not nil
		then    []then
		record  *Record // expected with Replay
		charged int64   // the counter after all of it
	}{
		{"in_flight_same_body", nil, []then{{time.Second, hashA, InProgress}}, nil, 1},
		{"in_flight_other_body", nil, []then{{time.Second, hashB, KeyReused}}, nil, 1},
		{"in_flight_too_long", nil, []then{
			{30 * time.Second, hashA, InProgress},
			{30*time.Second + time.Millisecond, hashA, OutcomeUnknown},
		}, nil, 1},
		{"completed_replays", &Settlement{Outcome: Completed, Record: answer, TTL: time.Hour}, []then{
			{time.Minute, hashA, Replay},
			{time.Minute, hashB, KeyReused},
		}, answer, 1},
		{"unknown_refuses_retries", &Settlement{Outcome: Unknown, TTL: time.Hour}, []then{
			{time.Second, hashA, OutcomeUnknown},
			{time.Second, hashB, KeyReused},
		}, nil, 1},
		{"release_lets_a_retry_go", &Settlement{Outcome: Release, Refund: true}, []then{
			{time.Second, hashA, Admitted},
			{time.Second, hashA, InProgress},
		}, nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				claim := func(h [32]byte) *IdempotencyClaim {
					return &IdempotencyClaim{Key: "acme:order-1", BodyHash: h, TTL: 24 * time.Hour, InFlightFor: 30 * time.Second}
				}
				a := Admission{Scope: "acme", Idempotency: claim(hashA), Limits: []Limit{limit}, Charge: true, Now: at(0)}
				d := admit(t, s, a)
				if d.Verdict != Admitted || d.Ticket.Idempotency != "acme:order-1" {
					t.Fatalf("first: %v, ticket %q", d.Verdict, d.Ticket.Idempotency)
				}
				if c.settle != nil {
					st := *c.settle
					st.Now = at(0)
					settle(t, s, d.Ticket, st)
				}
				for i, th := range c.then {
					a.Idempotency, a.Now = claim(th.hash), at(th.at)
					got := admit(t, s, a)
					if got.Verdict != th.verdict {
						t.Fatalf("then %d: %v, want %v", i, got.Verdict, th.verdict)
					}
					if got.Verdict == Replay && !reflect.DeepEqual(got.Record, c.record) {
						t.Errorf("replayed %+v, want %+v", got.Record, c.record)
					}
				}
				if got := usage(t, s, "acme", []Limit{limit}, at(time.Second)); got[0] != c.charged {
					t.Errorf("counter %d, want %d: a repeated request was charged", got[0], c.charged)
				}
			})
		})
	}

	t.Run("refused_creates_no_record", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			claim := &IdempotencyClaim{Key: "acme:order-2", BodyHash: hashA, TTL: time.Hour}
			full := Limit{Key: "rate:acme", Cost: 1, Max: 0, Window: time.Minute}
			if d := admit(t, s, Admission{Scope: "acme", Idempotency: claim, Limits: []Limit{full}, Charge: true, Now: at(0)}); d.Verdict != Refused {
				t.Fatalf("over the limit: %v", d.Verdict)
			}
			if d := admit(t, s, Admission{Scope: "acme", Idempotency: claim, Now: at(0)}); d.Verdict != Admitted {
				t.Errorf("after a refusal: %v, want admitted (no record)", d.Verdict)
			}
		})
	})
	t.Run("completed_without_a_record_still_replays", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			a := Admission{Scope: "acme", Idempotency: &IdempotencyClaim{Key: "acme:order-3", BodyHash: hashA, TTL: time.Hour}, Now: at(0)}
			d := admit(t, s, a)
			settle(t, s, d.Ticket, Settlement{Outcome: Completed, Now: at(0)})
			if d := admit(t, s, a); d.Verdict != Replay || d.Record == nil {
				t.Errorf("%v with record %v, want a replay of an empty record", d.Verdict, d.Record)
			}
		})
	})
}

// testStaleTicket: a ticket whose record was released and claimed anew
// must not settle the new claim.
func testStaleTicket(t *testing.T, hs []harness) {
	runSuite(t, hs, func(t *testing.T, s Store) {
		a := Admission{Scope: "acme", Idempotency: &IdempotencyClaim{Key: "acme:k", BodyHash: [32]byte{1}, TTL: time.Hour}, Now: at(0)}
		first := admit(t, s, a)
		settle(t, s, first.Ticket, Settlement{Outcome: Release, Now: at(0)})
		second := admit(t, s, a)
		if second.Verdict != Admitted {
			t.Fatalf("second claim: %v", second.Verdict)
		}
		settle(t, s, first.Ticket, Settlement{Outcome: Completed, Record: &Record{Status: 500}, Now: at(0)})
		if d := admit(t, s, a); d.Verdict != InProgress {
			t.Errorf("after a stale settle: %v, want in_progress (the second claim's)", d.Verdict)
		}
	})
}

func testPacing(t *testing.T, hs []harness) {
	type call struct {
		at    time.Duration
		ok    bool
		wait  time.Duration
		retry time.Duration
	}
	cases := []struct {
		name  string
		pace  Pace
		calls []call
	}{
		{"burst_then_queue_then_refuse", Pace{Key: "acct", Interval: 100 * time.Millisecond, Burst: 2, MaxWait: 250 * time.Millisecond}, []call{
			{at: 0, ok: true, wait: 0},
			{at: 0, ok: true, wait: 0},
			{at: 0, ok: true, wait: 100 * time.Millisecond},
			{at: 0, ok: true, wait: 200 * time.Millisecond},
			{at: 0, ok: false, retry: 50 * time.Millisecond},
			{at: 0, ok: false, retry: 50 * time.Millisecond}, // the refusal reserved nothing
			{at: 100 * time.Millisecond, ok: true, wait: 200 * time.Millisecond},
		}},
		{"idle_bucket_refills", Pace{Key: "acct", Interval: 100 * time.Millisecond, Burst: 2}, []call{
			{at: 0, ok: true},
			{at: 0, ok: true},
			{at: 0, ok: false, retry: 100 * time.Millisecond},
			{at: 10 * time.Second, ok: true},
			{at: 10 * time.Second, ok: true},
		}},
		{"retry_is_at_least_a_millisecond", Pace{Key: "acct", Interval: 100 * time.Microsecond, Burst: 1}, []call{
			{at: 0, ok: true},
			{at: 0, ok: false, retry: time.Millisecond},
		}},
		{"zero_interval_never_waits", Pace{Key: "acct"}, []call{
			{at: 0, ok: true}, {at: 0, ok: true}, {at: 0, ok: true},
		}},
		{"burst_below_one_is_one", Pace{Key: "acct", Interval: time.Second, Burst: 0, MaxWait: 2 * time.Second}, []call{
			{at: 0, ok: true, wait: 0},
			{at: 0, ok: true, wait: time.Second},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				for i, cl := range c.calls {
					wait, ok, retry, err := s.Reserve(context.Background(), c.pace, at(cl.at))
					if err != nil {
						t.Fatal(err)
					}
					if ok != cl.ok || wait != cl.wait || retry != cl.retry {
						t.Fatalf("call %d: ok %v, wait %v, retry %v; want %v, %v, %v", i, ok, wait, retry, cl.ok, cl.wait, cl.retry)
					}
				}
			})
		})
	}
}

func testSigningSeconds(t *testing.T, hs []harness) {
	type claim struct {
		key    string
		at     time.Duration
		second int64 // after base's second
		ok     bool
	}
	ahead, ttl := 2*time.Second, 10*time.Minute
	cases := []struct {
		name   string
		claims []claim
	}{
		{"collisions_move_to_the_next_second", []claim{
			{"k", 300 * time.Millisecond, 0, true},
			{"k", 400 * time.Millisecond, 1, true},
			{"k", 500 * time.Millisecond, 2, true},
			{"k", 600 * time.Millisecond, 0, false},
			{"other", 600 * time.Millisecond, 0, true},
			{"k", 1200 * time.Millisecond, 3, true},
		}},
		{"free_seconds_are_filled_first", []claim{
			{"k", time.Second, 1, true},
			{"k", 0, 0, true},
			{"k", 0, 2, true},
		}},
		{"claims_in_the_past_do_not_matter", []claim{
			{"k", 0, 0, true},
			{"k", 0, 1, true},
			{"k", 0, 2, true},
			{"k", 3 * time.Second, 3, true},
			{"k", 3 * time.Second, 4, true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				for i, cl := range c.claims {
					sec, ok, err := s.ClaimSecond(context.Background(), cl.key, at(cl.at), ahead, ttl)
					if err != nil {
						t.Fatal(err)
					}
					if ok != cl.ok || (ok && sec != base.Unix()+cl.second) {
						t.Fatalf("claim %d: second +%d, ok %v; want +%d, %v", i, sec-base.Unix(), ok, cl.second, cl.ok)
					}
				}
			})
		})
	}
}

func testMarkers(t *testing.T, hs []harness) {
	ctx := context.Background()
	runSuite(t, hs, func(t *testing.T, s Store) {
		claim := func(key string, want MarkerState) {
			t.Helper()
			got, err := s.ClaimMarker(ctx, key, time.Minute)
			if err != nil || got != want {
				t.Fatalf("ClaimMarker(%s) = %v, %v; want %v", key, got, err, want)
			}
		}
		claim("evt:1", MarkerNew)
		claim("evt:1", MarkerPending)
		if err := s.ConfirmMarker(ctx, "evt:1", 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		claim("evt:1", MarkerDone)
		if err := s.ReleaseMarker(ctx, "evt:1"); err != nil {
			t.Fatal(err)
		}
		claim("evt:1", MarkerDone) // a done marker is not released

		claim("evt:2", MarkerNew)
		if err := s.ReleaseMarker(ctx, "evt:2"); err != nil {
			t.Fatal(err)
		}
		claim("evt:2", MarkerNew) // a released marker may be claimed again
		if err := s.ReleaseMarker(ctx, "evt:never"); err != nil {
			t.Errorf("releasing an absent marker: %v", err)
		}
	})
}

func testInvalid(t *testing.T, hs []harness) {
	phone := "447700900123"
	ok := Limit{Key: "rate:acme", Cost: 1, Max: 1, Window: time.Minute}
	cases := []struct {
		name string
		a    Admission
		want string
	}{
		{"no_time", Admission{Scope: "acme"}, "no time"},
		{"no_scope", Admission{Limits: []Limit{ok}}, "no scope"},
		{"braces_in_scope", Admission{Scope: "a{b}", Limits: []Limit{ok}}, "braces"},
		{"negative_cost", Admission{Scope: "acme", Limits: []Limit{ok, {Key: "rcpt:+" + phone, Cost: -1, Max: 1, Window: time.Hour}}}, "limit 1 has a negative cost"},
		{"negative_window", Admission{Scope: "acme", Limits: []Limit{{Key: "rcpt:+" + phone, Cost: 1, Max: 1, Window: -time.Hour}}}, "limit 0 has a negative window"},
		{"tiny_window", Admission{Scope: "acme", Limits: []Limit{{Key: "rcpt:+" + phone, Cost: 1, Max: 1, Window: 10}}}, "shorter than"},
		{"no_key", Admission{Scope: "acme", Limits: []Limit{{Cost: 1, Max: 1}}}, "limit 0 has no key"},
		{"max_above_2^53-1", Admission{Scope: "acme", Limits: []Limit{ok, {Key: "budget", Cost: 1, Max: 1 << 53}}}, "limit 1 has a max above 2^53-1"},
		{"cost_above_2^53-1", Admission{Scope: "acme", Limits: []Limit{{Key: "budget", Cost: 1 << 53, Max: 1}}}, "limit 0 has a cost above 2^53-1"},
		{"period_and_window", Admission{Scope: "acme", Limits: []Limit{{Key: "budget", Cost: 1, Max: 1, Window: time.Minute, Period: Period{Name: "2099-12-05", Ends: future}}}}, "limit 0 has both a window and a period"},
		{"period_without_end", Admission{Scope: "acme", Limits: []Limit{{Key: "budget", Cost: 1, Max: 1, Period: Period{Name: "2099-12-05"}}}}, "limit 0 has a period without an end"},
		{"period_end_without_name", Admission{Scope: "acme", Limits: []Limit{{Key: "budget", Cost: 1, Max: 1, Period: Period{Ends: future}}}}, "limit 0 has a period end but no period name"},
		{"period_name_with_colon", Admission{Scope: "acme", Limits: []Limit{{Key: "budget", Cost: 1, Max: 1, Period: Period{Name: "2099-12:05", Ends: future}}}}, "limit 0 has a period name with a colon"},
		{"claim_without_ttl", Admission{Scope: "acme", Idempotency: &IdempotencyClaim{Key: "k"}}, "positive ttl"},
		{"claim_without_key", Admission{Scope: "acme", Idempotency: &IdempotencyClaim{TTL: time.Hour}}, "no key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSuite(t, hs, func(t *testing.T, s Store) {
				if c.name != "no_time" {
					c.a.Now = at(0)
				}
				_, err := s.Admit(context.Background(), c.a)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want one containing %q", err, c.want)
				}
				if errors.Is(err, ErrUnavailable) {
					t.Errorf("a bad admission reads as an unavailable store: %v", err)
				}
				if strings.Contains(err.Error(), phone) {
					t.Errorf("the error shows a phone number: %v", err)
				}
			})
		})
	}
	t.Run("foreign_ticket", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			other := NewMemory(MemoryOptions{})
			d := admit(t, other, Admission{Scope: "acme", Limits: []Limit{ok}, Charge: true, Now: at(0)})
			if err := s.Settle(context.Background(), d.Ticket, Settlement{Refund: true}); err == nil {
				t.Error("settled a ticket another store issued")
			}
		})
	})
}

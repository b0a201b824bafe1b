package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/redistest"
)

// TestFallbackSettleCosts: a settlement's Costs move the counters of the
// store that issued the ticket, and this process's own record of a shared
// ticket's key still gets its outcome when the shared store cannot be
// told.
func TestFallbackSettleCosts(t *testing.T) {
	ctx := context.Background()
	budget := []Limit{{Key: "budget:acme:day", Cost: 500, Max: 10_000, Period: day2099}}
	shared := &flakyShared{Store: NewMemory(MemoryOptions{})}
	local := NewMemory(MemoryOptions{})
	f := NewFallback(shared, local, FallbackOptions{ProbeInterval: time.Hour})
	defer f.Close()

	claim := &IdempotencyClaim{Key: "acme:k", BodyHash: [32]byte{1}, TTL: time.Hour}
	sent := admit(t, f, Admission{Scope: "acme", Idempotency: claim, Limits: budget, Charge: true, Now: future})
	settle(t, f, admit(t, f, Admission{Scope: "acme", Limits: budget, Charge: true, Now: future}).Ticket,
		Settlement{Costs: []int64{800}, Now: future})
	if got := usage(t, shared, "acme", budget, future); got[0] != 1300 {
		t.Errorf("shared counter %d, want 1300 (500 kept and 500 moved to 800)", got[0])
	}

	shared.down.Store(true)
	err := f.Settle(ctx, sent.Ticket, Settlement{Costs: []int64{700}, Outcome: Completed, Record: &Record{Status: 202}, Now: future})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("settling a shared ticket while down: %v, want ErrUnavailable", err)
	}
	if d := admit(t, f, Admission{Scope: "acme", Idempotency: claim, Limits: budget, Charge: true, Now: future}); d.Verdict != Replay {
		t.Errorf("a retry while down: %v, want the replay of the own record", d.Verdict)
	}

	d := admit(t, f, Admission{Scope: "acme", Limits: budget, Charge: true, Now: future}) // local: 10,000 for a fleet of one
	if d.Verdict != Admitted || d.Ticket.issuer != Store(local) {
		t.Fatalf("local admission: %v", d.Verdict)
	}
	shared.down.Store(false)
	f.markUp()
	settle(t, f, d.Ticket, Settlement{Costs: []int64{50}, Now: future})
	if got := usage(t, local, "acme", budget, future); got[0] != 50 {
		t.Errorf("local counter %d, want 50", got[0])
	}
	if got := usage(t, shared, "acme", budget, future); got[0] != 1300 {
		t.Errorf("shared counter %d, want 1300: a local ticket moved it", got[0])
	}
}

// TestFallbackSharedOnlyCalls: the calls only the shared store may answer
// fail with ErrUnavailable while it is down, in either mode, leave the
// local store alone, and count toward the outage.
func TestFallbackSharedOnlyCalls(t *testing.T) {
	ctx := context.Background()
	adjustment := []Adjustment{{Key: "budget:acme:day", Period: day2099, Delta: 100}}
	calls := []struct {
		name string
		call func(f *Fallback) error
	}{
		{"adjust", func(f *Fallback) error { _, err := f.Adjust(ctx, "acme", adjustment, future); return err }},
		{"attribute", func(f *Fallback) error {
			return f.Attribute(ctx, []Attribution{{MessageID: "api_1", Cost: 5}}, time.Hour)
		}},
		{"reconcile", func(f *Fallback) error { _, _, _, err := f.Reconcile(ctx, "api_1", 5); return err }},
	}
	for _, mode := range []OnError{OnErrorLocal, OnErrorRefuse} {
		t.Run(mode.String(), func(t *testing.T) {
			shared := &flakyShared{Store: NewMemory(MemoryOptions{})}
			local := NewMemory(MemoryOptions{})
			var ch outages
			f := NewFallback(shared, local, FallbackOptions{Mode: mode, ProbeInterval: time.Hour, OnOutage: ch.record})
			for _, c := range calls {
				if err := c.call(f); err != nil {
					t.Errorf("%s while up: %v", c.name, err)
				}
			}
			shared.down.Store(true)
			for i := range 2 { // the call that finds it down, and one after
				for _, c := range calls {
					if err := c.call(f); !errors.Is(err, ErrUnavailable) {
						t.Errorf("%s %d while down: %v, want ErrUnavailable", c.name, i, err)
					}
				}
			}
			if n := memorySize(local); n != 0 {
				t.Errorf("the local store holds %d entries: a shared-only call used it", n)
			}
			if st := f.Status(); st.Available || st.Failures != 1 {
				t.Errorf("status %+v, want down after 1 failure", st)
			}
			f.Close()
			if o := ch.last(t, 2, time.Second); o.Affected != int64(2*len(calls)) {
				t.Errorf("the outage affected %d calls, want %d", o.Affected, 2*len(calls))
			}
		})
	}
}

// TestFallbackSharedOnly: with Redis stopped, or not answering in time, a
// SharedOnly admission fails with ErrUnavailable in either mode instead
// of being decided in memory, as do Adjust, Attribute and Reconcile; the
// calls count toward the outage. Other admissions still follow the mode.
func TestFallbackSharedOnly(t *testing.T) {
	ctx := context.Background()
	budget := []Limit{{Key: "budget:acme:day", Cost: 100, Max: 1000, Period: day2099}}
	claim := &IdempotencyClaim{Key: "acme:k", BodyHash: [32]byte{1}, TTL: time.Hour}
	for _, mode := range []OnError{OnErrorLocal, OnErrorRefuse} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := redistest.Start(t)
			local := NewMemory(MemoryOptions{})
			var ch outages
			f := NewFallback(newRedis(t, RedisOptions{URL: srv.URL, Timeout: 200 * time.Millisecond}), local,
				FallbackOptions{Mode: mode, ProbeInterval: time.Hour, OnOutage: ch.record})
			admission := Admission{Scope: "acme", Limits: budget, Charge: true, SharedOnly: true, Now: future}
			if d := admit(t, f, admission); d.Verdict != Admitted {
				t.Fatalf("with Redis: %v", d.Verdict)
			}
			withClaim := admission
			withClaim.Idempotency = claim
			admit(t, f, withClaim) // in flight: this process keeps its own record of the key

			srv.Kill()
			affected := 0
			for i := range 2 { // the call that finds Redis gone, and one after
				for _, a := range []Admission{admission, withClaim} {
					affected++
					if d, err := f.Admit(ctx, a); !errors.Is(err, ErrUnavailable) {
						t.Errorf("%d: a SharedOnly admission with Redis stopped: %v %v, want ErrUnavailable", i, d.Verdict, err)
					}
				}
			}
			affected += 3
			if _, err := f.Adjust(ctx, "acme", []Adjustment{{Key: "budget:acme:day", Period: day2099, Delta: 1}}, future); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Adjust with Redis stopped: %v", err)
			}
			if err := f.Attribute(ctx, []Attribution{{MessageID: "api_1", Cost: 1}}, time.Hour); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Attribute with Redis stopped: %v", err)
			}
			if _, _, _, err := f.Reconcile(ctx, "api_1", 2); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Reconcile with Redis stopped: %v", err)
			}
			if got := usage(t, local, "acme", budget, future); got[0] != 0 {
				t.Errorf("the local budget counter holds %d: a SharedOnly admission was decided in memory", got[0])
			}
			// Without SharedOnly, the mode decides.
			affected++
			other := Admission{Scope: "acme", Limits: []Limit{{Key: "rate:acme", Cost: 1, Max: 10, Window: time.Minute}}, Charge: true, Now: future}
			_, err := f.Admit(ctx, other)
			if mode == OnErrorLocal && err != nil || mode == OnErrorRefuse && !errors.Is(err, ErrUnavailable) {
				t.Errorf("an admission without SharedOnly in mode %v: %v", mode, err)
			}
			if st := f.Status(); st.Available || st.Failures < 1 || st.Outages != 1 {
				t.Errorf("status %+v, want one outage", st)
			}
			f.Close()
			if o := ch.last(t, 2, time.Second); o.Affected != int64(affected) {
				t.Errorf("the outage affected %d calls, want %d", o.Affected, affected)
			}
		})
	}

	t.Run("not_answering", func(t *testing.T) {
		srv := redistest.Start(t)
		local := NewMemory(MemoryOptions{})
		f := NewFallback(newRedis(t, RedisOptions{URL: srv.URL, Timeout: 50 * time.Millisecond}), local, FallbackOptions{ProbeInterval: time.Hour})
		defer f.Close()
		admission := Admission{Scope: "acme", Limits: budget, Charge: true, SharedOnly: true, Now: future}
		admit(t, f, admission) // connected
		stalled := make(chan error, 1)
		go func() { _, err := srv.Do("DEBUG", "SLEEP", "0.5"); stalled <- err }()
		time.Sleep(50 * time.Millisecond) // the server is asleep
		if d, err := f.Admit(ctx, admission); !errors.Is(err, ErrUnavailable) {
			t.Errorf("a SharedOnly admission to a Redis that does not answer: %v %v, want ErrUnavailable", d.Verdict, err)
		}
		if err := <-stalled; err != nil {
			t.Fatal(err)
		}
		if got := usage(t, local, "acme", budget, future); got[0] != 0 {
			t.Errorf("the local budget counter holds %d", got[0])
		}
		if f.Status().Available {
			t.Error("the Fallback did not count the timeout as a failure")
		}
	})
}

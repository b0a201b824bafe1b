package store

import (
	"context"
	"errors"
	"testing"
	"time"
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

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

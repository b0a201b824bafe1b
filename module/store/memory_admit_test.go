package store

import (
	"context"
	"testing"
	"time"
)

// TestMemoryAdmitAllocatesNothing: in a store that has run a while (its
// maps and list of records have grown to their size), an admission that
// passes and its settlement allocate nothing, with an idempotency claim
// or without, given room for the ticket's charges and the values (#26).
func TestMemoryAdmitAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	answer := &Record{Status: 202, Body: []byte(`{"message_id":"api_42"}`)}
	for _, tc := range []struct {
		name    string
		claim   bool
		outcome Outcome
		bound   int
	}{
		{name: "no claim"},
		{name: "claim released", claim: true, outcome: Release, bound: 1 << 20},
		// Each claim drops the oldest completed record: the store stays
		// at its bound, as a sidecar that sends all day does.
		{name: "claim completed, records at their bound", claim: true, outcome: Completed, bound: 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory(MemoryOptions{})
			m.SetMaxRecords(tc.bound)
			keys := idempotencyKeys(1024)
			var charges [4]Charge
			var values [4]int64
			a := sendAdmission("", now)
			a.ChargeBuf, a.ValueBuf = charges[:0], values[:0]
			if !tc.claim {
				a.Idempotency = nil
			}
			i := 0
			send := func() {
				if tc.claim {
					a.Idempotency.Key = keys[i%len(keys)]
				}
				i++
				d, err := m.Admit(ctx, a)
				if err != nil || d.Verdict != Admitted || len(d.Values) != len(a.Limits) {
					t.Fatal(d.Verdict, d.Values, err)
				}
				if err := m.Settle(ctx, d.Ticket, Settlement{Outcome: tc.outcome, Record: answer, Now: now}); err != nil {
					t.Fatal(err)
				}
			}
			for range 4 * len(keys) { // the store runs a while
				send()
			}
			if allocs := testing.AllocsPerRun(10_000, send); allocs != 0 {
				t.Errorf("an admission and its settlement allocate %v times", allocs)
			}
		})
	}
}

// TestMemoryAdmitBuffers: an admission given room for its charges and
// values holds them there; given too little, it allocates them, leaving
// the buffers as they were.
func TestMemoryAdmitBuffers(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	var charges [3]Charge
	var values [3]int64
	values[2] = 42 // a value left by an earlier admission
	a := sendAdmission("k", at(0))
	a.Limits = append(a.Limits[:2:2], Limit{Key: "check-only", Max: 1}, a.Limits[2])
	a.ChargeBuf, a.ValueBuf = charges[:0], values[:0]
	if d := admit(t, m, a); cap(d.Ticket.Charges) != 3 || &d.Ticket.Charges[0] != &charges[0] || len(d.Values) != 4 || &d.Values[0] == &values[0] {
		t.Errorf("three charges and four values in room for three: charges in the buffer %v, values in it %v", cap(d.Ticket.Charges) == 3 && &d.Ticket.Charges[0] == &charges[0], &d.Values[0] == &values[0])
	}
	var more [4]int64
	more[2] = 42
	a.Idempotency.Key, a.ValueBuf = "k2", more[:0]
	d := admit(t, m, a)
	if &d.Values[0] != &more[0] || d.Values[2] != 0 {
		t.Errorf("values %v in the buffer %v; want the check-only limit's 0 in it", d.Values, &d.Values[0] == &more[0])
	}
	a.Idempotency.Key, a.ChargeBuf = "k3", charges[:0:2]
	if d := admit(t, m, a); len(d.Ticket.Charges) != 3 || &d.Ticket.Charges[0] == &charges[0] {
		t.Errorf("three charges in room for two: %d charges, in the buffer %v", len(d.Ticket.Charges), &d.Ticket.Charges[0] == &charges[0])
	}
}

package store

import (
	"context"
	"fmt"
	"time"
)

// Tallies are slotted counters: counts kept per slot (a step of time,
// numbered by the caller) under a key, shared by a fleet with Redis. The
// fraud signals count delivery reports and sends with them, per tenant
// and destination country.
type Tallies interface {
	// Tally applies each tally, in order and in one round trip: it adds
	// the tally's counts to its key's slots, drops the key's slots below
	// From (an add to such a slot is dropped with them), keeps the key
	// for TTL from now (every call refreshes it, a call that only reads
	// included), and returns, for each tally in order, the key's slots
	// after it, in ascending slot order. A slot whose count is 0 may be
	// left out. A tally without adds only reads (and still drops the
	// slots below From). A key listed twice reads, at its second place,
	// the adds of both. A key whose TTL has passed reads as empty.
	//
	// Each key is changed atomically; a call is not atomic across keys.
	Tally(ctx context.Context, tallies []Tally) ([][]SlotCount, error)
}

// Tally is one key's part of a Tally call.
type Tally struct {
	// Key names the counters, e.g. "dlr:acme:GB"; it must not be empty.
	Key string
	// Add are the counts to add, each at least 0 and at most 2^53−1,
	// to slots between −(2^53−1) and 2^53−1. A slot may appear more
	// than once.
	Add []SlotCount
	// From is the lowest slot kept: the slots below it are dropped.
	From int64
	// TTL is how long the key lives after this call; it must be
	// positive. Redis keeps it to the millisecond, rounded up.
	TTL time.Duration
}

// SlotCount is a slot's count.
type SlotCount struct{ Slot, Count int64 }

// validateTallies checks a Tally call. Its errors name tallies by
// position.
func validateTallies(tallies []Tally) error {
	for i := range tallies {
		t := &tallies[i]
		switch {
		case t.Key == "":
			return fmt.Errorf("tallying: tally %d has no key", i)
		case t.TTL <= 0:
			return fmt.Errorf("tallying: tally %d has a ttl that is not positive", i)
		case t.From < -maxExact || t.From > maxExact:
			return fmt.Errorf("tallying: tally %d has a from slot beyond ±(2^53-1)", i)
		}
		for _, a := range t.Add {
			switch {
			case a.Count < 0:
				return fmt.Errorf("tallying: tally %d has a negative count", i)
			case a.Count > maxExact:
				return fmt.Errorf("tallying: tally %d has a count above 2^53-1", i)
			case a.Slot < -maxExact || a.Slot > maxExact:
				return fmt.Errorf("tallying: tally %d has a slot beyond ±(2^53-1)", i)
			}
		}
	}
	return nil
}

package store

import (
	"context"
	"fmt"
)

// keepOwnRecord claims in the local store the idempotency record of an
// admission that the shared store admitted (a.Idempotency is set), and
// keeps the claim in the shared ticket t: should the shared store go down
// before the request is settled there, this process can still answer
// the key's retries. A key that already has a live local record is left
// as it is.
func (f *Fallback) keepOwnRecord(ctx context.Context, a Admission, t *Ticket) {
	own, err := f.local.Admit(ctx, Admission{Scope: a.Scope, Idempotency: a.Idempotency, Now: a.Now})
	if err == nil && own.Verdict == Admitted {
		t.own = own.Ticket.claim
	}
}

// ownRecord answers an admission with an idempotency claim while the
// shared store is down: from this process's own record of the key, or
// with an error wrapping ErrUnavailable when it has none. Nothing is
// claimed or charged.
func (f *Fallback) ownRecord(a Admission) (Decision, error) {
	if err := validateAdmission(&a); err != nil {
		return Decision{}, err
	}
	if d, ok := f.local.recorded(&a); ok {
		return d, nil
	}
	return Decision{}, fmt.Errorf("admitting: the key's idempotency record is in the shared store, which is %w", ErrUnavailable)
}

// settleOwnRecord settles this process's own record of a shared ticket's
// key, after the shared settlement, which returned sharedErr: the record
// is released if the shared store has the outcome, and otherwise given
// it. Charges are the shared store's: none is refunded or moved here.
func (f *Fallback) settleOwnRecord(t Ticket, s Settlement, sharedErr error) {
	if t.own == 0 {
		return
	}
	own := Ticket{Scope: t.Scope, Idempotency: t.Idempotency, issuer: f.local, claim: t.own}
	s.Refund, s.Costs = false, nil
	if sharedErr == nil {
		s = Settlement{Outcome: Release, Now: s.Now}
	}
	// A local settlement fails only when there is no memory for the
	// answer; the record then reads as unknown when its time is up.
	_ = f.local.Settle(context.Background(), own, s)
}

package store

import (
	"context"
	"fmt"
	"strconv"
)

// Settle runs the settlement script.
func (r *Redis) Settle(ctx context.Context, t Ticket, s Settlement) error {
	if err := validateCosts(&t, &s); err != nil {
		return err
	}
	moves := movesOf(&t, &s)
	if t.Idempotency == "" && moves == 0 {
		return nil
	}
	if t.issuer != Store(r) {
		return errForeignTicket
	}
	var outcome string
	switch s.Outcome {
	case Release:
		outcome = "release"
	case Completed:
		outcome = "completed"
	case Unknown:
		outcome = "unknown"
	default:
		return fmt.Errorf("settling: unknown outcome %d", s.Outcome)
	}
	var rec []byte
	if s.Outcome == Completed && t.Idempotency != "" {
		rec = recordOrEmpty(s.Record).appendJSON(nil)
	}
	keys := make([]string, 0, 1+moves)
	args := make([]any, 0, 6+2*moves)
	args = append(args, flag(moves > 0), flag(t.Idempotency != ""), outcome,
		strconv.FormatUint(t.claim, 10), millisOrZero(s.TTL), rec)
	if t.Idempotency != "" {
		keys = append(keys, r.scoped(t.Scope)+"i:"+t.Idempotency)
	}
	for i, c := range t.Charges {
		if delta := moveOf(&s, i, c); delta != 0 {
			keys = append(keys, c.Key)
			args = append(args, c.Field, delta)
		}
	}
	if _, err := r.run(ctx, r.settle, keys, args...); err != nil {
		return r.fail(ctx, "settling", err)
	}
	return nil
}

// moveOf is how far a settlement moves charge i of its ticket: back by
// its amount for a refund, to its final cost with Costs, or not at all.
func moveOf(s *Settlement, i int, c Charge) int64 {
	switch {
	case s.Refund:
		return -c.Amount
	case s.Costs != nil:
		return s.Costs[i] - c.Amount
	}
	return 0
}

// movesOf counts the charges a settlement moves.
func movesOf(t *Ticket, s *Settlement) int {
	n := 0
	for i, c := range t.Charges {
		if moveOf(s, i, c) != 0 {
			n++
		}
	}
	return n
}

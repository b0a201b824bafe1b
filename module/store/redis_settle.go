package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// Settle runs the settlement script.
func (r *Redis) Settle(ctx context.Context, t Ticket, s Settlement) error {
	refund := s.Refund && len(t.Charges) > 0
	if t.Idempotency == "" && !refund {
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
		var err error
		if rec, err = json.Marshal(recordOrEmpty(s.Record)); err != nil {
			return fmt.Errorf("settling: encoding the answer: %w", err)
		}
	}
	keys := make([]string, 0, 1+len(t.Charges))
	args := make([]any, 0, 6+2*len(t.Charges))
	args = append(args, flag(refund), flag(t.Idempotency != ""), outcome,
		strconv.FormatUint(t.claim, 10), millisOrZero(s.TTL), rec)
	if t.Idempotency != "" {
		keys = append(keys, r.scoped(t.Scope)+"i:"+t.Idempotency)
	}
	if refund {
		for _, c := range t.Charges {
			keys = append(keys, c.Key)
			args = append(args, c.Field, c.Amount)
		}
	}
	if _, err := r.run(ctx, r.settle, keys, args...); err != nil {
		return r.fail(ctx, "settling", err)
	}
	return nil
}

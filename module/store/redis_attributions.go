package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Attribute runs the attribution script for each attribution, pipelined
// (runEach): one key per message (each in its own slot), written and
// given its TTL atomically.
func (r *Redis) Attribute(ctx context.Context, attributions []Attribution, ttl time.Duration) error {
	if err := validateAttributions(attributions, ttl); err != nil {
		return err
	}
	if len(attributions) == 0 {
		return nil
	}
	ms := ceilMillis(ttl)
	calls := make([]scriptCall, len(attributions))
	for i := range attributions {
		a := &attributions[i]
		calls[i] = scriptCall{keys: []string{r.prefix + "att:" + a.MessageID}, args: []any{a.Data, a.Cost, ms}}
	}
	if _, err := r.runEach(ctx, r.attribute, calls); err != nil {
		return r.fail(ctx, "attributing", err)
	}
	return nil
}

// Reconcile runs the reconciliation script.
func (r *Redis) Reconcile(ctx context.Context, messageID string, cost int64) ([]byte, int64, bool, error) {
	if err := validateReconcile(messageID, cost); err != nil {
		return nil, 0, false, err
	}
	res, err := r.run(ctx, r.reconcile, []string{r.prefix + "att:" + messageID}, cost)
	if err != nil {
		return nil, 0, false, r.fail(ctx, "reconciling", err)
	}
	reply, ok := res.([]any)
	if !ok || len(reply) == 0 {
		return nil, 0, false, fmt.Errorf("reconciling: %w: unexpected script reply", ErrUnavailable)
	}
	if found, _ := reply[0].(int64); found == 0 {
		return nil, 0, false, nil
	}
	if len(reply) != 3 {
		return nil, 0, false, fmt.Errorf("reconciling: %w: unexpected script reply", ErrUnavailable)
	}
	data, ok1 := reply[1].(string)
	raw, ok2 := reply[2].(string)
	previous, err := strconv.ParseInt(raw, 10, 64)
	if !ok1 || !ok2 || err != nil {
		return nil, 0, false, fmt.Errorf("reconciling: %w: unexpected script reply", ErrUnavailable)
	}
	return []byte(data), previous, true, nil
}

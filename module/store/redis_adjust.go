package store

import (
	"context"
	"fmt"
	"time"
)

// Adjust runs the adjustment script on the adjustments whose period has
// not ended (the others read as 0 without a call).
func (r *Redis) Adjust(ctx context.Context, scope string, adjustments []Adjustment, now time.Time) ([]int64, error) {
	if err := validateAdjustments(scope, adjustments); err != nil {
		return nil, err
	}
	out := make([]int64, len(adjustments))
	base := r.scoped(scope)
	keys := make([]string, 0, len(adjustments))
	args := make([]any, 0, 2*len(adjustments))
	for i := range adjustments {
		if a := &adjustments[i]; !periodEnded(a.Period, now) {
			keys = append(keys, base+"p:"+a.Period.Name+":"+a.Key)
			args = append(args, a.Delta, a.Period.Ends.Add(periodLinger).UnixMilli())
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	res, err := r.run(ctx, r.adjust, keys, args...)
	if err != nil {
		return nil, r.fail(ctx, "adjusting", err)
	}
	reply, ok := res.([]any)
	if !ok || len(reply) != len(keys) {
		return nil, fmt.Errorf("adjusting: %w: unexpected script reply", ErrUnavailable)
	}
	j := 0
	for i := range adjustments {
		if !periodEnded(adjustments[i].Period, now) {
			out[i], _ = reply[j].(int64)
			j++
		}
	}
	return out, nil
}

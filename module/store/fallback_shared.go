package store

import (
	"context"
	"fmt"
	"time"
)

// Adjust adjusts the shared store's counters. It never adjusts the local
// store's: a budget adjusted in one sidecar's memory would be overspent
// by the fleet. While the shared store is down or does not answer, it
// fails with an error wrapping ErrUnavailable.
func (f *Fallback) Adjust(ctx context.Context, scope string, adjustments []Adjustment, now time.Time) ([]int64, error) {
	if err := validateAdjustments(scope, adjustments); err != nil {
		return nil, err
	}
	var err error
	if !f.down.Load() {
		var v []int64
		if v, err = f.shared.Adjust(ctx, scope, adjustments, now); !f.unavailable(err) {
			return v, err
		}
	}
	return nil, f.sharedUnavailable("adjusting", err)
}

// sharedUnavailable counts a call that only the shared store can answer,
// and that it did not answer, as affected by the outage, and returns its
// error: the shared store's, or one wrapping ErrUnavailable when the call
// did not try it (it is down).
func (f *Fallback) sharedUnavailable(doing string, err error) error {
	f.affected.Add(1)
	if err != nil {
		return err
	}
	return fmt.Errorf("%s: shared %w", doing, ErrUnavailable)
}

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

// Attribute remembers the attributions in the shared store only, where
// every sidecar of the fleet can reconcile their delivery reports. While
// it is down or does not answer, it fails with an error wrapping
// ErrUnavailable.
func (f *Fallback) Attribute(ctx context.Context, attributions []Attribution, ttl time.Duration) error {
	if err := validateAttributions(attributions, ttl); err != nil {
		return err
	}
	var err error
	if !f.down.Load() {
		if err = f.shared.Attribute(ctx, attributions, ttl); !f.unavailable(err) {
			return err
		}
	}
	return f.sharedUnavailable("attributing", err)
}

// Reconcile reconciles with the shared store only. While it is down or
// does not answer, it fails with an error wrapping ErrUnavailable.
func (f *Fallback) Reconcile(ctx context.Context, messageID string, cost int64) ([]byte, int64, bool, error) {
	if err := validateReconcile(messageID, cost); err != nil {
		return nil, 0, false, err
	}
	var err error
	if !f.down.Load() {
		var data []byte
		var previous int64
		var found bool
		if data, previous, found, err = f.shared.Reconcile(ctx, messageID, cost); !f.unavailable(err) {
			return data, previous, found, err
		}
	}
	return nil, 0, false, f.sharedUnavailable("reconciling", err)
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

package store

import (
	"context"
	"time"
)

// The fraud signals' tallies and holds go to the shared store while it
// answers and to the local one while it does not, in either Mode: a
// signal counted or a quarantine placed in one sidecar's memory errs on
// the side of sending less, and refusing it would lose it. While the
// shared store is down, a sidecar sees only its own tallies and holds;
// once it is back, only the shared ones (what was placed locally is not
// copied there).

// Tally tallies with the shared store, or the local one while it is
// down.
func (f *Fallback) Tally(ctx context.Context, tallies []Tally) ([][]SlotCount, error) {
	if !f.down.Load() {
		v, err := f.shared.Tally(ctx, tallies)
		if !f.unavailable(err) {
			return v, err
		}
	}
	f.affected.Add(1)
	return f.local.Tally(ctx, tallies)
}

// PlaceHold places with the shared store, or the local one while it is
// down.
func (f *Fallback) PlaceHold(ctx context.Context, key string, data []byte, now, until time.Time) (bool, error) {
	if !f.down.Load() {
		placed, err := f.shared.PlaceHold(ctx, key, data, now, until)
		if !f.unavailable(err) {
			return placed, err
		}
	}
	f.affected.Add(1)
	return f.local.PlaceHold(ctx, key, data, now, until)
}

// Holds lists the shared store's holds, or the local one's while it is
// down. Like Usage, it is a read: it does not count as affected by an
// outage.
func (f *Fallback) Holds(ctx context.Context, now time.Time) ([]Hold, error) {
	if !f.down.Load() {
		h, err := f.shared.Holds(ctx, now)
		if !f.unavailable(err) {
			return h, err
		}
	}
	return f.local.Holds(ctx, now)
}

// LiftHold lifts with the shared store, or the local one while it is
// down.
func (f *Fallback) LiftHold(ctx context.Context, key string, now time.Time) (bool, error) {
	if !f.down.Load() {
		lifted, err := f.shared.LiftHold(ctx, key, now)
		if !f.unavailable(err) {
			return lifted, err
		}
	}
	f.affected.Add(1)
	return f.local.LiftHold(ctx, key, now)
}

package store

import (
	"context"
	"errors"
	"time"
)

// Holds are keyed entries that end at a time: the quarantines of a
// tenant's destination country that a fleet shares. Times are kept to
// the millisecond (rounded down): an entry has ended at now when its
// Until, in Unix ms, is not after now's.
type Holds interface {
	// PlaceHold stores data under key until `until`, unless key holds an
	// entry that has not ended at now; placed reports whether it stored
	// it, so that exactly one of several callers racing to place a key
	// wins. An entry that has ended is replaced. Until must be after now.
	PlaceHold(ctx context.Context, key string, data []byte, now, until time.Time) (placed bool, err error)
	// Holds returns every entry that has not ended at now, in key order,
	// and deletes those that have.
	Holds(ctx context.Context, now time.Time) ([]Hold, error)
	// LiftHold deletes key's entry; lifted reports whether it had one
	// that had not ended at now.
	LiftHold(ctx context.Context, key string, now time.Time) (lifted bool, err error)
}

// Hold is an entry of Holds.
type Hold struct {
	Key   string    // the entry's key, e.g. "acme:NG"
	Data  []byte    // what the caller stored: the store only keeps it
	Until time.Time // when it ends (to the millisecond)
}

// validatePlaceHold checks a PlaceHold call.
func validatePlaceHold(key string, now, until time.Time) error {
	switch {
	case key == "":
		return errors.New("placing hold: no key")
	case now.IsZero():
		return errors.New("placing hold: no time")
	case until.UnixMilli() <= now.UnixMilli():
		return errors.New("placing hold: until must be after now")
	case until.UnixMilli() > maxExact:
		return errors.New("placing hold: until is too far away")
	}
	return nil
}

// validateLiftHold checks a LiftHold call.
func validateLiftHold(key string, now time.Time) error {
	switch {
	case key == "":
		return errors.New("lifting hold: no key")
	case now.IsZero():
		return errors.New("lifting hold: no time")
	}
	return nil
}

// validateHolds checks a Holds call.
func validateHolds(now time.Time) error {
	if now.IsZero() {
		return errors.New("listing holds: no time")
	}
	return nil
}

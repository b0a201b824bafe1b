package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// holdLinger is how long the holds' hash outlives the last of its holds,
// for the differences between the callers' clocks and Redis's.
const holdLinger = time.Minute

// holdsKey is the key of the holds' hash: one key, in one slot.
func (r *Redis) holdsKey() string { return r.tagged("h", "holds") }

// PlaceHold runs the hold-placing script.
func (r *Redis) PlaceHold(ctx context.Context, key string, data []byte, now, until time.Time) (bool, error) {
	if err := validatePlaceHold(key, now, until); err != nil {
		return false, err
	}
	res, err := r.run(ctx, r.placeHold, []string{r.holdsKey()},
		key, now.UnixMilli(), until.UnixMilli(), data, holdLinger.Milliseconds())
	if err != nil {
		return false, r.fail(ctx, "placing hold", err)
	}
	placed, ok := res.(int64)
	if !ok || placed < 0 || placed > 1 {
		return false, fmt.Errorf("placing hold: %w: unexpected script reply", ErrUnavailable)
	}
	return placed == 1, nil
}

// Holds runs the hold-listing script.
func (r *Redis) Holds(ctx context.Context, now time.Time) ([]Hold, error) {
	if err := validateHolds(now); err != nil {
		return nil, err
	}
	res, err := r.run(ctx, r.listHolds, []string{r.holdsKey()}, now.UnixMilli())
	if err != nil {
		return nil, r.fail(ctx, "listing holds", err)
	}
	flat, ok := res.([]any)
	if !ok || len(flat)%2 != 0 {
		return nil, fmt.Errorf("listing holds: %w: unexpected script reply", ErrUnavailable)
	}
	out := make([]Hold, 0, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		key, ok1 := flat[i].(string)
		value, ok2 := flat[i+1].(string)
		h, ok3 := parseHold(key, value)
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("listing holds: %w: unexpected script reply", ErrUnavailable)
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Hold) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// LiftHold runs the hold-lifting script.
func (r *Redis) LiftHold(ctx context.Context, key string, now time.Time) (bool, error) {
	if err := validateLiftHold(key, now); err != nil {
		return false, err
	}
	res, err := r.run(ctx, r.liftHold, []string{r.holdsKey()}, key, now.UnixMilli())
	if err != nil {
		return false, r.fail(ctx, "lifting hold", err)
	}
	lifted, ok := res.(int64)
	if !ok || lifted < 0 || lifted > 1 {
		return false, fmt.Errorf("lifting hold: %w: unexpected script reply", ErrUnavailable)
	}
	return lifted == 1, nil
}

// parseHold reads a hold's value in the hash: its end (Unix ms), a
// colon, its data.
func parseHold(key, value string) (Hold, bool) {
	until, data, ok := strings.Cut(value, ":")
	if !ok {
		return Hold{}, false
	}
	ms, err := strconv.ParseInt(until, 10, 64)
	if err != nil {
		return Hold{}, false
	}
	return Hold{Key: key, Data: []byte(data), Until: time.UnixMilli(ms)}, true
}

package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
)

// Tally runs the tally script for each tally, pipelined (runEach): one
// hash per key, each in its own slot, changed atomically. Adds of 0 and
// adds below From are not sent; slots and counts are sent as decimal
// text, which HINCRBY takes as it is.
func (r *Redis) Tally(ctx context.Context, tallies []Tally) ([][]SlotCount, error) {
	if err := validateTallies(tallies); err != nil {
		return nil, err
	}
	if len(tallies) == 0 {
		return [][]SlotCount{}, nil
	}
	calls := make([]scriptCall, len(tallies))
	for i := range tallies {
		t := &tallies[i]
		args := make([]any, 2, 2+2*len(t.Add))
		args[0], args[1] = strconv.FormatInt(t.From, 10), ceilMillis(t.TTL)
		for _, a := range t.Add {
			if a.Count > 0 && a.Slot >= t.From {
				args = append(args, strconv.FormatInt(a.Slot, 10), strconv.FormatInt(a.Count, 10))
			}
		}
		calls[i] = scriptCall{keys: []string{r.tagged("t", t.Key)}, args: args}
	}
	replies, err := r.runEach(ctx, r.tally, calls)
	if err != nil {
		return nil, r.fail(ctx, "tallying", err)
	}
	out := make([][]SlotCount, len(tallies))
	for i, reply := range replies {
		var ok bool
		if out[i], ok = slotCounts(reply); !ok {
			return nil, fmt.Errorf("tallying: %w: unexpected script reply", ErrUnavailable)
		}
	}
	return out, nil
}

// slotCounts reads the tally script's reply, {slot, count, ...} as
// text, in ascending slot order; ok is false if it is malformed.
func slotCounts(reply any) ([]SlotCount, bool) {
	flat, ok := reply.([]any)
	if !ok || len(flat)%2 != 0 {
		return nil, false
	}
	if len(flat) == 0 {
		return nil, true
	}
	out := make([]SlotCount, len(flat)/2)
	for i := range out {
		slot, ok1 := flat[2*i].(string)
		count, ok2 := flat[2*i+1].(string)
		if !ok1 || !ok2 {
			return nil, false
		}
		var err1, err2 error
		out[i].Slot, err1 = strconv.ParseInt(slot, 10, 64)
		out[i].Count, err2 = strconv.ParseInt(count, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, false
		}
	}
	slices.SortFunc(out, func(a, b SlotCount) int { return cmp.Compare(a.Slot, b.Slot) })
	return out, true
}

package store

import (
	"cmp"
	"context"
	"slices"
)

// defaultMaxTallies bounds the tally keys a Memory store keeps: one per
// tenant, destination country and signal in use. At 60 slots a key, some
// 1 KB each, that is about 50 MB. The slots of a key are bounded by its
// callers' From.
const defaultMaxTallies = 50_000

// memoryTally is a key's slots kept by a Memory store.
type memoryTally struct {
	slots   []SlotCount // in ascending slot order, none with a count of 0
	expires int64       // Unix ns, on the store's clock
	seq     uint64      // when it was last tallied, within the shard
}

// Tally applies each tally under the lock of its key's shard, on the
// store's clock.
//
// The store keeps at most 50,000 keys (defaultMaxTallies, shared evenly
// by the shards). A shard that is full when a new key is tallied drops
// its expired keys and, if that is not enough, those tallied least
// recently: a sixteenth of its share at once. A dropped key reads as
// empty.
func (m *Memory) Tally(_ context.Context, tallies []Tally) ([][]SlotCount, error) {
	if err := validateTallies(tallies); err != nil {
		return nil, err
	}
	now := m.clock().UnixNano()
	out := make([][]SlotCount, len(tallies))
	for i := range tallies {
		t := &tallies[i]
		s := m.shard(t.Key)
		s.mu.Lock()
		m.sweepClockedIfDue(s, now)
		out[i] = s.tally(t, now, m.maxTallies/memoryShards)
		s.mu.Unlock()
	}
	return out, nil
}

// tally applies t to its key and returns a copy of the key's slots. The
// caller holds the lock.
func (s *memoryShard) tally(t *Tally, now int64, limit int) []SlotCount {
	c, ok := s.tallies[t.Key]
	if ok && c.expires <= now {
		delete(s.tallies, t.Key) // expired, and not yet swept
		ok = false
	}
	if !ok {
		if !slices.ContainsFunc(t.Add, func(a SlotCount) bool { return a.Count > 0 && a.Slot >= t.From }) {
			return nil // nothing to keep
		}
		makeRoom(s.tallies, limit, now)
		c = &memoryTally{}
		s.tallies[t.Key] = c
	}
	for _, a := range t.Add {
		if a.Count == 0 || a.Slot < t.From {
			continue
		}
		if j, found := slotIndex(c.slots, a.Slot); found {
			c.slots[j].Count += a.Count
		} else {
			c.slots = slices.Insert(c.slots, j, a)
		}
	}
	j, _ := slotIndex(c.slots, t.From)
	c.slots = slices.Delete(c.slots, 0, j)
	if len(c.slots) == 0 {
		delete(s.tallies, t.Key)
		return nil
	}
	s.tallySeq++
	c.seq = s.tallySeq
	c.expires = now + int64(t.TTL)
	return slices.Clone(c.slots)
}

// age is when the tally expires, and when it was last tallied.
func (c *memoryTally) age() (expires int64, seq uint64) { return c.expires, c.seq }

// slotIndex is where slot is, or would be, in slots (ascending).
func slotIndex(slots []SlotCount, slot int64) (int, bool) {
	return slices.BinarySearchFunc(slots, slot, func(c SlotCount, slot int64) int { return cmp.Compare(c.Slot, slot) })
}

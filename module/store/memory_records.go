package store

import "sync"

// recordBound keeps a Memory store's idempotency records under a maximum
// count: when there are more, the oldest are dropped first, even before
// their TTL. Records are otherwise kept until their TTL, and a sidecar
// sending steadily with idempotency keys would hold a day of answers in
// memory (about a kibibyte each).
//
// It lists the records in the order they were created, across shards,
// as references that may be stale (the record was released, expired or
// claimed anew since). Only the oldest few are looked at, after each
// claim. A shard's lock may be held when the bound's is taken, never the
// other way round.
type recordBound struct {
	mu    sync.Mutex
	max   int64 // 0: no bound
	live  int64 // records in the shards
	order []recordRef
	head  int // order[head:] are the references still listed

	dropped uint64 // unexpired records dropped for the bound
}

// recordRef names a record as it was claimed.
type recordRef struct {
	scope, key string
	claim      uint64
}

// recordsLookedAt is how many of the oldest references a claim looks at
// when the store is under its bound, so that stale references never pile
// up for long.
const recordsLookedAt = 2

// SetMaxRecords bounds the idempotency records the store keeps; 0 or less
// removes the bound. A lower bound takes effect as records are claimed.
func (m *Memory) SetMaxRecords(n int) {
	m.bound.mu.Lock()
	m.bound.max = int64(max(n, 0))
	m.bound.mu.Unlock()
}

// RecordsDropped returns how many records were dropped before their TTL
// to stay under the bound.
func (m *Memory) RecordsDropped() uint64 {
	m.bound.mu.Lock()
	defer m.bound.mu.Unlock()
	return m.bound.dropped
}

// recordAdded counts a record that a shard gained; removed, one it lost.
// The caller holds the shard's lock (never the bound's).
func (m *Memory) recordAdded(ref recordRef) {
	b := &m.bound
	b.mu.Lock()
	b.live++
	if b.head > 0 && b.head >= len(b.order)/2 {
		b.order = append(b.order[:0], b.order[b.head:]...)
		b.head = 0
	}
	b.order = append(b.order, ref)
	b.mu.Unlock()
}

func (m *Memory) recordsRemoved(n int) {
	if n == 0 {
		return
	}
	m.bound.mu.Lock()
	m.bound.live -= int64(n)
	m.bound.mu.Unlock()
}

// trimRecords drops the oldest records while the store holds more than
// its bound, and forgets stale references at the head of the list. now
// is Unix ns. The caller holds no lock; a shard's lock is taken before the
// bound's, never after.
func (m *Memory) trimRecords(now int64) {
	for looked := 0; ; looked++ {
		b := &m.bound
		b.mu.Lock()
		over := b.max > 0 && b.live > b.max
		if b.head == len(b.order) || !over && looked >= recordsLookedAt {
			b.mu.Unlock()
			return
		}
		ref := b.order[b.head]
		b.mu.Unlock()

		s := m.shard(ref.scope)
		s.mu.Lock()
		k := scopedKey{ref.scope, ref.key}
		r, ok := s.records[k]
		current := ok && r.owner == ref.claim
		if current && !over && r.expires > now {
			s.mu.Unlock()
			return // the oldest record is live, and there is room
		}
		b.mu.Lock()
		if current {
			delete(s.records, k)
			b.live--
			if r.expires > now {
				b.dropped++
			}
		}
		if b.head < len(b.order) && b.order[b.head] == ref { // no other trim took it meanwhile
			b.order[b.head] = recordRef{}
			b.head++
		}
		b.mu.Unlock()
		s.mu.Unlock()
	}
}

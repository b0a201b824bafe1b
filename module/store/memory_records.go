package store

import (
	"container/list"
	"sync"
)

// recordBound keeps a Memory store's idempotency records under a maximum
// count. Records are otherwise kept until their TTL, and a sidecar sending
// steadily with idempotency keys would hold a day of answers in memory
// (about a kibibyte each).
//
// It lists every record held, oldest first, across shards; a record
// leaves the list when it leaves its shard (released, expired, replaced or
// dropped), so the list is exactly the records held. When there are more
// than the maximum, the oldest completed records are dropped first, even
// before their TTL. Records in flight or of unknown outcome are never
// dropped: their keys are what stands between a blind retry and a second
// SMS. A shard's lock may be held when the bound's is taken, never the
// other way round.
type recordBound struct {
	mu      sync.Mutex
	max     int        // 0: no bound
	order   *list.List // of recordRef, oldest first
	dropped uint64     // completed records dropped for the bound
}

// recordRef names a record as it was claimed.
type recordRef struct {
	scope, key string
	claim      uint64
}

// maxSkipped bounds how many records that may not be dropped (in flight,
// or of unknown outcome) one trim moves aside before it gives up: the
// store may then hold more than its bound until they settle.
const maxSkipped = 16

// SetMaxRecords bounds the idempotency records the store keeps; 0 or less
// removes the bound. A lower bound takes effect as records are claimed.
func (m *Memory) SetMaxRecords(n int) {
	m.bound.mu.Lock()
	m.bound.max = max(n, 0)
	m.bound.mu.Unlock()
}

// RecordsDropped returns how many completed records were dropped before
// their TTL to stay under the bound.
func (m *Memory) RecordsDropped() uint64 {
	m.bound.mu.Lock()
	defer m.bound.mu.Unlock()
	return m.bound.dropped
}

// listRecord adds a record to the list; the caller holds its shard's lock
// and keeps the element in the record.
func (m *Memory) listRecord(ref recordRef) *list.Element {
	m.bound.mu.Lock()
	defer m.bound.mu.Unlock()
	return m.bound.order.PushBack(ref)
}

// unlistRecords takes records that left their shard off the list; the
// caller holds the shard's lock.
func (m *Memory) unlistRecords(elems ...*list.Element) {
	if len(elems) == 0 {
		return
	}
	m.bound.mu.Lock()
	defer m.bound.mu.Unlock()
	for _, e := range elems {
		m.bound.order.Remove(e) // a no-op for an element already removed
	}
}

// trimRecords drops the oldest completed records while the store holds
// more than its bound. The caller holds no lock.
func (m *Memory) trimRecords() {
	b := &m.bound
	for skipped := 0; skipped < maxSkipped; {
		b.mu.Lock()
		front := b.order.Front()
		if b.max == 0 || b.order.Len() <= b.max || front == nil {
			b.mu.Unlock()
			return
		}
		ref := front.Value.(recordRef)
		b.mu.Unlock()

		s := m.shard(ref.scope)
		s.mu.Lock()
		k := scopedKey{ref.scope, ref.key}
		r, ok := s.records[k]
		held := ok && r.elem == front
		b.mu.Lock()
		switch {
		case !held:
			// Released, expired or replaced meanwhile: already off the
			// list (removing it again is harmless).
			b.order.Remove(front)
		case b.order.Len() <= b.max:
			// Another trim or a release made room meanwhile.
		case r.state != recordCompleted:
			b.order.MoveToBack(front)
			skipped++
		default:
			delete(s.records, k)
			b.order.Remove(front)
			b.dropped++
		}
		b.mu.Unlock()
		s.mu.Unlock()
	}
}

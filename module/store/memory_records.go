package store

import "sync"

// recordBound keeps a Memory store's idempotency records under a maximum
// count. Records are otherwise kept until their TTL, and a sidecar sending
// steadily with idempotency keys would hold a day of answers in memory
// (about 400 bytes each, with a send's answer).
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
	order   recordList // oldest first
	dropped uint64     // completed records dropped for the bound
}

// recordRef names a record as it was claimed.
type recordRef struct {
	scope, key string
	claim      uint64
}

// recordList is a doubly linked list of recordRefs whose nodes live in
// one slice, linked by index, with a free list of the nodes not in use:
// listing a record allocates nothing once the slice has grown to the most
// records held (as the shards' maps keep their size), where
// container/list allocated an element and boxed the ref for every claim.
// A record keeps the index of its node; the node's claim tells whether it
// is still that record's (claims are never reused), so that taking a
// record off twice, or after its node went to another, is harmless.
type recordList struct {
	nodes      []recordNode
	head, tail int32 // the oldest and newest nodes; noNode when empty
	free       int32 // the first node not in use, linked by next; noNode when none
	len        int
}

// recordNode is a node of a recordList. A node not in use has a zero ref
// (claims start at 1), so that it keeps no scope or key alive.
type recordNode struct {
	ref        recordRef
	prev, next int32
}

// noNode is the index of no node.
const noNode int32 = -1

// Len returns how many records are listed.
func (l *recordList) Len() int { return l.len }

// init makes l an empty list.
func (l *recordList) init() {
	l.head, l.tail, l.free = noNode, noNode, noNode
}

// pushBack lists ref as the newest record and returns its node.
func (l *recordList) pushBack(ref recordRef) int32 {
	i := l.free
	if i != noNode {
		l.free = l.nodes[i].next
	} else {
		i = int32(len(l.nodes))
		l.nodes = append(l.nodes, recordNode{})
	}
	l.nodes[i] = recordNode{ref: ref, prev: l.tail, next: noNode}
	l.link(i)
	l.len++
	return i
}

// link links node i at the back; its prev is the tail already.
func (l *recordList) link(i int32) {
	if l.tail != noNode {
		l.nodes[l.tail].next = i
	} else {
		l.head = i
	}
	l.tail = i
}

// unlink takes node i out of the order, keeping it in use.
func (l *recordList) unlink(i int32) {
	n := &l.nodes[i]
	if n.prev != noNode {
		l.nodes[n.prev].next = n.next
	} else {
		l.head = n.next
	}
	if n.next != noNode {
		l.nodes[n.next].prev = n.prev
	} else {
		l.tail = n.prev
	}
}

// holds reports whether node i lists the record of claim.
func (l *recordList) holds(i int32, claim uint64) bool {
	return i >= 0 && int(i) < len(l.nodes) && l.nodes[i].ref.claim == claim && claim != 0
}

// remove takes the record of claim, listed at node i, off the list; a
// no-op if node i no longer lists it.
func (l *recordList) remove(i int32, claim uint64) {
	if !l.holds(i, claim) {
		return
	}
	l.unlink(i)
	l.nodes[i] = recordNode{next: l.free}
	l.free = i
	l.len--
}

// moveToBack makes the record listed at node i the newest.
func (l *recordList) moveToBack(i int32) {
	if l.tail == i {
		return
	}
	l.unlink(i)
	l.nodes[i].prev, l.nodes[i].next = l.tail, noNode
	l.link(i)
}

// front returns the oldest record and its node; ok is false when the
// list is empty.
func (l *recordList) front() (ref recordRef, i int32, ok bool) {
	if l.head == noNode {
		return recordRef{}, noNode, false
	}
	return l.nodes[l.head].ref, l.head, true
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
// and keeps the node in the record.
func (m *Memory) listRecord(ref recordRef) int32 {
	m.bound.mu.Lock()
	defer m.bound.mu.Unlock()
	return m.bound.order.pushBack(ref)
}

// unlistRecord takes a record that left its shard off the list; the
// caller holds the shard's lock.
func (m *Memory) unlistRecord(r *memoryRecord) {
	m.bound.mu.Lock()
	m.bound.order.remove(r.node, r.owner)
	m.bound.mu.Unlock()
}

// trimRecords drops the oldest completed records while the store holds
// more than its bound. The caller holds no lock.
func (m *Memory) trimRecords() {
	b := &m.bound
	for skipped := 0; skipped < maxSkipped; {
		b.mu.Lock()
		ref, front, ok := b.order.front()
		if b.max == 0 || b.order.Len() <= b.max || !ok {
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()

		s := m.shard(ref.scope)
		s.mu.Lock()
		k := scopedKey{ref.scope, ref.key}
		r, ok := s.records[k]
		held := ok && r.owner == ref.claim
		b.mu.Lock()
		switch {
		case !held:
			// Released, expired or replaced meanwhile: already off the
			// list (removing it again is harmless).
			b.order.remove(front, ref.claim)
		case b.order.Len() <= b.max:
			// Another trim or a release made room meanwhile.
		case r.state != recordCompleted:
			b.order.moveToBack(r.node)
			skipped++
		default:
			delete(s.records, k)
			b.order.remove(r.node, r.owner)
			b.dropped++
		}
		b.mu.Unlock()
		s.mu.Unlock()
	}
}

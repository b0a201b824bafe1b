package store

import (
	"sync"
	"unsafe"
)

// recordBound keeps a Memory store's idempotency records under a maximum
// count. Records are otherwise kept until their TTL, and a sidecar sending
// steadily with idempotency keys would hold a day of answers in memory
// (about 300 bytes each, with a send's answer; see recordTable).
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
	max     int         // 0: no bound
	order   *recordList // oldest first; in the store's mappedRecords
	dropped uint64      // completed records dropped for the bound
}

// mappedRecords is what a Memory store keeps of its idempotency records
// in mapped memory: each shard's table, and the list of them all.
type mappedRecords struct {
	tables [memoryShards]recordTable // shard i's, under its lock
	order  recordList                // under the bound's lock
}

// release gives the records' memory back to the OS, once the store that
// kept them is gone.
func (r *mappedRecords) release() {
	for i := range r.tables {
		r.tables[i].release()
	}
	r.order.nodes.release()
}

// recordRef names a record as it was claimed: its shard and tag, and the
// claim that created it (claims are never reused).
type recordRef struct {
	tag   uint64
	claim uint64
	shard uint32
}

// recordList is a doubly linked list of recordRefs whose nodes live in
// one slice of mapped memory (as the records do; see recordTable), linked
// by index, with a free list of the nodes not in use: listing a record
// allocates nothing once the slice has grown to the most records held.
// A record keeps the index of its node; the node's claim tells whether it
// is still that record's (claims are never reused), so that taking a
// record off twice, or after its node went to another, is harmless.
type recordList struct {
	nodes      mappedSlice[recordNode]
	made       int32 // nodes made: in use or free
	head, tail int32 // the oldest and newest nodes; noNode when empty
	free       int32 // the first node not in use, linked by next; noNode when none
	len        int
}

// recordNode is a node of a recordList. A node not in use has a zero ref
// (claims start at 1).
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
func (l *recordList) pushBack(ref recordRef) (int32, error) {
	i := l.free
	if i != noNode {
		l.free = l.nodes.items[i].next
	} else {
		if err := l.nodes.grow(max(int(l.made)+1, 1024)); err != nil {
			return noNode, err
		}
		i = l.made
		l.made++
	}
	l.nodes.items[i] = recordNode{ref: ref, prev: l.tail, next: noNode}
	l.link(i)
	l.len++
	return i, nil
}

// link links node i at the back; its prev is the tail already.
func (l *recordList) link(i int32) {
	if l.tail != noNode {
		l.nodes.items[l.tail].next = i
	} else {
		l.head = i
	}
	l.tail = i
}

// unlink takes node i out of the order, keeping it in use.
func (l *recordList) unlink(i int32) {
	n := &l.nodes.items[i]
	if n.prev != noNode {
		l.nodes.items[n.prev].next = n.next
	} else {
		l.head = n.next
	}
	if n.next != noNode {
		l.nodes.items[n.next].prev = n.prev
	} else {
		l.tail = n.prev
	}
}

// holds reports whether node i lists the record of claim.
func (l *recordList) holds(i int32, claim uint64) bool {
	return i >= 0 && i < l.made && l.nodes.items[i].ref.claim == claim && claim != 0
}

// remove takes the record of claim, listed at node i, off the list; a
// no-op if node i no longer lists it.
func (l *recordList) remove(i int32, claim uint64) {
	if !l.holds(i, claim) {
		return
	}
	l.unlink(i)
	l.nodes.items[i] = recordNode{next: l.free}
	l.free = i
	l.len--
}

// moveToBack makes the record listed at node i the newest.
func (l *recordList) moveToBack(i int32) {
	if l.tail == i {
		return
	}
	l.unlink(i)
	l.nodes.items[i].prev, l.nodes.items[i].next = l.tail, noNode
	l.link(i)
}

// front returns the oldest record and its node; ok is false when the
// list is empty.
func (l *recordList) front() (ref recordRef, i int32, ok bool) {
	if l.head == noNode {
		return recordRef{}, noNode, false
	}
	return l.nodes.items[l.head].ref, l.head, true
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

// RecordBytes returns how much of the memory the store maps for its
// idempotency records, outside the Go heap, can be resident: the records'
// tables, their list, and the chunks carved for them (in use, or free for
// the next records).
func (m *Memory) RecordBytes() int {
	m.bound.mu.Lock()
	n := int(m.bound.order.made) * int(unsafe.Sizeof(recordNode{}))
	m.bound.mu.Unlock()
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.records.slots.mem) + s.records.arena.held
		s.mu.Unlock()
	}
	return n
}

// listRecord adds a record to the list; the caller holds its shard's lock
// and keeps the node in the record.
func (m *Memory) listRecord(ref recordRef) (int32, error) {
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

		s := &m.shards[ref.shard]
		s.mu.Lock()
		i := s.records.findClaim(ref.tag, ref.claim)
		b.mu.Lock()
		switch {
		case i < 0:
			// Released, expired or replaced meanwhile: already off the
			// list (removing it again is harmless).
			b.order.remove(front, ref.claim)
		case b.order.Len() <= b.max:
			// Another trim or a release made room meanwhile.
		case s.records.at(i).state != recordCompleted:
			b.order.moveToBack(front)
			skipped++
		default:
			b.order.remove(front, ref.claim)
			s.records.remove(i)
			b.dropped++
		}
		b.mu.Unlock()
		s.mu.Unlock()
	}
}

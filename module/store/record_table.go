package store

import (
	"hash/maphash"
	"math/bits"
	"unsafe"
)

// memoryRecord is an idempotency record of a Memory store, as the head of
// its chunk in its shard's recordTable: in mapped memory, so it holds no
// pointers. Its scope and key follow it in the chunk, then, once the send
// completed, the answer's Content-Type and body.
type memoryRecord struct {
	hash     [32]byte
	owner    uint64 // the claim that created it; only it can settle it
	started  int64  // Unix ns of the claim
	expires  int64  // Unix ns
	node     int32  // in the store's list of records (see recordBound)
	status   int32  // the answer's
	scopeLen uint32
	keyLen   uint32
	typeLen  uint32
	bodyLen  uint32
	state    recordState
}

// recordHeadSize is the size of a memoryRecord at the head of its chunk.
const recordHeadSize = int(unsafe.Sizeof(memoryRecord{}))

// recordState is where an idempotency record stands.
type recordState uint8

const (
	recordInFlight recordState = iota
	recordCompleted
	recordUnknown
)

// recordSlot is a slot of a recordTable: a record's tag and its chunk.
type recordSlot struct {
	tag   uint64 // recordTag of its scope and key; emptySlot or deletedSlot for no record
	chunk arenaRef
}

// Tags of slots without a record: a recordTag is neither.
const (
	emptySlot   uint64 = 0 // no record since the table was built: a probe ends here
	deletedSlot uint64 = 1 // its record left: a probe goes on past it
)

// minRecordSlots is the fewest slots a recordTable has once it holds a
// record.
const minRecordSlots = 64

// recordTable is a shard's idempotency records: an open-addressing hash
// table (linear probing, deleted slots marked) in mapped memory, over an
// arena that holds each record in one chunk. None of it is on the Go
// heap, where 100,000 records would take 36 MB and, with the collector's
// headroom, as much again. A *memoryRecord from at is valid until the
// table's next insert, remove, keep or sweep. Not safe for concurrent
// use: its shard's lock guards it.
type recordTable struct {
	slots mappedSlice[recordSlot] // a power of two of them, or none
	live  int                     // records held
	used  int                     // slots not empty: records held and deleted
	arena recordArena
}

// recordTag hashes a record's scope and key, never to emptySlot or
// deletedSlot.
func recordTag(seed maphash.Seed, scope, key string) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(scope)
	h.WriteByte(0)
	h.WriteString(key)
	return max(h.Sum64(), deletedSlot+1)
}

// at returns the record in slot i.
func (t *recordTable) at(i int) *memoryRecord {
	return (*memoryRecord)(unsafe.Pointer(unsafe.SliceData(t.arena.chunk(t.slots.items[i].chunk, recordHeadSize))))
}

// find returns the slot of the record of scope and key, tagged tag, or
// -1.
func (t *recordTable) find(tag uint64, scope, key string) int {
	return t.probe(tag, func(r *memoryRecord, b []byte) bool {
		return int(r.scopeLen) == len(scope) && int(r.keyLen) == len(key) &&
			string(b[:len(scope)]) == scope && string(b[len(scope):len(scope)+len(key)]) == key
	})
}

// findClaim returns the slot of the record tagged tag that claim
// created, or -1.
func (t *recordTable) findClaim(tag, claim uint64) int {
	return t.probe(tag, func(r *memoryRecord, _ []byte) bool { return r.owner == claim })
}

// probe returns the slot of the first record tagged tag that is the one
// sought (given the record and what follows it in its chunk), or -1.
func (t *recordTable) probe(tag uint64, sought func(*memoryRecord, []byte) bool) int {
	slots := t.slots.items
	mask := uint64(len(slots) - 1)
	for i := tag & mask; len(slots) > 0; i = (i + 1) & mask {
		switch slots[i].tag {
		case emptySlot:
			return -1
		case tag:
			r := t.at(int(i))
			if sought(r, t.arena.chunk(slots[i].chunk, recordHeadSize+r.size())[recordHeadSize:]) {
				return int(i)
			}
		}
	}
	return -1
}

// size is how many bytes follow r in its chunk.
func (r *memoryRecord) size() int {
	return int(r.scopeLen) + int(r.keyLen) + int(r.typeLen) + int(r.bodyLen)
}

// insert adds r as the record of scope and key, tagged tag, which the
// table does not hold.
func (t *recordTable) insert(tag uint64, scope, key string, r memoryRecord) error {
	if (t.used+1)*4 > len(t.slots.items)*3 {
		if err := t.rebuild(t.live + 1); err != nil {
			return err
		}
	}
	r.scopeLen, r.keyLen, r.typeLen, r.bodyLen = uint32(len(scope)), uint32(len(key)), 0, 0
	ref, b, err := t.arena.alloc(recordHeadSize + r.size())
	if err != nil {
		return err
	}
	*(*memoryRecord)(unsafe.Pointer(unsafe.SliceData(b))) = r
	copy(b[recordHeadSize+copy(b[recordHeadSize:], scope):], key)
	i := t.vacancy(tag)
	if t.slots.items[i].tag == emptySlot {
		t.used++
	}
	t.slots.items[i] = recordSlot{tag: tag, chunk: ref}
	t.live++
	return nil
}

// vacancy returns the first slot without a record on tag's probe.
func (t *recordTable) vacancy(tag uint64) int {
	slots := t.slots.items
	mask := uint64(len(slots) - 1)
	i := tag & mask
	for slots[i].tag > deletedSlot {
		i = (i + 1) & mask
	}
	return int(i)
}

// rebuild moves the records to a new table sized for n records at most
// half full, dropping the deleted slots.
func (t *recordTable) rebuild(n int) error {
	size := max(minRecordSlots, 1<<bits.Len(uint(2*n-1)))
	next, err := makeMappedSlice[recordSlot](size)
	if err != nil {
		return err
	}
	old := t.slots
	t.slots = next
	for _, s := range old.items {
		if s.tag > deletedSlot {
			t.slots.items[t.vacancy(s.tag)] = s
		}
	}
	old.release()
	t.used = t.live
	return nil
}

// remove deletes the record in slot i.
func (t *recordTable) remove(i int) {
	slots := t.slots.items
	t.arena.free(slots[i].chunk)
	if slots[(i+1)&(len(slots)-1)].tag == emptySlot {
		// No probe goes on past i: it ends here as well.
		slots[i] = recordSlot{tag: emptySlot}
		t.used--
	} else {
		slots[i] = recordSlot{tag: deletedSlot}
	}
	t.live--
}

// keep stores rec as the answer of the record in slot i, replacing any it
// had: the record moves to a chunk with room for it.
func (t *recordTable) keep(i int, rec *Record) error {
	old := t.slots.items[i].chunk
	r := t.at(i)
	n := recordHeadSize + int(r.scopeLen) + int(r.keyLen)
	ref, b, err := t.arena.alloc(n + len(rec.ContentType) + len(rec.Body))
	if err != nil {
		return err
	}
	copy(b, t.arena.chunk(old, n))
	copy(b[n+copy(b[n:], rec.ContentType):], rec.Body)
	t.arena.free(old)
	t.slots.items[i].chunk = ref
	r = t.at(i)
	r.status, r.typeLen, r.bodyLen = int32(rec.Status), uint32(len(rec.ContentType)), uint32(len(rec.Body))
	return nil
}

// record returns a copy of the answer of the record in slot i, on the Go
// heap, for a replay.
func (t *recordTable) record(i int) *Record {
	r := t.at(i)
	rec := &Record{Status: int(r.status)}
	b := t.arena.chunk(t.slots.items[i].chunk, recordHeadSize+r.size())[recordHeadSize+int(r.scopeLen)+int(r.keyLen):]
	rec.ContentType = string(b[:r.typeLen])
	if r.bodyLen > 0 {
		rec.Body = append([]byte(nil), b[r.typeLen:]...)
	}
	return rec
}

// sweep removes the records expired at now (Unix ns), calling gone with
// each first. A table left with none gives its memory back; one left
// mostly empty moves to a smaller table.
func (t *recordTable) sweep(now int64, gone func(*memoryRecord)) {
	for i := range t.slots.items {
		if t.slots.items[i].tag > deletedSlot {
			if r := t.at(i); r.expires <= now {
				gone(r)
				t.remove(i)
			}
		}
	}
	switch {
	case t.live == 0:
		t.release()
	case t.live < len(t.slots.items)/8:
		_ = t.rebuild(t.live) // on failure, the table as it is serves on
	}
}

// release gives the table's memory back and empties it.
func (t *recordTable) release() {
	t.slots.release()
	t.arena.release()
	t.live, t.used = 0, 0
}

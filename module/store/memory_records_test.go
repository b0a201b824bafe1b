package store

import (
	"container/list"
	"context"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync"
	"testing"
	"time"
)

// claimAndComplete admits an idempotent send with key in scope at now and
// completes it, as a send restlink answered.
func claimAndComplete(t *testing.T, m *Memory, scope, key string, now time.Time) Decision {
	t.Helper()
	d := admit(t, m, Admission{Scope: scope, Idempotency: &IdempotencyClaim{Key: key, BodyHash: [32]byte{1}, TTL: time.Hour}, Now: now})
	if d.Verdict == Admitted {
		if err := m.Settle(context.Background(), d.Ticket, Settlement{Outcome: Completed, Record: &Record{Status: 200}, TTL: time.Hour, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// records counts the records in the shards.
func records(m *Memory) int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.records.live
		s.mu.Unlock()
	}
	return n
}

// TestMemoryRecordsBounded: with a bound, the store keeps the newest
// records and drops the oldest first, whether one tenant or many send.
func TestMemoryRecordsBounded(t *testing.T) {
	for _, scopes := range []int{1, 50} {
		m := NewMemory(MemoryOptions{})
		m.SetMaxRecords(100)
		for i := range 1000 {
			scope := "tenant" + strconv.Itoa(i%scopes)
			claimAndComplete(t, m, scope, "k"+strconv.Itoa(i), at(time.Duration(i)*time.Millisecond))
		}
		if n := records(m); n != 100 {
			t.Errorf("%d scopes: %d records kept, want the bound, 100", scopes, n)
		}
		if n := m.RecordsDropped(); n != 900 {
			t.Errorf("%d scopes: %d records dropped, want 900", scopes, n)
		}
		now := at(time.Second)
		for _, i := range []int{999, 950, 900} {
			if d := claimAndComplete(t, m, "tenant"+strconv.Itoa(i%scopes), "k"+strconv.Itoa(i), now); d.Verdict != Replay {
				t.Errorf("%d scopes: a retry of recent key %d: %v, want a replay", scopes, i, d.Verdict)
			}
		}
		if d := claimAndComplete(t, m, "tenant0", "k0", now); d.Verdict != Admitted {
			t.Errorf("%d scopes: the oldest key: %v, want it dropped (admitted anew)", scopes, d.Verdict)
		}
	}
}

// TestMemoryRecordsListIsTheRecords: records released, expired or
// replaced leave the list with their shard, so that the list never holds
// more than the records held, even behind a long-lived oldest record.
func TestMemoryRecordsListIsTheRecords(t *testing.T) {
	m := NewMemory(MemoryOptions{SweepInterval: time.Second})
	m.SetMaxRecords(1_000_000)
	ctx := context.Background()
	claimAndComplete(t, m, "acme", "kept-a-day", at(0)) // the oldest, live all along
	for i := range 20_000 {
		now := at(time.Duration(i) * time.Millisecond)
		key := "k" + strconv.Itoa(i%5000) // keys come back: expired records are replaced
		d := admit(t, m, Admission{Scope: "acme", Idempotency: &IdempotencyClaim{Key: key, TTL: time.Hour}, Now: now})
		if d.Verdict != Admitted {
			continue
		}
		outcome, ttl := Release, time.Duration(0)
		if i%2 == 0 {
			outcome, ttl = Completed, 10*time.Millisecond // expires soon
		}
		if err := m.Settle(ctx, d.Ticket, Settlement{Outcome: outcome, TTL: ttl, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	m.bound.mu.Lock()
	listed := m.bound.order.Len()
	m.bound.mu.Unlock()
	if held := records(m); listed != held {
		t.Errorf("%d records listed, %d held", listed, held)
	}
	if listed > 5001 {
		t.Errorf("%d records listed after 20,000 claims over 5,000 keys", listed)
	}
	if m.RecordsDropped() != 0 {
		t.Errorf("%d records dropped under the bound", m.RecordsDropped())
	}
}

// TestMemoryRecordsInFlightNeverDropped: a record whose send is in flight,
// or whose outcome is unknown, is kept over the bound: dropping it would
// let a retry send a second SMS.
func TestMemoryRecordsInFlightNeverDropped(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	m.SetMaxRecords(2)
	ctx := context.Background()
	claim := func(key string, now time.Time) Decision {
		return admit(t, m, Admission{Scope: "acme", Idempotency: &IdempotencyClaim{Key: key, BodyHash: [32]byte{1}, TTL: time.Hour}, Now: now})
	}
	inFlight := claim("in-flight", at(0))
	unknown := claim("unknown", at(time.Millisecond))
	if err := m.Settle(ctx, unknown.Ticket, Settlement{Outcome: Unknown, TTL: time.Hour, Now: at(time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		claimAndComplete(t, m, "acme", "done"+strconv.Itoa(i), at(time.Duration(2+i)*time.Millisecond))
	}
	now := at(time.Second)
	if d := claim("in-flight", now); d.Verdict != InProgress {
		t.Errorf("a retry of the send in flight: %v, want in progress", d.Verdict)
	}
	if d := claim("unknown", now); d.Verdict != OutcomeUnknown {
		t.Errorf("a retry of the send of unknown outcome: %v, want outcome unknown", d.Verdict)
	}
	if err := m.Settle(ctx, inFlight.Ticket, Settlement{Outcome: Completed, Record: &Record{Status: 200}, TTL: time.Hour, Now: now}); err != nil {
		t.Fatal(err)
	}
	if d := claim("in-flight", now); d.Verdict != Replay {
		t.Errorf("a retry after the send completed: %v, want a replay of its answer", d.Verdict)
	}
}

// TestMemoryRecordsBoundConcurrent: claims from many goroutines keep the
// count exact and the store at its bound (run with -race).
func TestMemoryRecordsBoundConcurrent(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	m.SetMaxRecords(500)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				now := at(time.Duration(i) * time.Millisecond)
				d, err := m.Admit(ctx, Admission{Scope: "tenant" + strconv.Itoa(g), Idempotency: &IdempotencyClaim{Key: "k" + strconv.Itoa(i), TTL: time.Hour}, Now: now})
				if err == nil {
					err = m.Settle(ctx, d.Ticket, Settlement{Outcome: Completed, TTL: time.Hour, Now: now})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	m.bound.mu.Lock()
	listed := m.bound.order.Len()
	m.bound.mu.Unlock()
	if n := records(m); n != 500 || listed != 500 {
		t.Errorf("%d records held, %d listed; want 500", n, listed)
	}
}

// TestRecordList: the list of records, whose nodes are reused, behaves as
// container/list did under a random run of listings, removals (some of
// them stale: a record already removed, its node perhaps reused since)
// and moves to the back, and grows no larger than the most records held.
func TestRecordList(t *testing.T) {
	var l recordList
	l.init()
	defer l.nodes.release()
	model := list.New() // of recordRef
	listed := map[uint64]int32{}
	var removed []uint64 // claims removed, with the nodes they had
	removedAt := map[uint64]int32{}
	rng := rand.New(rand.NewPCG(1, 2))
	claim, most := uint64(0), 0
	elems := map[uint64]*list.Element{}
	for range 100_000 {
		switch op := rng.IntN(10); {
		case op < 4 || model.Len() == 0:
			claim++
			ref := recordRef{tag: claim * 7, claim: claim, shard: uint32(claim % memoryShards)}
			node, err := l.pushBack(ref)
			if err != nil {
				t.Fatal(err)
			}
			listed[claim] = node
			elems[claim] = model.PushBack(ref)
		case op < 8:
			e := model.Front()
			for range rng.IntN(model.Len()) {
				e = e.Next()
			}
			c := e.Value.(recordRef).claim
			l.remove(listed[c], c)
			model.Remove(e)
			removed, removedAt[c] = append(removed, c), listed[c]
			delete(listed, c)
			delete(elems, c)
		case op < 9 && len(removed) > 0:
			c := removed[rng.IntN(len(removed))]
			l.remove(removedAt[c], c) // stale: a no-op
		default:
			e := model.Front()
			c := e.Value.(recordRef).claim
			l.moveToBack(listed[c])
			model.MoveToBack(e)
		}
		most = max(most, model.Len())
		if l.Len() != model.Len() {
			t.Fatalf("%d listed, want %d", l.Len(), model.Len())
		}
	}
	i := l.head
	prev := noNode
	for e := model.Front(); e != nil; e = e.Next() {
		if i == noNode || l.nodes.items[i].ref != e.Value.(recordRef) || l.nodes.items[i].prev != prev {
			t.Fatalf("the list differs from the model at %v", e.Value)
		}
		prev, i = i, l.nodes.items[i].next
	}
	if i != noNode || l.tail != prev {
		t.Fatal("the list is longer than the model, or its tail is wrong")
	}
	if int(l.made) > most {
		t.Errorf("%d nodes for at most %d records held", l.made, most)
	}
	for j := l.free; j != noNode; j = l.nodes.items[j].next {
		if n := l.nodes.items[j]; n.ref != (recordRef{}) {
			t.Fatalf("free node %d keeps %v", j, n.ref)
		}
	}
}

// TestMemoryRecordNodeReused: a record released frees its node for the
// next claim, and a stale removal of the released record (as by a sweep
// that met it late) leaves the new record listed.
func TestMemoryRecordNodeReused(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	ctx := context.Background()
	claim := func(key string) Decision {
		return admit(t, m, Admission{Scope: "acme", Idempotency: &IdempotencyClaim{Key: key, TTL: time.Hour}, Now: at(0)})
	}
	first := claim("first")
	if err := m.Settle(ctx, first.Ticket, Settlement{Outcome: Release, Now: at(0)}); err != nil {
		t.Fatal(err)
	}
	second := claim("second")
	if n := m.bound.order.made; n != 1 {
		t.Errorf("%d nodes for one record held at a time", n)
	}
	m.unlistRecord(&memoryRecord{node: 0, owner: first.Ticket.claim}) // stale
	if n := m.bound.order.Len(); n != 1 || m.bound.order.nodes.items[0].ref.claim != second.Ticket.claim {
		t.Errorf("%d listed, node 0 lists claim %d; want the second record (claim %d) listed", n, m.bound.order.nodes.items[0].ref.claim, second.Ticket.claim)
	}
	if err := m.Settle(ctx, second.Ticket, Settlement{Outcome: Release, Now: at(0)}); err != nil {
		t.Fatal(err)
	}
	if n := m.bound.order.Len(); n != 0 {
		t.Errorf("%d listed after both were released", n)
	}
}

// TestMemoryRecordsUnmappedWhenCollected: the memory a Memory store maps
// for its records goes back to the OS once the store is collected, as a
// sidecar's stores come and go with its config. It reads what holds that
// memory in this build (recordMemoryKiB): under the race detector the
// records are on the heap, which the collector frees with or without the
// store's cleanup, so make test runs it without too.
func TestMemoryRecordsUnmappedWhenCollected(t *testing.T) {
	if _, err := recordMemoryKiB(); err != nil {
		t.Skip("cannot read this process's memory here:", err)
	}
	const records, size = 1000, 40_000 // 40 MB, each answer in a mapping of its own
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i)
	}
	// What earlier tests freed goes back first: memory the heap holds free
	// would take the records without growing what it holds from the OS.
	debug.FreeOSMemory()
	before, _ := recordMemoryKiB()
	func() {
		m := NewMemory(MemoryOptions{})
		ctx := context.Background()
		for i := range records {
			d := admit(t, m, Admission{Scope: "acme", Idempotency: &IdempotencyClaim{Key: strconv.Itoa(i), TTL: time.Hour}, Now: at(0)})
			if err := m.Settle(ctx, d.Ticket, Settlement{Outcome: Completed, Record: &Record{Status: 200, Body: body}, TTL: time.Hour, Now: at(0)}); err != nil {
				t.Fatal(err)
			}
		}
		if n := m.RecordBytes(); n < records*size {
			t.Fatalf("%d bytes mapped for %d answers of %d bytes", n, records, size)
		}
	}()
	held, _ := recordMemoryKiB()
	if held-before < records*size/1024*3/4 {
		t.Fatalf("memory grew by %d KiB for %d KiB of records", held-before, records*size/1024)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		debug.FreeOSMemory() // a collection, and the free heap's pages back
		now, _ := recordMemoryKiB()
		if held-now >= records*size/1024*3/4 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("memory %d KiB 30 s after the store was dropped, %d KiB with it, %d KiB before it", now, held, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

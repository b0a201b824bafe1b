package store

import (
	"strconv"
	"testing"
	"time"
)

// TestMemoryTalliesExpire: a tally key lives for the TTL of its last
// call, a read included, on the store's clock, and is swept then.
func TestMemoryTalliesExpire(t *testing.T) {
	m := NewMemory(MemoryOptions{SweepInterval: time.Minute})
	now := base
	m.clock = func() time.Time { return now }
	tally(t, m, Tally{Key: "k", Add: []SlotCount{{1, 1}}, TTL: time.Minute})
	now = base.Add(time.Minute - time.Nanosecond)
	wantSlots(t, "just before its ttl", tally(t, m, Tally{Key: "k", TTL: time.Hour})[0], "1:1")
	now = now.Add(time.Hour - time.Nanosecond)
	wantSlots(t, "just before the read's ttl", tally(t, m, Tally{Key: "k", TTL: time.Second})[0], "1:1")
	now = now.Add(time.Second)
	wantSlots(t, "at the ttl", tally(t, m, Tally{Key: "k", TTL: time.Hour})[0], "")

	tally(t, m, Tally{Key: "swept", Add: []SlotCount{{1, 1}}, TTL: time.Minute})
	now = now.Add(time.Hour)
	touchEveryShard(t, m)
	if n := memorySize(m); n != 0 {
		t.Errorf("%d entries after every tally expired, want 0", n)
	}
}

// touchEveryShard tallies nothing in every shard of m, which gives each
// shard its sweep if it is due.
func touchEveryShard(t *testing.T, m *Memory) {
	t.Helper()
	touched := map[*memoryShard]bool{}
	for i := 0; len(touched) < memoryShards; i++ {
		key := "probe" + strconv.Itoa(i)
		touched[m.shard(key)] = true
		tally(t, m, Tally{Key: key, TTL: time.Second})
	}
}

// TestMemoryTalliesBounded: a Memory store keeps at most its bound of
// tally keys, dropping those tallied least recently first.
func TestMemoryTalliesBounded(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	m.maxTallies = memoryShards * 64
	const n = 20_000
	for i := range n {
		tally(t, m, Tally{Key: "k" + strconv.Itoa(i), Add: []SlotCount{{1, int64(i)}}, TTL: time.Hour})
		if i%100 == 0 {
			tally(t, m, Tally{Key: "busy", Add: []SlotCount{{1, 1}}, TTL: time.Hour})
		}
	}
	held := 0
	for i := range m.shards {
		held += len(m.shards[i].tallies)
	}
	if held > m.maxTallies || held < m.maxTallies*3/4 {
		t.Errorf("%d tally keys held, want at most %d and not far below", held, m.maxTallies)
	}
	for i := n - 20; i < n; i++ { // the newest are kept
		wantSlots(t, "k"+strconv.Itoa(i), tally(t, m, Tally{Key: "k" + strconv.Itoa(i), TTL: time.Hour})[0], "1:"+strconv.Itoa(i))
	}
	wantSlots(t, "the oldest", tally(t, m, Tally{Key: "k1", TTL: time.Hour})[0], "")
	wantSlots(t, "a key tallied all along", tally(t, m, Tally{Key: "busy", TTL: time.Hour})[0], "1:"+strconv.Itoa(n/100))
}

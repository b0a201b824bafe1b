package store

import (
	"hash/maphash"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// memoryShards is how many independently locked parts a Memory store has.
// An admission locks only the shard of its scope, so tenants rarely wait
// for one another.
const memoryShards = 32

// defaultSweepInterval is how often, by default, a shard of a Memory store
// drops its expired entries.
const defaultSweepInterval = 30 * time.Second

// MemoryOptions tunes a Memory store. The zero value is ready to use.
type MemoryOptions struct {
	// SweepInterval is how often each part of the store drops expired
	// counters, records, buckets, claims, markers, attributions and
	// tallies. The sweep runs inside a call that finds it due, so an idle
	// store costs nothing. Default: 30s.
	SweepInterval time.Duration
}

// Memory is a Store kept in this process: limits are per sidecar. It is
// split into shards by scope (and by key for pacing, signing, markers,
// attributions and tallies), each under its own mutex, so an admission is
// atomic across its limits while tenants proceed in parallel; the few
// holds share one map and one mutex. Only non-empty window steps are kept
// and expired entries are swept (ended holds when a hold is placed), so
// memory stays bounded by what is live; the idempotency records, kept off
// the Go heap (see recordTable), by what was live at the busiest moment
// since their shard last held none.
type Memory struct {
	seed   maphash.Seed
	every  int64 // sweep interval, ns
	claims atomic.Uint64
	// clock reads the time for the calls that are not given one
	// (markers, and settlements without Now). Tests replace it.
	clock  func() time.Time
	shards [memoryShards]memoryShard
	bound  recordBound // on the idempotency records
	// mapped holds the idempotency records, off the Go heap; it is
	// released when the store is collected.
	mapped *mappedRecords
	// maxAttributions bounds the attributions kept (see Attribute), and
	// maxTallies the tally keys (see Tally).
	maxAttributions int
	maxTallies      int
	// holds are few (a fleet's quarantines): one map, under one lock.
	holdsMu sync.Mutex
	holds   map[string]memoryHold
}

var _ Store = (*Memory)(nil)

// scopedKey names a counter or record within a scope.
type scopedKey struct {
	scope, key string
}

// periodKey names a period counter: the limit's key in one period.
type periodKey struct {
	scope, key, period string
}

// memoryShard is one independently locked part of a Memory store.
type memoryShard struct {
	mu      sync.Mutex
	index   uint32 // in the store's shards
	windows map[scopedKey]*windowCounter
	days    map[scopedKey]*dayCounter
	periods map[periodKey]*periodCounter
	records *recordTable     // in the store's mappedRecords
	paces   map[string]int64 // theoretical arrival time, Unix ns
	seconds map[string]*secondClaims
	markers map[string]memoryMarker
	// attributions are kept by message id; attributionSeq numbers them
	// in the order they were made.
	attributions   map[string]memoryAttribution
	attributionSeq uint64
	// tallies are kept by key; tallySeq numbers their calls in order.
	tallies  map[string]*memoryTally
	tallySeq uint64
	// sweepAt is when (on the callers' clock) the shard is next swept;
	// clockSweepAt is the same for markers, attributions and tallies, on
	// the store's clock.
	sweepAt      int64
	clockSweepAt int64
	_            [64]byte // keeps neighbouring shards' locks on separate cache lines
}

// NewMemory returns an empty Memory store.
func NewMemory(opts MemoryOptions) *Memory {
	every := opts.SweepInterval
	if every <= 0 {
		every = defaultSweepInterval
	}
	m := &Memory{
		seed: maphash.MakeSeed(), every: int64(every), clock: time.Now,
		maxAttributions: defaultMaxAttributions, maxTallies: defaultMaxTallies,
		holds: make(map[string]memoryHold), mapped: new(mappedRecords),
	}
	m.mapped.order.init()
	m.bound.order = &m.mapped.order
	runtime.AddCleanup(m, (*mappedRecords).release, m.mapped)
	for i := range m.shards {
		s := &m.shards[i]
		s.index = uint32(i)
		s.records = &m.mapped.tables[i]
		s.windows = make(map[scopedKey]*windowCounter)
		s.days = make(map[scopedKey]*dayCounter)
		s.periods = make(map[periodKey]*periodCounter)
		s.paces = make(map[string]int64)
		s.seconds = make(map[string]*secondClaims)
		s.markers = make(map[string]memoryMarker)
		s.attributions = make(map[string]memoryAttribution)
		s.tallies = make(map[string]*memoryTally)
	}
	return m
}

// shard returns the shard that holds key.
func (m *Memory) shard(key string) *memoryShard {
	return &m.shards[maphash.String(m.seed, key)%memoryShards]
}

// Close releases nothing, and the store may be kept in use after it: the
// memory it maps for its idempotency records goes back to the OS when the
// store is collected.
func (m *Memory) Close() error { return nil }

// sweepIfDue drops the shard's expired entries (all but markers,
// attributions and tallies) when its sweep is due at now (Unix ns), or
// when the clock went back by more than two intervals. The caller holds
// the lock.
func (m *Memory) sweepIfDue(s *memoryShard, now int64) {
	every := m.every
	if now < s.sweepAt && now >= s.sweepAt-2*every {
		return
	}
	s.sweepAt = now + every
	for k, w := range s.windows {
		if w.expiry() <= now {
			delete(s.windows, k)
		}
	}
	for k, d := range s.days {
		if (d.day+1)*dayNanos <= now {
			delete(s.days, k)
		}
	}
	for k, p := range s.periods {
		if p.expires <= now {
			delete(s.periods, k)
		}
	}
	s.records.sweep(now, m.unlistRecord)
	for k, tat := range s.paces {
		if tat <= now {
			delete(s.paces, k)
		}
	}
	for k, c := range s.seconds {
		if c.expiry() <= now {
			delete(s.seconds, k)
		}
	}
}

// sweepClockedIfDue is sweepIfDue for markers, attributions and tallies,
// whose times come from the store's clock rather than the caller's.
func (m *Memory) sweepClockedIfDue(s *memoryShard, now int64) {
	every := m.every
	if now < s.clockSweepAt && now >= s.clockSweepAt-2*every {
		return
	}
	s.clockSweepAt = now + every
	for k, mk := range s.markers {
		if mk.expires <= now {
			delete(s.markers, k)
		}
	}
	for k, a := range s.attributions {
		if a.expires <= now {
			delete(s.attributions, k)
		}
	}
	for k, c := range s.tallies {
		if c.expires <= now {
			delete(s.tallies, k)
		}
	}
}

// size counts the shard's entries, for tests of boundedness.
func (s *memoryShard) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.windows) + len(s.days) + len(s.periods) + s.records.live + len(s.paces) + len(s.seconds) +
		len(s.markers) + len(s.attributions) + len(s.tallies)
	for _, w := range s.windows {
		n += len(w.steps)
	}
	for _, c := range s.seconds {
		n += len(c.secs)
	}
	for _, c := range s.tallies {
		n += len(c.slots)
	}
	return n
}

// aged is an entry of a bounded map of a shard: when it expires (Unix
// ns), and its place in the order the shard made or last used its
// entries.
type aged interface {
	age() (expires int64, seq uint64)
}

// makeRoom makes room for one more entry in m, a bounded map of a shard
// (attributions, tallies) that holds limit or more: it drops the expired
// entries, and then, if need be, the sixteenth of limit with the lowest
// seq. The caller holds the shard's lock.
func makeRoom[V aged](m map[string]V, limit int, now int64) {
	limit = max(limit, 1)
	if len(m) < limit {
		return
	}
	for k, v := range m {
		if expires, _ := v.age(); expires <= now {
			delete(m, k)
		}
	}
	if len(m) < limit {
		return
	}
	seqs := make([]uint64, 0, len(m))
	for _, v := range m {
		_, seq := v.age()
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	last := seqs[min(max(limit/16, 1), len(seqs))-1]
	for k, v := range m {
		if _, seq := v.age(); seq <= last {
			delete(m, k)
		}
	}
}

package store

import (
	"bytes"
	"hash/maphash"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// tableKeys is how many keys a run of recordTableOps uses: few, so that
// keys come back.
const tableKeys = 48

// tableKey returns key k of a run of recordTableOps: its scope, key and
// tag. Half the keys share their tag's low bits, so that they collide at
// every table size and probes run long.
func tableKey(seed maphash.Seed, k int) (scope, key string, tag uint64) {
	scope, key = "tenant"+strconv.Itoa(k%3), "key-"+strconv.Itoa(k)+strings.Repeat("x", k)
	if k < tableKeys/2 {
		return scope, key, uint64(k+1)<<40 | 2
	}
	return scope, key, recordTag(seed, scope, key)
}

// modelRecord is what the model of a recordTable holds for a key.
type modelRecord struct {
	owner   uint64
	expires int64
	answer  *Record // nil until kept
}

// recordTableOps runs the operations data encodes on a recordTable and
// on a map, and fails when the table differs from the map.
func recordTableOps(t testing.TB, data []byte) {
	var table recordTable
	defer table.release()
	seed := maphash.MakeSeed()
	model := map[int]modelRecord{}
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	claims := uint64(0)
	for len(data) > 0 {
		op, k := next()%6, next()%tableKeys
		scope, key, tag := tableKey(seed, k)
		i := table.find(tag, scope, key)
		_, held := model[k]
		switch {
		case op <= 1 && !held:
			claims++
			r := memoryRecord{owner: claims, expires: int64(next()), state: recordInFlight}
			if err := table.insert(tag, scope, key, r); err != nil {
				t.Fatal(err)
			}
			model[k] = modelRecord{owner: claims, expires: r.expires}
		case op == 2 && held:
			table.remove(i)
			delete(model, k)
		case op == 3 && held:
			n := next()
			body := bytes.Repeat([]byte{byte(k)}, n*3)
			if n == 255 {
				body = bytes.Repeat([]byte{byte(k)}, 1<<20+10) // a chunk of its own
			}
			rec := &Record{Status: 200 + n, ContentType: "application/json"[:n%17], Body: body}
			if len(rec.Body) == 0 {
				rec.Body = nil
			}
			if err := table.keep(i, rec); err != nil {
				t.Fatal(err)
			}
			m := model[k]
			m.answer = rec
			model[k] = m
		case op == 4:
			now := int64(next())
			gone := map[uint64]bool{}
			table.sweep(now, func(r *memoryRecord) { gone[r.owner] = true })
			for k, m := range model {
				if m.expires <= now {
					if !gone[m.owner] {
						t.Fatalf("key %d, expired at %d, outlived a sweep at %d", k, m.expires, now)
					}
					delete(gone, m.owner)
					delete(model, k)
				}
			}
			if len(gone) > 0 {
				t.Fatalf("a sweep at %d removed live records %v", now, gone)
			}
		}
		checkRecordTable(t, &table, seed, model)
	}
}

// checkRecordTable fails unless table holds what model does.
func checkRecordTable(t testing.TB, table *recordTable, seed maphash.Seed, model map[int]modelRecord) {
	t.Helper()
	if table.live != len(model) {
		t.Fatalf("%d records live, want %d", table.live, len(model))
	}
	if n := len(table.slots.items); table.used > n*3/4 || table.used < table.live {
		t.Fatalf("%d slots used of %d, for %d records", table.used, n, table.live)
	}
	for k := range tableKeys {
		scope, key, tag := tableKey(seed, k)
		i := table.find(tag, scope, key)
		m, held := model[k]
		if !held {
			if i >= 0 {
				t.Fatalf("key %d found in slot %d, want none", k, i)
			}
			continue
		}
		if i < 0 {
			t.Fatalf("key %d not found", k)
		}
		if r := table.at(i); r.owner != m.owner || r.expires != m.expires {
			t.Fatalf("key %d: claim %d, expiring %d; want %d, %d", k, r.owner, r.expires, m.owner, m.expires)
		}
		if j := table.findClaim(tag, m.owner); j != i {
			t.Fatalf("key %d: claim %d found in slot %d, want %d", k, m.owner, j, i)
		}
		if m.answer != nil {
			if got := table.record(i); !reflect.DeepEqual(got, m.answer) {
				t.Fatalf("key %d: answer %d %q %d bytes, want %d %q %d bytes", k,
					got.Status, got.ContentType, len(got.Body), m.answer.Status, m.answer.ContentType, len(m.answer.Body))
			}
		}
	}
}

// TestRecordTable: a recordTable holds what a map would under random
// runs of claims, releases, answers and sweeps, with keys that collide at
// every size and answers of every size.
func TestRecordTable(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 7))
		data := make([]byte, 60_000)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		recordTableOps(t, data)
	}
}

// FuzzRecordTable is TestRecordTable on the fuzzer's runs.
func FuzzRecordTable(f *testing.F) {
	f.Add([]byte{0, 1, 9, 0, 2, 9, 3, 1, 255, 2, 1, 4, 9, 0, 2})
	f.Add(bytes.Repeat([]byte{0, 5, 200, 3, 5, 40, 0, 29, 10, 4, 100}, 30))
	f.Fuzz(func(t *testing.T, data []byte) { recordTableOps(t, data) })
}

// TestRecordArena: chunks of every size keep what was written to them
// while others come and go, a freed chunk is the next one of its size
// (a large one unmapped meanwhile), and release leaves nothing mapped.
func TestRecordArena(t *testing.T) {
	var a recordArena
	defer a.release()
	rng := rand.New(rand.NewPCG(1, 2))
	type chunk struct {
		ref  arenaRef
		n    int
		fill byte
	}
	var live []chunk
	check := func() {
		t.Helper()
		for _, c := range live {
			if b := a.chunk(c.ref, c.n); !bytes.Equal(b, bytes.Repeat([]byte{c.fill}, c.n)) {
				t.Fatalf("chunk %x of %d bytes lost what was written to it", c.ref, c.n)
			}
		}
	}
	size := func() int {
		switch rng.IntN(500) {
		case 0:
			return 1<<20 + 1 + rng.IntN(1000) // one alone
		case 1, 2, 3, 4, 5, 6, 7, 8, 9, 10:
			return 1000 + rng.IntN(200_000)
		}
		return 1 + rng.IntN(600)
	}
	for range 5000 {
		if len(live) > 0 && rng.IntN(3) == 0 {
			j := rng.IntN(len(live))
			a.free(live[j].ref)
			live = append(live[:j], live[j+1:]...)
			continue
		}
		n := size()
		ref, b, err := a.alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != n {
			t.Fatalf("a chunk of %d bytes for %d", len(b), n)
		}
		fill := byte(rng.Uint32())
		for i := range b {
			b[i] = fill
		}
		live = append(live, chunk{ref, n, fill})
	}
	check()
	// A chunk freed is the next of its class; a large one is unmapped.
	for _, n := range []int{100, 40_000, 1<<20 + 100} {
		ref, _, err := a.alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		held := a.held
		a.free(ref)
		if n > arenaClasses[len(arenaClasses)-1] && a.held != held-pageRound(n) {
			t.Errorf("%d bytes held after freeing a chunk of %d alone, %d before", a.held, n, held)
		}
		again, _, err := a.alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		if again != ref {
			t.Errorf("a chunk of %d bytes at %x, want the one just freed, %x", n, again, ref)
		}
		a.free(again)
	}
	check()
	a.release()
	if a.held != 0 || len(a.slabs) != 0 {
		t.Errorf("%d bytes in %d slabs after release", a.held, len(a.slabs))
	}
}

// TestMappedTypesHoldNoPointers: what lives in mapped memory holds no
// pointer the collector would have to see, and the check that guards it
// tells one.
func TestMappedTypesHoldNoPointers(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[memoryRecord](), reflect.TypeFor[recordSlot](), reflect.TypeFor[recordNode]()} {
		if holdsPointers(typ) {
			t.Errorf("%v holds pointers", typ)
		}
	}
	type nested struct {
		n    int
		refs [2]struct{ s string }
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[string](), reflect.TypeFor[[]byte](), reflect.TypeFor[nested](), reflect.TypeFor[*int]()} {
		if !holdsPointers(typ) {
			t.Errorf("%v holds pointers, but the check says not", typ)
		}
	}
}

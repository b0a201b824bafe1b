package store

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
)

// recordArena holds a shard's idempotency records (see recordTable) in
// mapped memory, off the Go heap (see mappedSlice). Chunks come in size
// classes, each carved from slabs of its own; a freed chunk goes on its
// class's free list, linked through its first 8 bytes, for the next chunk
// of that class. A chunk larger than the largest class is mapped alone
// and unmapped when freed. Slabs are kept until the arena is released, so
// each class keeps the chunks of its busiest moment. Not safe for
// concurrent use: its shard's lock guards it.
type recordArena struct {
	slabs      []arenaSlab
	freeSlabs  []uint32                  // indexes of the slabs of freed large chunks, for reuse
	freeChunks [arenaClassCount]arenaRef // the first free chunk of each class
	carving    [arenaClassCount]arenaRef // where each class's newest slab has room; 0: none
	// held is what of the arena's memory can be resident: the chunks
	// carved from its slabs (in use or free), and its large chunks'
	// pages. The rest of a slab is never written.
	held int
}

// arenaRef names a chunk of a recordArena: its slab's index plus one, and
// its offset in the slab. 0 names no chunk.
type arenaRef uint64

// arenaSlab is a slab of a recordArena, or a large chunk mapped alone.
type arenaSlab struct {
	mem   []byte
	class int8 // index in arenaClasses; largeChunk for a chunk alone
}

// largeChunk is the class of a chunk mapped alone.
const largeChunk = -1

// minSlabSize is the size of a slab of the classes up to 8 KiB; a slab of
// a larger class holds eight chunks. A slab's pages cost memory only once
// written, so an arena with a few records is a few pages.
const minSlabSize = 64 << 10

// arenaClasses are the chunk sizes: every 16 bytes up to 256, then eight
// to each doubling up to 1 MiB, the largest answer kept, so that a chunk
// over 128 bytes is at most an eighth larger than asked (a send's record
// with its answer is 200 to 300 bytes).
var arenaClasses = func() [arenaClassCount]int {
	var classes [arenaClassCount]int
	size, step := 0, 16
	for c := range classes {
		if size >= 256 && size&(size-1) == 0 {
			step = size / 8
		}
		size += step
		classes[c] = size
	}
	return classes
}()

// arenaClassCount is how many arenaClasses there are: 16 up to 256, and 8
// for each of the 12 doublings to 1 MiB.
const arenaClassCount = 16 + 12*8

// slabSize is the size of a slab of class c.
func slabSize(c int) int { return max(minSlabSize, 8*arenaClasses[c]) }

// newArenaRef names the chunk at off in slab i.
func newArenaRef(i, off int) arenaRef { return arenaRef(uint64(i+1)<<32 | uint64(off)) }

// slab returns the index of r's slab and r's offset in it.
func (r arenaRef) slab() (i, off int) { return int(r>>32) - 1, int(uint32(r)) }

// classOf returns the smallest class holding n bytes, or largeChunk.
func classOf(n int) int {
	if c, _ := slices.BinarySearch(arenaClasses[:], n); c < len(arenaClasses) {
		return c
	}
	return largeChunk
}

// alloc returns a chunk of n bytes, n > 0.
func (a *recordArena) alloc(n int) (arenaRef, []byte, error) {
	c := classOf(n)
	if c == largeChunk {
		mem, err := a.mapSlab(n)
		if err != nil {
			return 0, nil, err
		}
		a.held += pageRound(n)
		return newArenaRef(a.addSlab(mem, largeChunk), 0), mem, nil
	}
	size := arenaClasses[c]
	if r := a.freeChunks[c]; r != 0 {
		chunk := a.chunk(r, size)
		a.freeChunks[c] = arenaRef(binary.NativeEndian.Uint64(chunk))
		return r, chunk[:n], nil
	}
	r := a.carving[c]
	if r == 0 {
		mem, err := a.mapSlab(slabSize(c))
		if err != nil {
			return 0, nil, err
		}
		r = newArenaRef(a.addSlab(mem, c), 0)
	}
	i, off := r.slab()
	if next := off + size; next+size <= len(a.slabs[i].mem) {
		a.carving[c] = newArenaRef(i, next)
	} else {
		a.carving[c] = 0
	}
	a.held += size
	return r, a.chunk(r, n), nil
}

// mapSlab maps size bytes for a slab.
func (a *recordArena) mapSlab(size int) ([]byte, error) {
	mem, err := mapMemory(size)
	if err != nil {
		return nil, fmt.Errorf("store: mapping %d bytes for idempotency records: %w", size, err)
	}
	return mem, nil
}

// pageRound rounds n up to a whole number of pages.
func pageRound(n int) int {
	page := os.Getpagesize()
	return (n + page - 1) / page * page
}

// addSlab keeps mem as a slab of class c and returns its index.
func (a *recordArena) addSlab(mem []byte, c int) int {
	s := arenaSlab{mem: mem, class: int8(c)}
	if n := len(a.freeSlabs); n > 0 {
		i := a.freeSlabs[n-1]
		a.freeSlabs = a.freeSlabs[:n-1]
		a.slabs[i] = s
		return int(i)
	}
	a.slabs = append(a.slabs, s)
	return len(a.slabs) - 1
}

// chunk returns the first n bytes of chunk r.
func (a *recordArena) chunk(r arenaRef, n int) []byte {
	i, off := r.slab()
	return a.slabs[i].mem[off : off+n : off+n]
}

// free frees chunk r; 0 is no chunk, and freeing it does nothing.
func (a *recordArena) free(r arenaRef) {
	if r == 0 {
		return
	}
	i, off := r.slab()
	s := &a.slabs[i]
	if s.class == largeChunk {
		a.held -= pageRound(len(s.mem))
		unmapMemory(s.mem)
		*s = arenaSlab{}
		a.freeSlabs = append(a.freeSlabs, uint32(i))
		return
	}
	binary.NativeEndian.PutUint64(s.mem[off:], uint64(a.freeChunks[s.class]))
	a.freeChunks[s.class] = r
}

// release unmaps every slab, emptying the arena.
func (a *recordArena) release() {
	for _, s := range a.slabs {
		if s.mem != nil {
			unmapMemory(s.mem)
		}
	}
	*a = recordArena{}
}

//go:build !unix || race

package store

// mapMemory returns size bytes of zeroed memory. Where there is no mmap,
// and under the race detector, which watches only Go's own memory (so
// that it sees the records' locking too), it is on the Go heap.
func mapMemory(size int) ([]byte, error) {
	return make([]byte, size), nil
}

// unmapMemory leaves memory from mapMemory to the collector.
func unmapMemory([]byte) {}

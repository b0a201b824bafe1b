//go:build !unix || race

package store

import "runtime"

// recordMemoryKiB returns what holds a Memory store's records in this
// build, KiB: the Go heap, so the heap memory held from the OS. (The
// process's resident memory would count the race detector's shadow of
// the heap too, which it does not give back.)
func recordMemoryKiB() (int, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int((ms.HeapSys - ms.HeapReleased) / 1024), nil
}

//go:build unix && !race

package store

import "golang.org/x/sys/unix"

// mapMemory returns size bytes of zeroed memory mapped from the OS for
// this process alone, outside the Go heap. The kernel backs its pages
// when they are first written.
func mapMemory(size int) ([]byte, error) {
	return unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
}

// unmapMemory gives memory from mapMemory back to the OS. Nothing may
// use it afterwards.
func unmapMemory(b []byte) {
	_ = unix.Munmap(b) // fails only for memory mapMemory did not return
}

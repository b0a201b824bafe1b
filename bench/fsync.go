package main

import (
	"os"
	"path/filepath"
	"slices"
	"time"
)

// fsyncLatency measures what one fsync of a small append costs on the
// disk under dir, the cost a budgeted send's write-ahead reservation
// pays (concurrent sends share one): the median of 200 appends of a
// ledger-sized line, each synced.
func fsyncLatency(dir string) (time.Duration, error) {
	f, err := os.CreateTemp(dir, "fsync-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(filepath.Clean(f.Name()))
	defer f.Close()
	line := make([]byte, 300)
	for i := range line {
		line[i] = 'x'
	}
	line[len(line)-1] = '\n'
	took := make([]time.Duration, 200)
	for i := range took {
		start := time.Now()
		if _, err := f.Write(line); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		took[i] = time.Since(start)
	}
	slices.Sort(took)
	return took[len(took)/2], nil
}

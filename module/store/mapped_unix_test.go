//go:build unix && !race

package store

import (
	"errors"
	"os"
	"strconv"
	"strings"
)

// recordMemoryKiB returns what holds a Memory store's records in this
// build, KiB: memory mapped from the OS, so the process's resident
// anonymous memory.
func recordMemoryKiB() (int, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, errors.New("no RssAnon in /proc/self/status")
}

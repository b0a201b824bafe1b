package ledger

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/23telecom/restlink-sidecar/internal/durable"
)

// Files of a ledger directory: one segment per day, named by the day (in
// the ledger's timezone) its records were written, and the lock file
// that keeps a second writer out.
const (
	segmentExt = ".jsonl"
	lockFile   = "lock"
	dirMode    = 0o700
	fileMode   = 0o600
)

// segmentPath returns the path of the segment of day in dir.
func segmentPath(dir, day string) string {
	return filepath.Join(dir, day+segmentExt)
}

// segmentDays returns the days of the segments in dir, oldest first.
// Files with other names are not the ledger's and are left alone.
func segmentDays(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var days []string
	for _, e := range entries {
		day, ok := strings.CutSuffix(e.Name(), segmentExt)
		if ok && e.Type().IsRegular() && checkDay("", day) == nil {
			days = append(days, day)
		}
	}
	slices.Sort(days)
	return days, nil
}

// removeSegmentsBefore deletes the segments of dir whose day is before
// cutoff and syncs dir when it deleted any.
func removeSegmentsBefore(dir, cutoff string) error {
	days, err := segmentDays(dir)
	if err != nil {
		return err
	}
	removed := false
	for _, day := range days {
		if day >= cutoff {
			break
		}
		if err := os.Remove(segmentPath(dir, day)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		removed = true
	}
	if removed {
		return durable.SyncDir(dir)
	}
	return nil
}

// scanSegment calls fn with each complete line of the segment at path, in
// order, without its newline, and with its number (from 1). The line is
// valid only during the call. A line longer than maxLine is passed as
// nil. scanSegment returns the offset just past the last complete line,
// and the length of what follows it: a line still being written, or one
// a crash cut off.
func scanSegment(path string, fn func(n int, line []byte)) (end, tail int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, maxLine)
	n := 0
	long := false // in a line longer than the buffer
	var pending int64
	for {
		chunk, err := r.ReadSlice('\n')
		pending += int64(len(chunk))
		switch {
		case err == nil:
			n++
			if long {
				fn(n, nil)
			} else {
				fn(n, chunk[:len(chunk)-1])
			}
			long = false
			end += pending
			pending = 0
		case errors.Is(err, bufio.ErrBufferFull):
			long = true
		case errors.Is(err, io.EOF):
			return end, pending, nil
		default:
			return end, pending, err
		}
	}
}

package ledger

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestRetention: segments of days before the day Retention ago are
// deleted at Open and when a new day begins; other files are left alone.
func TestRetention(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	const retention = 40 * 24 * time.Hour
	// Segments of 1 October to 5 December, one send each.
	clock.Set(time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC))
	l := openLedger(t, dir, clock, Options{})
	for d := range 66 {
		clock.Set(time.Date(2026, 10, 1+d, 12, 0, 0, 0, time.UTC))
		mustReserve(t, l, send(clock.Now().Format(dayLayout), "acme", 1_000))
	}
	mustClose(t, l)
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	// 5 December: 40 days ago was 26 October.
	l = openLedger(t, dir, clock, Options{Retention: retention})
	checkDays(t, dir, "2026-10-26", "2026-12-05")
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("a file that is not a segment: %v", err)
	}
	checkSpent(t, l, "acme", 1_000, 5_000)

	// The next day's first write deletes 26 October.
	clock.Advance(24 * time.Hour)
	mustReserve(t, l, send("s6", "acme", 1_000))
	checkDays(t, dir, "2026-10-27", "2026-12-06")
	if err := l.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
}

// checkDays fails the test unless dir holds the segments of first to
// last, every day.
func checkDays(t *testing.T, dir, first, last string) {
	t.Helper()
	var want []string
	for d := first; d <= last; d = addDays(d, 1) {
		want = append(want, d)
	}
	got, err := segmentDays(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("segments %s to %s (%d), want %s to %s", got[0], got[len(got)-1], len(got), first, last)
	}
}

package webhook

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestEnqueueDedup(t *testing.T) {
	const window = time.Minute
	tests := []struct {
		name string
		// second is enqueued after first, after the steps below.
		second      func() *Event
		dedupFor    time.Duration
		complete    bool // complete the first event before the second
		advance     time.Duration
		wantDup     bool
		wantPending int
	}{
		{
			name:        "same event within the window",
			second:      func() *Event { return newEvent("main", 1) },
			dedupFor:    window,
			wantDup:     true,
			wantPending: 1,
		},
		{
			name:        "same event within the window, after delivery",
			second:      func() *Event { return newEvent("main", 1) },
			dedupFor:    window,
			complete:    true,
			advance:     window / 2,
			wantDup:     true,
			wantPending: 0,
		},
		{
			name:        "same event after the window, after delivery",
			second:      func() *Event { return newEvent("main", 1) },
			dedupFor:    window,
			complete:    true,
			advance:     window + time.Second,
			wantDup:     false,
			wantPending: 1,
		},
		{
			name:        "same event after the window, still pending",
			second:      func() *Event { return newEvent("main", 1) },
			dedupFor:    window,
			advance:     window + time.Second,
			wantDup:     true,
			wantPending: 1,
		},
		{
			name:        "window off, after delivery",
			second:      func() *Event { return newEvent("main", 1) },
			dedupFor:    0,
			complete:    true,
			wantDup:     false,
			wantPending: 1,
		},
		{
			name: "same message, other status",
			second: func() *Event {
				ev := newEvent("main", 1)
				ev.Body = report(1, "UNDELIV")
				return ev
			},
			dedupFor:    window,
			wantDup:     false,
			wantPending: 2,
		},
		{
			name:        "same message, other workspace",
			second:      func() *Event { return newEvent("other", 1) },
			dedupFor:    window,
			wantDup:     false,
			wantPending: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			sp := openSpool(t, t.TempDir(), SpoolOptions{Now: clock.Now})
			first := newEvent("main", 1)
			if dup, err := sp.Enqueue(first, tc.dedupFor); err != nil || dup {
				t.Fatalf("first Enqueue = %v, %v; want false, nil", dup, err)
			}
			if tc.complete {
				if err := sp.Complete(first.ID); err != nil {
					t.Fatalf("Complete: %v", err)
				}
			}
			clock.Advance(tc.advance)
			dup, err := sp.Enqueue(tc.second(), tc.dedupFor)
			if err != nil {
				t.Fatalf("second Enqueue: %v", err)
			}
			if dup != tc.wantDup {
				t.Fatalf("second Enqueue duplicate = %v, want %v", dup, tc.wantDup)
			}
			if got := len(pendingIDs(t, sp)); got != tc.wantPending {
				t.Fatalf("pending events = %d, want %d", got, tc.wantPending)
			}
		})
	}
}

func TestEnqueueFillsEvent(t *testing.T) {
	clock := newFakeClock()
	sp := openSpool(t, t.TempDir(), SpoolOptions{Now: clock.Now})
	ev := newEvent("main", 7)
	ev.Attempts, ev.LastError = 3, "left over"
	mustEnqueue(t, sp, ev)

	if want := "main|delivery|api_42_7|DELIVRD"; ev.DedupKey != want {
		t.Errorf("DedupKey = %q, want %q", ev.DedupKey, want)
	}
	if ev.ID != EventID(ev.DedupKey) {
		t.Errorf("ID = %q, want EventID(DedupKey) = %q", ev.ID, EventID(ev.DedupKey))
	}
	if !ev.Received.Equal(clock.Now()) || !ev.NextAttempt.Equal(clock.Now()) {
		t.Errorf("Received, NextAttempt = %v, %v; want both %v", ev.Received, ev.NextAttempt, clock.Now())
	}
	if ev.Attempts != 0 || ev.LastError != "" {
		t.Errorf("Attempts, LastError = %d, %q; want 0, empty", ev.Attempts, ev.LastError)
	}

	t.Run("caller's dedup key is kept", func(t *testing.T) {
		ev := newEvent("main", 8)
		ev.DedupKey = "main|delivery|custom"
		mustEnqueue(t, sp, ev)
		if ev.DedupKey != "main|delivery|custom" || ev.ID != EventID("main|delivery|custom") {
			t.Fatalf("DedupKey, ID = %q, %q", ev.DedupKey, ev.ID)
		}
	})
	t.Run("invalid event", func(t *testing.T) {
		ev := newEvent("../etc", 9)
		if _, err := sp.Enqueue(ev, time.Hour); !errors.Is(err, ErrInvalidEvent) {
			t.Fatalf("Enqueue = %v, want ErrInvalidEvent", err)
		}
	})
}

func TestSpoolSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	sp, err := OpenSpool(dir, SpoolOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var want []*Event
	for i := range 5 {
		want = append(want, mustEnqueue(t, sp, newEvent("main", i)))
		clock.Advance(time.Second)
	}
	if err := sp.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	sp = openSpool(t, dir, SpoolOptions{Now: clock.Now})
	checkDB(t, sp)
	got, err := sp.Due("main", clock.Now(), 100)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Due after reopen returned %d events, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Workspace != w.Workspace || g.WorkspaceID != w.WorkspaceID || g.Type != w.Type ||
			g.ContentType != w.ContentType || !bytes.Equal(g.Body, w.Body) || !g.Received.Equal(w.Received) ||
			g.DedupKey != w.DedupKey {
			t.Errorf("event %d after reopen = %+v, want %+v", i, g, w)
		}
	}
	st, err := sp.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st["main"].Pending != 5 {
		t.Errorf("Stats pending = %d, want 5", st["main"].Pending)
	}
}

func TestDueOrderAndRetry(t *testing.T) {
	clock := newFakeClock()
	sp := openSpool(t, t.TempDir(), SpoolOptions{Now: clock.Now})
	t0 := clock.Now()
	var evs []*Event
	for i := range 4 {
		evs = append(evs, mustEnqueue(t, sp, newEvent("main", i)))
		clock.Advance(time.Second)
	}
	mustEnqueue(t, sp, newEvent("other", 99))
	if err := sp.Retry(evs[0].ID, t0.Add(time.Hour), "app answered HTTP 503"); err != nil {
		t.Fatalf("Retry: %v", err)
	}

	ids := func(es []*Event) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	tests := []struct {
		name string
		now  time.Time
		max  int
		want []*Event
	}{
		{"retried event skipped", clock.Now(), 10, evs[1:]},
		{"max respected", clock.Now(), 2, evs[1:3]},
		{"not yet received", t0.Add(1500 * time.Millisecond), 10, evs[1:2]},
		{"retry due keeps its place", t0.Add(2 * time.Hour), 10, evs},
		{"zero max", clock.Now(), 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sp.Due("main", tc.now, tc.max)
			if err != nil {
				t.Fatalf("Due: %v", err)
			}
			if g, w := strings.Join(ids(got), ","), strings.Join(ids(tc.want), ","); g != w {
				t.Fatalf("Due() ids = %s, want %s", g, w)
			}
		})
	}

	got := pendingIDs(t, sp)[evs[0].ID]
	if got.Attempts != 1 || got.LastError != "app answered HTTP 503" || !got.NextAttempt.Equal(t0.Add(time.Hour)) {
		t.Errorf("after Retry: Attempts %d, LastError %q, NextAttempt %v", got.Attempts, got.LastError, got.NextAttempt)
	}
}

func TestCompleteAndRetryUnknown(t *testing.T) {
	sp := openSpool(t, t.TempDir(), SpoolOptions{})
	ev := mustEnqueue(t, sp, newEvent("main", 1))
	if err := sp.Complete(ev.ID); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if n := len(pendingIDs(t, sp)); n != 0 {
		t.Fatalf("pending after Complete = %d, want 0", n)
	}
	tests := []struct {
		name string
		op   func() error
	}{
		{"complete twice", func() error { return sp.Complete(ev.ID) }},
		{"retry completed", func() error { return sp.Retry(ev.ID, time.Now(), "x") }},
		{"dead-letter completed", func() error { return sp.DeadLetter(ev.ID, "x") }},
		{"complete unknown", func() error { return sp.Complete("0123456789abcdef0123456789abcdef") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, ErrNotFound) {
				t.Fatalf("error = %v, want ErrNotFound", err)
			}
		})
	}
	st, err := sp.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st["main"].Pending != 0 || !st["main"].OldestPending.IsZero() {
		t.Fatalf("Stats after Complete = %+v, want nothing pending", st["main"])
	}
}

func TestStats(t *testing.T) {
	clock := newFakeClock()
	sp := openSpool(t, t.TempDir(), SpoolOptions{Now: clock.Now})
	t0 := clock.Now()
	a1 := mustEnqueue(t, sp, newEvent("a", 1))
	clock.Advance(time.Minute)
	mustEnqueue(t, sp, newEvent("a", 2))
	mustEnqueue(t, sp, newEvent("b", 3))
	b4 := mustEnqueue(t, sp, newEvent("b", 4))
	if err := sp.Complete(a1.ID); err != nil {
		t.Fatal(err)
	}
	if err := sp.DeadLetter(b4.ID, "gave up"); err != nil {
		t.Fatal(err)
	}

	st, err := sp.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	want := map[string]WorkspaceStats{
		"a": {Pending: 1, OldestPending: t0.Add(time.Minute)},
		"b": {Pending: 1, OldestPending: t0.Add(time.Minute), DeadLetters: 1},
	}
	for name, w := range want {
		g := st[name]
		if g.Pending != w.Pending || !g.OldestPending.Equal(w.OldestPending) || g.DeadLetters != w.DeadLetters {
			t.Errorf("Stats[%q] = %+v, want %+v", name, g, w)
		}
	}
	if len(st) != len(want) {
		t.Errorf("Stats has %d workspaces, want %d", len(st), len(want))
	}
}

func TestPruneDedup(t *testing.T) {
	clock := newFakeClock()
	sp := openSpool(t, t.TempDir(), SpoolOptions{Now: clock.Now})
	// More entries than one pruning transaction takes, written directly.
	const old, fresh = 2*pruneBatch + 10, 3
	err := sp.writes.update(func(tx *bbolt.Tx) error {
		for i := range old + fresh {
			expiry := clock.Now().Add(time.Minute)
			if i >= old {
				expiry = clock.Now().Add(time.Hour)
			}
			if err := putDedup(tx, "main|delivery|k-"+strconv.Itoa(i), unixNanos(expiry)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A key spooled again after its window replaces its old index entry.
	ev := newEvent("main", 1)
	mustEnqueue(t, sp, ev)
	if err := sp.Complete(ev.ID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	again := mustEnqueue(t, sp, newEvent("main", 1))
	if err := sp.Complete(again.ID); err != nil {
		t.Fatal(err)
	}

	clock.Advance(-2*time.Hour + 2*time.Minute) // past the old entries' expiry, before the others'
	n, err := sp.PruneDedup()
	if err != nil {
		t.Fatalf("PruneDedup: %v", err)
	}
	if n != old {
		t.Errorf("PruneDedup() = %d, want %d", n, old)
	}
	if got, want := bucketLen(t, sp, bucketDedup), fresh+1; got != want {
		t.Errorf("dedup entries left = %d, want %d", got, want)
	}
	if got, want := bucketLen(t, sp, bucketDedupExpiry), fresh+1; got != want {
		t.Errorf("dedup index entries left = %d, want %d", got, want)
	}
	if dup, err := sp.Enqueue(newEvent("main", 1), time.Hour); err != nil || !dup {
		t.Errorf("Enqueue of the re-spooled key = %v, %v; want a duplicate", dup, err)
	}
}

func TestOpenSpool(t *testing.T) {
	t.Run("file modes", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "spool")
		openSpool(t, dir, SpoolOptions{})
		for path, want := range map[string]os.FileMode{
			dir:                           0o700 | os.ModeDir,
			filepath.Join(dir, spoolFile): 0o600,
			filepath.Join(dir, deadDir):   0o700 | os.ModeDir,
			filepath.Join(dir, replayDir): 0o700 | os.ModeDir,
		} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != want {
				t.Errorf("mode of %s = %v, want %v", path, fi.Mode(), want)
			}
		}
	})
	t.Run("locked by another holder", func(t *testing.T) {
		dir := t.TempDir()
		openSpool(t, dir, SpoolOptions{})
		_, err := OpenSpool(dir, SpoolOptions{OpenTimeout: 50 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), "locked by another process") {
			t.Fatalf("second OpenSpool = %v, want a lock timeout", err)
		}
	})
	t.Run("closed spool refuses writes", func(t *testing.T) {
		sp, err := OpenSpool(t.TempDir(), SpoolOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := sp.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Enqueue(newEvent("main", 1), time.Hour); !errors.Is(err, ErrClosed) {
			t.Fatalf("Enqueue after Close = %v, want ErrClosed", err)
		}
	})
}

package webhook

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// fakeClock is a settable clock for the spool.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// openSpool opens a spool in dir and closes it when the test ends.
func openSpool(t testing.TB, dir string, opts SpoolOptions) *Spool {
	t.Helper()
	sp, err := OpenSpool(dir, opts)
	if err != nil {
		t.Fatalf("OpenSpool: %v", err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

// report returns a delivery report for message n with the given status.
// The recipient is a phone number, as in real reports.
func report(n int, status string) []byte {
	return fmt.Appendf(nil, `{"message_id":"api_42_%d","recipient":"+447700900%03d","sender_id":"Shop","status":%q,"status_code":"000","num_parts":1,"cost":0.0085,"timestamp":"2025-03-01T12:00:00Z"}`, n, n%1000, status)
}

// newEvent returns a delivery event of workspace for message n.
func newEvent(workspace string, n int) *Event {
	return &Event{
		Workspace:   workspace,
		WorkspaceID: 42,
		Type:        "delivery",
		ContentType: "application/json",
		Body:        report(n, "DELIVRD"),
	}
}

// mustEnqueue spools ev and fails the test if it is a duplicate.
func mustEnqueue(t testing.TB, sp *Spool, ev *Event) *Event {
	t.Helper()
	dup, err := sp.Enqueue(ev, time.Hour)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if dup {
		t.Fatalf("Enqueue: event %s reported as a duplicate", ev.ID)
	}
	return ev
}

// pendingIDs returns the ids of every pending event, in any workspace.
func pendingIDs(t testing.TB, sp *Spool) map[string]*Event {
	t.Helper()
	out := make(map[string]*Event)
	err := sp.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
			rec, err := decodeRecord(v)
			if err != nil {
				return err
			}
			out[string(k)] = rec.event()
			return nil
		})
	})
	if err != nil {
		t.Fatalf("reading pending events: %v", err)
	}
	return out
}

// bucketLen counts the keys of a top-level bucket.
func bucketLen(t testing.TB, sp *Spool, name []byte) int {
	t.Helper()
	n := 0
	err := sp.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(name).ForEach(func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatalf("counting bucket %s: %v", name, err)
	}
	return n
}

// checkDB runs bbolt's consistency check on the spool file.
func checkDB(t testing.TB, sp *Spool) {
	t.Helper()
	err := sp.db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("spool file is inconsistent: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline. It bounds a wait for something that must happen; it never
// asserts how fast.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

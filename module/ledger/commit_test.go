package ledger

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGroupCommit: concurrent reservations share fsyncs, and each
// returns only once it is synced (every one is on disk after Close).
func TestGroupCommit(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	const writers, each = 32, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				mustReserve(t, l, send(fmt.Sprintf("s%d-%d", w, i), "acme", 1_000))
			}
		})
	}
	wg.Wait()
	syncs := l.w.syncs.Load()
	if syncs >= writers*each {
		t.Fatalf("%d reservations took %d fsyncs: group commit shared none", writers*each, syncs)
	}
	t.Logf("%d reservations, %d fsyncs", writers*each, syncs)
	mustClose(t, l)
	if n := len(records(t, dir)); n != writers*each {
		t.Fatalf("%d records on disk, want %d", n, writers*each)
	}
}

// TestSettleIsSyncedSoon: a settlement nobody waits for is written at
// once and synced within syncDelay though no reservation follows; one
// that a reservation follows is synced with it.
func TestSettleIsSyncedSoon(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("s1", "acme", 1_000))
	before := l.w.syncs.Load()
	mustSettle(t, l, charged("s1", 1_000))
	deadline := time.Now().Add(10 * time.Second)
	for l.w.syncs.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("a settlement was not synced without a reservation after it")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(records(t, dir)); n != 2 {
		t.Fatalf("%d records on disk, want 2", n)
	}

	mustReserve(t, l, send("s2", "acme", 1_000))
	mustSettle(t, l, charged("s2", 1_000))
	mustReserve(t, l, send("s3", "acme", 1_000))
	// No wait: s3 returned, so s2's settlement, before it in the file,
	// is synced.
	if n := len(records(t, dir)); n != 5 {
		t.Fatalf("%d records on disk once s3 returned, want 5", n)
	}
}

// TestWriteFailureStopsTheLedger: after a write fails, the reservation
// that waited for it fails and is not spent, every later write fails
// with the same error, and Err and Close report it.
func TestWriteFailureStopsTheLedger(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("s1", "acme", 1_000))
	l.w.f.Close() // the next write fails, as on a dead disk

	err := l.Reserve(send("s2", "acme", 2_000))
	if err == nil || !strings.Contains(err.Error(), "writing ledger segment") {
		t.Fatalf("Reserve on a failed disk: %v", err)
	}
	checkSpent(t, l, "acme", 1_000, 1_000)
	if err := l.Settle(charged("s1", 1_000)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Settle after the failure: %v, want the write's error", err)
	}
	if err := l.Reserve(send("s3", "acme", 3_000)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Reserve after the failure: %v, want the write's error", err)
	}
	if err := l.Err(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Err = %v", err)
	}
	if err := l.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Close = %v", err)
	}
}

// TestConcurrentWrites: reservations, settlements, adjustments and reads
// of the spend from many goroutines (run with -race) add up, and a
// restart finds the same spend.
func TestConcurrentWrites(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	tenants := []string{"acme", "beta", "gamma"}
	const workers, each = 12, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			tenant := tenants[w%len(tenants)]
			for i := range each {
				id := fmt.Sprintf("s%d-%d", w, i)
				r := mustReserve(t, l, send(id, tenant, 6_000, 4_000))
				switch i % 3 {
				case 0:
					mustSettle(t, l, charged(id, 3_000, 2_000))
					mustAdjust(t, l, report(id+"-m0", tenant, r.Day, "UNDELIV", 0, -3_000))
					if dup, err := l.Adjust(report(id+"-m0", tenant, r.Day, "UNDELIV", 0, -3_000)); err != nil || !dup {
						t.Errorf("a duplicate report: %t, %v", dup, err)
					}
				case 1:
					mustSettle(t, l, Settlement{ID: id, Outcome: Released})
				}
				l.Spent()
			}
		})
	}
	wg.Wait()
	// Per worker: 17 sends charged 5,000 less 3,000 refunded; 17
	// released; 16 left unsettled at 10,000.
	perWorker := int64(17*2_000 + 16*10_000)
	want := Spending{Day: "2026-12-05", Month: "2026-12", Tenants: map[string]Spend{}}
	for _, tenant := range tenants {
		want.Tenants[tenant] = Spend{DayMicros: perWorker * workers / 3, MonthMicros: perWorker * workers / 3}
	}
	if got := l.Spent(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Spent = %v, want %v", got, want)
	}
	mustClose(t, l)
	l = openLedger(t, dir, clock, Options{})
	if got := l.Spent(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a restart, Spent = %v, want %v", got, want)
	}
	if n := len(l.Recovery().Unsettled); n != 16*workers {
		t.Fatalf("%d sends unsettled after the restart, want %d", n, 16*workers)
	}
}

// TestSyncEvery: with SyncEvery, Reserve returns once its line is written
// to the file, before any fsync, and the line is synced within SyncEvery;
// a SyncEvery beyond MaxSyncEvery is refused.
func TestSyncEvery(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{SyncEvery: MaxSyncEvery})
	before := l.w.syncs.Load()
	mustReserve(t, l, send("s1", "acme", 1_000))
	if l.w.syncs.Load() != before {
		t.Fatal("Reserve waited for an fsync with SyncEvery set")
	}
	if n := len(records(t, dir)); n != 1 {
		t.Fatalf("%d records in the file once Reserve returned, want 1: the line must reach the OS first", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.w.syncs.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("the reservation was never synced")
		}
		time.Sleep(5 * time.Millisecond)
	}
	mustClose(t, l)
	if _, err := Open(t.TempDir(), Options{SyncEvery: MaxSyncEvery + time.Millisecond}); err == nil {
		t.Error("a SyncEvery beyond MaxSyncEvery was accepted")
	}
}

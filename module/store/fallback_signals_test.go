package store

import (
	"testing"
	"time"
)

// TestFallbackSignalsWhileDown: while the shared store is down, tallies
// and holds go to the local store, in either mode, and nothing reaches the
// shared one; once it is back, they go to it again.
func TestFallbackSignalsWhileDown(t *testing.T) {
	add := Tally{Key: "dlr:acme:NG", Add: []SlotCount{{1, 1}}, TTL: time.Hour}
	read := Tally{Key: "dlr:acme:NG", TTL: time.Hour}
	for _, mode := range []OnError{OnErrorLocal, OnErrorRefuse} {
		t.Run(mode.String(), func(t *testing.T) {
			sharedMemory, local := NewMemory(MemoryOptions{}), NewMemory(MemoryOptions{})
			shared := &flakyShared{Store: sharedMemory}
			f := NewFallback(shared, local, FallbackOptions{Mode: mode, ProbeInterval: 10 * time.Millisecond})
			defer f.Close()

			wantSlots(t, "up", tally(t, f, add)[0], "1:1")
			if !placeHold(t, f, "acme:NG", "shared", base, at(time.Hour)) {
				t.Fatal("up: not placed")
			}

			shared.down.Store(true)
			wantSlots(t, "the call that finds it down", tally(t, f, add)[0], "1:1")
			wantSlots(t, "down", tally(t, f, add)[0], "1:2")
			if st := f.Status(); st.Available {
				t.Fatal("the shared store was not found down")
			}
			if !placeHold(t, f, "acme:NG", "local", base, at(time.Hour)) {
				t.Error("down: a hold placed in the shared store only kept the local one from being placed")
			}
			if got, want := holdsString(t, f, base), "acme:NG=local@+1h0m0s"; got != want {
				t.Errorf("holds while down %q, want %q", got, want)
			}
			if liftHold(t, f, "acme:GH", base) || !liftHold(t, f, "acme:NG", base) {
				t.Error("down: lifts of an absent and a local hold")
			}
			if !placeHold(t, f, "acme:GH", "local", base, at(time.Hour)) {
				t.Error("down: not placed")
			}
			if n := f.affected.Load(); n != 6 {
				t.Errorf("%d calls affected, want 6 (2 tallies, 2 places, 2 lifts; not the read of Holds)", n)
			}
			wantSlots(t, "the shared store's tally", tally(t, sharedMemory, read)[0], "1:1")
			if got, want := holdsString(t, sharedMemory, base), "acme:NG=shared@+1h0m0s"; got != want {
				t.Errorf("the shared store's holds %q, want %q", got, want)
			}
			wantSlots(t, "the local store's tally", tally(t, local, read)[0], "1:2")

			shared.down.Store(false)
			waitAvailable(t, f, 2*time.Second)
			wantSlots(t, "back", tally(t, f, add)[0], "1:2")
			if got, want := holdsString(t, f, base), "acme:NG=shared@+1h0m0s"; got != want {
				t.Errorf("holds once back %q, want %q", got, want)
			}
		})
	}
}

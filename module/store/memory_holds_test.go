package store

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestMemoryHoldsBounded: the holds that ended are dropped when a hold is
// placed, whether or not they were listed.
func TestMemoryHoldsBounded(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	for i := range 1000 {
		if !placeHold(t, m, "acme:"+strconv.Itoa(i), "q", base, at(time.Minute)) {
			t.Fatalf("hold %d not placed", i)
		}
	}
	placeHold(t, m, "acme:last", "q", at(time.Minute), at(time.Hour))
	if n := len(m.holds); n != 1 {
		t.Errorf("%d holds kept after 1,000 ended, want 1", n)
	}
	if _, err := m.LiftHold(context.Background(), "acme:last", at(time.Minute)); err != nil || len(m.holds) != 0 {
		t.Errorf("after the lift: %d holds, %v", len(m.holds), err)
	}
}

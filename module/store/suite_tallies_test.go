package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tally calls s.Tally and fails the test on an error. It returns each
// key's slots without those whose count is 0 (which a store may return).
func tally(t *testing.T, s Store, tallies ...Tally) [][]SlotCount {
	t.Helper()
	got, err := s.Tally(context.Background(), tallies)
	if err != nil {
		t.Fatalf("Tally: %v", err)
	}
	if len(got) != len(tallies) {
		t.Fatalf("Tally returned %d results for %d tallies", len(got), len(tallies))
	}
	for i, slots := range got {
		var kept []SlotCount
		for _, sc := range slots {
			if sc.Count != 0 {
				kept = append(kept, sc)
			}
		}
		got[i] = kept
	}
	return got
}

// slotsString writes slots as "slot:count slot:count", for comparisons.
func slotsString(slots []SlotCount) string {
	parts := make([]string, len(slots))
	for i, sc := range slots {
		parts[i] = strconv.FormatInt(sc.Slot, 10) + ":" + strconv.FormatInt(sc.Count, 10)
	}
	return strings.Join(parts, " ")
}

// wantSlots fails the test unless got, written by slotsString, is want.
func wantSlots(t *testing.T, what string, got []SlotCount, want string) {
	t.Helper()
	if s := slotsString(got); s != want {
		t.Errorf("%s: slots %q, want %q", what, s, want)
	}
}

func testTallies(t *testing.T, hs []harness) {
	ttl := time.Hour
	t.Run("adds_accumulate_across_calls_and_keys", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			got := tally(t, s, Tally{Key: "dlr:acme:GB", Add: []SlotCount{{2, 3}, {1, 2}}, TTL: ttl})
			wantSlots(t, "first call", got[0], "1:2 2:3")
			got = tally(t, s,
				Tally{Key: "dlr:acme:GB", Add: []SlotCount{{2, 1}, {3, 4}, {3, 1}}, TTL: ttl},
				Tally{Key: "dlr:acme:NG", Add: []SlotCount{{1, 7}}, TTL: ttl},
				Tally{Key: "dlr:other:GB", TTL: ttl})
			wantSlots(t, "second call, GB", got[0], "1:2 2:4 3:5")
			wantSlots(t, "second call, NG", got[1], "1:7")
			wantSlots(t, "second call, a key never added to", got[2], "")
			got = tally(t, s, Tally{Key: "dlr:acme:NG", TTL: ttl}, Tally{Key: "dlr:acme:GB", TTL: ttl})
			wantSlots(t, "a read of NG", got[0], "1:7")
			wantSlots(t, "a read of GB", got[1], "1:2 2:4 3:5")
		})
	})

	t.Run("key_listed_twice_reads_both_adds", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			got := tally(t, s,
				Tally{Key: "k", Add: []SlotCount{{1, 1}}, TTL: ttl},
				Tally{Key: "k", Add: []SlotCount{{1, 2}, {2, 1}}, TTL: ttl})
			wantSlots(t, "first place", got[0], "1:1")
			wantSlots(t, "second place", got[1], "1:3 2:1")
		})
	})

	t.Run("from_drops_old_slots", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			add := []SlotCount{{-1, 1}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}}
			wantSlots(t, "all", tally(t, s, Tally{Key: "k", Add: add, From: -10, TTL: ttl})[0], "-1:1 1:1 2:2 3:3 4:4 5:5")
			wantSlots(t, "a read from 3", tally(t, s, Tally{Key: "k", From: 3, TTL: ttl})[0], "3:3 4:4 5:5")
			wantSlots(t, "a read from 0", tally(t, s, Tally{Key: "k", TTL: ttl})[0], "3:3 4:4 5:5")
			got := tally(t, s, Tally{Key: "k", Add: []SlotCount{{2, 9}, {6, 6}}, From: 4, TTL: ttl})
			wantSlots(t, "adds below from", got[0], "4:4 5:5 6:6")
			wantSlots(t, "past every slot", tally(t, s, Tally{Key: "k", From: 7, TTL: ttl})[0], "")
			wantSlots(t, "after everything was dropped", tally(t, s, Tally{Key: "k", TTL: ttl})[0], "")
		})
	})

	t.Run("zero_counts_add_nothing", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			wantSlots(t, "adds of 0", tally(t, s, Tally{Key: "k", Add: []SlotCount{{1, 0}, {2, 0}}, TTL: ttl})[0], "")
			wantSlots(t, "then one", tally(t, s, Tally{Key: "k", Add: []SlotCount{{1, 0}, {2, 1}}, TTL: ttl})[0], "2:1")
		})
	})

	t.Run("large_slots_and_counts_are_exact", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			const big = maxExact
			got := tally(t, s, Tally{Key: "k", Add: []SlotCount{{big, big}, {big - 1, 1}, {-big, 2}}, From: -big, TTL: ttl})
			wantSlots(t, "large", got[0], fmt.Sprintf("%d:2 %d:1 %d:%d", -big, big-1, big, big))
			got = tally(t, s, Tally{Key: "k", Add: []SlotCount{{big, big}}, From: big, TTL: ttl})
			wantSlots(t, "twice the largest count, from the largest slot", got[0], fmt.Sprintf("%d:%d", big, 2*big))
		})
	})

	t.Run("many_in_one_call", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			var batch []Tally
			for i := range 200 {
				batch = append(batch, Tally{Key: "sends:acme:" + strconv.Itoa(i), Add: []SlotCount{{int64(i), int64(i + 1)}}, TTL: ttl})
			}
			got := tally(t, s, batch...)
			for i := range batch {
				batch[i].Add = nil
			}
			again := tally(t, s, batch...)
			for i := range batch {
				want := fmt.Sprintf("%d:%d", i, i+1)
				wantSlots(t, "tally "+strconv.Itoa(i), got[i], want)
				wantSlots(t, "a read of tally "+strconv.Itoa(i), again[i], want)
			}
		})
	})

	t.Run("key_ends_after_its_ttl", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			wantSlots(t, "added", tally(t, s, Tally{Key: "k", Add: []SlotCount{{1, 1}}, TTL: time.Hour})[0], "1:1")
			// A read refreshes the ttl too: this one shortens it to 50 ms.
			// Every read of the poll gives 50 ms more, so the poll waits
			// longer than that between reads.
			short := Tally{Key: "k", TTL: 50 * time.Millisecond}
			wantSlots(t, "read", tally(t, s, short)[0], "1:1")
			deadline := time.Now().Add(5 * time.Second)
			for {
				time.Sleep(100 * time.Millisecond)
				if len(tally(t, s, short)[0]) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the key was still read 5 s after a 50 ms ttl")
				}
			}
			wantSlots(t, "added after its end", tally(t, s, Tally{Key: "k", Add: []SlotCount{{2, 1}}, TTL: time.Hour})[0], "2:1")
		})
	})

	t.Run("invalid", func(t *testing.T) {
		ok := Tally{Key: "k", Add: []SlotCount{{1, 1}}, TTL: time.Hour}
		cases := []struct {
			name string
			bad  Tally
			want string
		}{
			{"negative_count", Tally{Key: "k", Add: []SlotCount{{1, 1}, {2, -1}}, TTL: time.Hour}, "tally 1 has a negative count"},
			{"zero_ttl", Tally{Key: "k", Add: []SlotCount{{1, 1}}}, "tally 1 has a ttl that is not positive"},
			{"negative_ttl", Tally{Key: "k", TTL: -time.Second}, "tally 1 has a ttl that is not positive"},
			{"no_key", Tally{Add: []SlotCount{{1, 1}}, TTL: time.Hour}, "tally 1 has no key"},
			{"count_above_2^53-1", Tally{Key: "k", Add: []SlotCount{{1, 1 << 53}}, TTL: time.Hour}, "tally 1 has a count above 2^53-1"},
			{"slot_beyond_2^53-1", Tally{Key: "k", Add: []SlotCount{{-1 << 53, 1}}, TTL: time.Hour}, "tally 1 has a slot beyond"},
			{"from_beyond_2^53-1", Tally{Key: "k", From: 1 << 53, TTL: time.Hour}, "tally 1 has a from slot beyond"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				runSuite(t, hs, func(t *testing.T, s Store) {
					_, err := s.Tally(context.Background(), []Tally{ok, c.bad})
					if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrUnavailable) {
						t.Fatalf("%v, want an error containing %q", err, c.want)
					}
					if got := tally(t, s, Tally{Key: "k", TTL: time.Hour}); len(got[0]) != 0 {
						t.Errorf("a refused call added %v", got[0])
					}
				})
			})
		}
	})
}

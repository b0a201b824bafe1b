package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// placeHold calls s.PlaceHold and fails the test on an error.
func placeHold(t *testing.T, s Store, key, data string, now, until time.Time) bool {
	t.Helper()
	placed, err := s.PlaceHold(context.Background(), key, []byte(data), now, until)
	if err != nil {
		t.Fatalf("PlaceHold(%s): %v", key, err)
	}
	return placed
}

// liftHold calls s.LiftHold and fails the test on an error.
func liftHold(t *testing.T, s Store, key string, now time.Time) bool {
	t.Helper()
	lifted, err := s.LiftHold(context.Background(), key, now)
	if err != nil {
		t.Fatalf("LiftHold(%s): %v", key, err)
	}
	return lifted
}

// holdsString calls s.Holds and writes them as "key=data@+until" (until
// after base), space-separated; it fails the test on an error.
func holdsString(t *testing.T, s Store, now time.Time) string {
	t.Helper()
	hs, err := s.Holds(context.Background(), now)
	if err != nil {
		t.Fatalf("Holds: %v", err)
	}
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.Key + "=" + string(h.Data) + "@+" + h.Until.Sub(base).String()
	}
	return strings.Join(parts, " ")
}

func testHolds(t *testing.T, hs []harness) {
	t.Run("place_once_while_live", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			if !placeHold(t, s, "acme:NG", "q1", at(0), at(time.Hour)) {
				t.Fatal("a first hold was not placed")
			}
			if placeHold(t, s, "acme:NG", "q2", at(time.Minute), at(2*time.Hour)) {
				t.Error("a hold was placed over a live one")
			}
			if placeHold(t, s, "acme:NG", "q3", at(time.Hour-time.Millisecond), at(2*time.Hour)) {
				t.Error("a hold was placed over one live for another millisecond")
			}
			if got, want := holdsString(t, s, at(time.Minute)), "acme:NG=q1@+1h0m0s"; got != want {
				t.Errorf("holds %q, want %q: the refused places changed it", got, want)
			}
		})
	})

	t.Run("placed_again_once_ended", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			placeHold(t, s, "acme:NG", "q1", at(0), at(time.Minute))
			if !placeHold(t, s, "acme:NG", "q2", at(time.Minute), at(time.Hour)) {
				t.Fatal("a hold was not placed over one that ended")
			}
			if got, want := holdsString(t, s, at(time.Minute)), "acme:NG=q2@+1h0m0s"; got != want {
				t.Errorf("holds %q, want %q", got, want)
			}
		})
	})

	t.Run("holds_lists_the_live_in_key_order_and_deletes_the_ended", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			if got := holdsString(t, s, at(0)); got != "" {
				t.Fatalf("holds of an empty store %q", got)
			}
			binary := string([]byte{0, ':', 0xff, '\n'})
			placeHold(t, s, "zeta:GB", "z", at(0), at(2*time.Hour))
			placeHold(t, s, "acme:NG", "", at(0), at(time.Hour))
			placeHold(t, s, "acme:GH", binary, at(0), at(30*time.Minute+time.Millisecond))
			placeHold(t, s, "beta:NG:x", "b", at(0), at(45*time.Minute))
			want := "acme:GH=" + binary + "@+30m0.001s acme:NG=@+1h0m0s beta:NG:x=b@+45m0s zeta:GB=z@+2h0m0s"
			if got := holdsString(t, s, at(30*time.Minute)); got != want {
				t.Errorf("holds at +30m %q, want %q", got, want)
			}
			if got, want := holdsString(t, s, at(45*time.Minute)), "acme:NG=@+1h0m0s zeta:GB=z@+2h0m0s"; got != want {
				t.Errorf("holds at +45m %q, want %q", got, want)
			}
			// Those that ended were deleted: not listed at an earlier time.
			if got, want := holdsString(t, s, at(0)), "acme:NG=@+1h0m0s zeta:GB=z@+2h0m0s"; got != want {
				t.Errorf("holds at +0 after the list at +45m %q, want %q", got, want)
			}
		})
	})

	t.Run("lift", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			placeHold(t, s, "acme:NG", "q", at(0), at(time.Hour))
			placeHold(t, s, "acme:GH", "q", at(0), at(time.Minute))
			if !liftHold(t, s, "acme:NG", at(time.Second)) {
				t.Error("lifting a live hold: not lifted")
			}
			if liftHold(t, s, "acme:NG", at(time.Second)) {
				t.Error("lifting it again: lifted")
			}
			if liftHold(t, s, "acme:never", at(time.Second)) {
				t.Error("lifting an absent hold: lifted")
			}
			if liftHold(t, s, "acme:GH", at(time.Minute)) {
				t.Error("lifting a hold that ended: lifted")
			}
			if got := holdsString(t, s, at(0)); got != "" {
				t.Errorf("holds after the lifts %q, want none", got)
			}
			if !placeHold(t, s, "acme:NG", "again", at(2*time.Second), at(time.Hour)) {
				t.Error("a lifted hold's key could not be placed again")
			}
		})
	})

	t.Run("concurrent_places_of_a_key_place_one", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			var placed atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Go(func() {
					ok, err := s.PlaceHold(context.Background(), "acme:NG", []byte("q"), at(0), at(time.Hour))
					if err != nil {
						errs <- err
					}
					if ok {
						placed.Add(1)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n := placed.Load(); n != 1 {
				t.Errorf("%d of 20 concurrent places placed, want 1", n)
			}
		})
	})

	t.Run("invalid", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			ctx := context.Background()
			check := func(err error, want string) {
				t.Helper()
				if err == nil || !strings.Contains(err.Error(), want) || errors.Is(err, ErrUnavailable) {
					t.Errorf("%v, want an error containing %q", err, want)
				}
			}
			_, err := s.PlaceHold(ctx, "", nil, at(0), at(time.Hour))
			check(err, "placing hold: no key")
			_, err = s.PlaceHold(ctx, "k", nil, time.Time{}, at(time.Hour))
			check(err, "placing hold: no time")
			_, err = s.PlaceHold(ctx, "k", nil, at(time.Hour), at(time.Hour))
			check(err, "placing hold: until must be after now")
			_, err = s.PlaceHold(ctx, "k", nil, at(time.Hour), at(time.Hour+time.Microsecond))
			check(err, "placing hold: until must be after now") // not by a whole millisecond
			_, err = s.Holds(ctx, time.Time{})
			check(err, "listing holds: no time")
			_, err = s.LiftHold(ctx, "", at(0))
			check(err, "lifting hold: no key")
			_, err = s.LiftHold(ctx, "k", time.Time{})
			check(err, "lifting hold: no time")
			if got := holdsString(t, s, at(0)); got != "" {
				t.Errorf("holds after refused places %q, want none", got)
			}
		})
	})
}

package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// attributionTTL is the ttl the sidecar gives attributions.
const attributionTTL = 4 * 24 * time.Hour

// reconcile calls s.Reconcile and fails the test on an error.
func reconcile(t *testing.T, s Store, id string, cost int64) (string, int64, bool) {
	t.Helper()
	data, previous, found, err := s.Reconcile(context.Background(), id, cost)
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return string(data), previous, found
}

func testAttributions(t *testing.T, hs []harness) {
	ctx := context.Background()
	t.Run("reconcile_returns_data_and_the_cost_before", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			binary := string([]byte{0, 1, 0xfe, 0xff, '\n'})
			err := s.Attribute(ctx, []Attribution{
				{MessageID: "msg-1", Data: []byte(`{"tenant":"acme"}`), Cost: 500_000},
				{MessageID: "msg-2", Data: []byte(binary), Cost: 0},
				{MessageID: "msg-3", Cost: 4e15},
			}, attributionTTL)
			if err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				id       string
				cost     int64
				data     string
				previous int64
				found    bool
			}{
				{"msg-1", 700_000, `{"tenant":"acme"}`, 500_000, true},
				{"msg-1", 650_000, `{"tenant":"acme"}`, 700_000, true},
				{"msg-2", 3, binary, 0, true},
				{"msg-3", 9e15, "", 4e15, true},
				{"msg-3", 0, "", 9e15, true},
				{"unknown", 5, "", 0, false},
				{"unknown", 5, "", 0, false}, // the first stored nothing
			}
			for i, st := range steps {
				data, previous, found := reconcile(t, s, st.id, st.cost)
				if data != st.data || previous != st.previous || found != st.found {
					t.Errorf("step %d (%s): %q, %d, %v; want %q, %d, %v", i, st.id, data, previous, found, st.data, st.previous, st.found)
				}
			}
		})
	})

	t.Run("attributing_again_replaces", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			for _, a := range []Attribution{{MessageID: "m", Data: []byte("first"), Cost: 1}, {MessageID: "m", Data: []byte("second"), Cost: 2}} {
				if err := s.Attribute(ctx, []Attribution{a}, attributionTTL); err != nil {
					t.Fatal(err)
				}
			}
			if data, previous, found := reconcile(t, s, "m", 3); data != "second" || previous != 2 || !found {
				t.Errorf("%q, %d, %v; want the second attribution", data, previous, found)
			}
		})
	})

	t.Run("many_at_once", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			var batch []Attribution
			for i := range 200 {
				id := "api_" + strconv.Itoa(i)
				batch = append(batch, Attribution{MessageID: id, Data: []byte("d" + id), Cost: int64(i)})
			}
			if err := s.Attribute(ctx, batch, attributionTTL); err != nil {
				t.Fatal(err)
			}
			for i, a := range batch {
				if data, previous, found := reconcile(t, s, a.MessageID, 0); data != "d"+a.MessageID || previous != int64(i) || !found {
					t.Fatalf("%s: %q, %d, %v", a.MessageID, data, previous, found)
				}
			}
		})
	})

	t.Run("expire_after_their_ttl", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			if err := s.Attribute(ctx, []Attribution{{MessageID: "short", Cost: 1}}, 100*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if _, _, found := reconcile(t, s, "short", 1); !found {
				t.Fatal("not found within its ttl")
			}
			time.Sleep(250 * time.Millisecond)
			if _, _, found := reconcile(t, s, "short", 1); found {
				t.Error("found after its ttl")
			}
		})
	})

	t.Run("concurrent_reconciles_of_one_message", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			if err := s.Attribute(ctx, []Attribution{{MessageID: "dlr", Cost: 500}}, attributionTTL); err != nil {
				t.Fatal(err)
			}
			const n = 50
			deltas := make(chan int64, n)
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					_, previous, found, err := s.Reconcile(ctx, "dlr", 700)
					if err != nil || !found {
						errs <- errors.Join(err, errors.New("not found"))
						return
					}
					deltas <- 700 - previous
				})
			}
			wg.Wait()
			close(deltas)
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			var total, nonzero int64
			for d := range deltas {
				total += d
				if d != 0 {
					nonzero++
				}
			}
			if total != 200 || nonzero != 1 {
				t.Errorf("deltas total %d in %d nonzero, want 200 in one", total, nonzero)
			}
		})
	})

	t.Run("invalid", func(t *testing.T) {
		runSuite(t, hs, func(t *testing.T, s Store) {
			check := func(err error, want string) {
				t.Helper()
				if err == nil || !strings.Contains(err.Error(), want) || errors.Is(err, ErrUnavailable) {
					t.Errorf("%v, want an error containing %q", err, want)
				}
			}
			check(s.Attribute(ctx, []Attribution{{MessageID: "m"}}, 0), "ttl must be positive")
			check(s.Attribute(ctx, []Attribution{{MessageID: "m"}, {Cost: 1}}, time.Hour), "attribution 1 has no message id")
			check(s.Attribute(ctx, []Attribution{{MessageID: "m", Cost: -1}}, time.Hour), "attribution 0 has a negative cost")
			_, _, _, err := s.Reconcile(ctx, "", 1)
			check(err, "no message id")
			_, _, _, err = s.Reconcile(ctx, "m", -1)
			check(err, "negative cost")
			if _, _, found := reconcile(t, s, "m", 1); found {
				t.Error("a refused attribution was kept")
			}
		})
	})
}

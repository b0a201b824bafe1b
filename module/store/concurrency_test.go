package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/redistest"
)

// fleet is the stores that stand for a fleet of sidecars: the same Memory
// for one process, or three separate Redis clients (each with its own
// connection pool) for three processes sharing a Redis, bare or each
// under a Fallback.
func fleets(t *testing.T) map[string][]Store {
	srv := redistest.Start(t)
	var sidecars []Store
	for range 3 {
		sidecars = append(sidecars, newRedis(t, RedisOptions{URL: srv.URL, Timeout: 2 * time.Second, PoolSize: 20}))
	}
	var fallbacks []Store
	for range 3 {
		f := NewFallback(newRedis(t, RedisOptions{URL: srv.URL, KeyPrefix: "fallback:", Timeout: 2 * time.Second, PoolSize: 20}),
			NewMemory(MemoryOptions{}), FallbackOptions{FleetSize: 3})
		t.Cleanup(func() { f.Close() })
		fallbacks = append(fallbacks, f)
	}
	return map[string][]Store{
		"memory":           {NewMemory(MemoryOptions{})},
		"redis_3_client":   sidecars,
		"fallback_3_redis": fallbacks,
	}
}

// TestConcurrentAdmissions: racing admissions never pass a limit
// together, and racing claims of one idempotency key admit one request.
func TestConcurrentAdmissions(t *testing.T) {
	for name, stores := range fleets(t) {
		t.Run(name+"/1000_against_600", func(t *testing.T) {
			const n = 1000
			limit := Limit{Key: "rate:acme", Cost: 1, Max: 600, Window: time.Minute}
			now := time.Now()
			var admitted, refused atomic.Int64
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					d, err := stores[i%len(stores)].Admit(context.Background(),
						Admission{Scope: "acme", Limits: []Limit{limit}, Charge: true, Now: now})
					switch {
					case err != nil:
						errs <- err
					case d.Verdict == Admitted:
						admitted.Add(1)
					case d.Verdict == Refused:
						refused.Add(1)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if admitted.Load() != 600 || refused.Load() != 400 {
				t.Errorf("admitted %d and refused %d, want exactly 600 and 400", admitted.Load(), refused.Load())
			}
			if got := usage(t, stores[0], "acme", []Limit{limit}, now); got[0] != 600 {
				t.Errorf("counter %d, want 600", got[0])
			}
		})

		t.Run(name+"/50_claims_of_one_key", func(t *testing.T) {
			const n = 50
			claim := &IdempotencyClaim{Key: "acme:order-9", BodyHash: [32]byte{9}, TTL: time.Hour, InFlightFor: time.Minute}
			var admitted, inProgress atomic.Int64
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					d, err := stores[i%len(stores)].Admit(context.Background(),
						Admission{Scope: "acme", Idempotency: claim, Now: time.Now()})
					switch {
					case err != nil:
						errs <- err
					case d.Verdict == Admitted:
						admitted.Add(1)
					case d.Verdict == InProgress:
						inProgress.Add(1)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if admitted.Load() != 1 || inProgress.Load() != n-1 {
				t.Errorf("admitted %d, in progress %d; want 1 and %d", admitted.Load(), inProgress.Load(), n-1)
			}
		})
	}
}

// TestConcurrentBudget: racing admissions of random costs (micro-units of
// money) against a budget never spend more than its Max together, and
// its counter holds exactly what was admitted, near 2^53 where a Redis
// script's doubles would round if anything went through them inexactly.
func TestConcurrentBudget(t *testing.T) {
	for name, stores := range fleets(t) {
		t.Run(name, func(t *testing.T) {
			const n = 1000
			budget := Limit{Key: "budget:acme:day", Max: maxExact - 12_345, Period: day2099}
			var spent atomic.Int64
			var admitted, refused atomic.Int64
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					l := budget
					l.Cost = 1 + rand.New(rand.NewPCG(7, uint64(i))).Int64N(4e13) // 1,000 of them: about twice the budget
					d, err := stores[i%len(stores)].Admit(context.Background(),
						Admission{Scope: "acme", Limits: []Limit{l}, Charge: true, SharedOnly: true, Now: future})
					switch {
					case err != nil:
						errs <- err
					case d.Verdict == Admitted:
						admitted.Add(1)
						spent.Add(l.Cost)
						if d.Values[0] > l.Max {
							errs <- fmt.Errorf("admitted %d to %d, past the max", l.Cost, d.Values[0])
						}
					case d.Verdict == Refused:
						refused.Add(1)
						if d.Current+l.Cost <= l.Max {
							errs <- fmt.Errorf("refused %d at %d, which fits", l.Cost, d.Current)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			t.Logf("%d admitted, %d refused, %d spent of %d", admitted.Load(), refused.Load(), spent.Load(), budget.Max)
			if spent.Load() > budget.Max || refused.Load() == 0 {
				t.Errorf("spent %d of %d with %d refused", spent.Load(), budget.Max, refused.Load())
			}
			if got := usage(t, stores[0], "acme", []Limit{budget}, future); got[0] != spent.Load() {
				t.Errorf("counter %d, want exactly the %d admitted", got[0], spent.Load())
			}
		})
	}
}

// TestPacingAccuracy: many callers across three Redis clients, each
// sleeping its wait as a sender would, get slots at the configured rate.
// The slots (now + wait) are counted, not the wake-ups, so the test
// measures the bucket rather than the scheduler.
func TestPacingAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 3 s")
	}
	srv := redistest.Start(t)
	const (
		rate     = 900
		duration = 3 * time.Second
		callers  = 30
	)
	pace := Pace{Key: "acct", Interval: time.Second / rate, Burst: 1, MaxWait: 2 * time.Second}
	var sidecars []Store
	for range 3 {
		sidecars = append(sidecars, newRedis(t, RedisOptions{URL: srv.URL, Timeout: time.Second}))
	}
	start := time.Now()
	end := start.Add(duration)
	var inWindow atomic.Int64
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			s := sidecars[i%len(sidecars)]
			for {
				now := time.Now()
				if now.After(end) {
					return
				}
				wait, ok, retry, err := s.Reserve(context.Background(), pace, now)
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					time.Sleep(retry)
					continue
				}
				if now.Add(wait).Before(end) {
					inWindow.Add(1)
				}
				time.Sleep(wait)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := float64(rate)*duration.Seconds() + 1 // the burst
	got := float64(inWindow.Load())
	t.Logf("%v slots in %v at %d/s", got, duration, rate)
	if math.Abs(got-want)/want > 0.05 {
		t.Errorf("%v slots in %v, want %v ± 5%%", got, duration, want)
	}
}

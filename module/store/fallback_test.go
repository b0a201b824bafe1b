package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/redistest"
)

// flakyShared is a shared store that can be switched off: every call
// fails with ErrUnavailable while it is down.
type flakyShared struct {
	Store
	down  atomic.Bool
	calls atomic.Int64
}

var errFlaky = fmt.Errorf("flaky: %w", ErrUnavailable)

func (f *flakyShared) fail() error {
	f.calls.Add(1)
	if f.down.Load() {
		return errFlaky
	}
	return nil
}

func (f *flakyShared) Ping(context.Context) error { return f.fail() }

func (f *flakyShared) Admit(ctx context.Context, a Admission) (Decision, error) {
	if err := f.fail(); err != nil {
		return Decision{}, err
	}
	return f.Store.Admit(ctx, a)
}

func (f *flakyShared) Settle(ctx context.Context, t Ticket, s Settlement) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.Settle(ctx, t, s)
}

func (f *flakyShared) Reserve(ctx context.Context, p Pace, now time.Time) (time.Duration, bool, time.Duration, error) {
	if err := f.fail(); err != nil {
		return 0, false, 0, err
	}
	return f.Store.Reserve(ctx, p, now)
}

func (f *flakyShared) ClaimSecond(ctx context.Context, key string, now time.Time, ahead, ttl time.Duration) (int64, bool, error) {
	if err := f.fail(); err != nil {
		return 0, false, err
	}
	return f.Store.ClaimSecond(ctx, key, now, ahead, ttl)
}

func (f *flakyShared) Adjust(ctx context.Context, scope string, adjustments []Adjustment, now time.Time) ([]int64, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.Adjust(ctx, scope, adjustments, now)
}

func (f *flakyShared) Attribute(ctx context.Context, attributions []Attribution, ttl time.Duration) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.Attribute(ctx, attributions, ttl)
}

func (f *flakyShared) Reconcile(ctx context.Context, messageID string, cost int64) ([]byte, int64, bool, error) {
	if err := f.fail(); err != nil {
		return nil, 0, false, err
	}
	return f.Store.Reconcile(ctx, messageID, cost)
}

func (f *flakyShared) ClaimMarker(ctx context.Context, key string, ttl time.Duration) (MarkerState, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	return f.Store.ClaimMarker(ctx, key, ttl)
}

func (f *flakyShared) Tally(ctx context.Context, tallies []Tally) ([][]SlotCount, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.Tally(ctx, tallies)
}

func (f *flakyShared) PlaceHold(ctx context.Context, key string, data []byte, now, until time.Time) (bool, error) {
	if err := f.fail(); err != nil {
		return false, err
	}
	return f.Store.PlaceHold(ctx, key, data, now, until)
}

func (f *flakyShared) Holds(ctx context.Context, now time.Time) ([]Hold, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.Holds(ctx, now)
}

func (f *flakyShared) LiftHold(ctx context.Context, key string, now time.Time) (bool, error) {
	if err := f.fail(); err != nil {
		return false, err
	}
	return f.Store.LiftHold(ctx, key, now)
}

// outages records OnOutage calls.
type outages struct {
	mu   sync.Mutex
	seen []Outage
}

func (o *outages) record(outage Outage) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, outage)
}

// get returns the calls so far, each as "start" (with whether its error
// wraps ErrUnavailable), "over" or "closed".
func (o *outages) get() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, x := range o.seen {
		switch {
		case !x.Over:
			out = append(out, fmt.Sprintf("start:%v", errors.Is(x.Err, ErrUnavailable)))
		case x.Closed:
			out = append(out, "closed")
		default:
			out = append(out, "over")
		}
	}
	return out
}

// last returns the last call, waiting for there to be n calls, at most
// limit.
func (o *outages) last(t *testing.T, n int, limit time.Duration) Outage {
	t.Helper()
	start := time.Now()
	for {
		o.mu.Lock()
		if len(o.seen) >= n {
			defer o.mu.Unlock()
			return o.seen[len(o.seen)-1]
		}
		o.mu.Unlock()
		if time.Since(start) > limit {
			t.Fatalf("OnOutage was called %d times within %v, want %d: %v", len(o.get()), limit, n, o.get())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeClock is a clock that only the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// withClock gives f a fake clock, before any call.
func withClock(f *Fallback) *fakeClock {
	c := &fakeClock{now: base}
	f.clock = c.Now
	return c
}

// waitAvailable waits until f is available again, at most limit.
func waitAvailable(t *testing.T, f *Fallback, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !f.Status().Available {
		if time.Since(start) > limit {
			t.Fatalf("the shared store was not used again within %v", limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// TestFallbackModes checks what each mode does while the shared store is
// down, and the switch back.
func TestFallbackModes(t *testing.T) {
	ctx := context.Background()
	limit := Limit{Key: "rate:acme", Cost: 1, Max: 10, Window: time.Minute}
	pace := Pace{Key: "acct", Interval: 100 * time.Millisecond, Burst: 2, MaxWait: time.Second}

	t.Run("local", func(t *testing.T) {
		shared := &flakyShared{Store: NewMemory(MemoryOptions{})}
		var ch outages
		f := NewFallback(shared, NewMemory(MemoryOptions{}), FallbackOptions{FleetSize: 3, ProbeInterval: 10 * time.Millisecond, OnOutage: ch.record})
		defer f.Close()
		clock := withClock(f)

		before := admit(t, f, Admission{Scope: "acme", Limits: []Limit{limit}, Charge: true, Now: base})
		shared.down.Store(true)

		// Admission: the first call finds the store down and is served
		// locally, with the limit divided by the fleet size: ceil(10/3) = 4.
		admitted := 0
		for range 6 {
			if d := admit(t, f, Admission{Scope: "acme", Limits: []Limit{limit}, Charge: true, Now: base}); d.Verdict == Admitted {
				admitted++
			}
		}
		if admitted != 4 {
			t.Errorf("admitted %d locally, want 4 (a third of 10, rounded up)", admitted)
		}
		if st := f.Status(); st.Available || st.Outages != 1 || st.Failures < 1 || st.Mode != OnErrorLocal {
			t.Errorf("status while down %+v", st)
		}
		callsWhileDown := shared.calls.Load()
		admit(t, f, Admission{Scope: "acme", Limits: []Limit{limit}, Charge: true, Now: base})
		if shared.calls.Load() > callsWhileDown+1 { // the probe may have run meanwhile
			t.Error("a request tried the shared store while it was marked down")
		}

		// Pacing: the interval is multiplied by 3 and the burst divided.
		waits := []time.Duration{}
		for range 2 {
			w, ok, _, err := f.Reserve(ctx, pace, base)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			waits = append(waits, w)
		}
		if waits[0] != 0 || waits[1] != 300*time.Millisecond {
			t.Errorf("local waits %v, want [0 300ms]", waits)
		}
		if _, ok, err := f.ClaimSecond(ctx, "sig", base, time.Second, time.Minute); !ok || err != nil {
			t.Errorf("ClaimSecond while down: %v %v", ok, err)
		}
		if st, err := f.ClaimMarker(ctx, "evt", time.Minute); err != nil || st != MarkerNew {
			t.Errorf("ClaimMarker while down: %v %v", st, err)
		}
		if err := f.ConfirmMarker(ctx, "evt", time.Hour); err != nil {
			t.Errorf("ConfirmMarker while down: %v", err)
		}
		if err := f.Settle(ctx, before.Ticket, Settlement{Refund: true}); !errors.Is(err, ErrUnavailable) {
			t.Errorf("settling a shared ticket while down: %v, want ErrUnavailable", err)
		}
		local := admit(t, f, Admission{Scope: "other", Limits: []Limit{limit}, Charge: true, Now: base})

		shared.down.Store(false)
		waitAvailable(t, f, 2*time.Second)
		if err := f.Settle(ctx, local.Ticket, Settlement{Refund: true}); err != nil {
			t.Errorf("settling a local ticket after recovery: %v", err)
		}
		if err := f.Settle(ctx, before.Ticket, Settlement{Refund: true}); err != nil {
			t.Errorf("settling a shared ticket after recovery: %v", err)
		}
		if got := usage(t, f, "acme", []Limit{limit}, base); got[0] != 0 {
			t.Errorf("shared counter %d after the refund, want 0", got[0])
		}
		if got, want := ch.get(), []string{"start:true"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("OnOutage calls %v once the store is back, want %v: the outage is not over until it has answered for %v", got, want, OutageQuiet)
		}
		clock.Advance(OutageQuiet)
		// 8 admissions, 2 pacing slots, a signing second, 2 markers and
		// the settlement that could not reach the shared store.
		if o := ch.last(t, 2, 2*time.Second); !o.Over || o.Closed || o.Affected != 14 || o.Failures < 1 {
			t.Errorf("the outage's end %+v, want over with 14 calls affected", o)
		}
	})

	t.Run("refuse", func(t *testing.T) {
		shared := &flakyShared{Store: NewMemory(MemoryOptions{})}
		f := NewFallback(shared, NewMemory(MemoryOptions{}), FallbackOptions{Mode: OnErrorRefuse, ProbeInterval: time.Hour})
		defer f.Close()
		shared.down.Store(true)
		for i := range 2 { // the call that finds it down, and one after
			_, err := f.Admit(ctx, Admission{Scope: "acme", Limits: []Limit{limit}, Charge: true, Now: base})
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("Admit %d: %v, want ErrUnavailable", i, err)
			}
		}
		if _, ok, _, err := f.Reserve(ctx, pace, base); err != nil || !ok {
			t.Errorf("Reserve falls back in mode refuse too: %v %v", ok, err)
		}
		if _, ok, err := f.ClaimSecond(ctx, "sig", base, time.Second, time.Minute); err != nil || !ok {
			t.Errorf("ClaimSecond falls back in mode refuse too: %v %v", ok, err)
		}
		if _, err := f.ClaimMarker(ctx, "evt", time.Minute); !errors.Is(err, ErrUnavailable) {
			t.Errorf("ClaimMarker: %v, want ErrUnavailable", err)
		}
		if err := f.ConfirmMarker(ctx, "evt", time.Minute); !errors.Is(err, ErrUnavailable) {
			t.Errorf("ConfirmMarker: %v, want ErrUnavailable", err)
		}
		if err := f.ReleaseMarker(ctx, "evt"); !errors.Is(err, ErrUnavailable) {
			t.Errorf("ReleaseMarker: %v, want ErrUnavailable", err)
		}
		if st := f.Status(); st.Mode != OnErrorRefuse || st.Mode.String() != "refuse" {
			t.Errorf("mode %v", st.Mode)
		}
	})

	t.Run("other_errors_pass_through", func(t *testing.T) {
		shared := &flakyShared{Store: NewMemory(MemoryOptions{})}
		f := NewFallback(shared, NewMemory(MemoryOptions{}), FallbackOptions{})
		defer f.Close()
		if _, err := f.Admit(ctx, Admission{Limits: []Limit{limit}}); err == nil || errors.Is(err, ErrUnavailable) {
			t.Errorf("a bad admission: %v", err)
		}
		if !f.Status().Available {
			t.Error("a bad admission marked the shared store down")
		}
	})
}

// TestFallbackIdempotencyWhileDown: while the shared store is down, an
// admission with an idempotency claim is answered from this process's own
// record of the key, or refused with ErrUnavailable, in either mode: never
// admitted from memory, which would send a retry a second time.
func TestFallbackIdempotencyWhileDown(t *testing.T) {
	ctx := context.Background()
	claim := func(key, body string) *IdempotencyClaim {
		return &IdempotencyClaim{Key: "acme:" + key, BodyHash: sha256.Sum256([]byte(body)), TTL: time.Hour}
	}
	send := func(c *IdempotencyClaim) Admission {
		return Admission{Scope: "acme", Idempotency: c, Limits: []Limit{{Key: "rate:acme", Cost: 1, Max: 10, Window: time.Minute}}, Charge: true, Now: base}
	}
	for _, mode := range []OnError{OnErrorLocal, OnErrorRefuse} {
		t.Run(mode.String(), func(t *testing.T) {
			shared := &flakyShared{Store: NewMemory(MemoryOptions{})}
			f := NewFallback(shared, NewMemory(MemoryOptions{}), FallbackOptions{Mode: mode, ProbeInterval: time.Hour})
			defer f.Close()

			// Sent and completed through the shared store: its record there
			// only. Another admitted, still in flight when the store goes.
			done := admit(t, f, send(claim("done", "a")))
			settle(t, f, done.Ticket, Settlement{Outcome: Completed, Record: &Record{Status: 200, Body: []byte("first")}})
			flying := admit(t, f, send(claim("flying", "b")))
			shared.down.Store(true)

			for i := range 2 { // the call that finds it down, and one after: the refusal claimed nothing
				if d, err := f.Admit(ctx, send(claim("done", "a"))); !errors.Is(err, ErrUnavailable) {
					t.Errorf("retry %d of a send completed in the shared store: %v %v, want ErrUnavailable", i, d.Verdict, err)
				}
			}
			if d, err := f.Admit(ctx, send(claim("new", "c"))); !errors.Is(err, ErrUnavailable) {
				t.Errorf("a new key: %v %v, want ErrUnavailable", d.Verdict, err)
			}
			if d := admit(t, f, send(claim("flying", "b"))); d.Verdict != InProgress {
				t.Errorf("retry of the send in flight: %v, want InProgress from the own record", d.Verdict)
			}
			// Its answer comes while the shared store is down: kept here.
			err := f.Settle(ctx, flying.Ticket, Settlement{Outcome: Completed, Record: &Record{Status: 200, Body: []byte("second")}})
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("settling a shared ticket while down: %v, want ErrUnavailable", err)
			}
			if d := admit(t, f, send(claim("flying", "b"))); d.Verdict != Replay || string(d.Record.Body) != "second" {
				t.Errorf("retry after its answer: %v %+v, want the replay of its own record", d.Verdict, d.Record)
			}
			if d := admit(t, f, send(claim("flying", "other body"))); d.Verdict != KeyReused {
				t.Errorf("the key with another body: %v, want KeyReused", d.Verdict)
			}
			_, err = f.Admit(ctx, send(nil))
			if mode == OnErrorLocal && err != nil || mode == OnErrorRefuse && !errors.Is(err, ErrUnavailable) {
				t.Errorf("a send without a key in mode %v: %v", mode, err)
			}

			shared.down.Store(false)
			if d, err := f.shared.Admit(ctx, send(claim("done", "a"))); err != nil || d.Verdict != Replay {
				t.Errorf("the shared store lost the completed record: %v %v", d.Verdict, err)
			}
		})
	}
}

// TestFallbackOwnRecordsReleased: the own record of a request settled
// through the shared store is released: the local store holds records
// only while the shared store does not have their outcome.
func TestFallbackOwnRecordsReleased(t *testing.T) {
	shared := &flakyShared{Store: NewMemory(MemoryOptions{})}
	local := NewMemory(MemoryOptions{})
	f := NewFallback(shared, local, FallbackOptions{ProbeInterval: time.Hour})
	defer f.Close()
	for i := range 100 {
		c := &IdempotencyClaim{Key: "acme:" + strconv.Itoa(i), TTL: time.Hour}
		d := admit(t, f, Admission{Scope: "acme", Idempotency: c, Now: base})
		settle(t, f, d.Ticket, Settlement{Outcome: Completed, Record: &Record{Status: 200}})
	}
	n := 0
	for i := range local.shards {
		n += local.shards[i].size()
	}
	if n != 0 {
		t.Errorf("the local store holds %d entries after 100 sends settled through the shared store, want 0", n)
	}
}

// TestFallbackOutageFlaps: a shared store that fails, comes back and fails
// again within OutageQuiet is one outage, reported when it starts and once
// it has answered for OutageQuiet, with the calls it affected.
func TestFallbackOutageFlaps(t *testing.T) {
	shared := &flakyShared{Store: NewMemory(MemoryOptions{})}
	var ch outages
	f := NewFallback(shared, NewMemory(MemoryOptions{}), FallbackOptions{ProbeInterval: time.Millisecond, OnOutage: ch.record})
	defer f.Close()
	clock := withClock(f)
	a := Admission{Scope: "acme", Limits: []Limit{{Key: "rate:acme", Cost: 1, Max: 100, Window: time.Minute}}, Charge: true, Now: base}

	for i := range 5 {
		if i > 0 {
			clock.Advance(OutageQuiet / 2) // since the last failure: the outage goes on
		}
		shared.down.Store(true)
		admit(t, f, a) // fails in the shared store; served locally
		if f.Status().Available {
			t.Fatalf("flap %d: a failed call did not send calls to the local store", i)
		}
		shared.down.Store(false)
		waitAvailable(t, f, 2*time.Second)
	}
	if got, want := ch.get(), []string{"start:true"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("OnOutage calls %v after 5 flaps, want %v", got, want)
	}
	if st := f.Status(); st.Outages != 1 {
		t.Errorf("%d outages counted, want 1", st.Outages)
	}

	clock.Advance(OutageQuiet)
	o := ch.last(t, 2, 2*time.Second)
	if !o.Over || o.Closed || o.Affected != 5 || o.Failures < 5 || !o.Started.Equal(base) || o.Lasted != 2*OutageQuiet {
		t.Errorf("the outage's end %+v, want over after 5 calls affected, started at %v and lasting %v", o, base, 2*OutageQuiet)
	}

	// A failure after it is a new outage.
	shared.down.Store(true)
	admit(t, f, a)
	if got := ch.get(); len(got) != 3 || got[2] != "start:true" {
		t.Errorf("OnOutage calls %v, want a new start", got)
	}
}

// TestFallbackOutageClosed: an outage under way when the Fallback is
// closed is reported over then, with what it affected.
func TestFallbackOutageClosed(t *testing.T) {
	shared := &flakyShared{Store: NewMemory(MemoryOptions{})}
	var ch outages
	f := NewFallback(shared, NewMemory(MemoryOptions{}), FallbackOptions{Mode: OnErrorRefuse, ProbeInterval: time.Millisecond, OnOutage: ch.record})
	clock := withClock(f)
	shared.down.Store(true)
	for range 3 {
		if _, err := f.Admit(context.Background(), Admission{Scope: "acme", Now: base}); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Admit in mode refuse: %v", err)
		}
	}
	clock.Advance(time.Minute)
	f.Close()
	if got, want := ch.get(), []string{"start:true", "closed"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("OnOutage calls %v, want %v", got, want)
	}
	if o := ch.last(t, 2, 0); o.Affected != 3 || o.Lasted != time.Minute {
		t.Errorf("the outage's end %+v, want 3 calls affected in a minute", o)
	}
}

// TestFallbackRedisOutage kills Redis under load: in mode local no
// error reaches the callers (but for settling shared tickets and
// admitting idempotent requests; tallies and holds included), OnOutage is called once for its start,
// and the shared store is used again within 2 s of Redis's return.
func TestFallbackRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	shared := newRedis(t, RedisOptions{URL: srv.URL})
	var ch outages
	f := NewFallback(shared, NewMemory(MemoryOptions{}), FallbackOptions{FleetSize: 3, OnOutage: ch.record})
	defer f.Close()

	var stop atomic.Bool
	var calls atomic.Int64
	errs := make(chan error, 100)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			ctx := context.Background()
			for i := 0; !stop.Load(); i++ {
				now := time.Now()
				key := strconv.Itoa(w) + ":" + strconv.Itoa(i)
				if _, err := f.Admit(ctx, Admission{
					Scope:  "acme",
					Limits: []Limit{{Key: "rate:acme", Cost: 1, Max: 1 << 40, Window: time.Minute}},
					Charge: true,
					Now:    now,
				}); err != nil {
					report(fmt.Errorf("Admit: %w", err))
					continue
				}
				// An idempotent request is refused while Redis is gone: its
				// record may be there.
				d, err := f.Admit(ctx, Admission{Scope: "acme", Idempotency: &IdempotencyClaim{Key: "acme:" + key, TTL: time.Minute}, Now: now})
				if err == nil {
					err = f.Settle(ctx, d.Ticket, Settlement{Outcome: Completed, Record: &Record{Status: 202}, TTL: time.Minute})
				}
				if err != nil && !errors.Is(err, ErrUnavailable) {
					report(fmt.Errorf("idempotent Admit or Settle: %w", err))
				}
				if _, _, _, err := f.Reserve(ctx, Pace{Key: "acct", Interval: time.Microsecond, MaxWait: time.Second}, now); err != nil {
					report(fmt.Errorf("Reserve: %w", err))
				}
				if _, _, err := f.ClaimSecond(ctx, key, now, time.Second, time.Minute); err != nil {
					report(fmt.Errorf("ClaimSecond: %w", err))
				}
				if _, err := f.ClaimMarker(ctx, key, time.Minute); err != nil {
					report(fmt.Errorf("ClaimMarker: %w", err))
				}
				if err := f.ConfirmMarker(ctx, key, time.Minute); err != nil {
					report(fmt.Errorf("ConfirmMarker: %w", err))
				}
				if _, err := f.Tally(ctx, []Tally{{Key: "dlr:acme:NG", Add: []SlotCount{{int64(i), 1}}, From: int64(i - 60), TTL: time.Minute}}); err != nil {
					report(fmt.Errorf("Tally: %w", err))
				}
				hold := "acme:" + strconv.Itoa(w)
				if _, err := f.PlaceHold(ctx, hold, nil, now, now.Add(time.Minute)); err != nil {
					report(fmt.Errorf("PlaceHold: %w", err))
				}
				if _, err := f.Holds(ctx, now); err != nil {
					report(fmt.Errorf("Holds: %w", err))
				}
				if _, err := f.LiftHold(ctx, hold, now); err != nil {
					report(fmt.Errorf("LiftHold: %w", err))
				}
				calls.Add(1)
				time.Sleep(time.Millisecond)
			}
		})
	}

	time.Sleep(300 * time.Millisecond)
	srv.Kill()
	time.Sleep(600 * time.Millisecond)
	if f.Status().Available {
		t.Error("the fallback did not notice Redis is gone")
	}
	during := calls.Load()
	time.Sleep(200 * time.Millisecond)
	if calls.Load() == during {
		t.Error("no calls completed while Redis was down")
	}
	srv.Restart()
	took := waitAvailable(t, f, 2*time.Second)
	t.Logf("back to Redis %v after its restart", took)
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a caller got an error in mode local: %v", err)
	}

	if got, want := ch.get(), []string{"start:true"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("OnOutage calls %v, want %v (once per outage; it is over after %v)", got, want, OutageQuiet)
	}
	if st := f.Status(); !st.Available || st.Outages != 1 || st.Failures == 0 {
		t.Errorf("status after the outage %+v", st)
	}
	n, err := inspector(t, srv).Exists(context.Background(), "restlink:{acme}:w:rate:acme").Result()
	if err != nil || n != 1 {
		t.Errorf("the restarted Redis holds no counter (%d, %v): admissions did not go back to it", n, err)
	}
}

// TestFallbackRedisRefuse: in mode refuse, admissions fail with
// ErrUnavailable once Redis is gone.
func TestFallbackRedisRefuse(t *testing.T) {
	srv := redistest.Start(t)
	f := NewFallback(newRedis(t, RedisOptions{URL: srv.URL}), NewMemory(MemoryOptions{}), FallbackOptions{Mode: OnErrorRefuse})
	defer f.Close()
	a := Admission{Scope: "acme", Limits: []Limit{{Key: "rate:acme", Cost: 1, Max: 10, Window: time.Minute}}, Charge: true, Now: time.Now()}
	if _, err := f.Admit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	for i := range 2 {
		if _, err := f.Admit(context.Background(), a); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Admit %d with Redis gone: %v, want ErrUnavailable", i, err)
		}
	}
}

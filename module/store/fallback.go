package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultProbeInterval is how often, by default, a Fallback asks a shared
// store that went down whether it is back.
const DefaultProbeInterval = 500 * time.Millisecond

// OnError is what a Fallback does with admissions without an idempotency
// claim while its shared store is unavailable.
type OnError int

// OnError values.
const (
	// OnErrorLocal admits against the local store, each limit divided by
	// the fleet size (the zero value).
	OnErrorLocal OnError = iota
	// OnErrorRefuse refuses admissions (and markers) with an error that
	// wraps ErrUnavailable.
	OnErrorRefuse
)

// String returns the mode as it is configured: "local" or "refuse".
func (m OnError) String() string {
	switch m {
	case OnErrorLocal:
		return "local"
	case OnErrorRefuse:
		return "refuse"
	}
	return fmt.Sprintf("on_error(%d)", int(m))
}

// SharedStore is a store shared by a fleet, which a Fallback can probe.
// Redis is one.
type SharedStore interface {
	Store
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}

// FallbackOptions tunes a Fallback. The zero value falls back locally for
// a fleet of one.
type FallbackOptions struct {
	// Mode is what admissions without an idempotency claim do while the
	// shared store is down.
	Mode OnError
	// FleetSize is how many sidecars share the limits: while it serves
	// from the local store, each sidecar takes its share, Max and Burst
	// divided by it (rounded up) and pacing intervals multiplied by it.
	// Less than 1 means 1.
	FleetSize int
	// ProbeInterval is how often the shared store is pinged while it is
	// down. Default: 500ms.
	ProbeInterval time.Duration
	// OnOutage, if set, is called once when an outage of the shared store
	// starts and once when it is over (see Outage), however many calls it
	// affects and however often the store comes back and fails again
	// within it. It is called from the call or probe that saw the change,
	// or from Close, and must not block.
	OnOutage func(Outage)
}

// FallbackStatus describes a Fallback for status pages and metrics.
type FallbackStatus struct {
	// Available is true while calls go to the shared store.
	Available bool
	// Since is when Available last changed (or the Fallback was made).
	Since time.Time
	// Failures counts the shared-store calls and probes that failed as
	// unavailable; Outages counts the outages (see Outage), however
	// often the store went down within each.
	Failures int64
	Outages  int64
	// Mode is the configured on_error mode.
	Mode OnError
}

// Fallback is a Store that uses a shared store while it answers and a
// local one while it does not. After the first call that finds the shared
// store unavailable, it stops trying it (no request waits for a dead
// Redis) and probes it in the background every ProbeInterval, switching
// back as soon as it answers. An outage is reported (OnOutage) when it
// starts and once it is over, OutageQuiet after the last failure.
//
// While the shared store is down, a SharedOnly admission (a budget's)
// fails with an error wrapping ErrUnavailable, whatever the Mode, and
// even when this process holds a record of its idempotency key. Another
// admission with an idempotency claim is answered from this process's
// own record of its key, if it has one, and otherwise fails with an error
// wrapping ErrUnavailable, whatever the Mode: the fleet's records are in
// the shared store, and admitting a retry without them could send a
// completed request a second time. The own records are those of the
// requests this process admitted through the shared store: kept in the
// local store from their admission until the shared store has their
// outcome, and kept with their outcome when it could not be told (see
// Settle). Other admissions follow Mode; Usage, Reserve, ClaimSecond,
// tallies and holds always use the local store, and markers use it in
// mode local and fail in mode refuse. Adjust, Attribute and Reconcile use
// the shared store only, and fail with an error wrapping ErrUnavailable
// while it is down, whatever the Mode.
//
// A Ticket is settled by the store that issued it: a ticket of the shared
// store, while it is down, cannot be settled there, and Settle returns an
// error wrapping ErrUnavailable (its charges stay, and its shared record
// reads as unknown once its in-flight time is over: conservative, never a
// double send).
type Fallback struct {
	shared     SharedStore
	local      *Memory
	mode       OnError
	fleet      int64
	probeEvery time.Duration
	onOutage   func(Outage)
	// clock reads the time of availability changes and failures, which
	// end outages. Tests replace it.
	clock func() time.Time

	down        atomic.Bool  // calls go to the local store
	failures    atomic.Int64 // shared-store calls and probes that failed
	affected    atomic.Int64 // calls decided without the shared store
	lastFailure atomic.Int64 // on the clock, Unix ns

	// change serializes changes of availability and outages with their
	// OnOutage calls, so that the calls come in order; mu guards the
	// fields below it, which Status reads (OnOutage may call Status).
	change  sync.Mutex
	mu      sync.Mutex
	since   time.Time
	outages int64
	outage  *outageState // the outage under way; nil between outages
	closed  bool

	done chan struct{}
	wg   sync.WaitGroup
}

var _ Store = (*Fallback)(nil)

// NewFallback returns a Fallback over shared and local. Closing it closes
// both.
func NewFallback(shared SharedStore, local *Memory, opts FallbackOptions) *Fallback {
	probe := opts.ProbeInterval
	if probe <= 0 {
		probe = DefaultProbeInterval
	}
	return &Fallback{
		shared:     shared,
		local:      local,
		mode:       opts.Mode,
		fleet:      int64(max(opts.FleetSize, 1)),
		probeEvery: probe,
		onOutage:   opts.OnOutage,
		clock:      time.Now,
		since:      time.Now(),
		done:       make(chan struct{}),
	}
}

// Status returns the Fallback's availability and counts.
func (f *Fallback) Status() FallbackStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return FallbackStatus{
		Available: !f.down.Load(),
		Since:     f.since,
		Failures:  f.failures.Load(),
		Outages:   f.outages,
		Mode:      f.mode,
	}
}

// Admit admits with the shared store. While it is down, a SharedOnly
// admission fails; one with an idempotency claim is answered from this
// process's own record of the key or fails (see Fallback); any other
// follows Mode.
func (f *Fallback) Admit(ctx context.Context, a Admission) (Decision, error) {
	if !f.down.Load() {
		d, err := f.shared.Admit(ctx, a)
		if !f.unavailable(err) {
			if err == nil && d.Verdict == Admitted && a.Idempotency != nil {
				f.keepOwnRecord(ctx, a, &d.Ticket)
			}
			return d, err
		}
	}
	f.affected.Add(1)
	if a.SharedOnly {
		if err := validateAdmission(&a); err != nil {
			return Decision{}, err
		}
		return Decision{}, fmt.Errorf("admitting: the admission must be decided by the shared store, which is %w", ErrUnavailable)
	}
	if a.Idempotency != nil {
		return f.ownRecord(a)
	}
	if f.mode == OnErrorRefuse {
		return Decision{}, fmt.Errorf("admitting: shared %w", ErrUnavailable)
	}
	if f.fleet > 1 && len(a.Limits) > 0 {
		limits := make([]Limit, len(a.Limits))
		for i, l := range a.Limits {
			l.Max = ceilDiv(l.Max, f.fleet)
			limits[i] = l
		}
		a.Limits = limits
	}
	return f.local.Admit(ctx, a)
}

// Settle settles a ticket with the store that issued it. A ticket of the
// shared store also settles this process's own record of its key: the
// record is released once the shared store has the outcome, and keeps the
// outcome when the shared store could not be told, so that retries while
// it is down are answered from it.
func (f *Fallback) Settle(ctx context.Context, t Ticket, s Settlement) error {
	if err := validateCosts(&t, &s); err != nil {
		return err
	}
	if t.Idempotency == "" && len(t.Charges) == 0 {
		return nil // nothing to settle, wherever it came from
	}
	if t.issuer == Store(f.local) {
		return f.local.Settle(ctx, t, s)
	}
	var err error
	if f.down.Load() {
		err = fmt.Errorf("settling: shared %w", ErrUnavailable)
		f.affected.Add(1)
	} else if err = f.shared.Settle(ctx, t, s); f.unavailable(err) {
		f.affected.Add(1)
	}
	f.settleOwnRecord(t, s, err)
	return err
}

// Usage reads the shared counters, or the local ones while it is down.
func (f *Fallback) Usage(ctx context.Context, scope string, limits []Limit, now time.Time) ([]int64, error) {
	if !f.down.Load() {
		v, err := f.shared.Usage(ctx, scope, limits, now)
		if !f.unavailable(err) {
			return v, err
		}
	}
	return f.local.Usage(ctx, scope, limits, now)
}

// Reserve paces with the shared bucket, or while it is down with a local
// one that gives this sidecar its share of the rate.
func (f *Fallback) Reserve(ctx context.Context, p Pace, now time.Time) (time.Duration, bool, time.Duration, error) {
	if !f.down.Load() {
		wait, ok, retry, err := f.shared.Reserve(ctx, p, now)
		if !f.unavailable(err) {
			return wait, ok, retry, err
		}
	}
	f.affected.Add(1)
	if f.fleet > 1 {
		p.Interval *= time.Duration(f.fleet)
		p.Burst = ceilDiv(max(p.Burst, 1), f.fleet)
	}
	return f.local.Reserve(ctx, p, now)
}

// ClaimSecond claims with the shared store, or the local one while it is
// down.
func (f *Fallback) ClaimSecond(ctx context.Context, key string, now time.Time, maxAhead, ttl time.Duration) (int64, bool, error) {
	if !f.down.Load() {
		sec, ok, err := f.shared.ClaimSecond(ctx, key, now, maxAhead, ttl)
		if !f.unavailable(err) {
			return sec, ok, err
		}
	}
	f.affected.Add(1)
	return f.local.ClaimSecond(ctx, key, now, maxAhead, ttl)
}

// ClaimMarker claims with the shared store, or while it is down as Mode
// says.
func (f *Fallback) ClaimMarker(ctx context.Context, key string, pendingTTL time.Duration) (MarkerState, error) {
	if !f.down.Load() {
		st, err := f.shared.ClaimMarker(ctx, key, pendingTTL)
		if !f.unavailable(err) {
			return st, err
		}
	}
	f.affected.Add(1)
	if f.mode == OnErrorRefuse {
		return 0, fmt.Errorf("claiming marker: shared %w", ErrUnavailable)
	}
	return f.local.ClaimMarker(ctx, key, pendingTTL)
}

// ConfirmMarker confirms with the shared store, or while it is down as
// Mode says.
func (f *Fallback) ConfirmMarker(ctx context.Context, key string, ttl time.Duration) error {
	if !f.down.Load() {
		err := f.shared.ConfirmMarker(ctx, key, ttl)
		if !f.unavailable(err) {
			return err
		}
	}
	f.affected.Add(1)
	if f.mode == OnErrorRefuse {
		return fmt.Errorf("confirming marker: shared %w", ErrUnavailable)
	}
	return f.local.ConfirmMarker(ctx, key, ttl)
}

// ReleaseMarker releases with the shared store, or while it is down as
// Mode says.
func (f *Fallback) ReleaseMarker(ctx context.Context, key string) error {
	if !f.down.Load() {
		err := f.shared.ReleaseMarker(ctx, key)
		if !f.unavailable(err) {
			return err
		}
	}
	f.affected.Add(1)
	if f.mode == OnErrorRefuse {
		return fmt.Errorf("releasing marker: shared %w", ErrUnavailable)
	}
	return f.local.ReleaseMarker(ctx, key)
}

// Close stops the probe, reports an outage under way as over, and closes
// both stores.
func (f *Fallback) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.done)
	f.mu.Unlock()
	f.wg.Wait()
	f.closeOutage()
	return errors.Join(f.shared.Close(), f.local.Close())
}

package store

import (
	"context"
	"errors"
	"time"
)

// OutageQuiet is how long the shared store must answer without a failure
// before its outage is over. Failures closer together than this belong to
// one outage: a store that flaps (a full Redis answers PING but refuses
// writes; a congested one times out now and then) is reported once, not
// once per failure.
const OutageQuiet = 60 * time.Second

// Outage is an outage of the shared store, as OnOutage is told of it. It
// starts with the first call or probe that finds the store unavailable,
// and is over once the store has answered for OutageQuiet without a
// failure, or when the Fallback is closed during it. Within it, the store
// may come back and fail again any number of times.
type Outage struct {
	// Over is false when the outage starts, true when it is over.
	Over bool
	// Closed is true when it is over because the Fallback was closed
	// during it: the store may still be down.
	Closed bool
	// Err is the failure that started it.
	Err error
	// Started is when it started.
	Started time.Time
	// The fields below are set when it is over. Lasted is how long it
	// took the store to answer again for the last time (to the close, if
	// it had not). Affected counts the calls decided without the shared
	// store: admissions, settlements, adjustments, pacing slots, signing
	// seconds, markers, attributions, reconciliations, tallies, and holds
	// placed or lifted, served from the local store or refused for want
	// of the shared one (reads of Usage and Holds are not counted).
	// Failures counts the shared-store calls and probes that failed.
	Lasted             time.Duration
	Affected, Failures int64
}

// outageState is the outage under way.
type outageState struct {
	err     error
	started time.Time
	back    time.Time // when the store last answered again; zero if it has not
	// The Fallback's counts when the outage started.
	affected, failures int64
}

// unavailable reports whether a shared-store call failed as unavailable;
// if so, it records the failure.
func (f *Fallback) unavailable(err error) bool {
	if err == nil || !errors.Is(err, ErrUnavailable) {
		return false
	}
	f.lastFailure.Store(f.clock().UnixNano())
	if !f.down.Load() { // the calls that failed with the first change nothing
		f.markDown(err)
	}
	f.failures.Add(1)
	return true
}

// markDown sends calls to the local store, and starts an outage with its
// watch unless one is under way (the store came back and failed again
// within OutageQuiet).
func (f *Fallback) markDown(err error) {
	f.change.Lock()
	defer f.change.Unlock()
	f.mu.Lock()
	if f.closed || !f.down.CompareAndSwap(false, true) {
		f.mu.Unlock()
		return
	}
	now := f.clock()
	f.since = now
	if f.outage != nil {
		f.mu.Unlock()
		return
	}
	f.outage = &outageState{err: err, started: now, affected: f.affected.Load(), failures: f.failures.Load()}
	f.outages++
	f.wg.Add(1)
	f.mu.Unlock()
	go f.watch()
	f.report(Outage{Err: err, Started: now})
}

// watch runs for the length of an outage. While the shared store is down
// it pings it every probeEvery, sending calls back to it as soon as it
// answers; while the store answers, it ends the outage once OutageQuiet
// has passed since the last failure.
func (f *Fallback) watch() {
	defer f.wg.Done()
	tick := time.NewTicker(f.probeEvery)
	defer tick.Stop()
	for {
		select {
		case <-f.done:
			return
		case <-tick.C:
		}
		if !f.down.Load() {
			if f.endIfQuiet() {
				return
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.probeEvery)
		err := f.shared.Ping(ctx)
		cancel()
		if err != nil {
			f.lastFailure.Store(f.clock().UnixNano())
			f.failures.Add(1)
			continue
		}
		f.markUp()
	}
}

// markUp sends calls back to the shared store, which answered a probe.
func (f *Fallback) markUp() {
	f.change.Lock()
	defer f.change.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	now := f.clock()
	f.down.Store(false)
	f.since = now
	f.outage.back = now
}

// endIfQuiet ends the outage if the shared store has answered for
// OutageQuiet without a failure. It reports whether the watch is over:
// the outage ended, or the Fallback is being closed (Close reports it).
func (f *Fallback) endIfQuiet() bool {
	f.change.Lock()
	defer f.change.Unlock()
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return true
	}
	if f.down.Load() || f.clock().Sub(time.Unix(0, f.lastFailure.Load())) < OutageQuiet {
		f.mu.Unlock()
		return false
	}
	o := f.endOutage(false)
	f.mu.Unlock()
	f.report(o)
	return true
}

// closeOutage reports the outage under way, if any, as over: the Fallback
// is closed, and its watch has stopped.
func (f *Fallback) closeOutage() {
	f.change.Lock()
	defer f.change.Unlock()
	f.mu.Lock()
	if f.outage == nil {
		f.mu.Unlock()
		return
	}
	o := f.endOutage(true)
	f.mu.Unlock()
	f.report(o)
}

// endOutage ends the outage under way and returns its report. f.mu is
// held.
func (f *Fallback) endOutage(closed bool) Outage {
	o := f.outage
	f.outage = nil
	end := o.back
	if f.down.Load() || end.IsZero() {
		end = f.clock()
	}
	return Outage{
		Over: true, Closed: closed, Err: o.err, Started: o.started, Lasted: end.Sub(o.started),
		Affected: f.affected.Load() - o.affected, Failures: f.failures.Load() - o.failures,
	}
}

// report tells OnOutage of an outage. f.change is held, so that reports
// come in order.
func (f *Fallback) report(o Outage) {
	if f.onOutage != nil {
		f.onOutage(o)
	}
}

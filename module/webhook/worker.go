package webhook

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// worker delivers one workspace's events. Its goroutine (run) starts the
// attempts; each attempt runs in its own goroutine, writes its outcome to
// the spool, and then reports back on done. An event stays in inflight
// until its outcome is written, so it is never fetched twice at once.
type worker struct {
	d         *Deliverer
	workspace string
	wake      chan struct{} // capacity 1: a pending wake-up is enough
	done      chan string   // ids of finished attempts; capacity Concurrency

	inflight map[string]bool // touched only by run

	mu          sync.Mutex
	streak      int       // consecutive failed attempts of the workspace
	pausedUntil time.Time // no attempt starts before this
}

func newWorker(d *Deliverer, workspace string) *worker {
	return &worker{
		d:         d,
		workspace: workspace,
		wake:      make(chan struct{}, 1),
		done:      make(chan string, d.opts.Concurrency),
		inflight:  make(map[string]bool),
	}
}

// signal asks the worker to look for due events now.
func (w *worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) run() {
	defer w.d.loops.Done()
	timer := time.NewTimer(w.d.opts.PollInterval)
	defer timer.Stop()
	for {
		w.fill()
		timer.Reset(w.sleep())
		select {
		case <-w.d.quit:
			return
		case <-w.wake:
		case id := <-w.done:
			delete(w.inflight, id)
		case <-timer.C:
		}
	}
}

// sleep is how long run may wait when nothing happens: until the pause
// ends, and at most PollInterval.
func (w *worker) sleep() time.Duration {
	d := w.d.opts.PollInterval
	w.mu.Lock()
	until := time.Until(w.pausedUntil)
	w.mu.Unlock()
	if until > 0 && until < d {
		d = until
	}
	return d
}

// fill starts attempts for the oldest due events, up to the limit: one
// while the workspace is failing (a probe), Concurrency otherwise.
func (w *worker) fill() {
	t, ok := w.d.target(w.workspace)
	if !ok {
		return
	}
	now := time.Now()
	w.mu.Lock()
	paused := now.Before(w.pausedUntil)
	failing := w.streak > 0
	w.mu.Unlock()
	if paused {
		return
	}
	limit := w.d.opts.Concurrency
	if failing {
		limit = 1
	}
	free := limit - len(w.inflight)
	if free <= 0 {
		return
	}
	// In-flight events are still pending and among the oldest due: ask
	// for enough to skip them.
	events, err := w.d.sp.Due(w.workspace, now, len(w.inflight)+free)
	if err != nil {
		w.d.reportError(w.workspace, err)
		return
	}
	for _, ev := range events {
		if free == 0 {
			break
		}
		if w.inflight[ev.ID] {
			continue
		}
		w.inflight[ev.ID] = true
		free--
		w.d.attempts.Add(1)
		go w.attempt(ev, t)
	}
}

// attempt delivers ev once and records the outcome. The workspace's
// state is updated before the OnAttempt hook runs, so that whatever the
// hook observes, the worker already acts on.
func (w *worker) attempt(ev *Event, t target) {
	defer w.d.attempts.Done()
	defer func() { w.done <- ev.ID }()

	start := time.Now()
	status, err := w.d.post(w.d.attemptCtx, ev, t)
	took := time.Since(start)
	stopping := err != nil && w.d.attemptCtx.Err() != nil
	var next time.Time
	switch {
	case err == nil:
		w.succeeded()
	case !stopping:
		next = w.failed(ev)
	}
	if w.d.opts.OnAttempt != nil {
		w.d.opts.OnAttempt(w.workspace, status, err, took)
	}

	// ErrNotFound below means someone else (an operator's DeadLetter)
	// settled the event meanwhile: nothing is lost.
	sp := w.d.sp
	switch {
	case err == nil:
		if err := sp.Complete(ev.ID); err != nil && !errors.Is(err, ErrNotFound) {
			w.d.reportError(w.workspace, err)
		}
	case stopping:
		// Cancelled by Stop: the app is not at fault. The event stays
		// pending as it was, for the next start.
	case time.Since(ev.Received) >= t.retryFor:
		reason := fmt.Sprintf("retried for %s after receipt; last attempt: %v", t.retryFor, err)
		dead, derr := sp.deadLetter(ev.ID, reason, true)
		if derr != nil {
			if !errors.Is(derr, ErrNotFound) {
				w.d.reportError(w.workspace, derr)
			}
			return
		}
		if w.d.opts.OnDeadLetter != nil {
			w.d.opts.OnDeadLetter(w.workspace, dead)
		}
	default:
		if err := sp.Retry(ev.ID, next, err.Error()); err != nil && !errors.Is(err, ErrNotFound) {
			w.d.reportError(w.workspace, err)
		}
	}
}

// succeeded records a delivery: the app is up, so the workspace runs at
// full concurrency again.
func (w *worker) succeeded() {
	w.mu.Lock()
	w.streak = 0
	w.pausedUntil = time.Time{}
	w.mu.Unlock()
}

// failed records a failed attempt of ev: it pauses the workspace for the
// backoff of the workspace's failure streak, and returns when ev is next
// due, never before the pause ends.
//
// When the workspace has failed at least as often as ev (the app is
// down), ev is due exactly when the pause ends: being the oldest, it is
// the next probe, and the backlog keeps its order. When ev has failed
// more often than the workspace (other events get through: the app
// rejects this one), ev waits for its own, longer backoff and the
// workspace's pause stays short.
func (w *worker) failed(ev *Event) time.Time {
	b := w.d.opts.Backoff
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.streak++
	if pause := now.Add(b.Delay(w.streak)); pause.After(w.pausedUntil) {
		w.pausedUntil = pause
	}
	failures := ev.Attempts + 1
	if failures <= w.streak {
		return w.pausedUntil
	}
	if next := now.Add(b.Delay(failures)); next.After(w.pausedUntil) {
		return next
	}
	return w.pausedUntil
}

package restlink

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Outcomes of one forwarded request, as reported to the breaker.
var (
	// errFailureStatus: the upstream answered with one of failure_statuses.
	errFailureStatus = errors.New("upstream answered with a failure status")
	// errNotSent: the request never reached the upstream (the app hung up,
	// or every key was refused); it counts neither way.
	errNotSent = errors.New("request not sent upstream")
)

// breakerPlan is the compiled breaker section (the type is comparable).
type breakerPlan struct {
	consecutiveFailures uint32
	openTimeout         time.Duration
	halfOpenRequests    uint32
	failureStatuses     [2]uint64 // bit status - 500: 16 bytes in every breaker, not 100
}

// compileBreaker checks the breaker section.
func compileBreaker(c BreakerConfig, p *problems) breakerPlan {
	bp := breakerPlan{
		consecutiveFailures: c.ConsecutiveFailures,
		openTimeout:         c.OpenTimeout,
		halfOpenRequests:    c.HalfOpenRequests,
	}
	if c.ConsecutiveFailures == 0 {
		p.add("breaker.consecutive_failures", "must be at least 1")
	}
	if c.OpenTimeout <= 0 {
		p.add("breaker.open_timeout", "must be positive")
	}
	if c.HalfOpenRequests == 0 {
		p.add("breaker.half_open_requests", "must be at least 1")
	}
	for _, s := range c.FailureStatuses {
		if s < 500 || s > 599 {
			p.add("breaker.failure_statuses", "%d is not a 5xx status (4xx answers never count as failures)", s)
			continue
		}
		bp.failureStatuses[(s-500)/64] |= 1 << ((s - 500) % 64)
	}
	return bp
}

// breakerSettings are what a breaker is built from; a workspace keeps its
// breaker across reloads while these stay the same (the type is comparable).
type breakerSettings struct {
	breakerPlan
	workspaceID int64
}

// isFailure reports whether an upstream status counts against the breaker.
func (s *breakerSettings) isFailure(status int) bool {
	return status >= 500 && status <= 599 && s.failureStatuses[(status-500)/64]&(1<<((status-500)%64)) != 0
}

// breakerMaker is what the breakers of a snapshot's workspaces are made
// from: the compiled breaker section, and where a state change is
// reported.
type breakerMaker struct {
	plan     breakerPlan
	onChange func(b *breaker, from, to gobreaker.State)
}

// breaker is one workspace's circuit breaker: a gobreaker two-step breaker,
// plus what gobreaker does not expose: when it opened (for Retry-After)
// and its state without taking its lock (for logs and metrics). It is
// made by the workspace's first request (see workspace.breaker), and the
// gobreaker breaker by the first request that enters it: a workspace
// without traffic holds an empty cell (with 10,000 workspaces, gobreaker's
// breakers and their closures were 4.6 MiB of a 33 MiB live heap, and
// these 1.6 MB of 25).
type breaker struct {
	settings  breakerSettings
	cb        atomic.Pointer[gobreaker.TwoStepCircuitBreaker[struct{}]] // nil until built
	build     sync.Once
	openedAt  atomic.Int64     // unix nanoseconds of the last transition to open
	state     atomic.Int32     // gobreaker.State, mirrored in OnStateChange
	lastTrip  gobreaker.Counts // counts that opened it; written and read under gobreaker's lock
	now       func() time.Time
	onChange  func(b *breaker, from, to gobreaker.State)
	workspace string
	stats     *lazy[workspaceStats] // the workspace's counters: they count the state changes
}

// newBreaker builds a closed breaker. Every state change is counted in
// stats, then reported to onChange (if not nil), which runs under
// gobreaker's lock: it must not call back into the breaker.
func newBreaker(workspace string, s breakerSettings, stats *lazy[workspaceStats], onChange func(b *breaker, from, to gobreaker.State)) *breaker {
	return &breaker{settings: s, now: time.Now, onChange: onChange, workspace: workspace, stats: stats}
}

// circuit is the gobreaker breaker, built on first use.
func (b *breaker) circuit() *gobreaker.TwoStepCircuitBreaker[struct{}] {
	if cb := b.cb.Load(); cb != nil {
		return cb
	}
	b.build.Do(func() { b.cb.Store(b.newCircuit()) })
	return b.cb.Load()
}

// newCircuit builds the gobreaker breaker of b's settings.
func (b *breaker) newCircuit() *gobreaker.TwoStepCircuitBreaker[struct{}] {
	s := b.settings
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        b.workspace,
		MaxRequests: s.halfOpenRequests,
		Timeout:     s.openTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if c.ConsecutiveFailures >= b.settings.consecutiveFailures {
				b.lastTrip = c
				return true
			}
			return false
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errNotSent) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.openedAt.Store(b.now().UnixNano())
			}
			b.state.Store(int32(to))
			b.stats.get(newWorkspaceStats).trouble().breakerChanges[to].Add(1)
			if b.onChange != nil {
				b.onChange(b, from, to)
			}
		},
	})
}

// slot is a request's place in its workspace's breaker: a probe's place
// when the breaker is half-open. Whoever takes a slot defers finish at
// once, and sets outcome as the request learns it, so that the breaker
// hears of every request exactly once, whatever path it leaves by.
type slot struct {
	done func(error)
	// outcome is what finish reports: nil for a healthy upstream, an
	// error for a failure, errNotSent (the default) for neither.
	outcome error
}

// finish reports the outcome to the breaker.
func (s *slot) finish() { s.done(s.outcome) }

// enter asks the breaker whether a request may go upstream. If it may, the
// caller must defer finish on the slot; otherwise the rejection says when
// to come back.
func (b *breaker) enter() (slot, *rejection) {
	done, err := b.circuit().Allow()
	if err == nil {
		return slot{done: done, outcome: errNotSent}, nil
	}
	retryAfter := 1
	if errors.Is(err, gobreaker.ErrOpenState) {
		retryAfter = max(1, secondsUp(b.openLeft()))
	}
	return slot{}, openRejection(retryAfter)
}

// refusesNow is the refusal of a breaker that is open and whose open
// timeout has not passed, found without entering it; nil when the
// breaker is closed, half-open or due to let a probe through. A request
// it refuses would be refused by enter too, so the work in between (the
// send policy, budgets, pacing) can be skipped.
func (b *breaker) refusesNow() *rejection {
	if b.State() != gobreaker.StateOpen {
		return nil
	}
	left := b.openLeft()
	if left <= 0 {
		return nil // the next request enters and makes it half-open
	}
	return openRejection(secondsUp(left))
}

// openLeft is how long an open breaker stays open, from its last opening.
func (b *breaker) openLeft() time.Duration {
	return time.Duration(b.openedAt.Load() + int64(b.settings.openTimeout) - b.now().UnixNano())
}

// secondsUp is d in whole seconds, rounded up.
func secondsUp(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// openRejection is the answer to a request an open breaker refuses,
// telling it to come back in retryAfter seconds.
func openRejection(retryAfter int) *rejection {
	rj := reject(CodeCircuitOpen, "the circuit breaker of this workspace is open after repeated upstream failures; retry after the time in Retry-After")
	rj.retryAfter = retryAfter
	return rj
}

// State is the breaker's state as of its last transition. An open breaker
// whose timeout has passed shows open until the next request makes it
// half-open, as gobreaker moves lazily.
func (b *breaker) State() gobreaker.State {
	return gobreaker.State(b.state.Load())
}

// Counts are the breaker's counts and its state, read through gobreaker,
// which also moves an open breaker whose timeout has passed to half-open.
// A breaker no request has entered is closed, with nothing counted.
func (b *breaker) Counts() (gobreaker.Counts, gobreaker.State) {
	cb := b.cb.Load()
	if cb == nil {
		return gobreaker.Counts{}, gobreaker.StateClosed
	}
	return cb.Counts(), cb.State()
}

// isFailureStatus reports whether an upstream status counts as a failure.
func (b *breaker) isFailureStatus(status int) bool {
	return b.settings.isFailure(status)
}

package restlink

import (
	"errors"
	"math"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Outcomes of one forwarded request, as reported to the breaker.
var (
	// errFailureStatus: the upstream answered with one of failure_statuses.
	errFailureStatus = errors.New("upstream answered with a failure status")
	// errClientGone: the app hung up while sending its request, which then
	// never went upstream; it counts neither way.
	errClientGone = errors.New("client closed the request")
)

// breakerSettings are what a breaker is built from; a workspace keeps its
// breaker across reloads while these stay the same (the type is comparable).
type breakerSettings struct {
	workspaceID         int64
	consecutiveFailures uint32
	openTimeout         time.Duration
	halfOpenRequests    uint32
	failureStatuses     [100]bool // index: status - 500
}

func newBreakerSettings(id int64, c BreakerConfig) breakerSettings {
	s := breakerSettings{
		workspaceID:         id,
		consecutiveFailures: c.ConsecutiveFailures,
		openTimeout:         c.OpenTimeout,
		halfOpenRequests:    c.HalfOpenRequests,
	}
	for _, code := range c.FailureStatuses {
		s.failureStatuses[code-500] = true
	}
	return s
}

// isFailure reports whether an upstream status counts against the breaker.
func (s *breakerSettings) isFailure(status int) bool {
	return status >= 500 && status <= 599 && s.failureStatuses[status-500]
}

// breaker is one workspace's circuit breaker: a gobreaker two-step breaker,
// plus what gobreaker does not expose: when it opened (for Retry-After)
// and its state without taking its lock (for logs and metrics).
type breaker struct {
	settings  breakerSettings
	cb        *gobreaker.TwoStepCircuitBreaker[struct{}]
	openedAt  atomic.Int64     // unix nanoseconds of the last transition to open
	state     atomic.Int32     // gobreaker.State, mirrored in OnStateChange
	lastTrip  gobreaker.Counts // counts that opened it; written and read under gobreaker's lock
	now       func() time.Time
	onChange  func(b *breaker, from, to gobreaker.State)
	workspace string
}

// newBreaker builds a closed breaker. onChange runs under gobreaker's lock
// on every state change: it must not call back into the breaker.
func newBreaker(workspace string, s breakerSettings, onChange func(b *breaker, from, to gobreaker.State)) *breaker {
	b := &breaker{settings: s, now: time.Now, onChange: onChange, workspace: workspace}
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        workspace,
		MaxRequests: s.halfOpenRequests,
		Timeout:     s.openTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if c.ConsecutiveFailures >= s.consecutiveFailures {
				b.lastTrip = c
				return true
			}
			return false
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errClientGone) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.openedAt.Store(b.now().UnixNano())
			}
			b.state.Store(int32(to))
			if b.onChange != nil {
				b.onChange(b, from, to)
			}
		},
	})
	return b
}

// allow asks the breaker whether a request may go upstream. If it may, done
// must be called once with the outcome; otherwise the rejection says when
// to come back.
func (b *breaker) allow() (done func(error), rj *rejection) {
	done, err := b.cb.Allow()
	if err == nil {
		return done, nil
	}
	rj = reject(CodeCircuitOpen, "the circuit breaker of this workspace is open after repeated upstream failures; retry after the time in Retry-After")
	rj.retryAfter = 1
	if errors.Is(err, gobreaker.ErrOpenState) {
		rj.retryAfter = b.retryAfter()
	}
	return nil, rj
}

// retryAfter is the number of seconds until an open breaker lets a probe
// through, rounded up, at least 1.
func (b *breaker) retryAfter() int {
	left := time.Duration(b.openedAt.Load() + int64(b.settings.openTimeout) - b.now().UnixNano())
	return max(1, int(math.Ceil(left.Seconds())))
}

// State is the breaker's state as of its last transition. An open breaker
// whose timeout has passed shows open until the next request makes it
// half-open, as gobreaker moves lazily.
func (b *breaker) State() gobreaker.State {
	return gobreaker.State(b.state.Load())
}

// isFailureStatus reports whether an upstream status counts as a failure.
func (b *breaker) isFailureStatus(status int) bool {
	return b.settings.isFailure(status)
}

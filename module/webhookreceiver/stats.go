package webhookreceiver

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/23telecom/restlink-sidecar/internal/metric"
	"github.com/23telecom/restlink-sidecar/module/webhook"
)

// stats are a receiver's counters, kept for as long as the receiver.
type stats struct {
	refused     [len(refusals)]atomic.Uint64
	mu          sync.Mutex
	byWorkspace map[string]*workspaceStats
}

// workspaceStats are one workspace's webhook counters.
type workspaceStats struct {
	received        atomic.Uint64 // spooled
	duplicates      atomic.Uint64 // acknowledged without spooling: already received
	delivered       atomic.Uint64
	failedAttempts  atomic.Uint64
	deadLettered    atomic.Uint64
	deliveryLatency metric.Histogram
	failing         atomic.Bool // the last delivery attempt failed
}

// of returns workspace's counters, creating them on first use.
func (s *stats) of(workspace string) *workspaceStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.byWorkspace[workspace]
	if st == nil {
		if s.byWorkspace == nil {
			s.byWorkspace = make(map[string]*workspaceStats)
		}
		st = new(workspaceStats)
		s.byWorkspace[workspace] = st
	}
	return st
}

// each calls f with every workspace's counters, in name order.
func (s *stats) each(f func(workspace string, st *workspaceStats)) {
	s.mu.Lock()
	names := slices.Sorted(maps.Keys(s.byWorkspace))
	all := make([]*workspaceStats, len(names))
	for i, n := range names {
		all[i] = s.byWorkspace[n]
	}
	s.mu.Unlock()
	for i, n := range names {
		f(n, all[i])
	}
}

// refusals are the reasons a webhook is refused, in the order of
// stats.refused.
var refusals = [...]string{
	"not_found",         // no such path, workspace or event type: 404
	"method",            // not a POST: 405
	"content_encoding",  // an encoded body: 415
	"too_large",         // body over webhooks.max_body_bytes: 413
	"client_limit",      // the client has webhooks.max_unverified_per_client bodies in flight: 503
	"body_timeout",      // the body took longer than webhooks.body_timeout: 408
	"unreadable",        // the body could not be read whole: 400
	"missing_signature", // 401
	"bad_signature",     // 401
	"stale_timestamp",   // 401
	"no_secret",         // the workspace has no usable secret: 401
	"overloaded",        // webhooks.max_concurrent verified webhooks being spooled: 503
	"in_progress",       // another replica is spooling the same event: 503
	"spool_failed",      // the event could not be written: 503
}

// refuse counts a refusal by reason.
func (s *stats) refuse(reason string) {
	metric.CountIn(s.refused[:], refusals[:], reason)
}

// verifyRefusal names the refusal of a Verify error.
func verifyRefusal(err error) string {
	switch {
	case errors.Is(err, webhook.ErrMissingSignature):
		return "missing_signature"
	case errors.Is(err, webhook.ErrStaleTimestamp):
		return "stale_timestamp"
	case errors.Is(err, webhook.ErrNoSecret):
		return "no_secret"
	}
	return "bad_signature"
}

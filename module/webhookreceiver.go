package restlink

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/webhook"
)

// webhookReceiver is the spool of a live config's webhooks and the
// deliverer emptying it. The restlink_webhook handlers using the config
// share it; it is opened by the first and closed when the last is cleaned
// up, so that it lasts across Caddy config reloads (the new handler is
// provisioned before the old one is cleaned up).
type webhookReceiver struct {
	spool     *webhook.Spool
	deliverer *webhook.Deliverer
	inFlight  atomic.Int64 // webhooks being received, against webhooks.max_concurrent
	users     int          // handlers holding it; guarded by liveConfig.mu
}

// acquireWebhooks returns the live config's receiver, opening its spool and
// starting delivery if no handler has yet. The caller must release it.
func (lc *liveConfig) acquireWebhooks() (*webhookReceiver, error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if rc := lc.webhooks; rc != nil {
		rc.users++
		return rc, nil
	}
	hp := &lc.current.Load().webhooks
	if len(hp.targets) == 0 {
		return nil, fmt.Errorf("no workspace in %s has webhook_secrets: there is nothing to receive", lc.path)
	}
	sp, err := webhook.OpenSpool(hp.spoolDir, webhook.SpoolOptions{})
	if err != nil {
		return nil, fmt.Errorf("webhooks.spool_dir: %w", err)
	}
	d := webhook.NewDeliverer(sp, webhook.DelivererOptions{
		OnAttempt:    lc.webhookAttempted,
		OnDeadLetter: lc.webhookDeadLettered,
		OnError: func(workspace string, err error) {
			lc.logger.Load().Error("webhook spool failed", zap.String("workspace", workspace), zap.Error(err))
		},
	})
	if err := d.SetTargets(hp.targets); err != nil {
		_ = sp.Close()
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	d.Start()
	lc.webhooks = &webhookReceiver{spool: sp, deliverer: d, users: 1}
	lc.logger.Load().Info("webhook spool opened", zap.String("spool_dir", sp.Dir()),
		zap.Strings("workspaces", slices.Sorted(maps.Keys(hp.targets))))
	return lc.webhooks, nil
}

// releaseWebhooks releases a receiver; the last user stops delivery and
// closes the spool (events not yet delivered stay in it for the next start).
func (lc *liveConfig) releaseWebhooks() error {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	rc := lc.webhooks
	if rc == nil {
		return nil
	}
	if rc.users--; rc.users > 0 {
		return nil
	}
	lc.webhooks = nil
	rc.deliverer.Stop()
	return rc.spool.Close()
}

// updateWebhooks points delivery at a new snapshot's targets. It runs
// under lc.mu, after the snapshot is published.
func (lc *liveConfig) updateWebhooks(next *snapshot) {
	rc := lc.webhooks
	if rc == nil {
		return
	}
	log := lc.logger.Load()
	if err := rc.deliverer.SetTargets(next.webhooks.targets); err != nil {
		log.Error("webhook delivery targets not changed", zap.Error(err))
	}
	if dir := next.webhooks.spoolDir; dir != rc.spool.Dir() {
		log.Warn("webhooks.spool_dir changed; the spool in use stays open until the sidecar restarts",
			zap.String("in_use", rc.spool.Dir()), zap.String("configured", dir))
	}
}

// enter admits one more webhook being received, if fewer than limit are.
func (rc *webhookReceiver) enter(limit int) bool {
	if rc.inFlight.Add(1) > int64(limit) {
		rc.inFlight.Add(-1)
		return false
	}
	return true
}

func (rc *webhookReceiver) leave() { rc.inFlight.Add(-1) }

// webhookAttempted counts and logs a delivery attempt. Failures are logged
// when a workspace's deliveries start failing and when they recover, not
// on every retry.
func (lc *liveConfig) webhookAttempted(workspace string, status int, err error, took time.Duration) {
	st := lc.webhookStats.of(workspace)
	st.deliveryLatency.observe(took)
	log := lc.logger.Load()
	if err == nil {
		st.delivered.Add(1)
		if st.failing.CompareAndSwap(true, false) {
			log.Info("webhook deliveries to the app resumed", zap.String("workspace", workspace))
		}
		return
	}
	st.failedAttempts.Add(1)
	fields := []zap.Field{zap.String("workspace", workspace), zap.Int("status", status), zap.Error(err)}
	if st.failing.CompareAndSwap(false, true) {
		log.Warn("webhook deliveries to the app are failing; events wait in the spool and are retried", fields...)
		return
	}
	log.Debug("webhook delivery attempt failed", fields...)
}

// webhookDeadLettered counts and logs an event given up on. The body holds
// personal data and is not logged.
func (lc *liveConfig) webhookDeadLettered(workspace string, ev *webhook.Event) {
	lc.webhookStats.of(workspace).deadLettered.Add(1)
	lc.logger.Load().Warn("webhook event dead-lettered after webhooks.retry_for; replay it with: restlink-sidecar webhooks replay",
		zap.String("workspace", workspace), zap.String("event", ev.Type), zap.String("event_id", ev.ID),
		zap.Time("received", ev.Received), zap.Int("attempts", ev.Attempts), zap.String("last_error", ev.LastError))
}

// webhookStats are a live config's webhook counters, kept for as long as
// the live config.
type webhookStats struct {
	refused     [len(webhookRefusals)]atomic.Uint64
	mu          sync.Mutex
	byWorkspace map[string]*webhookWorkspaceStats
}

// webhookWorkspaceStats are one workspace's webhook counters.
type webhookWorkspaceStats struct {
	received        atomic.Uint64 // spooled
	duplicates      atomic.Uint64 // acknowledged without spooling: already received
	delivered       atomic.Uint64
	failedAttempts  atomic.Uint64
	deadLettered    atomic.Uint64
	deliveryLatency histogram
	failing         atomic.Bool // the last delivery attempt failed
}

// of returns workspace's counters, creating them on first use.
func (s *webhookStats) of(workspace string) *webhookWorkspaceStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.byWorkspace[workspace]
	if st == nil {
		if s.byWorkspace == nil {
			s.byWorkspace = make(map[string]*webhookWorkspaceStats)
		}
		st = new(webhookWorkspaceStats)
		s.byWorkspace[workspace] = st
	}
	return st
}

// used reports whether anything was counted.
func (s *webhookStats) used() bool {
	for i := range s.refused {
		if s.refused[i].Load() > 0 {
			return true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byWorkspace) > 0
}

// each calls f with every workspace's counters, in name order.
func (s *webhookStats) each(f func(workspace string, st *webhookWorkspaceStats)) {
	s.mu.Lock()
	names := slices.Sorted(maps.Keys(s.byWorkspace))
	stats := make([]*webhookWorkspaceStats, len(names))
	for i, n := range names {
		stats[i] = s.byWorkspace[n]
	}
	s.mu.Unlock()
	for i, n := range names {
		f(n, stats[i])
	}
}

// webhookRefusals are the reasons a webhook is refused, in the order of
// webhookStats.refused.
var webhookRefusals = [...]string{
	"not_found",         // no such path, workspace or event type: 404
	"method",            // not a POST: 405
	"too_large",         // body over webhooks.max_body_bytes: 413
	"unreadable",        // the body could not be read whole: 400
	"missing_signature", // 401
	"bad_signature",     // 401
	"stale_timestamp",   // 401
	"no_secret",         // the workspace has no usable secret: 401
	"overloaded",        // webhooks.max_concurrent reached: 503
	"in_progress",       // another replica is spooling the same event: 503
	"spool_failed",      // the event could not be written: 503
}

// refuse counts a refusal by reason.
func (s *webhookStats) refuse(reason string) {
	countIn(s.refused[:], webhookRefusals[:], reason)
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

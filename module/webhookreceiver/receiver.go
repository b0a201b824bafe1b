package webhookreceiver

import (
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	restlink "github.com/23telecom/restlink-sidecar/module"
	"github.com/23telecom/restlink-sidecar/module/webhook"
)

// receivers holds one receiver per config file path, shared by every
// handler that receives the config's webhooks and kept across Caddy config
// reloads (the new config is provisioned before the old one is cleaned
// up), as reverse_proxy keeps its hosts.
var receivers = caddy.NewUsagePool()

// receiver is the spool of a config's webhooks and the deliverer emptying
// it, with their counters. It is opened by the first handler of the config
// and closed when the last is cleaned up.
type receiver struct {
	live       restlink.Live
	spool      *webhook.Spool
	deliverer  *webhook.Deliverer
	inFlight   atomic.Int64 // verified webhooks being spooled, against webhooks.max_concurrent
	unverified unverified   // bodies in flight before verification, by client
	stats      stats
	refusals   refusalLog
	logger     *zap.Logger
	// unsubscribe stops the updates of delivery targets on reloads.
	unsubscribe func()
	closed      atomic.Bool // by the last handler's cleanup
}

// acquireReceiver returns the receiver of live's config, opening its spool
// and starting delivery if no handler has yet. The caller must release it
// with receivers.Delete(live.Path()).
func acquireReceiver(live restlink.Live, logger *zap.Logger) (*receiver, error) {
	val, _, err := receivers.LoadOrNew(live.Path(), func() (caddy.Destructor, error) {
		return openReceiver(live, logger)
	})
	if err != nil {
		return nil, err
	}
	return val.(*receiver), nil
}

// openReceiver opens the spool of live's config and starts delivering it
// to the targets of the snapshot serving now, then of each new one.
func openReceiver(live restlink.Live, logger *zap.Logger) (*receiver, error) {
	hooks := live.Webhooks()
	targets := hooks.Targets()
	if len(targets) == 0 {
		return nil, fmt.Errorf("no workspace in %s has webhook_secrets: there is nothing to receive", live.Path())
	}
	sp, err := webhook.OpenSpool(hooks.SpoolDir(), webhook.SpoolOptions{})
	if err != nil {
		return nil, fmt.Errorf("webhooks.spool_dir: %w", err)
	}
	rc := &receiver{live: live, spool: sp, logger: logger}
	rc.deliverer = webhook.NewDeliverer(sp, webhook.DelivererOptions{
		OnAttempt:    rc.attempted,
		OnDeadLetter: rc.deadLettered,
		OnError: func(workspace string, err error) {
			logger.Error("webhook spool failed", zap.String("workspace", workspace), zap.Error(err))
		},
	})
	if err := rc.deliverer.SetTargets(targets); err != nil {
		_ = sp.Close()
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	rc.deliverer.Start()
	logger.Info("webhook spool opened", zap.String("spool_dir", sp.Dir()),
		zap.Strings("workspaces", slices.Sorted(maps.Keys(targets))))
	rc.unsubscribe = live.OnPublish(rc.update)
	return rc, nil
}

// Destruct stops delivery and closes the spool once the last handler is
// cleaned up; events not yet delivered stay in it for the next start.
func (rc *receiver) Destruct() error {
	rc.closed.Store(true)
	rc.unsubscribe()
	rc.deliverer.Stop()
	return rc.spool.Close()
}

// update points delivery at the targets of the snapshot now serving.
func (rc *receiver) update() {
	hooks := rc.live.Webhooks()
	if err := rc.deliverer.SetTargets(hooks.Targets()); err != nil {
		rc.logger.Error("webhook delivery targets not changed", zap.Error(err))
	}
	if dir := hooks.SpoolDir(); dir != rc.spool.Dir() {
		rc.logger.Warn("webhooks.spool_dir changed; the spool in use stays open until the sidecar restarts",
			zap.String("in_use", rc.spool.Dir()), zap.String("configured", dir))
	}
}

// enter admits one more verified webhook to the spool, if fewer than limit
// are being spooled.
func (rc *receiver) enter(limit int) bool {
	if rc.inFlight.Add(1) > int64(limit) {
		rc.inFlight.Add(-1)
		return false
	}
	return true
}

func (rc *receiver) leave() { rc.inFlight.Add(-1) }

// attempted counts and logs a delivery attempt. Failures are logged when a
// workspace's deliveries start failing and when they recover, not on every
// retry.
func (rc *receiver) attempted(workspace string, status int, err error, took time.Duration) {
	st := rc.stats.of(workspace)
	st.deliveryLatency.Observe(took)
	if err == nil {
		st.delivered.Add(1)
		if st.failing.CompareAndSwap(true, false) {
			rc.logger.Info("webhook deliveries to the app resumed", zap.String("workspace", workspace))
		}
		return
	}
	st.failedAttempts.Add(1)
	fields := []zap.Field{zap.String("workspace", workspace), zap.Int("status", status), zap.Error(err)}
	if st.failing.CompareAndSwap(false, true) {
		rc.logger.Warn("webhook deliveries to the app are failing; events wait in the spool and are retried", fields...)
		return
	}
	rc.logger.Debug("webhook delivery attempt failed", fields...)
}

// deadLettered counts and logs an event given up on. The body holds
// personal data and is not logged.
func (rc *receiver) deadLettered(workspace string, ev *webhook.Event) {
	rc.stats.of(workspace).deadLettered.Add(1)
	rc.logger.Warn("webhook event dead-lettered after webhooks.retry_for; replay it with: restlink-sidecar webhooks replay",
		zap.String("workspace", workspace), zap.String("event", ev.Type), zap.String("event_id", ev.ID),
		zap.Time("received", ev.Received), zap.Int("attempts", ev.Attempts), zap.String("last_error", ev.LastError))
}

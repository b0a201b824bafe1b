package restlink

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/23telecom/restlink-sidecar/module/webhook"
)

// The webhook metrics' descriptions. Label values come from the config
// only: a webhook for a workspace that is not configured is refused before
// it is counted under one.
var (
	descWebhooksReceived   = newDesc("webhooks_received_total", "Verified webhooks written to the spool, by workspace.", "workspace")
	descWebhooksDuplicate  = newDesc("webhooks_duplicates_total", "Verified webhooks acknowledged without being spooled again: restlink's retries and replays of an event already received, by workspace.", "workspace")
	descWebhooksRefused    = newDesc("webhooks_refused_total", "Webhooks refused, by reason: not_found, method, too_large, unreadable, missing_signature, bad_signature, stale_timestamp, no_secret, overloaded, in_progress, spool_failed.", "reason")
	descWebhookDeliveries  = newDesc("webhook_deliveries_total", "Attempts to deliver an event to the app, by workspace and result: delivered (2xx) or failed (retried).", "workspace", "result")
	descWebhookLatency     = newDesc("webhook_delivery_duration_seconds", "Time the app took to answer a delivery attempt, by workspace.", "workspace")
	descWebhookDeadLetters = newDesc("webhooks_dead_lettered_total", "Events given up on after webhooks.retry_for, by workspace.", "workspace")
	descWebhookPending     = newDesc("webhook_spool_pending", "Events in the spool waiting for the app, by workspace.", "workspace")
	descWebhookOldest      = newDesc("webhook_spool_oldest_pending_seconds", "Age of the oldest event waiting for the app, by workspace; 0 when none waits.", "workspace")
	descWebhookDeadFiles   = newDesc("webhook_dead_letters", "Dead letters kept in the spool directory, waiting for an operator, by workspace.", "workspace")
)

// webhookDescs are the webhook metrics, for Describe.
var webhookDescs = []*prometheus.Desc{descWebhooksReceived, descWebhooksDuplicate, descWebhooksRefused,
	descWebhookDeliveries, descWebhookLatency, descWebhookDeadLetters, descWebhookPending, descWebhookOldest, descWebhookDeadFiles}

// collectWebhooks emits a live config's webhook metrics, and reports
// whether it did: not for a config no restlink_webhook handler ever used.
func collectWebhooks(ch chan<- prometheus.Metric, lc *liveConfig, now time.Time) bool {
	stats := &lc.webhookStats
	lc.mu.Lock()
	rc := lc.webhooks
	lc.mu.Unlock()
	if rc == nil && !stats.used() {
		return false
	}
	for i, reason := range webhookRefusals {
		ch <- prometheus.MustNewConstMetric(descWebhooksRefused, prometheus.CounterValue, float64(stats.refused[i].Load()), reason)
	}
	stats.each(func(ws string, st *webhookWorkspaceStats) {
		counter := func(d *prometheus.Desc, v uint64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{ws}, labels...)...)
		}
		counter(descWebhooksReceived, st.received.Load())
		counter(descWebhooksDuplicate, st.duplicates.Load())
		counter(descWebhookDeliveries, st.delivered.Load(), "delivered")
		counter(descWebhookDeliveries, st.failedAttempts.Load(), "failed")
		counter(descWebhookDeadLetters, st.deadLettered.Load())
		ch <- st.deliveryLatency.metric(descWebhookLatency, ws)
	})
	if rc == nil {
		return true
	}
	spooled, err := rc.spool.Stats()
	if err != nil {
		return true // closed by a reload in the meantime
	}
	for ws, s := range spooled {
		ch <- prometheus.MustNewConstMetric(descWebhookPending, prometheus.GaugeValue, float64(s.Pending), ws)
		ch <- prometheus.MustNewConstMetric(descWebhookOldest, prometheus.GaugeValue, pendingAge(s, now).Seconds(), ws)
		ch <- prometheus.MustNewConstMetric(descWebhookDeadFiles, prometheus.GaugeValue, float64(s.DeadLetters), ws)
	}
	return true
}

// pendingAge is how long the oldest pending event of a workspace has
// waited; 0 when none waits.
func pendingAge(s webhook.WorkspaceStats, now time.Time) time.Duration {
	if s.OldestPending.IsZero() {
		return 0
	}
	return max(now.Sub(s.OldestPending), 0)
}

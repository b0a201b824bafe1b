package webhookreceiver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/23telecom/restlink-sidecar/internal/metric"
	"github.com/23telecom/restlink-sidecar/module/webhook"
)

// The webhook metrics' descriptions. Label values come from the config
// only: a webhook for a workspace that is not configured is refused before
// it is counted under one.
var (
	descReceived    = metric.NewDesc("webhooks_received_total", "Verified webhooks written to the spool, by workspace.", "workspace")
	descDuplicate   = metric.NewDesc("webhooks_duplicates_total", "Verified webhooks acknowledged without being spooled again: restlink's retries and replays of an event already received, by workspace.", "workspace")
	descRefused     = metric.NewDesc("webhooks_refused_total", "Webhooks refused, by reason: not_found, method, content_encoding, too_large, client_limit, body_timeout, unreadable, missing_signature, bad_signature, stale_timestamp, no_secret, overloaded, in_progress, spool_failed.", "reason")
	descDeliveries  = metric.NewDesc("webhook_deliveries_total", "Attempts to deliver an event to the app, by workspace and result: delivered (2xx) or failed (retried).", "workspace", "result")
	descLatency     = metric.NewDesc("webhook_delivery_duration_seconds", "Time the app took to answer a delivery attempt, by workspace.", "workspace")
	descDeadLetters = metric.NewDesc("webhooks_dead_lettered_total", "Events given up on after webhooks.retry_for, by workspace.", "workspace")
	descPending     = metric.NewDesc("webhook_spool_pending", "Events in the spool waiting for the app, by workspace.", "workspace")
	descOldest      = metric.NewDesc("webhook_spool_oldest_pending_seconds", "Age of the oldest event waiting for the app, by workspace; 0 when none waits.", "workspace")
	descDeadFiles   = metric.NewDesc("webhook_dead_letters", "Dead letters kept in the spool directory, waiting for an operator, by workspace.", "workspace")
)

// collector exports the webhook metrics of the receivers it is handed,
// reading their counters at scrape time. Like the core's collector, one is
// registered in each Caddy config's registry, and every handler adds its
// receiver to it.
type collector struct {
	receivers metric.Sources[*receiver]
}

// registerMetrics adds rc to the webhook collector in reg, registering one
// if reg has none yet.
func registerMetrics(reg prometheus.Registerer, rc *receiver) error {
	c, err := metric.Register(reg, new(collector))
	if err == nil {
		c.receivers.Add(rc)
	}
	return err
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReceived, descDuplicate, descRefused, descDeliveries, descLatency,
		descDeadLetters, descPending, descOldest, descDeadFiles} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Several config files receiving
// webhooks in one process would repeat the series: the first one's are
// shown. A receiver the last handler closed is dropped: a registry may
// outlive the Caddy config that filled it.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	open := c.receivers.List(func(rc *receiver) bool { return rc.closed.Load() })
	if len(open) == 0 {
		return
	}
	rc := open[0]
	now := time.Now()
	for i, reason := range refusals {
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(rc.stats.refused[i].Load()), reason)
	}
	rc.stats.each(func(ws string, st *workspaceStats) {
		counter := func(d *prometheus.Desc, v uint64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{ws}, labels...)...)
		}
		counter(descReceived, st.received.Load())
		counter(descDuplicate, st.duplicates.Load())
		counter(descDeliveries, st.delivered.Load(), "delivered")
		counter(descDeliveries, st.failedAttempts.Load(), "failed")
		counter(descDeadLetters, st.deadLettered.Load())
		ch <- st.deliveryLatency.Metric(descLatency, ws)
	})
	spooled, err := rc.spool.Stats()
	if err != nil {
		return // closed in the meantime
	}
	for ws, s := range spooled {
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(s.Pending), ws)
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, pendingAge(s, now).Seconds(), ws)
		ch <- prometheus.MustNewConstMetric(descDeadFiles, prometheus.GaugeValue, float64(s.DeadLetters), ws)
	}
}

// pendingAge is how long the oldest pending event of a workspace has
// waited; 0 when none waits.
func pendingAge(s webhook.WorkspaceStats, now time.Time) time.Duration {
	if s.OldestPending.IsZero() {
		return 0
	}
	return max(now.Sub(s.OldestPending), 0)
}

package restlink

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/23telecom/restlink-sidecar/internal/metric"
)

// The signal metrics' descriptions.
var (
	descQuarantined     = metric.NewDesc("quarantined", "1 for each quarantine in force: a tenant's sends to a country, by tenant, country, signal (delivery_ratio, volume) and mode (enforce: refused; shadow: only counted).", "tenant", "country", "signal", "mode")
	descSignalAlerts    = metric.NewDesc("signal_alerts_total", "Quarantines this sidecar placed when a signal fired (each alerted once across the fleet), by tenant, signal and type (quarantine, signal_shadow).", "tenant", "signal", "type")
	descDeliveryRatio   = metric.NewDesc("signal_delivery_ratio", "DELIVRD reports against every final report in the window, by tenant and country; present once a report arrived in the window.", "tenant", "country")
	descSignalReports   = metric.NewDesc("signal_reports", "Final delivery reports in the delivery-ratio window, by tenant and country.", "tenant", "country")
	descSignalVolume    = metric.NewDesc("signal_volume", "Recipients of the current volume window, by tenant and country.", "tenant", "country")
	descVolumeThreshold = metric.NewDesc("signal_volume_threshold", "The count the current volume window must go above to fire (mean + sigma × max(σ, √mean) of the baseline), by tenant and country; absent while the baseline has fewer than 3 windows.", "tenant", "country")
	descSignalFailures  = metric.NewDesc("signal_store_failures_total", "Store calls of the fraud signals that failed: counts not taken, quarantines not placed or not read.")
	descQuarantineLifts = metric.NewDesc("quarantine_lifts_total", "Quarantines lifted by operators and taken by this sidecar.")
)

// signalDescs are the descriptions above, for Describe.
var signalDescs = []*prometheus.Desc{descQuarantined, descSignalAlerts, descDeliveryRatio, descSignalReports, descSignalVolume,
	descVolumeThreshold, descSignalFailures, descQuarantineLifts}

// emitSignals sends the signal metrics of a live config.
func emitSignals(ch chan<- prometheus.Metric, w *signalWatch, snap *snapshot, now time.Time) {
	st := w.status(snap, now)
	if st == nil {
		return
	}
	for _, q := range st.Quarantines {
		ch <- prometheus.MustNewConstMetric(descQuarantined, prometheus.GaugeValue, 1, q.Tenant, q.Country, q.Signal, q.Mode)
	}
	for _, s := range st.Signals {
		if s.DeliveryRatio != nil {
			ch <- prometheus.MustNewConstMetric(descDeliveryRatio, prometheus.GaugeValue, *s.DeliveryRatio, s.Tenant, s.Country)
		}
		ch <- prometheus.MustNewConstMetric(descSignalReports, prometheus.GaugeValue, float64(s.Reports), s.Tenant, s.Country)
		ch <- prometheus.MustNewConstMetric(descSignalVolume, prometheus.GaugeValue, float64(s.Volume), s.Tenant, s.Country)
		if s.VolumeThreshold != nil {
			ch <- prometheus.MustNewConstMetric(descVolumeThreshold, prometheus.GaugeValue, *s.VolumeThreshold, s.Tenant, s.Country)
		}
	}
	ch <- prometheus.MustNewConstMetric(descSignalFailures, prometheus.CounterValue, float64(w.stats.failures.Load()))
	ch <- prometheus.MustNewConstMetric(descQuarantineLifts, prometheus.CounterValue, float64(w.stats.lifts.Load()))
	w.stats.mu.Lock()
	defer w.stats.mu.Unlock()
	for k, n := range w.stats.alerts {
		ch <- prometheus.MustNewConstMetric(descSignalAlerts, prometheus.CounterValue, float64(n), k.tenant, k.signal, k.typ)
	}
}

package restlink

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/alerts"
	"github.com/23telecom/restlink-sidecar/module/policy"
	"github.com/23telecom/restlink-sidecar/module/signals"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// keepsBook reports whether a snapshot keeps its quarantines in the
// ledger directory's quarantine file: without Redis, the store is this
// process's memory, and the file is what survives a restart. With Redis,
// the shared store keeps them.
func keepsBook(snap *snapshot) bool { return snap.plan.store.redis == nil && snap.accounts != nil }

// loadBook places the quarantines of the ledger directory's file in the
// store, once per directory: after a restart, they hold again.
func (w *signalWatch) loadBook(ctx context.Context, snap *snapshot, now time.Time) {
	if !keepsBook(snap) {
		return
	}
	dir := snap.accounts.plan.dir
	w.bookMu.Lock()
	defer w.bookMu.Unlock()
	if w.bookDir == dir {
		return
	}
	qs, err := signals.ReadBook(dir)
	if err != nil {
		w.logger().Error("the quarantine file could not be read; the quarantines it held do not hold until a signal fires again", zap.Error(err))
	}
	for _, q := range qs {
		if !now.Before(q.Until) {
			continue
		}
		data, _ := json.Marshal(q)
		if _, err := snap.store.PlaceHold(ctx, holdPrefix+signals.Key(q.Tenant, q.Country), data, now, q.Until); err != nil {
			w.failed(err, "the store could not take a quarantine back from the quarantine file")
		}
	}
	w.bookDir, w.written = dir, qs
}

// writeBook rewrites the quarantine file when the quarantines in force
// changed.
func (w *signalWatch) writeBook(snap *snapshot, now time.Time) {
	if !keepsBook(snap) {
		return
	}
	qs := w.list(now)
	w.bookMu.Lock()
	defer w.bookMu.Unlock()
	if w.bookDir != snap.accounts.plan.dir || slices.Equal(qs, w.written) {
		return
	}
	if err := signals.WriteBook(w.bookDir, qs); err != nil {
		w.logger().Error("the quarantine file could not be written; the quarantines hold until a restart", zap.Error(err))
		return
	}
	w.written = qs
}

// list returns the quarantines in force at now, in key order.
func (w *signalWatch) list(now time.Time) []signals.Quarantine {
	set := *w.holds.Load()
	qs := make([]signals.Quarantine, 0, len(set))
	for _, q := range set {
		if now.Before(q.Until) {
			qs = append(qs, q)
		}
	}
	slices.SortFunc(qs, func(a, b signals.Quarantine) int {
		return strings.Compare(signals.Key(a.Tenant, a.Country), signals.Key(b.Tenant, b.Country))
	})
	return qs
}

// takeLifts lifts the quarantines operators asked to lift with the
// quarantine command (a sidecar without Redis; with Redis, the command
// lifts them in the store itself).
func (w *signalWatch) takeLifts(ctx context.Context, snap *snapshot, now time.Time) {
	if !keepsBook(snap) {
		return
	}
	lifts, err := signals.TakeLifts(snap.accounts.plan.dir)
	if err != nil {
		w.logger().Warn("a quarantine lift request could not be read; it was removed", zap.Error(err))
	}
	for _, l := range lifts {
		lifted, err := liftQuarantine(ctx, snap.store, snap.policy, l.Tenant, l.Country, now)
		if err != nil {
			w.failed(err, "the store could not lift a quarantine")
			continue
		}
		w.lifted(l.Tenant, l.Country, lifted)
	}
}

// lifted logs a lift.
func (w *signalWatch) lifted(tenant, country string, lifted bool) {
	w.stats.lifts.Add(1)
	msg := "quarantine lifted by an operator; the tenant's signals for the country start again from zero"
	if !lifted {
		msg = "an operator lifted a quarantine that was not in force; the tenant's signals for the country start again from zero"
	}
	w.logger().Info(msg, zap.String("tenant", tenant), zap.String("country", country))
}

// liftQuarantine ends a tenant's quarantine of a country in the store,
// and clears the counts of its signals, so that the reports and sends
// that fired it do not fire it again at once.
func liftQuarantine(ctx context.Context, st store.Store, pol *policy.Policy, tenant, country string, now time.Time) (bool, error) {
	lifted, err := st.LiftHold(ctx, holdPrefix+signals.Key(tenant, country), now)
	if err != nil {
		return false, err
	}
	if rules := pol.For(tenant); rules != nil && rules.Anomaly() != nil {
		a := rules.Anomaly()
		var clearAll []store.Tally
		for _, key := range []string{tallyKey(volumePrefix, a, tenant, country), tallyKey(deliveredPrefix, a, tenant, country), tallyKey(finalPrefix, a, tenant, country)} {
			clearAll = append(clearAll, store.Tally{Key: key, From: 1<<53 - 1, TTL: time.Millisecond})
		}
		if _, err := st.Tally(ctx, clearAll); err != nil {
			return lifted, err
		}
	}
	return lifted, nil
}

// raise raises the alert of a quarantine this sidecar placed: it is
// written to the outbox (alerts.url), logged and counted. A shadow
// quarantine's alert is a signal_shadow.
func (w *signalWatch) raise(snap *snapshot, q signals.Quarantine) {
	typ := alerts.TypeQuarantine
	msg := "a fraud signal fired: the tenant's sends to the country are refused with 403 DESTINATION_QUARANTINED until the quarantine ends or is lifted"
	if q.Mode == signals.ModeShadow {
		typ = alerts.TypeSignalShadow
		msg = "a fraud signal fired (shadow mode: nothing is refused)"
	}
	w.stats.countAlert(q.Tenant, q.Signal, typ)
	log := w.logger()
	if out := snap.accounts.outbox; out != nil {
		a := alerts.Alert{ID: q.ID, Type: typ, Tenant: q.Tenant, Country: q.Country, Signal: q.Signal, Value: q.Value,
			Threshold: q.Threshold, Count: q.Count, At: q.Since}
		if err := out.Add(a); err != nil {
			log.Error("a quarantine alert could not be kept for the alert receiver", zap.String("id", q.ID), zap.Error(err))
		}
	}
	log.Warn(msg, zap.String("alert", typ), zap.String("id", q.ID), zap.String("tenant", q.Tenant), zap.String("country", q.Country),
		zap.String("signal", q.Signal), zap.Float64("value", q.Value), zap.Float64("threshold", q.Threshold), zap.Int64("count", q.Count),
		zap.String("mode", q.Mode), zap.Time("until", q.Until))
}

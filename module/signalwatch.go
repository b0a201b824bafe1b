package restlink

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/policy"
	"github.com/23telecom/restlink-sidecar/module/signals"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// signalTick is how often the signal watch flushes the send counts it
// gathered into the store, evaluates the volume signal, takes lift
// requests and reads the quarantines of the fleet: a quarantine placed
// or lifted on one sidecar holds on every other within it.
const signalTick = time.Second

// signalTimeout bounds one tick's or one report's store calls.
const signalTimeout = 2 * time.Second

// Store key prefixes of the signals: the tally keys hold the window's
// length, so that a changed window starts new counts.
const (
	holdPrefix      = "quarantine/"
	volumePrefix    = "sig/vol/"
	deliveredPrefix = "sig/dlv/"
	finalPrefix     = "sig/fin/"
)

// signalWatch evaluates the fraud signals of a live config and keeps the
// quarantines the fleet placed; the send gate asks it before a send
// leaves. It lives as long as the live config, across reloads.
type signalWatch struct {
	current func() *snapshot
	logger  func() *zap.Logger

	// holds are the quarantines in force, as last read from the store
	// or placed here: read on every send, replaced whole.
	holds atomic.Pointer[quarantineSet]

	mu sync.Mutex
	// pending are the recipients of accepted sends not yet flushed into
	// the store, by tenant × country and window.
	pending map[pendingKey]int64
	// readings are the signals' last evaluation, for status and metrics.
	readings map[string]*signalReading
	// bookMu guards the quarantine file of a sidecar without Redis:
	// bookDir is the ledger directory whose file was loaded, written what
	// the file holds. File I/O never holds mu, which sends take.
	bookMu  sync.Mutex
	bookDir string
	written []signals.Quarantine

	stats signalStats
	loop  *passes
}

// pendingKey names the recipients of one tenant × country gathered
// since the last flush: those of one volume window, counted under one
// config's thresholds.
type pendingKey struct {
	subject, country string
	anomaly          *policy.Anomaly
	window           int64
}

// signalReading is a tenant × country's signals as last evaluated.
type signalReading struct {
	subject, country string
	window           time.Duration
	ratio            float64 // delivered / final; valid when reports > 0
	reports          int64   // final reports in the window
	volume           int64   // recipients in the current volume window
	threshold        float64 // the volume's threshold; 0 without a baseline yet
	at               time.Time
}

// quarantineSet is the quarantines in force, by signals.Key.
type quarantineSet map[string]signals.Quarantine

// newSignalWatch starts the watch of a live config.
func newSignalWatch(current func() *snapshot, logger func() *zap.Logger) *signalWatch {
	w := &signalWatch{current: current, logger: logger, pending: make(map[pendingKey]int64), readings: make(map[string]*signalReading)}
	w.holds.Store(&quarantineSet{})
	w.loop = startPasses(func(stop <-chan struct{}) time.Time {
		w.tick(time.Now())
		return time.Now().Add(signalTick)
	})
	w.loop.kick()
	return w
}

// close stops the watch.
func (w *signalWatch) close() { w.loop.close() }

// quarantined returns the quarantine of subject's sends to country in
// force at now, if any.
func (w *signalWatch) quarantined(subject, country string, now time.Time) (signals.Quarantine, bool) {
	set := *w.holds.Load()
	if len(set) == 0 {
		return signals.Quarantine{}, false
	}
	q, ok := set[signals.Key(subject, country)]
	return q, ok && now.Before(q.Until)
}

// sent counts the recipients of a send restlink accepted, by country.
func (w *signalWatch) sent(subject string, a *policy.Anomaly, send *policy.Send, now time.Time) {
	window := a.VolumeWindow(now)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, rc := range send.Recipients {
		k := pendingKey{subject: subject, country: countryOf(rc.Region), anomaly: a, window: window}
		w.pending[k]++
	}
}

// countryOf is the country of a region the numbering plan placed a
// number in, or ZZ for none.
func countryOf(region string) string {
	if region == "" {
		return signals.NoCountry
	}
	return region
}

// tick flushes the send counts and evaluates the volume, takes lift
// requests and reads the quarantines in force.
func (w *signalWatch) tick(now time.Time) {
	snap := w.current()
	if snap == nil || snap.accounts == nil || !snap.policy.Watched() {
		w.mu.Lock()
		clear(w.pending)
		w.mu.Unlock()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
	defer cancel()
	w.loadBook(ctx, snap, now)
	w.flushVolume(ctx, snap, now)
	w.takeLifts(ctx, snap, now)
	w.refresh(ctx, snap, now)
}

// flushVolume adds the pending send counts to the store's volume tallies
// in one call, and evaluates the volume of each tenant × country.
func (w *signalWatch) flushVolume(ctx context.Context, snap *snapshot, now time.Time) {
	w.mu.Lock()
	batch := make([]pendingKey, 0, len(w.pending))
	counts := make([]int64, 0, len(w.pending))
	for k, n := range w.pending {
		batch, counts = append(batch, k), append(counts, n)
	}
	clear(w.pending)
	w.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	tallies := make([]store.Tally, len(batch))
	for i, p := range batch {
		tallies[i] = store.Tally{Key: tallyKey(volumePrefix, p.anomaly, p.subject, p.country), Add: []store.SlotCount{{Slot: p.window, Count: counts[i]}},
			From: p.anomaly.VolumeFrom(now), TTL: p.anomaly.Baseline + 2*p.anomaly.Window}
	}
	windows, err := snap.store.Tally(ctx, tallies)
	if err != nil {
		w.failed(err, "the store could not count sends for the volume signal; this second's sends are not counted")
		return
	}
	for i, p := range batch {
		// The window the sends were counted in, which may have ended
		// since: a surge at the end of a window is judged in it.
		at := time.Unix(0, p.window*int64(p.anomaly.Window))
		r, fired := p.anomaly.Volume(windows[i], at)
		w.readVolume(p, windows[i], at, now)
		if fired {
			w.fire(ctx, snap, p.subject, p.country, r, now)
		}
	}
}

// readVolume keeps the volume reading of a flushed tenant × country,
// for the window the sends were counted in.
func (w *signalWatch) readVolume(p pendingKey, counts []store.SlotCount, at, now time.Time) {
	volume, threshold := p.anomaly.VolumeCounts(counts, at)
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.reading(p.subject, p.country, p.anomaly.Window)
	r.volume, r.threshold, r.at = volume, threshold, now
}

// reading returns the reading of a tenant × country, creating it. w.mu is
// held.
func (w *signalWatch) reading(subject, country string, window time.Duration) *signalReading {
	key := signals.Key(subject, country)
	r := w.readings[key]
	if r == nil {
		r = &signalReading{subject: subject, country: country}
		w.readings[key] = r
	}
	r.window = window
	return r
}

// report counts a final delivery report of subject's message to country,
// and evaluates the delivery ratio. UNKNOWN counts in neither.
func (w *signalWatch) report(ctx context.Context, snap *snapshot, subject, country, status string, now time.Time) {
	rules := snap.policy.For(subject)
	if rules == nil || rules.Anomaly() == nil || status == "UNKNOWN" {
		return
	}
	a := rules.Anomaly()
	if a.RatioBelow <= 0 {
		return
	}
	slot := a.RatioSlot(now)
	var deliveredAdd int64
	if status == "DELIVRD" {
		deliveredAdd = 1
	}
	from, ttl := a.RatioFrom(now), 2*a.Window
	counts, err := snap.store.Tally(ctx, []store.Tally{
		{Key: tallyKey(deliveredPrefix, a, subject, country), Add: []store.SlotCount{{Slot: slot, Count: deliveredAdd}}, From: from, TTL: ttl},
		{Key: tallyKey(finalPrefix, a, subject, country), Add: []store.SlotCount{{Slot: slot, Count: 1}}, From: from, TTL: ttl},
	})
	if err != nil {
		w.failed(err, "the store could not count a delivery report for the delivery-ratio signal")
		return
	}
	r, fired := a.DeliveryRatio(counts[0], counts[1], now)
	delivered, final := a.RatioCounts(counts[0], counts[1], now)
	w.mu.Lock()
	rd := w.reading(subject, country, a.Window)
	rd.reports, rd.at = final, now
	if final > 0 {
		rd.ratio = float64(delivered) / float64(final)
	}
	w.mu.Unlock()
	if fired {
		w.fire(ctx, snap, subject, country, r, now)
	}
}

// tallyKey names a tally of a tenant × country (prefix: which one).
func tallyKey(prefix string, a *policy.Anomaly, subject, country string) string {
	return prefix + a.Window.String() + ":" + signals.Key(subject, country)
}

// fire quarantines subject's sends to country after a signal fired,
// unless a quarantine is in force already: the sidecar whose placement
// the store takes raises the alert, once for the fleet.
func (w *signalWatch) fire(ctx context.Context, snap *snapshot, subject, country string, r signals.Reading, now time.Time) {
	if _, ok := w.quarantined(subject, country, now); ok {
		return
	}
	rules := snap.policy.For(subject)
	if rules == nil || rules.Anomaly() == nil {
		return
	}
	mode := signals.ModeShadow
	if rules.QuarantineRefuses() {
		mode = signals.ModeEnforce
	}
	q := signals.New(subject, country, mode, r, now, rules.Anomaly().QuarantineFor)
	data, err := json.Marshal(q)
	if err != nil {
		return
	}
	placed, err := snap.store.PlaceHold(ctx, holdPrefix+signals.Key(subject, country), data, now, q.Until)
	if err != nil {
		w.failed(err, "the store could not place a quarantine; the signal fires again at its next evaluation")
		return
	}
	if !placed {
		w.refresh(ctx, snap, now) // another sidecar placed it: hold it here too
		return
	}
	w.keep(q)
	w.raise(snap, q)
	w.writeBook(snap, now)
}

// keep adds q to the quarantines in force.
func (w *signalWatch) keep(q signals.Quarantine) {
	w.mu.Lock()
	defer w.mu.Unlock()
	set := make(quarantineSet, len(*w.holds.Load())+1)
	for k, v := range *w.holds.Load() {
		set[k] = v
	}
	set[signals.Key(q.Tenant, q.Country)] = q
	w.holds.Store(&set)
}

// refresh reads the quarantines in force from the store. While the
// shared store is down, the quarantines last read keep holding: the
// fallback's local store does not know them.
func (w *signalWatch) refresh(ctx context.Context, snap *snapshot, now time.Time) {
	if f, ok := snap.store.(*store.Fallback); ok && !f.Status().Available {
		return
	}
	holds, err := snap.store.Holds(ctx, now)
	if err != nil {
		w.failed(err, "the store could not list the quarantines in force; the last list read keeps holding")
		return
	}
	set := make(quarantineSet, len(holds))
	for _, h := range holds {
		var q signals.Quarantine
		if len(h.Key) <= len(holdPrefix) || h.Key[:len(holdPrefix)] != holdPrefix {
			continue
		}
		if err := json.Unmarshal(h.Data, &q); err != nil {
			continue
		}
		set[signals.Key(q.Tenant, q.Country)] = q
	}
	w.mu.Lock()
	w.holds.Store(&set)
	w.mu.Unlock()
	w.writeBook(snap, now)
}

// failed counts a store failure of the signals, and logs it unless it is
// an outage (logged once, with the requests it touched).
func (w *signalWatch) failed(err error, msg string) {
	w.stats.failures.Add(1)
	if !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, context.Canceled) {
		w.logger().Error(msg, zap.Error(err))
	}
}

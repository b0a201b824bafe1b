package restlink

import (
	"maps"
	"slices"
	"time"

	"github.com/23telecom/restlink-sidecar/module/signals"
)

// SignalsStatus is the fraud signals in the status document: the
// quarantines in force, and each tenant × country's signals as last
// evaluated.
type SignalsStatus struct {
	Quarantines []signals.Quarantine `json:"quarantines"`
	Signals     []SignalStatus       `json:"signals"`
}

// SignalStatus is a tenant × country's signals as this sidecar last
// evaluated them (in a fleet, from the shared counts).
type SignalStatus struct {
	Tenant  string `json:"tenant"`
	Country string `json:"country"`
	// DeliveryRatio is DELIVRD against the final reports in the window;
	// absent before any report.
	DeliveryRatio *float64 `json:"delivery_ratio,omitempty"`
	Reports       int64    `json:"reports"`
	// Volume is the recipients of the current window; VolumeThreshold
	// what it must go above to fire (absent while the baseline has fewer
	// than 3 windows).
	Volume          int64     `json:"volume"`
	VolumeThreshold *float64  `json:"volume_threshold,omitempty"`
	At              time.Time `json:"at"`
}

// readingsKept is how long a tenant × country's reading is shown after
// its last evaluation, in windows.
const readingsKept = 2

// signalsStatus describes the signals of a snapshot; nil without any.
func (w *signalWatch) status(snap *snapshot, now time.Time) *SignalsStatus {
	if snap.accounts == nil || !snap.policy.Watched() {
		return nil
	}
	st := &SignalsStatus{Quarantines: w.list(now), Signals: w.readingsAt(now)}
	return st
}

// readingsAt returns the readings still shown at now, in key order,
// forgetting the others.
func (w *signalWatch) readingsAt(now time.Time) []SignalStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]SignalStatus, 0, len(w.readings))
	for _, key := range slices.Sorted(maps.Keys(w.readings)) {
		r := w.readings[key]
		if now.Sub(r.at) > readingsKept*r.window {
			delete(w.readings, key)
			continue
		}
		s := SignalStatus{Tenant: r.subject, Country: r.country, Reports: r.reports, Volume: r.volume, At: r.at.UTC()}
		if r.reports > 0 {
			ratio := r.ratio
			s.DeliveryRatio = &ratio
		}
		if r.threshold > 0 {
			th := r.threshold
			s.VolumeThreshold = &th
		}
		out = append(out, s)
	}
	return out
}

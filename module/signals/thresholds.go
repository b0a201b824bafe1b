package signals

import (
	"math"
	"time"

	"github.com/23telecom/restlink-sidecar/module/store"
)

// The signals, as in alerts, metrics, status and Reading.Signal.
const (
	SignalDeliveryRatio = "delivery_ratio"
	SignalVolume        = "volume"
)

// Bounds of Thresholds, checked by the caller's config compiler.
const (
	// MinWindow is the shortest window: a slot (a twelfth of it) must be
	// a whole number of milliseconds for the store's clock.
	MinWindow = time.Second
	// RatioSlots is how many slots a delivery-ratio window is counted in.
	RatioSlots = 12
	// MinBaselineWindows is how many complete windows the volume signal
	// needs before it is evaluated.
	MinBaselineWindows = 3
	// MaxBaselineWindows is the longest baseline, in windows. Beyond it,
	// a sender growing by 10% every window would fire: at 170 windows its
	// current window is above the mean plus six σ of the windows before
	// (7 days of 1-hour windows are 168).
	MaxBaselineWindows = 168
)

// Thresholds are a tenant's signal settings (the anomaly block of its
// policy). The zero value of a signal's setting turns that signal off:
// RatioBelow 0 for the delivery ratio, Sigma 0 for the volume.
type Thresholds struct {
	// Window is the length of the delivery-ratio window and of a volume
	// window; at least MinWindow.
	Window time.Duration
	// RatioBelow: the delivery ratio fires below it (0 to 1; 0: off).
	RatioBelow float64
	// MinReports: the delivery ratio is evaluated once this many final
	// reports are in the window.
	MinReports int64
	// Sigma: the volume fires above mean + Sigma × max(σ, √mean)
	// (0: off).
	Sigma float64
	// MinSends: the volume fires only for a window of at least this many
	// recipients.
	MinSends int64
	// Baseline: the complete windows within it before the current one
	// are the volume's baseline; a whole number of windows from
	// MinBaselineWindows to MaxBaselineWindows.
	Baseline time.Duration
	// QuarantineFor is how long a quarantine lasts once a signal fires.
	QuarantineFor time.Duration
}

// Reading is a signal that fired: what it measured against what.
type Reading struct {
	// Signal is SignalDeliveryRatio or SignalVolume.
	Signal string
	// Value is the delivery ratio (0 to 1) or the window's count.
	Value float64
	// Threshold is RatioBelow, or the count the window went above.
	Threshold float64
	// Count is the final reports in the window, or the window's count.
	Count int64
}

// SlotCount is a count in a numbered slot of time: a volume window or a
// twelfth of a delivery-ratio window, as the store's tallies keep it.
type SlotCount = store.SlotCount

// slot numbers the step of length step that at falls in.
func slot(at time.Time, step time.Duration) int64 {
	return floorDiv(at.UnixNano(), int64(step))
}

// floorDiv divides rounding towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// RatioSlot numbers the delivery-ratio slot a report received at falls
// in.
func (t Thresholds) RatioSlot(at time.Time) int64 { return slot(at, t.Window/RatioSlots) }

// RatioFrom is the first slot of the window that ends with the slot of
// at: slots before it no longer count.
func (t Thresholds) RatioFrom(at time.Time) int64 { return t.RatioSlot(at) - RatioSlots + 1 }

// VolumeWindow numbers the volume window at falls in.
func (t Thresholds) VolumeWindow(at time.Time) int64 { return slot(at, t.Window) }

// VolumeFrom is the first window of the baseline of the window at falls
// in: windows before it no longer count.
func (t Thresholds) VolumeFrom(at time.Time) int64 {
	return t.VolumeWindow(at) - int64(t.Baseline/t.Window)
}

// DeliveryRatio evaluates the delivery ratio at `at` from the slots of
// delivered and final reports (final includes delivered). Slots outside
// the window are ignored.
func (t Thresholds) DeliveryRatio(delivered, final []SlotCount, at time.Time) (Reading, bool) {
	if t.RatioBelow <= 0 {
		return Reading{}, false
	}
	d, f := t.RatioCounts(delivered, final, at)
	if f < max(t.MinReports, 1) {
		return Reading{}, false
	}
	ratio := float64(d) / float64(f)
	if ratio >= t.RatioBelow {
		return Reading{}, false
	}
	return Reading{Signal: SignalDeliveryRatio, Value: ratio, Threshold: t.RatioBelow, Count: f}, true
}

// RatioCounts are the delivered and the final reports in the window that
// ends with the slot of at.
func (t Thresholds) RatioCounts(delivered, final []SlotCount, at time.Time) (d, f int64) {
	from, to := t.RatioFrom(at), t.RatioSlot(at)
	return sum(delivered, from, to), sum(final, from, to)
}

// sum adds the counts of the slots from..to.
func sum(slots []SlotCount, from, to int64) int64 {
	var n int64
	for _, s := range slots {
		if s.Slot >= from && s.Slot <= to {
			n += s.Count
		}
	}
	return n
}

// Volume evaluates the volume of the window at falls in from the counts
// of windows (in any order): the current window against the complete
// windows of the baseline (see VolumeCounts).
func (t Thresholds) Volume(windows []SlotCount, at time.Time) (Reading, bool) {
	current, threshold := t.VolumeCounts(windows, at)
	if current < t.MinSends || current == 0 || threshold == 0 || float64(current) <= threshold {
		return Reading{}, false
	}
	return Reading{Signal: SignalVolume, Value: float64(current), Threshold: threshold, Count: current}, true
}

// VolumeCounts is the count of the window at falls in and the count it
// must go above to fire: mean + Sigma × max(σ, √mean) of the complete
// windows of the baseline, from the first that has a count (a tenant ×
// country that began sending two windows ago has two complete windows;
// idle ones after its first count as 0). The threshold is 0 while the
// baseline has fewer than MinBaselineWindows, or with the signal off.
func (t Thresholds) VolumeCounts(windows []SlotCount, at time.Time) (current int64, threshold float64) {
	cur, from := t.VolumeWindow(at), t.VolumeFrom(at)
	current = sum(windows, cur, cur)
	first := cur
	for _, w := range windows {
		if w.Slot >= from && w.Slot < first && w.Count > 0 {
			first = w.Slot
		}
	}
	if t.Sigma <= 0 || cur-first < MinBaselineWindows {
		return current, 0
	}
	return current, t.volumeThreshold(windows, first, cur)
}

// volumeThreshold is mean + Sigma × max(σ, √mean) of the windows
// first..cur-1, those without a count being 0.
func (t Thresholds) volumeThreshold(windows []SlotCount, first, cur int64) float64 {
	n := float64(cur - first)
	var total float64
	for _, w := range windows {
		if w.Slot >= first && w.Slot < cur {
			total += float64(w.Count)
		}
	}
	mean := total / n
	var squares float64
	seen := 0
	for _, w := range windows {
		if w.Slot >= first && w.Slot < cur {
			d := float64(w.Count) - mean
			squares += d * d
			seen++
		}
	}
	squares += float64(int64(n)-int64(seen)) * mean * mean // the idle windows
	sigma := math.Sqrt(squares / n)
	return mean + t.Sigma*max(sigma, math.Sqrt(mean))
}

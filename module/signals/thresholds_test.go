package signals

import (
	"math/rand/v2"
	"testing"
	"time"
)

var base = time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)

func TestDeliveryRatio(t *testing.T) {
	th := Thresholds{Window: time.Hour, RatioBelow: 0.3, MinReports: 50}
	step := th.Window / RatioSlots
	at := base.Add(10 * time.Hour)
	cur := th.RatioSlot(at)
	for _, c := range []struct {
		name             string
		delivered, final []SlotCount
		fires            bool
	}{
		{"too few reports", sc(cur, 0), sc(cur, 49), false},
		{"low ratio", sc(cur, 10), sc(cur, 50), true},
		{"at the threshold", sc(cur, 15), sc(cur, 50), false},
		{"spread over the window", sc(cur-11, 5, cur, 5), sc(cur-11, 25, cur, 25), true},
		{"old slots slid out", sc(cur-12, 0, cur, 5), sc(cur-12, 40, cur, 25), false},
	} {
		r, fired := th.DeliveryRatio(c.delivered, c.final, at)
		if fired != c.fires {
			t.Errorf("%s: fired %v, want %v (%+v)", c.name, fired, c.fires, r)
		}
		if fired && (r.Signal != SignalDeliveryRatio || r.Threshold != 0.3 || r.Count < 50) {
			t.Errorf("%s: reading %+v", c.name, r)
		}
	}
	if th.RatioSlot(at.Add(step))-cur != 1 {
		t.Error("a slot is not a twelfth of the window")
	}
	off := th
	off.RatioBelow = 0
	if _, fired := off.DeliveryRatio(nil, sc(cur, 100), at); fired {
		t.Error("a ratio of 0 out of 100 fired with the signal off")
	}
}

// volumeRun feeds counts window after window and returns the windows in
// which the signal fired, evaluating after every tenth of each window's
// count as a sidecar does while the window fills.
func volumeRun(th Thresholds, counts []int64) []int {
	var fired []int
	var windows []SlotCount
	for i, n := range counts {
		at := base.Add(time.Duration(i) * th.Window)
		w := th.VolumeWindow(at)
		windows = append(windows, SlotCount{Slot: w})
		for part := int64(1); part <= 10; part++ {
			windows[len(windows)-1].Count = n * part / 10
			if _, ok := th.Volume(trim(windows, th.VolumeFrom(at)), at); ok {
				fired = append(fired, i)
				break
			}
		}
	}
	return fired
}

// trim drops the windows before from, as the store does.
func trim(ws []SlotCount, from int64) []SlotCount {
	var kept []SlotCount
	for _, w := range ws {
		if w.Slot >= from {
			kept = append(kept, w)
		}
	}
	return kept
}

func TestVolumeNoFalsePositives(t *testing.T) {
	th := Thresholds{Window: time.Hour, Sigma: 6, MinSends: 100, Baseline: 7 * 24 * time.Hour}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mean := range []float64{50, 120, 400, 1000, 5000} {
		steady := make([]int64, 24*21)
		growing := make([]int64, 168)
		for i := range steady {
			steady[i] = int64(mean * (0.8 + 0.4*rng.Float64())) // ±20%
		}
		level := mean
		for i := range growing {
			growing[i] = int64(level)
			level *= 1.10
		}
		if f := volumeRun(th, steady); len(f) > 0 {
			t.Errorf("steady sender of %v a window fired in windows %v", mean, f)
		}
		if f := volumeRun(th, growing); len(f) > 0 {
			t.Errorf("sender growing 10%% a window from %v fired in windows %v", mean, f)
		}
	}
}

func TestVolumeTenfold(t *testing.T) {
	th := Thresholds{Window: time.Second, Sigma: 6, MinSends: 100, Baseline: 10 * time.Second}
	counts := []int64{30, 32, 28, 31, 300}
	if f := volumeRun(th, counts); len(f) != 1 || f[0] != 4 {
		t.Errorf("tenfold window: fired in %v, want [4]", f)
	}
	// A perfectly steady sender has σ 0: √mean keeps +30% from firing.
	if f := volumeRun(th, []int64{100, 100, 100, 100, 130}); len(f) != 0 {
		t.Errorf("a steady sender up 30%% fired in %v", f)
	}
	if f := volumeRun(th, []int64{30, 32, 300}); len(f) != 0 {
		t.Errorf("fired with only two complete windows: %v", f)
	}
	if f := volumeRun(th, []int64{3, 3, 3, 3, 60}); len(f) != 0 {
		t.Errorf("fired under min_sends: %v", f)
	}
	// Idle windows after the first count as 0.
	if f := volumeRun(th, []int64{30, 0, 0, 0, 0, 0, 0, 0, 0, 200}); len(f) != 1 {
		t.Errorf("after idle windows: fired in %v, want the last", f)
	}
	// Windows older than the baseline are forgotten: a baseline of 3
	// windows of 1,000 no longer holds 3 windows later.
	th.Baseline = 3 * time.Second
	if f := volumeRun(th, []int64{1000, 1000, 1000, 0, 0, 0, 150}); len(f) != 0 {
		t.Errorf("a baseline older than Baseline counted: fired in %v", f)
	}
}

func TestVolumeThreshold(t *testing.T) {
	th := Thresholds{Window: time.Second, Sigma: 6, Baseline: 10 * time.Second}
	// 100, 100, 100 and an idle window: mean 75, σ = √(3·25²+75²)/2 = 43.3.
	got := th.volumeThreshold(sc(10, 100, 11, 100, 12, 100), 10, 14)
	if want := 75 + 6*43.30127018922193; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("threshold %v, want %v", got, want)
	}
	// σ below √mean: √mean counts. 100 ×3: mean 100, σ 0, √mean 10.
	if got := th.volumeThreshold(sc(10, 100, 11, 100, 12, 100), 10, 13); got != 160 {
		t.Errorf("threshold %v, want 160", got)
	}
}

func TestSlotsBeforeEpoch(t *testing.T) {
	th := Thresholds{Window: time.Hour}
	if s := th.VolumeWindow(time.Unix(-1, 0)); s != -1 {
		t.Errorf("the second before the epoch is in window %d, want -1", s)
	}
}

// sc builds slots from slot, count pairs.
func sc(pairs ...int64) []SlotCount {
	out := make([]SlotCount, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, SlotCount{Slot: pairs[i], Count: pairs[i+1]})
	}
	return out
}

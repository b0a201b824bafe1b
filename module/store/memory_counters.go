package store

// windowCounter is a sliding-window counter of a Memory store: only its
// non-empty steps, ascending by index.
type windowCounter struct {
	step  int64 // step length, ns; a change of window starts the counter anew
	steps []stepCount
}

// value is the sum of the steps still in the window at step cur (see
// liveStep).
func (w *windowCounter) value(cur int64) int64 {
	v := int64(0)
	for _, s := range w.steps {
		if liveStep(s.idx, cur) {
			v += s.n
		}
	}
	return v
}

// add charges n to step cur, dropping the steps that left the window.
func (w *windowCounter) add(cur, n int64) {
	drop := 0
	for drop < len(w.steps) && w.steps[drop].idx <= cur-windowSteps {
		drop++
	}
	if drop > 0 {
		w.steps = append(w.steps[:0], w.steps[drop:]...)
	}
	i := len(w.steps)
	for i > 0 && w.steps[i-1].idx > cur {
		i--
	}
	if i > 0 && w.steps[i-1].idx == cur {
		w.steps[i-1].n += n
		return
	}
	w.steps = append(w.steps, stepCount{})
	copy(w.steps[i+1:], w.steps[i:])
	w.steps[i] = stepCount{idx: cur, n: n}
}

// sub refunds up to n from step idx, forgetting the step when it is
// empty. A step that already left the window is gone and needs nothing.
func (w *windowCounter) sub(idx, n int64) {
	for i := range w.steps {
		if w.steps[i].idx != idx {
			continue
		}
		if w.steps[i].n <= n {
			w.steps = append(w.steps[:i], w.steps[i+1:]...)
		} else {
			w.steps[i].n -= n
		}
		return
	}
}

// addHeld adds n to step idx if the counter still holds it; a step that
// left the window, or was refunded to nothing, is gone.
func (w *windowCounter) addHeld(idx, n int64) {
	for i := range w.steps {
		if w.steps[i].idx == idx {
			w.steps[i].n += n
			return
		}
	}
}

// expiry is when (Unix ns) the counter's last step leaves the window and
// the counter can be forgotten.
func (w *windowCounter) expiry() int64 {
	if len(w.steps) == 0 {
		return 0
	}
	return (w.steps[len(w.steps)-1].idx + windowSteps) * w.step
}

// dayCounter is a UTC-day counter of a Memory store: the day it counts
// and its value. A counter of an earlier day reads as zero.
type dayCounter struct {
	day int64
	n   int64
}

// periodCounter is a Period counter of a Memory store. It reads as zero
// from its expiry (a day after the period's end) and is swept then.
type periodCounter struct {
	n       int64
	expires int64 // Unix ns
}

// secondClaims are the signing seconds claimed under one key, ascending.
type secondClaims struct {
	ttl  int64 // how long a claim is remembered, s
	secs []int64
}

// expiry is when (Unix ns) the last claim may be forgotten.
func (c *secondClaims) expiry() int64 {
	if len(c.secs) == 0 {
		return 0
	}
	return (c.secs[len(c.secs)-1] + c.ttl) * int64(1e9)
}

// memoryMarker is a de-duplication marker of a Memory store.
type memoryMarker struct {
	done    bool
	expires int64 // Unix ns, on the store's clock
}

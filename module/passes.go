package restlink

import "time"

// passes is a background goroutine that makes passes over some work (the
// keys to verify, the prices to read): at once when kicked, and again
// when the time the last pass asked for has come, until it is closed.
type passes struct {
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	// first is closed once the first pass is over.
	first chan struct{}
}

// startPasses starts making passes. pass returns when it wants the next
// one (zero: only when kicked); it should return early once stop is
// closed.
func startPasses(pass func(stop <-chan struct{}) (next time.Time)) *passes {
	p := &passes{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), first: make(chan struct{})}
	go p.run(pass)
	return p
}

// kick asks for a pass at once (after a reload).
func (p *passes) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// close stops the passes and waits for one in progress.
func (p *passes) close() {
	close(p.stop)
	<-p.done
}

// awaitFirst waits until the first pass is over, or at most max.
func (p *passes) awaitFirst(max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-p.first:
	case <-t.C:
	}
}

func (p *passes) run(pass func(stop <-chan struct{}) time.Time) {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for passed := false; ; passed = true {
		select {
		case <-p.stop:
			return
		case <-p.wake:
		case <-timer.C:
		}
		next := pass(p.stop)
		if !passed {
			close(p.first)
		}
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), proberSpacing))
		}
	}
}

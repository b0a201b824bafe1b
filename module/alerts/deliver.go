package alerts

import (
	"context"
	"fmt"
	"time"
)

// run delivers the pending alerts, one attempt at a time, oldest first,
// until ctx is cancelled. An alert not taken is retried after a backoff
// that grows with its consecutive failures; the alerts behind it wait
// (see the package doc for why).
func (o *Outbox) run(ctx context.Context) {
	defer close(o.done)
	failures := 0
	for {
		e := o.head()
		if e == nil {
			select {
			case <-ctx.Done():
				return
			case <-o.wake:
				continue
			}
		}
		err := o.post(ctx, e.body)
		if err != nil && ctx.Err() != nil {
			return // cancelled by Close: the receiver is not at fault, and e stays pending
		}
		if err == nil {
			failures = 0
			o.taken(e)
			continue
		}
		failures++
		o.failed(fmt.Errorf("delivering alert %s: %w", e.id, err))
		if !o.sleep(ctx, backoff(failures, o.minBackoff, o.maxBackoff)) {
			return
		}
	}
}

// head returns the oldest pending alert, or nil if none is.
func (o *Outbox) head() *entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.queue) == 0 {
		return nil
	}
	return o.queue[0]
}

// taken records that the receiver took e, the head of the queue: its
// file is removed, and its id remembered. Until then it stays pending,
// so that an Add of its id meanwhile changes nothing.
func (o *Outbox) taken(e *entry) {
	rmErr := removeFile(o.dir, e.name)
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.queue[0] = nil
	o.queue = o.queue[1:]
	delete(o.pending, e.id)
	o.delivered[e.id] = true
	o.forget = append(o.forget, remembered{e.id, now})
	for len(o.forget) > 0 && now.Sub(o.forget[0].at) >= RememberDelivered {
		delete(o.delivered, o.forget[0].id)
		o.forget = o.forget[1:]
	}
	o.stats.Attempts++
	o.stats.Delivered++
	if rmErr != nil {
		o.stats.LastError = fmt.Errorf("removing the file of delivered alert %s: %w", e.id, rmErr)
	}
}

// failed records an attempt the receiver did not take.
func (o *Outbox) failed(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stats.Attempts++
	o.stats.Failures++
	o.stats.LastError = err
}

// sleep waits for d, and reports whether it did: false if ctx was
// cancelled first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

package restlinktest

import (
	"context"
	"slices"
	"strconv"
	"time"
)

// WebhookDelivery is one webhook the fake sent or is sending, with its
// attempts.
type WebhookDelivery struct {
	// ID names the delivery for ReplayWebhook ("whd_1", "whd_2", …).
	ID          string
	WorkspaceID int64
	Event       Event
	URL         string
	Body        []byte // the exact bytes sent (before any tampering)
	// Replay is true for a deliberate second sending of an event.
	Replay bool
	// Tamper is how the delivery was spoiled on purpose; 0 for none.
	Tamper    Tamper
	Attempts  []WebhookAttempt
	Delivered bool // a receiver answered 2xx in time
	Done      bool // no attempt is pending
}

// WebhookAttempt is one POST of a webhook.
type WebhookAttempt struct {
	Attempt int // 1 to 3
	// Delay is how long the fake waited before this attempt, after the
	// previous one failed (scaled by Options.TimeScale); 0 for the first.
	Delay time.Duration
	// Timestamp and Signature are the X-Webhook-Timestamp and
	// X-Webhook-Signature sent; empty if unsigned.
	Timestamp string
	Signature string
	// Status is the receiver's HTTP status; 0 if it did not answer.
	Status int
	// Error says why there was no answer: a timeout, a refused
	// connection, a TLS failure.
	Error    string
	Started  time.Time // by the wall clock
	Duration time.Duration
}

// copy returns d with its own attempt list.
func (d *WebhookDelivery) copy() WebhookDelivery {
	out := *d
	out.Attempts = slices.Clone(d.Attempts)
	return out
}

// webhookHistory is how many deliveries the log keeps.
const webhookHistory = 1000

// webhookLog is the fake's record of webhook deliveries, and its count
// of background work (simulated deliveries and queued webhooks).
type webhookLog struct {
	deliveries []*WebhookDelivery // oldest first, at most webhookHistory
	next       int64
	pending    int           // background functions running
	idle       chan struct{} // closed when pending drops to 0
}

// add logs a new delivery. f.mu is held.
func (l *webhookLog) add(workspaceID int64, event Event, url string, body []byte) *WebhookDelivery {
	l.next++
	d := &WebhookDelivery{ID: "whd_" + strconv.FormatInt(l.next, 10), WorkspaceID: workspaceID, Event: event, URL: url, Body: body}
	if len(l.deliveries) >= webhookHistory {
		l.deliveries = slices.Delete(l.deliveries, 0, len(l.deliveries)-webhookHistory+1)
	}
	l.deliveries = append(l.deliveries, d)
	return d
}

// find returns the delivery with the ID, or nil. f.mu is held.
func (l *webhookLog) find(id string) *WebhookDelivery {
	for _, d := range l.deliveries {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// WebhookDeliveries returns the latest 1,000 webhook deliveries, oldest
// first, with the attempts made so far.
func (f *Fake) WebhookDeliveries() []WebhookDelivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]WebhookDelivery, len(f.hooks.deliveries))
	for i, d := range f.hooks.deliveries {
		out[i] = d.copy()
	}
	return out
}

// goBackground runs fn in a goroutine that WaitWebhooks and Close wait
// for, with a context that Close cancels. After Close it does nothing.
// f.mu is held.
func (f *Fake) goBackground(fn func(context.Context)) {
	if f.background.Err() != nil {
		return
	}
	if f.hooks.pending == 0 {
		f.hooks.idle = make(chan struct{})
	}
	f.hooks.pending++
	go func() {
		defer func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.hooks.pending--
			if f.hooks.pending == 0 {
				close(f.hooks.idle)
			}
		}()
		fn(f.background)
	}()
}

// WaitWebhooks waits until the fake has no background work left: the
// simulated deliveries it has scheduled and the webhooks it has queued,
// retries and replays included. It returns ctx's error if ctx ends first.
func (f *Fake) WaitWebhooks(ctx context.Context) error {
	f.mu.Lock()
	if f.hooks.pending == 0 {
		f.mu.Unlock()
		return nil
	}
	idle := f.hooks.idle
	f.mu.Unlock()
	select {
	case <-idle:
		// New work may have started since; wait for it too.
		return f.WaitWebhooks(ctx)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WebhookLogEntry is one attempt in GET /user/webhooks/logs.
type WebhookLogEntry struct {
	DeliveryID string `json:"delivery_id"`
	Event      Event  `json:"event"`
	URL        string `json:"url"`
	Attempt    int    `json:"attempt"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error,omitempty"`
	Success    bool   `json:"success"`
	At         string `json:"at"`
}

// webhookLogs serves GET /user/webhooks/logs: every attempt for the
// key's workspace, newest first. restlink does not document the shape;
// this one is the fake's.
func (f *Fake) webhookLogs(c *call) response {
	f.mu.Lock()
	defer f.mu.Unlock()
	logs := []WebhookLogEntry{}
	for i := len(f.hooks.deliveries) - 1; i >= 0; i-- {
		d := f.hooks.deliveries[i]
		if d.WorkspaceID != c.ws {
			continue
		}
		for j := len(d.Attempts) - 1; j >= 0; j-- {
			a := d.Attempts[j]
			logs = append(logs, WebhookLogEntry{
				DeliveryID: d.ID, Event: d.Event, URL: d.URL, Attempt: a.Attempt, StatusCode: a.Status,
				Error: a.Error, Success: a.Status >= 200 && a.Status < 300, At: timestamp(a.Started),
			})
		}
	}
	return okResponse(struct {
		Status bool              `json:"status"`
		Logs   []WebhookLogEntry `json:"logs"`
	}{true, logs})
}

package restlinktest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook delivery, as restlink does it: a receiver has 5 s to answer
// 2xx; otherwise it is tried again after 10 s, then after 30 s, for 3
// attempts in all.
const (
	webhookDeadline  = 5 * time.Second
	webhookUserAgent = "23Telecom-Webhooks/1.0"
)

// webhookRetryDelays are the waits before the second and third attempts.
func webhookRetryDelays() []time.Duration {
	return []time.Duration{10 * time.Second, 30 * time.Second}
}

// Errors of the webhook methods, for errors.Is.
var (
	// ErrNoWebhookURL: the workspace has no URL for the event.
	ErrNoWebhookURL = errors.New("no webhook URL is set for the event")
	// ErrNoSigningSecret: a tampered webhook needs a signing secret to
	// tamper with.
	ErrNoSigningSecret = errors.New("no webhook signing secret is set")
	// ErrUndelivered: every attempt failed.
	ErrUndelivered = errors.New("the webhook was not delivered")
	// ErrUnknownDelivery: no delivery in the log has the ID.
	ErrUnknownDelivery = errors.New("no such webhook delivery")
)

// SignWebhook returns restlink's X-Webhook-Signature for a webhook body
// sent with X-Webhook-Timestamp timestamp: "sha256=" and the lowercase hex
// HMAC-SHA256, keyed with the signing secret, of timestamp + "." + body.
func SignWebhook(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Tamper is a way a deliberately bad webhook differs from a good one, to
// test that a receiver refuses it.
type Tamper int

// The ways to tamper with a webhook.
const (
	// TamperSignature signs with another secret.
	TamperSignature Tamper = iota + 1
	// TamperStale signs correctly with a timestamp 10 minutes old.
	TamperStale
	// TamperBody signs the body, then sends it with a byte added, as a
	// receiver that verifies re-serialized JSON would not notice.
	TamperBody
	// TamperUnsigned sends no signature headers although a secret is set.
	TamperUnsigned
)

// String names the tampering.
func (t Tamper) String() string {
	switch t {
	case 0:
		return "none"
	case TamperSignature:
		return "wrong signature"
	case TamperStale:
		return "stale timestamp"
	case TamperBody:
		return "body changed after signing"
	case TamperUnsigned:
		return "unsigned"
	}
	return "Tamper(" + strconv.Itoa(int(t)) + ")"
}

// webhookJob is a delivery to make: what to send and how to sign it. It
// holds the secret, which WebhookDelivery does not.
type webhookJob struct {
	d        *WebhookDelivery // in the log
	secret   string
	retries  bool   // false: a single attempt
	tamper   Tamper // 0: none
	headers  http.Header
	fromLast bool // replay: send headers, not a fresh signature
}

// SendWebhook sends an event's payload to the workspace's URL for it,
// signed with its secret if one is set, and retries as restlink does. It
// returns when the receiver accepted it (2xx) or after the last attempt,
// with the delivery as logged; err wraps ErrUndelivered if every attempt
// failed. A json.RawMessage payload is sent as is; anything else is
// encoded as JSON.
func (f *Fake) SendWebhook(ctx context.Context, workspaceID int64, event Event, payload any) (WebhookDelivery, error) {
	job, err := f.newJob(workspaceID, event, payload)
	if err != nil {
		return WebhookDelivery{}, err
	}
	job.retries = true
	return f.run(ctx, job)
}

// QueueWebhook is SendWebhook in the background: it returns the
// delivery's ID at once. WaitWebhooks waits for it; WebhookDeliveries
// shows its attempts. Close stops it.
func (f *Fake) QueueWebhook(workspaceID int64, event Event, payload any) (string, error) {
	job, err := f.newJob(workspaceID, event, payload)
	if err != nil {
		return "", err
	}
	job.retries = true
	f.mu.Lock()
	defer f.mu.Unlock()
	f.goBackground(func(ctx context.Context) { _, _ = f.run(ctx, job) })
	return job.d.ID, nil
}

// SendTamperedWebhook sends an event's payload once, without retries,
// tampered with as t says, to test that a receiver refuses it. The
// workspace must have a signing secret.
func (f *Fake) SendTamperedWebhook(ctx context.Context, workspaceID int64, event Event, payload any, t Tamper) (WebhookDelivery, error) {
	job, err := f.newJob(workspaceID, event, payload)
	if err != nil {
		return WebhookDelivery{}, err
	}
	if job.secret == "" {
		return WebhookDelivery{}, fmt.Errorf("sending a tampered %s webhook for workspace %d: %w", event, workspaceID, ErrNoSigningSecret)
	}
	job.tamper = t
	f.mu.Lock()
	job.d.Tamper = t
	f.mu.Unlock()
	return f.run(ctx, job)
}

// ReplayWebhook sends an earlier delivery again, once: the same bytes
// with the same timestamp and signature as its last attempt, as a
// duplicate on the network or an attacker who captured it would. A
// receiver must not act on it twice.
func (f *Fake) ReplayWebhook(ctx context.Context, deliveryID string) (WebhookDelivery, error) {
	f.mu.Lock()
	orig := f.hooks.find(deliveryID)
	if orig == nil || len(orig.Attempts) == 0 {
		f.mu.Unlock()
		return WebhookDelivery{}, fmt.Errorf("replaying webhook delivery %q: %w", deliveryID, ErrUnknownDelivery)
	}
	last := orig.Attempts[len(orig.Attempts)-1]
	headers := http.Header{}
	if last.Timestamp != "" {
		headers.Set("X-Webhook-Timestamp", last.Timestamp)
		headers.Set("X-Webhook-Signature", last.Signature)
	}
	d := f.hooks.add(orig.WorkspaceID, orig.Event, orig.URL, orig.Body)
	d.Replay = true
	job := &webhookJob{d: d, headers: headers, fromLast: true}
	f.mu.Unlock()
	return f.run(ctx, job)
}

// newJob logs a new delivery of payload to the workspace's URL for event.
func (f *Fake) newJob(workspaceID int64, event Event, payload any) (*webhookJob, error) {
	body, ok := payload.(json.RawMessage)
	if !ok {
		var err error
		if body, err = json.Marshal(payload); err != nil {
			return nil, fmt.Errorf("encoding the %s webhook's payload: %w", event, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	settings := f.workspaceFor(workspaceID).webhooks
	u := settings.url(event)
	if u == "" {
		return nil, fmt.Errorf("sending a %s webhook for workspace %d: %w", event, workspaceID, ErrNoWebhookURL)
	}
	return &webhookJob{d: f.hooks.add(workspaceID, event, u, body), secret: settings.SigningSecret}, nil
}

// run makes a delivery's attempts and returns it as logged.
func (f *Fake) run(ctx context.Context, job *webhookJob) (WebhookDelivery, error) {
	f.mu.Lock()
	opts := f.opts
	f.mu.Unlock()
	attempts := 1
	if job.retries {
		attempts += len(webhookRetryDelays())
	}
	delivered := false
	for i := range attempts {
		var delay time.Duration
		if i > 0 {
			delay = opts.scaled(webhookRetryDelays()[i-1])
			if !sleep(ctx, delay) {
				break
			}
		}
		a := f.attempt(ctx, opts, job)
		a.Attempt, a.Delay = i+1, delay
		delivered = a.Status >= 200 && a.Status < 300
		f.mu.Lock()
		job.d.Attempts = append(job.d.Attempts, a)
		job.d.Delivered = delivered
		f.mu.Unlock()
		if delivered {
			break
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	job.d.Done = true
	out := job.d.copy()
	if delivered && opts.ReplayDelivered && !job.d.Replay && job.tamper == 0 {
		// restlink may send a delivered event again: freshly signed,
		// with the usual retries.
		again := f.hooks.add(job.d.WorkspaceID, job.d.Event, job.d.URL, job.d.Body)
		again.Replay = true
		f.goBackground(func(ctx context.Context) {
			_, _ = f.run(ctx, &webhookJob{d: again, secret: job.secret, retries: true})
		})
	}
	if !delivered {
		return out, fmt.Errorf("sending %s webhook %s: %w after %d attempts", out.Event, out.ID, ErrUndelivered, len(out.Attempts))
	}
	return out, nil
}

// attempt posts the webhook once, within the receiver's deadline.
func (f *Fake) attempt(ctx context.Context, opts Options, job *webhookJob) WebhookAttempt {
	deadline := opts.WebhookTimeout
	if deadline <= 0 {
		deadline = opts.scaled(webhookDeadline)
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	body := job.d.Body
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.d.URL, bytes.NewReader(body))
	if err != nil {
		return WebhookAttempt{Started: time.Now(), Error: "building the request: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", webhookUserAgent)
	if job.fromLast {
		for name, values := range job.headers {
			req.Header[name] = values
		}
	} else if job.secret != "" && job.tamper != TamperUnsigned {
		now := opts.Now()
		secret := job.secret
		switch job.tamper {
		case TamperSignature:
			secret = "not-" + secret
		case TamperStale:
			now = now.Add(-10 * time.Minute)
		case TamperBody:
			req.Body = io.NopCloser(bytes.NewReader(append(append([]byte(nil), body...), ' ')))
			req.ContentLength = int64(len(body) + 1)
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		req.Header.Set("X-Webhook-Timestamp", ts)
		req.Header.Set("X-Webhook-Signature", SignWebhook(secret, ts, body))
	}
	a := WebhookAttempt{
		Timestamp: req.Header.Get("X-Webhook-Timestamp"), Signature: req.Header.Get("X-Webhook-Signature"),
		Started: time.Now(),
	}
	resp, err := opts.WebhookClient.Do(req)
	a.Duration = time.Since(a.Started)
	if err != nil {
		a.Error = attemptError(ctx, err, deadline)
		return a
	}
	a.Status = resp.StatusCode
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return a
}

// attemptError describes a failed attempt without its URL, which could
// hold a receiver's token.
func attemptError(ctx context.Context, err error, deadline time.Duration) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "no answer within " + deadline.String()
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return err.Error()
}

// sleep waits for d, or less if ctx ends; it reports whether it waited
// in full.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

package restlinktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
)

// Errors of Deliver, for errors.Is.
var (
	// ErrUnknownMessage: the fake holds no message with the ID (or no
	// longer: it keeps a workspace's latest 10,000 live and 500 sandbox
	// messages).
	ErrUnknownMessage = errors.New("no such message")
	// ErrNotFinalStatus: the status is not one a delivery report gives.
	ErrNotFinalStatus = errors.New("not a final delivery status (DELIVRD, UNDELIV, REJECTD, EXPIRED or UNKNOWN)")
	// ErrAlreadyReported: the message already has its final status.
	ErrAlreadyReported = errors.New("the message already has its delivery report")
)

// reportCodes are the status codes (carrier-specific in restlink; the
// fake's own) of the final statuses a delivery report gives.
var reportCodes = map[string]string{
	statusDelivered:   "000",
	statusUndelivered: "001",
	statusRejected:    "002",
	statusExpired:     "003",
	statusUnknown:     "004",
}

// notCharged reports whether a message reported with status is not
// charged: its cost turns 0 and its charge goes back to the balance.
// restlink says only that a report's cost is the actual carrier cost and
// can be 0; that undelivered, rejected and expired messages cost nothing
// is the fake's choice. DELIVRD and UNKNOWN keep their charge.
func notCharged(status string) bool {
	return status == statusUndelivered || status == statusRejected || status == statusExpired
}

// Deliver gives a message its delivery report now, with a final status
// (DELIVRD, UNDELIV, REJECTD, EXPIRED or UNKNOWN), as SimulateDelivery
// would after its delay: the message takes the status, its cost becomes
// what the report says (its charge; 0, and the charge refunded to the
// balance, for UNDELIV, REJECTD and EXPIRED), and if the workspace has a
// delivery URL the delivery webhook is queued in the background
// (WaitWebhooks waits for it). It is deterministic: tests need not wait
// for the simulated delay. It returns an error wrapping
// ErrUnknownMessage, ErrNotFinalStatus or ErrAlreadyReported, and then
// changes nothing.
func (f *Fake) Deliver(messageID, status string) error {
	if _, ok := reportCodes[status]; !ok {
		return fmt.Errorf("delivering message %s with status %q: %w", messageID, status, ErrNotFinalStatus)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.messages[messageID]
	switch {
	case m == nil:
		return fmt.Errorf("delivering message %s: %w", messageID, ErrUnknownMessage)
	case m.status != statusSent:
		return fmt.Errorf("delivering message %s with status %s: it is %s: %w", messageID, status, m.status, ErrAlreadyReported)
	}
	f.report(m, status, f.now())
	return nil
}

// deliverLater simulates the carrier: after delay, each message still
// sent gets its delivery report, with the status statusOf gives its
// recipient (DELIVRD if statusOf is nil).
func (f *Fake) deliverLater(ctx context.Context, delay time.Duration, msgs []*message, statusOf func(string) string) {
	if !sleep(ctx, delay) {
		return
	}
	statuses := make([]string, len(msgs))
	for i, m := range msgs {
		statuses[i] = chosenStatus(statusOf, m.recipient) // outside the lock: statusOf may call the fake
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	for i, m := range msgs {
		if m.status == statusSent { // not reported by Deliver meanwhile
			f.report(m, statuses[i], now)
		}
	}
}

// chosenStatus is the final status statusOf chooses for a recipient:
// DELIVRD if statusOf is nil or says "". It panics on a status that is
// not final, a mistake of the test that set Options.DeliveryStatus.
func chosenStatus(statusOf func(string) string, recipient string) string {
	if statusOf == nil {
		return statusDelivered
	}
	switch s := statusOf(recipient); {
	case s == "":
		return statusDelivered
	case reportCodes[s] != "":
		return s
	default:
		panic(fmt.Sprintf("restlinktest: Options.DeliveryStatus(%q) = %q: %v", recipient, s, ErrNotFinalStatus))
	}
}

// report gives m its delivery report at the time now: its final status
// and cost, the refund of a live message that is not charged, and, for a
// workspace with a delivery URL, the delivery webhook, queued. f.mu is
// held.
func (f *Fake) report(m *message, status string, now time.Time) {
	m.status, m.statusCode, m.reported = status, reportCodes[status], now
	if status == statusDelivered {
		m.delivered = now
	}
	if notCharged(status) {
		m.cost = 0
		if !m.sandbox && m.charge > 0 {
			a := f.ensureAccount(m.account)
			if a.balance > math.MaxInt64-m.charge {
				a.balance = math.MaxInt64 // a balance set near the limit since; cannot happen otherwise
			} else {
				a.balance += m.charge
			}
			a.updated = now
			m.refunded = true
		}
	}
	settings := f.workspaceFor(m.workspace).webhooks
	if settings.DeliveryURL == "" {
		return
	}
	body, err := json.Marshal(deliveryPayload(m, settings.deliveryFields()))
	if err != nil {
		return // a map of strings and numbers always encodes
	}
	job := &webhookJob{
		d:      f.hooks.add(m.workspace, EventDelivery, settings.DeliveryURL, body),
		secret: settings.SigningSecret, retries: true,
	}
	f.goBackground(func(ctx context.Context) { _, _ = f.run(ctx, job) })
}

// deliveryPayload is a delivery webhook's body for m, with the fields
// the workspace chose.
func deliveryPayload(m *message, fields []string) map[string]any {
	all := map[string]any{
		"message_id":         m.id,
		"recipient":          m.recipient,
		"sender_id":          m.senderID,
		"status":             m.status,
		"status_code":        m.statusCode,
		"num_parts":          m.segments,
		"cost":               m.cost.number(),
		"timestamp":          m.reported.UTC().Format(time.RFC3339),
		"telecom_message_id": m.telecomID,
		"workspace_id":       m.workspace,
	}
	out := make(map[string]any, len(fields))
	for _, name := range fields {
		if v, ok := all[name]; ok {
			out[name] = v
		}
	}
	return out
}

// testWebhook serves POST /user/webhooks/test: a sample delivery webhook
// to the workspace's delivery URL, sent in the background.
func (f *Fake) testWebhook(c *call) response {
	f.mu.Lock()
	defer f.mu.Unlock()
	settings := f.workspaces[c.ws].webhooks
	if settings.DeliveryURL == "" {
		return errorResponse(http.StatusBadRequest, codeInvalidURL, "no delivery_url is set")
	}
	sample := &message{
		id: newMessageID(c.account, c.now.UnixNano()), telecomID: "tm_" + randomHex(), workspace: c.ws,
		recipient: "+14155550100", senderID: "Test", segments: 1, cost: 0,
		status: statusDelivered, statusCode: reportCodes[statusDelivered], reported: c.now, delivered: c.now,
	}
	body, err := json.Marshal(deliveryPayload(sample, settings.deliveryFields()))
	if err != nil {
		return errorResponse(http.StatusInternalServerError, codeInternalError, "the test event could not be built")
	}
	job := &webhookJob{d: f.hooks.add(c.ws, EventDelivery, settings.DeliveryURL, body), secret: settings.SigningSecret, retries: true}
	f.goBackground(func(ctx context.Context) { _, _ = f.run(ctx, job) })
	return okResponse(struct {
		Status     bool   `json:"status"`
		DeliveryID string `json:"delivery_id"`
	}{true, job.d.ID})
}

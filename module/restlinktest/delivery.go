package restlinktest

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// deliverLater simulates the carrier: after delay, the messages are
// delivered (DELIVRD, status code "000") and, for a workspace with a
// delivery URL, each gets a delivery webhook.
func (f *Fake) deliverLater(ctx context.Context, delay time.Duration, msgs []*message) {
	if !sleep(ctx, delay) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	for _, m := range msgs {
		m.status, m.statusCode, m.delivered = statusDelivered, "000", now
		settings := f.workspaces[m.workspace].webhooks
		if settings.DeliveryURL == "" {
			continue
		}
		body, err := json.Marshal(deliveryPayload(m, settings.deliveryFields()))
		if err != nil {
			continue // a map of strings and numbers always encodes
		}
		job := &webhookJob{
			d:      f.hooks.add(m.workspace, EventDelivery, settings.DeliveryURL, body),
			secret: settings.SigningSecret, retries: true,
		}
		f.goBackground(func(ctx context.Context) { _, _ = f.run(ctx, job) })
	}
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
		"timestamp":          m.delivered.UTC().Format(time.RFC3339),
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
		status: statusDelivered, statusCode: "000", delivered: c.now,
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

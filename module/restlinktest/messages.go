package restlinktest

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Message statuses the fake uses: a message is sent until its delivery
// report gives it one of the final statuses.
const (
	statusSent        = "sent"
	statusDelivered   = "DELIVRD"
	statusUndelivered = "UNDELIV"
	statusRejected    = "REJECTD"
	statusExpired     = "EXPIRED"
	statusUnknown     = "UNKNOWN"
)

// message is an accepted recipient of a send.
type message struct {
	row        int64 // the list's numeric id
	id         string
	telecomID  string
	workspace  int64
	account    int64 // whose balance paid for it
	sandbox    bool
	recipient  string
	senderID   string
	text       string
	segments   int
	charge     micros // what the send's total_cost counted for it
	cost       micros // what its cost field says: its charge, or its delivery report's cost
	status     string
	statusCode string
	created    time.Time
	reported   time.Time // when its delivery report came; zero before
	delivered  time.Time // the same, for a DELIVRD report only
	refunded   bool      // its charge went back to the balance
}

// messageRing is a workspace's latest messages, oldest first.
type messageRing struct {
	size  int
	buf   []*message
	start int // index of the oldest once full
}

// push adds m, returning the message it evicted, if any.
func (r *messageRing) push(m *message) (evicted *message) {
	if len(r.buf) < r.size {
		r.buf = append(r.buf, m)
		return nil
	}
	evicted = r.buf[r.start]
	r.buf[r.start] = m
	r.start = (r.start + 1) % r.size
	return evicted
}

// newest returns the i-th newest message (0: the latest).
func (r *messageRing) newest(i int) *message {
	return r.buf[(r.start+len(r.buf)-1-i)%len(r.buf)]
}

// store keeps m in its workspace's history. f.mu is held.
func (f *Fake) store(ws *workspace, m *message) {
	ring := &ws.live
	if m.sandbox {
		ring = &ws.sandbox
	}
	if old := ring.push(m); old != nil {
		delete(f.messages, old.id)
	}
	f.messages[m.id] = m
}

// MessageStatus is the message object of GET /sms/status/:id. Cost is a
// JSON number with the amount's exact decimal text.
type MessageStatus struct {
	MessageID        string      `json:"message_id"`
	TelecomMessageID string      `json:"telecom_message_id"`
	Recipient        string      `json:"recipient"`
	Segments         int         `json:"segments"`
	Message          string      `json:"message"`
	SenderID         string      `json:"sender_id"`
	Status           string      `json:"status"`
	StatusCode       string      `json:"status_code"`
	Cost             json.Number `json:"cost"`
	CreatedAt        string      `json:"created_at"`
	// DeliveredAt is null until the message is delivered.
	DeliveredAt *string `json:"delivered_at"`
}

// MessageListItem is one message of GET /sms/messages. Cost is a JSON
// number with the amount's exact decimal text.
type MessageListItem struct {
	ID              int64       `json:"id"`
	ClientMessageID string      `json:"client_message_id"`
	Recipient       string      `json:"recipient"`
	SenderID        string      `json:"sender_id"`
	Message         string      `json:"message"`
	Status          string      `json:"status"`
	StatusCode      string      `json:"status_code"`
	Segments        int         `json:"segments"`
	Cost            json.Number `json:"cost"`
	CreatedAt       string      `json:"created_at"`
	DeliveredAt     *string     `json:"delivered_at"`
}

// MessageList is the answer of GET /sms/messages.
type MessageList struct {
	Status     bool              `json:"status"`
	Messages   []MessageListItem `json:"messages"`
	Total      int               `json:"total"`
	Page       int               `json:"page"`
	Limit      int               `json:"limit"`
	TotalPages int               `json:"total_pages"`
}

// timestamp formats the times of message records (UTC, RFC 3339).
func timestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// deliveredAt is a message's delivery time, or nil.
func (m *message) deliveredAt() *string {
	if m.delivered.IsZero() {
		return nil
	}
	s := timestamp(m.delivered)
	return &s
}

// messageStatus serves GET /sms/status/:id. Another workspace's message,
// or one sent with the other kind of key (sandbox or live), is not found.
func (f *Fake) messageStatus(c *call) response {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.messages[c.param]
	if m == nil || m.workspace != c.ws || m.sandbox != c.key.sandbox() {
		return errorResponse(http.StatusNotFound, codeNotFound, "no such message")
	}
	return okResponse(struct {
		Status  bool          `json:"status"`
		Message MessageStatus `json:"message"`
	}{true, MessageStatus{
		MessageID: m.id, TelecomMessageID: m.telecomID, Recipient: m.recipient, Segments: m.segments,
		Message: m.text, SenderID: m.senderID, Status: m.status, StatusCode: m.statusCode, Cost: m.cost.number(),
		CreatedAt: timestamp(m.created), DeliveredAt: m.deliveredAt(),
	}})
}

// Pagination of GET /sms/messages.
const (
	defaultPageSize = 25
	maxPageSize     = 100
)

// listMessages serves GET /sms/messages: the workspace's messages, newest
// first, paged. A limit above 100 is cut to 100; filters are not
// supported and are ignored, as in restlink's sandbox.
func (f *Fake) listMessages(c *call) response {
	q := c.r.URL.Query()
	page, ok := positiveParam(q.Get("page"), 1)
	if !ok {
		return errorResponse(http.StatusBadRequest, codeInvalidParams, "page must be a positive integer")
	}
	limit, ok := positiveParam(q.Get("limit"), defaultPageSize)
	if !ok {
		return errorResponse(http.StatusBadRequest, codeInvalidParams, "limit must be a positive integer")
	}
	limit = min(limit, maxPageSize)

	f.mu.Lock()
	defer f.mu.Unlock()
	ws := f.workspaces[c.ws]
	ring := &ws.live
	if c.key.sandbox() {
		ring = &ws.sandbox
	}
	total := len(ring.buf)
	list := MessageList{Status: true, Messages: []MessageListItem{}, Total: total, Page: page, Limit: limit,
		TotalPages: (total + limit - 1) / limit}
	for i := (page - 1) * limit; i < total && i < page*limit; i++ {
		m := ring.newest(i)
		list.Messages = append(list.Messages, MessageListItem{
			ID: m.row, ClientMessageID: m.id, Recipient: m.recipient, SenderID: m.senderID, Message: m.text,
			Status: m.status, StatusCode: m.statusCode, Segments: m.segments, Cost: m.cost.number(),
			CreatedAt: timestamp(m.created), DeliveredAt: m.deliveredAt(),
		})
	}
	return okResponse(list)
}

// positiveParam parses a query parameter that must be a positive
// integer; empty takes the default.
func positiveParam(s string, def int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// Stats is the stats object of GET /sms/stats.
type Stats struct {
	TotalSent        int     `json:"total_sent"`
	Sent             int     `json:"sent"`
	Delivered        int     `json:"delivered"`
	Undelivered      int     `json:"undelivered"`
	Pending          int     `json:"pending"`
	Expired          int     `json:"expired"`
	NotBilled        int     `json:"not_billed"`
	Failed           int     `json:"failed"`
	ClickCount       int     `json:"click_count"`
	UniqueClickCount int     `json:"unique_click_count"`
	ActionCount      int     `json:"action_count"`
	SentRate         float64 `json:"sent_rate"`
	DeliveryRate     float64 `json:"delivery_rate"`
	// TotalCost is the exact sum of the messages' costs, a JSON number
	// with its exact decimal text.
	TotalCost json.Number `json:"total_cost"`
	// AvgCostPerMsg is TotalCost over Sent, rounded half up to a
	// micro-unit.
	AvgCostPerMsg float64 `json:"avg_cost_per_msg"`
	Currency      string  `json:"currency"`
}

// stats serves GET /sms/stats: totals over the workspace's message
// history (of the key's kind), whatever the period asked; the period
// answered is the default one, the last 7 days.
func (f *Fake) stats(c *call) response {
	f.mu.Lock()
	defer f.mu.Unlock()
	ws := f.workspaces[c.ws]
	ring := &ws.live
	if c.key.sandbox() {
		ring = &ws.sandbox
	}
	s := Stats{Currency: f.opts.Currency}
	var total micros
	for _, m := range ring.buf {
		switch m.status {
		case statusDelivered:
			s.Delivered++
		case statusUndelivered, statusRejected:
			s.Undelivered++
		case statusExpired:
			s.Expired++
		default: // sent, and UNKNOWN: the fate is not known
			s.Pending++
		}
		var ok bool
		if total, ok = total.plus(m.cost); !ok {
			return errorResponse(http.StatusInternalServerError, codeInternalError, "the total cost does not fit the fake's 64-bit micro-units")
		}
	}
	s.Sent = s.Delivered + s.Undelivered + s.Pending + s.Expired
	s.TotalSent = s.Sent // + NotBilled, always 0 for API traffic
	s.Failed = s.Undelivered
	s.TotalCost = total.number()
	if s.TotalSent > 0 {
		s.SentRate = 100
		s.DeliveryRate = math.Round(float64(s.Delivered)/float64(s.Sent)*100*1e6) / 1e6
		// The average, from the integer total: rounded half up to a
		// micro-unit, then the float64 nearest to that exact decimal.
		avg := (total + micros(s.Sent)/2) / micros(s.Sent)
		s.AvgCostPerMsg = float64(avg) / microsPerUnit
	}
	day := c.now.UTC()
	return okResponse(struct {
		Status bool              `json:"status"`
		Stats  Stats             `json:"stats"`
		Period map[string]string `json:"period"`
	}{true, s, map[string]string{
		"from": day.AddDate(0, 0, -6).Format(time.DateOnly),
		"to":   day.Format(time.DateOnly),
	}})
}

package restlinktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// maxRecipients is restlink's limit of recipients per send.
const maxRecipients = 100

// SendRequest is the body of POST /api/v1/sms/send.
type SendRequest struct {
	// To are 1 to 100 numbers in E.164 format.
	To      []string `json:"to"`
	Message string   `json:"message"`
	// SenderID is 3 to 11 letters and digits, not starting with a digit,
	// or a number in E.164 format.
	SenderID string `json:"sender_id"`
}

// SendResponse is restlink's answer to an accepted send.
type SendResponse struct {
	Status bool `json:"status"`
	// Sandbox is true for a send made with a sandbox (sk_test_) key.
	Sandbox bool `json:"sandbox,omitempty"`
	// Messages lists the accepted recipients only.
	Messages []SentMessage `json:"messages"`
	// Results has one entry per recipient, in the order of the request.
	Results []SendResult `json:"results"`
	Summary SendSummary  `json:"summary"`
}

// SentMessage is an accepted recipient in SendResponse.Messages.
type SentMessage struct {
	DNIS       string `json:"dnis"`
	MessageID  string `json:"message_id"`
	SegmentNum int    `json:"segment_num"`
}

// Recipient statuses in SendResult.Status.
const (
	ResultAccepted       = "accepted"
	ResultBlockedCountry = "blocked_country"
)

// SendResult is one recipient's outcome. A blocked recipient has no
// message ID and 0 segments: nothing was sent or billed.
type SendResult struct {
	DNIS      string `json:"dnis"`
	MessageID string `json:"message_id"`
	Segments  int    `json:"segments"`
	Status    string `json:"status"`
}

// SendSummary totals a send. TotalSegments and TotalCost count the
// accepted recipients only.
type SendSummary struct {
	TotalRecipients int `json:"total_recipients"`
	TotalSegments   int `json:"total_segments"`
	// TotalCost is the exact sum of the accepted recipients' charges, a
	// JSON number with its exact decimal text ("0.0255").
	TotalCost json.Number `json:"total_cost"`
	// Encoding is EncodingGSM7 or EncodingUCS2.
	Encoding         string `json:"encoding"`
	AcceptedCount    int    `json:"accepted_count"`
	BlockedCount     int    `json:"blocked_count"`
	QueueErrorCount  int    `json:"queue_error_count"`
	ConfigErrorCount int    `json:"config_error_count"`
	DBErrorCount     int    `json:"db_error_count"`
}

// send serves POST /sms/send: validation in restlink's order (body,
// recipients, their count, message, sender), then the blocked-country
// list, the balance pre-check, and an atomic queueing of every accepted
// recipient.
func (f *Fake) send(c *call) response {
	var req SendRequest
	if !isJSONObject(c.body) || json.Unmarshal(c.body, &req) != nil {
		return errorResponse(http.StatusBadRequest, codeInvalidBody, "the body must be a JSON object with to, message and sender_id")
	}
	if len(req.To) == 0 {
		return errorResponse(http.StatusBadRequest, codeInvalidTo, "to must list at least one number")
	}
	for _, n := range req.To {
		if !isE164(n) {
			return errorResponse(http.StatusBadRequest, codeInvalidTo, "every number in to must be in E.164 format, such as +14155551234")
		}
	}
	if len(req.To) > maxRecipients {
		return errorResponse(http.StatusBadRequest, codeTooManyRecipients, "a send takes at most 100 recipients")
	}
	if req.Message == "" {
		return errorResponse(http.StatusBadRequest, codeInvalidMessage, "message must not be empty")
	}
	if !isSenderID(req.SenderID) {
		return errorResponse(http.StatusBadRequest, codeInvalidSender, "sender_id must be 3 to 11 letters and digits not starting with a digit, or an E.164 number")
	}
	encoding, _, segments := Segments(req.Message)
	sandbox := c.key.sandbox()

	f.mu.Lock()
	opts := f.opts
	ws := f.workspaces[c.ws]
	blocked := make([]bool, len(req.To))
	billable := len(req.To)
	if !sandbox {
		for i, n := range req.To {
			if inCountries(n, opts.BlockedCountries) {
				blocked[i] = true
				billable--
			}
		}
	}
	// Each accepted recipient costs its segments times its rate; the
	// send costs their exact sum.
	charges := make([]micros, len(req.To))
	var cost micros
	for i, n := range req.To {
		if blocked[i] {
			continue
		}
		charge, ok := f.rate(ws, n, c.now, opts).times(segments)
		if ok {
			cost, ok = cost.plus(charge)
		}
		if !ok {
			f.mu.Unlock()
			return errorResponse(http.StatusInternalServerError, codeInternalError, "the send's cost does not fit the fake's 64-bit micro-units")
		}
		charges[i] = charge
	}
	acct := f.accounts[c.account]
	if !sandbox && (acct.balance <= 0 || cost > acct.balance) {
		balance := acct.balance
		f.mu.Unlock()
		return response{status: http.StatusPaymentRequired, code: codeInsufficientBalance, body: InsufficientBalanceBody{
			ErrorBody:          ErrorBody{ErrorCode: codeInsufficientBalance, Description: "the balance is too low for this send"},
			Balance:            balance.number(),
			EstimatedCost:      cost.number(),
			Currency:           opts.Currency,
			TotalRecipients:    len(req.To),
			BillableRecipients: billable,
			Segments:           segments,
		}}
	}
	if fault := f.matchFault(c.r.URL.Path, c.ws, onQueue); fault != nil {
		f.mu.Unlock()
		return errorResponse(http.StatusInternalServerError, codeDBError, "the send could not be queued; nothing was sent, retrying is safe")
	}
	resp := SendResponse{
		Status: true, Sandbox: sandbox,
		Messages: make([]SentMessage, 0, billable),
		Results:  make([]SendResult, 0, len(req.To)),
		Summary: SendSummary{
			TotalRecipients: len(req.To), TotalSegments: segments * billable, TotalCost: cost.number(),
			Encoding: encoding, AcceptedCount: billable, BlockedCount: len(req.To) - billable,
		},
	}
	accepted := make([]*message, 0, billable)
	for i, n := range req.To {
		if blocked[i] {
			resp.Results = append(resp.Results, SendResult{DNIS: n, Status: ResultBlockedCountry})
			continue
		}
		f.nextRow++
		m := &message{
			row: f.nextRow, id: newMessageID(c.account, c.now.UnixNano()), telecomID: "tm_" + randomHex(),
			workspace: c.ws, account: c.account, sandbox: sandbox,
			recipient: n, senderID: req.SenderID, text: req.Message,
			segments: segments, charge: charges[i], cost: charges[i], status: statusSent, created: c.now,
		}
		f.store(ws, m)
		f.recordCharge(m)
		accepted = append(accepted, m)
		resp.Messages = append(resp.Messages, SentMessage{DNIS: n, MessageID: m.id, SegmentNum: segments})
		resp.Results = append(resp.Results, SendResult{DNIS: n, MessageID: m.id, Segments: segments, Status: ResultAccepted})
	}
	if !sandbox {
		acct.balance -= cost // cannot overflow: 0 < cost <= balance
		acct.updated = c.now
	}
	if opts.SimulateDelivery && len(accepted) > 0 {
		delay := opts.DeliveryDelay
		if sandbox {
			delay = opts.SandboxDeliveryDelay
		}
		statusOf := opts.DeliveryStatus
		if sandbox {
			statusOf = nil // restlink's sandbox always reports DELIVRD
		}
		f.goBackground(func(ctx context.Context) { f.deliverLater(ctx, opts.scaled(delay), accepted, statusOf) })
	}
	f.mu.Unlock()
	return okResponse(resp)
}

// isJSONObject reports whether body holds a JSON object rather than
// another value (null would decode into an empty request).
func isJSONObject(body []byte) bool {
	body = bytes.TrimLeft(body, " \t\r\n")
	return len(body) > 0 && body[0] == '{'
}

// isE164 reports whether n is "+" and 8 to 15 digits, the first not 0.
func isE164(n string) bool {
	digits, ok := strings.CutPrefix(n, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return false
	}
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// isSenderID reports whether s is a valid alphanumeric sender (3 to 11
// ASCII letters and digits, not starting with a digit) or an E.164 number.
func isSenderID(s string) bool {
	if isE164(s) {
		return true
	}
	if len(s) < 3 || len(s) > 11 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := range len(s) {
		b := s[i]
		if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9') {
			return false
		}
	}
	return true
}

// inCountries reports whether an E.164 number has one of the country
// calling codes. Calling codes form a prefix code, so a prefix match is
// exact.
func inCountries(number string, codes []string) bool {
	digits := strings.TrimPrefix(number, "+")
	for _, code := range codes {
		if code != "" && strings.HasPrefix(digits, strings.TrimPrefix(code, "+")) {
			return true
		}
	}
	return false
}

// newMessageID returns an ID in restlink's format,
// api_{user_id}_{nanoseconds}_{16 hex}.
func newMessageID(account, nanos int64) string {
	return "api_" + strconv.FormatInt(account, 10) + "_" + strconv.FormatInt(nanos, 10) + "_" + randomHex()
}

// randomHex returns 16 random hex digits.
func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails, per crypto/rand
	return hex.EncodeToString(b[:])
}

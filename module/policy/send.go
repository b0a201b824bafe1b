package policy

import (
	"strconv"

	"github.com/23telecom/restlink-sidecar/module/sms"
)

// MaxRecipients is restlink's own limit on the recipients of one send.
const MaxRecipients = 100

// Send is a parsed send request: what the policy decides on.
type Send struct {
	// Recipients are the entries of "to", in order, duplicates kept:
	// restlink sends (and bills) one message per entry.
	Recipients []Recipient
	// Count is how the message is encoded and how many segments one copy
	// of it is billed as.
	Count sms.Count
	// Segments is the send's total: Count.Segments for each recipient.
	Segments int
	// Sender is the sender_id: an alphanumeric sender or an E.164 number.
	Sender string
	// Message is the message text, unescaped. It is read by the link
	// policy and never written anywhere.
	Message string
}

// Recipient is one destination of a send.
type Recipient struct {
	// Number is the E.164 number, as the app sent it.
	Number string
	// Region is the ISO 3166-1 alpha-2 region the numbering plan places
	// the number in, or "" when it places it in no country (an
	// international network such as +882, an unassigned calling code, or
	// a number that fits none of the regions sharing its calling code).
	Region string
}

// ParseSend parses the body of a send, {"to": [...], "message": "...",
// "sender_id": "..."}, and places its recipients. It refuses, with
// restlink's own error codes and in restlink's order, the sends restlink
// would refuse as malformed:
//
//   - 400 INVALID_BODY: not one JSON object; invalid JSON or UTF-8;
//     arrays and objects nested more than 32 deep; "to", "message" or
//     "sender_id" twice, or a field named like one of them but for
//     letter case.
//   - 400 INVALID_TO: "to" missing, null, empty, not an array of strings,
//     or an entry that is not E.164 ("+" and 8 to 15 digits, the first
//     not 0).
//   - 400 TOO_MANY_RECIPIENTS: more than 100 entries.
//   - 400 INVALID_MESSAGE: "message" missing, null, not a string, or empty.
//   - 400 INVALID_SENDER: "sender_id" missing, null, not a string, or
//     neither 3 to 11 letters and digits not starting with a digit nor an
//     E.164 number.
//
// Other fields are ignored, whatever they hold. Descriptions name fields
// and positions, never values. The body may be reused once ParseSend
// returns. A nil Policy parses without a region cache.
func (p *Policy) ParseSend(body []byte) (*Send, *Refusal) {
	var res *resolver
	if p != nil {
		res = p.resolver
	}
	return parseSend(body, res)
}

func parseSend(body []byte, res *resolver) (*Send, *Refusal) {
	// One copy of the body: every string of the Send is a slice of it.
	r := jsonReader{s: string(body)}
	f, reason := r.readSendFields()
	if reason != "" {
		return nil, bodyRefusal(CodeInvalidBody, reason)
	}

	n, refusal := r.checkTo(f.to)
	if refusal != nil {
		return nil, refusal
	}
	if n > MaxRecipients {
		return nil, bodyRefusal(CodeTooManyRecipients,
			"to has "+strconv.Itoa(n)+" numbers; restlink accepts at most "+strconv.Itoa(MaxRecipients)+" per send")
	}
	message, reason := r.requiredString(f.message, "message")
	if reason != "" {
		return nil, bodyRefusal(CodeInvalidMessage, reason)
	}
	sender, reason := r.requiredString(f.sender, "sender_id")
	if reason == "" && !validSender(sender) {
		reason = "sender_id must be 3 to 11 letters and digits, not starting with a digit, or an E.164 number"
	}
	if reason != "" {
		return nil, bodyRefusal(CodeInvalidSender, reason)
	}

	s := &Send{Recipients: make([]Recipient, 0, n), Count: sms.Measure(message), Sender: sender, Message: message}
	r.elements(f.to, func(_ int, v jsonSpan) bool {
		number := r.stringAt(v)
		s.Recipients = append(s.Recipients, Recipient{Number: number, Region: res.region(number)})
		return true
	})
	s.Segments = s.Count.Segments * len(s.Recipients)
	return s, nil
}

// checkTo checks the "to" field and returns its number of entries.
func (r *jsonReader) checkTo(to jsonSpan) (int, *Refusal) {
	switch to.kind {
	case 0, 'n':
		return 0, bodyRefusal(CodeInvalidTo, "to is missing")
	case '[':
	default:
		return 0, bodyRefusal(CodeInvalidTo, "to must be an array of E.164 numbers")
	}
	n, bad := 0, ""
	r.elements(to, func(i int, v jsonSpan) bool {
		n++
		switch {
		case v.kind != '"':
			bad = "to[" + strconv.Itoa(i) + "] is not a string"
		case !isE164(r.stringAt(v)):
			bad = "to[" + strconv.Itoa(i) + "] is not an E.164 number: \"+\" and 8 to 15 digits, the first not 0"
		}
		return bad == ""
	})
	switch {
	case bad != "":
		return 0, bodyRefusal(CodeInvalidTo, bad)
	case n == 0:
		return 0, bodyRefusal(CodeInvalidTo, "to is empty")
	}
	return n, nil
}

// requiredString returns the value of a field that must be a non-empty
// string, or the reason it is not.
func (r *jsonReader) requiredString(v jsonSpan, name string) (string, string) {
	switch v.kind {
	case 0, 'n':
		return "", name + " is missing"
	case '"':
	default:
		return "", name + " must be a string"
	}
	s := r.stringAt(v)
	if s == "" {
		return "", name + " is empty"
	}
	return s, ""
}

// isE164 reports whether s is "+" and 8 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validSender reports whether s is a sender restlink accepts: 3 to 11 ASCII
// letters and digits, not starting with a digit, or an E.164 number.
func validSender(s string) bool {
	if isE164(s) {
		return true
	}
	if len(s) < 3 || len(s) > 11 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Reservation is a send's estimate, written to the ledger before the send
// is forwarded. Its JSON form, with "type":"reserve" first, is its line
// in a segment.
type Reservation struct {
	// ID identifies the send. It must be unique across every sidecar
	// whose ledgers are merged: 1 to 128 printable ASCII characters.
	ID string `json:"id"`
	// Time is when the send was reserved, in UTC. Reserve sets it to the
	// ledger's clock when it is zero.
	Time time.Time `json:"time"`
	// Tenant and Workspace are the names of the tenant whose budget the
	// send counts against and of the workspace it goes out through.
	Tenant    string `json:"tenant"`
	Workspace string `json:"workspace"`
	// Day (YYYY-MM-DD) and Month (YYYY-MM) are the budget periods the
	// send counts against: Time's day and month in the ledger's
	// timezone. Reserve sets them; every message of the send is dated by
	// Day.
	Day   string `json:"day"`
	Month string `json:"month"`
	// Currency is the account's currency (ISO 4217), the unit of every
	// amount of the send.
	Currency string `json:"currency"`
	// EstimateMicros is the send's estimate in micro-units of Currency:
	// the sum of its recipients' estimates.
	EstimateMicros int64 `json:"estimate_micros"`
	// Recipients are the send's recipients, 1 to 1000, in the order of
	// the send's "to".
	Recipients []Recipient `json:"recipients"`
}

// Recipient is one recipient of a reserved send. It never holds the
// phone number.
type Recipient struct {
	// Country is the number's ISO 3166-1 alpha-2 code, or ZZ for a
	// number in no country.
	Country string `json:"country"`
	// Segments is the number of segments the message takes, 1 to 255.
	Segments int `json:"segments"`
	// EstimateMicros is the recipient's estimate: its segments times the
	// rate that applies to its number.
	EstimateMicros int64 `json:"estimate_micros"`
	// NumberHash is optional: a salted hash of the number, 32 to 128
	// lower-case hex digits, so that sends to one number can be told
	// apart without storing it.
	NumberHash string `json:"number_hash,omitempty"`
}

// Outcome is how a send ended, as its Settlement records.
type Outcome string

// The outcomes of a send.
const (
	// Charged: restlink answered 200 and charged the send its
	// summary.total_cost; the rest of the reservation is released.
	Charged Outcome = "charged"
	// Released: restlink certainly did not act on the send; nothing is
	// charged and the reservation is released.
	Released Outcome = "released"
	// Unknown: nobody knows whether restlink acted (a timeout, a cut
	// connection, or a crash before the answer was recorded). The
	// reservation stays charged.
	Unknown Outcome = "unknown"
)

// Settlement records how a reserved send ended. Its JSON form, with
// "type":"settle" first, is its line in a segment.
type Settlement struct {
	// ID is the reserved send's id.
	ID string `json:"id"`
	// Time is when the send was settled, in UTC; Settle sets it.
	Time time.Time `json:"time"`
	// Outcome is how the send ended.
	Outcome Outcome `json:"outcome"`
	// ChargedMicros is what restlink charged (summary.total_cost) when
	// Outcome is Charged, and 0 otherwise.
	ChargedMicros int64 `json:"charged_micros"`
	// Messages are the send's messages when Outcome is Charged, 1 to
	// 1000, whose shares sum exactly to ChargedMicros. A send charged 0
	// may have none; a send released or unknown has none.
	Messages []Message `json:"messages,omitempty"`
}

// Message is one message of a charged send, with its share of the charge.
type Message struct {
	// ID is restlink's message_id, the key of its delivery reports.
	ID string `json:"message_id"`
	// Country is the recipient's country, as in the Reservation.
	Country string `json:"country"`
	// Segments is the message's segment count as restlink answered it,
	// 0 to 255.
	Segments int `json:"segments"`
	// ShareMicros is the message's share of the send's charge: split by
	// segments, the remainder by the largest-remainder rule (the
	// caller's computation).
	ShareMicros int64 `json:"share_micros"`
}

// Delivery statuses of restlink's delivery reports.
const (
	statusDelivered = "DELIVRD"
	statusUndeliv   = "UNDELIV"
	statusRejected  = "REJECTD"
	statusExpired   = "EXPIRED"
	statusUnknown   = "UNKNOWN"
)

// Adjustment moves a tenant's spend when a delivery report gives a
// message's actual cost. Its JSON form, with "type":"adjust" first, is
// its line in a segment. The ledger takes one adjustment per message and
// status.
type Adjustment struct {
	// MessageID is restlink's message_id, from the report.
	MessageID string `json:"message_id"`
	// Time is when the ledger took the report, in UTC; Adjust sets it.
	Time time.Time `json:"time"`
	// Status is the report's status: DELIVRD, UNDELIV, REJECTD, EXPIRED
	// or UNKNOWN.
	Status string `json:"status"`
	// CostMicros is the report's actual cost.
	CostMicros int64 `json:"cost_micros"`
	// DeltaMicros is the change to the tenant's spend: the cost minus
	// what the message counted for until now (its share, or its previous
	// report's cost), computed by the caller. A cost of 0 for an
	// undelivered message refunds its share.
	DeltaMicros int64 `json:"delta_micros"`
	// Tenant, Workspace and Country are the message's, from its send.
	Tenant    string `json:"tenant"`
	Workspace string `json:"workspace"`
	Country   string `json:"country"`
	// Day is the day the message counts against: its send's Day.
	Day string `json:"day"`
	// Currency is the unit of the amounts, as in the send.
	Currency string `json:"currency"`
}

// The values of a line's "type".
const (
	typeReserve = "reserve"
	typeSettle  = "settle"
	typeAdjust  = "adjust"
)

// maxLine bounds a line of a segment, newline included. The bounds in
// check.go keep every valid record well under it.
const maxLine = 256 << 10

// The JSON forms of the records: "type" first, then the record's fields.
type (
	reserveLine struct {
		Type string `json:"type"`
		Reservation
	}
	settleLine struct {
		Type string `json:"type"`
		Settlement
	}
	adjustLine struct {
		Type string `json:"type"`
		Adjustment
	}
)

// linePrefixes are how the lines this package writes begin, so that a
// line's type is known before it is decoded.
var linePrefixes = [...]struct{ prefix, typ string }{
	{`{"type":"reserve",`, typeReserve},
	{`{"type":"settle",`, typeSettle},
	{`{"type":"adjust",`, typeAdjust},
}

// parseLine decodes one line (without its newline) into a *Reservation,
// a *Settlement or an *Adjustment, and checks it as Reserve, Settle and
// Adjust check what they write. Unknown fields are ignored, so that a
// later version may add some; an unknown type is an error.
func parseLine(line []byte) (any, error) {
	typ, err := lineType(line)
	if err != nil {
		return nil, err
	}
	var (
		got   string
		rec   any
		check func() error
	)
	switch typ {
	case typeReserve:
		var l reserveLine
		err = json.Unmarshal(line, &l)
		l.Time = l.Time.UTC()
		got, rec, check = l.Type, &l.Reservation, l.Reservation.check
	case typeSettle:
		var l settleLine
		err = json.Unmarshal(line, &l)
		l.Time = l.Time.UTC()
		got, rec, check = l.Type, &l.Settlement, l.Settlement.check
	case typeAdjust:
		var l adjustLine
		err = json.Unmarshal(line, &l)
		l.Time = l.Time.UTC()
		got, rec, check = l.Type, &l.Adjustment, l.Adjustment.check
	default:
		return nil, fmt.Errorf("unknown record type %q", typ)
	}
	if err == nil && got != typ {
		err = fmt.Errorf("record has two types, %q and %q", typ, got)
	}
	if err == nil {
		err = check()
	}
	if err != nil {
		return nil, fmt.Errorf("%s record: %w", typ, err)
	}
	return rec, nil
}

// lineType returns a line's "type": from its first bytes when the line
// begins as this package writes lines, else by decoding it.
func lineType(line []byte) (string, error) {
	for _, p := range linePrefixes {
		if len(line) > len(p.prefix) && string(line[:len(p.prefix)]) == p.prefix {
			return p.typ, nil
		}
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return "", err
	}
	if head.Type == "" {
		return "", errors.New("record has no type")
	}
	return head.Type, nil
}

// check checks a reservation whose Time, Day and Month are set.
func (r *Reservation) check() error {
	if err := checkID("id", r.ID); err != nil {
		return err
	}
	if err := checkTime(r.Time); err != nil {
		return err
	}
	if err := checkName("tenant", r.Tenant); err != nil {
		return err
	}
	if err := checkName("workspace", r.Workspace); err != nil {
		return err
	}
	if err := checkDay("day", r.Day); err != nil {
		return err
	}
	if r.Month != monthOf(r.Day) {
		return fmt.Errorf("month %q is not the month of day %q", r.Month, r.Day)
	}
	if err := checkCurrency(r.Currency); err != nil {
		return err
	}
	if err := checkMicros("estimate_micros", r.EstimateMicros, false); err != nil {
		return err
	}
	if len(r.Recipients) == 0 || len(r.Recipients) > maxParts {
		return fmt.Errorf("a send has 1 to %d recipients, not %d", maxParts, len(r.Recipients))
	}
	var sum int64
	for i, rc := range r.Recipients {
		if err := rc.check(); err != nil {
			return fmt.Errorf("recipient %d: %w", i, err)
		}
		sum += rc.EstimateMicros
	}
	if sum != r.EstimateMicros {
		return fmt.Errorf("estimate_micros %d is not the sum of the recipients' estimates, %d", r.EstimateMicros, sum)
	}
	return nil
}

func (rc *Recipient) check() error {
	if err := checkCountry(rc.Country); err != nil {
		return err
	}
	if err := checkSegments(rc.Segments, 1); err != nil {
		return err
	}
	if err := checkMicros("estimate_micros", rc.EstimateMicros, false); err != nil {
		return err
	}
	return checkNumberHash(rc.NumberHash)
}

// check checks a settlement whose Time is set.
func (s *Settlement) check() error {
	if err := checkID("id", s.ID); err != nil {
		return err
	}
	if err := checkTime(s.Time); err != nil {
		return err
	}
	if err := checkMicros("charged_micros", s.ChargedMicros, false); err != nil {
		return err
	}
	switch s.Outcome {
	case Charged:
	case Released, Unknown:
		if s.ChargedMicros != 0 || len(s.Messages) > 0 {
			return fmt.Errorf("a send %s has no charge and no messages", s.Outcome)
		}
		return nil
	default:
		return fmt.Errorf("outcome %q is not charged, released or unknown", s.Outcome)
	}
	if len(s.Messages) > maxParts {
		return fmt.Errorf("a send has at most %d messages, not %d", maxParts, len(s.Messages))
	}
	if len(s.Messages) == 0 && s.ChargedMicros != 0 {
		return errors.New("a charged send's messages carry its charge: none are given")
	}
	var sum int64
	seen := make(map[string]bool, len(s.Messages))
	for i, m := range s.Messages {
		if err := m.check(); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		if seen[m.ID] {
			return fmt.Errorf("message %d: message_id %q appears twice", i, m.ID)
		}
		seen[m.ID] = true
		sum += m.ShareMicros
	}
	if len(s.Messages) > 0 && sum != s.ChargedMicros {
		return fmt.Errorf("charged_micros %d is not the sum of the messages' shares, %d", s.ChargedMicros, sum)
	}
	return nil
}

func (m *Message) check() error {
	if err := checkID("message_id", m.ID); err != nil {
		return err
	}
	if err := checkCountry(m.Country); err != nil {
		return err
	}
	if err := checkSegments(m.Segments, 0); err != nil {
		return err
	}
	return checkMicros("share_micros", m.ShareMicros, false)
}

// check checks an adjustment whose Time is set.
func (a *Adjustment) check() error {
	if err := checkID("message_id", a.MessageID); err != nil {
		return err
	}
	if err := checkTime(a.Time); err != nil {
		return err
	}
	switch a.Status {
	case statusDelivered, statusUndeliv, statusRejected, statusExpired, statusUnknown:
	default:
		return fmt.Errorf("status %q is not DELIVRD, UNDELIV, REJECTD, EXPIRED or UNKNOWN", a.Status)
	}
	if err := checkMicros("cost_micros", a.CostMicros, false); err != nil {
		return err
	}
	if err := checkMicros("delta_micros", a.DeltaMicros, true); err != nil {
		return err
	}
	if err := checkName("tenant", a.Tenant); err != nil {
		return err
	}
	if err := checkName("workspace", a.Workspace); err != nil {
		return err
	}
	if err := checkCountry(a.Country); err != nil {
		return err
	}
	if err := checkDay("day", a.Day); err != nil {
		return err
	}
	return checkCurrency(a.Currency)
}

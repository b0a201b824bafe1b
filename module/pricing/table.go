package pricing

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/23telecom/restlink-sidecar/module/money"
)

// ErrDegraded is the error of a price table that is an empty list:
// restlink's pricing cache is degraded (it also sends
// X-Sms-Gateway-Status), and the caller keeps its last good table.
var ErrDegraded = errors.New("the price table is empty: restlink's pricing cache is degraded")

// ErrNotReady is the error of the answer restlink gives while the account
// is being set up, HTTP 200 with {"status": false, "error": …}: there are
// no prices yet, and the caller keeps its last good table.
var ErrNotReady = errors.New("restlink has no prices yet: the account is in setup")

// Table is a workspace's price table, as GET /user/pricing answered it:
// the rates of its entries, indexed by dialcode. A nil Table knows no
// rates. A Table is not changed once parsed, and may be read by many
// goroutines.
type Table struct {
	// Skipped is how many entries of the answer were left out: those
	// whose dialcode is not digits, whose rate is not an exact amount of
	// 0 or more, or whose dates are not in restlink's format.
	Skipped int

	byDialcode map[string][]rate
	longest    int // the length of the longest dialcode
	entries    int
}

// rate is the rate of one entry and when it is current.
type rate struct {
	amount money.Amount
	// from and until are Unix seconds (UTC): the rate is current while
	// from ≤ now < until. A date the entry does not give bounds nothing.
	from, until int64
}

// entry is an entry of the pricing answer, with the fields the table
// reads. The others (mcc, mnc, mccmnc, country, network, prev_rate,
// change_type) are not needed to price a recipient.
type entry struct {
	Dialcode json.RawMessage `json:"dialcode"`
	Rate     json.RawMessage `json:"rate"`
	Start    *string         `json:"rate_start_date"`
	End      *string         `json:"rate_end_date"`
}

// ParseTable reads the body of a GET /user/pricing answer. An empty list
// is ErrDegraded, and the setup answer ({"status": false, …}) is
// ErrNotReady. An answer whose every entry is skipped is an error too, so
// that a table in a format this package does not read never replaces a
// good one.
func ParseTable(body []byte) (*Table, error) {
	switch firstByte(body) {
	case '[':
	case '{':
		return nil, objectAnswer(body)
	default:
		return nil, errors.New("reading the price table: the answer is not a JSON array")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("reading the price table: %w", err)
	}
	if len(raw) == 0 {
		return nil, ErrDegraded
	}
	t := &Table{byDialcode: make(map[string][]rate, len(raw))}
	for _, e := range raw {
		t.add(e)
	}
	if t.entries == 0 {
		return nil, fmt.Errorf("reading the price table: none of its %d entries has a dialcode of digits, an exact rate and dates in restlink's format", len(raw))
	}
	return t, nil
}

// objectAnswer returns the error of a pricing answer that is a JSON
// object: ErrNotReady if it is the setup answer.
func objectAnswer(body []byte) error {
	var a struct {
		Status *bool  `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("reading the price table: %w", err)
	}
	if a.Status == nil || *a.Status {
		return errors.New("reading the price table: the answer is an object, not the list of prices")
	}
	return fmt.Errorf("%w (restlink says %q)", ErrNotReady, shorten(a.Error))
}

// add adds an entry of the answer to the table, or counts it as skipped.
func (t *Table) add(raw json.RawMessage) {
	dialcode, r, ok := readEntry(raw)
	if !ok {
		t.Skipped++
		return
	}
	t.byDialcode[dialcode] = append(t.byDialcode[dialcode], r)
	t.longest = max(t.longest, len(dialcode))
	t.entries++
}

// readEntry reads an entry of the answer: its dialcode and its rate, and
// whether both could be read.
func readEntry(raw json.RawMessage) (string, rate, bool) {
	var e entry
	if json.Unmarshal(raw, &e) != nil {
		return "", rate{}, false
	}
	dialcode, ok := readDialcode(e.Dialcode)
	if !ok {
		return "", rate{}, false
	}
	r, ok := readRate(e)
	return dialcode, r, ok
}

// readDialcode reads an entry's dialcode, a string or a number of ASCII
// digits, and reports whether it is one.
func readDialcode(raw json.RawMessage) (string, bool) {
	s, ok := scalarText(raw)
	if !ok || s == "" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return s, true
}

// readRate reads an entry's rate, a JSON number or a string holding one,
// exactly, and when it is current.
func readRate(e entry) (rate, bool) {
	text, ok := scalarText(e.Rate)
	if !ok {
		return rate{}, false
	}
	amount, err := money.Parse(text)
	if err != nil || amount < 0 {
		return rate{}, false
	}
	from, okFrom := readDate(e.Start, math.MinInt64)
	until, okUntil := readDate(e.End, math.MaxInt64)
	return rate{amount: amount, from: from, until: until}, okFrom && okUntil
}

// readDate reads a date of an entry as Unix seconds, open if the entry
// has none (absent or null), and reports whether it could.
func readDate(text *string, open int64) (int64, bool) {
	if text == nil {
		return open, true
	}
	at, err := parseTime(*text)
	return at.Unix(), err == nil
}

// Len returns the number of entries the table holds, the skipped ones
// left out.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return t.entries
}

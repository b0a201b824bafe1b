package ledger

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/jsontext"
)

// The encoders of the three lines append exactly what encoding/json makes
// of reserveLine, settleLine and adjustLine (FuzzEncodeLines holds them
// to it), without its reflection: a send writes two lines, and
// json.Marshal took about 5 µs of each.

// lineCap is the capacity a line's buffer starts with: a reservation or a
// settlement of one recipient fits in it.
const lineCap = 384

// appendReserveLine appends r's line, newline included.
func appendReserveLine(b []byte, r *Reservation) ([]byte, error) {
	b = append(b, `{"type":"reserve","id":`...)
	b = jsontext.AppendString(b, r.ID)
	b, err := appendTime(append(b, `,"time":`...), r.Time)
	if err != nil {
		return nil, err
	}
	b = jsontext.AppendString(append(b, `,"tenant":`...), r.Tenant)
	b = jsontext.AppendString(append(b, `,"workspace":`...), r.Workspace)
	b = jsontext.AppendString(append(b, `,"day":`...), r.Day)
	b = jsontext.AppendString(append(b, `,"month":`...), r.Month)
	b = jsontext.AppendString(append(b, `,"currency":`...), r.Currency)
	b = strconv.AppendInt(append(b, `,"estimate_micros":`...), r.EstimateMicros, 10)
	b = append(b, `,"recipients":`...)
	if r.Recipients == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, rc := range r.Recipients {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(append(b, `{"country":`...), rc.Country)
			b = strconv.AppendInt(append(b, `,"segments":`...), int64(rc.Segments), 10)
			b = strconv.AppendInt(append(b, `,"estimate_micros":`...), rc.EstimateMicros, 10)
			if rc.NumberHash != "" {
				b = jsontext.AppendString(append(b, `,"number_hash":`...), rc.NumberHash)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return endLine(b)
}

// appendSettleLine appends s's line, newline included.
func appendSettleLine(b []byte, s *Settlement) ([]byte, error) {
	b = append(b, `{"type":"settle","id":`...)
	b = jsontext.AppendString(b, s.ID)
	b, err := appendTime(append(b, `,"time":`...), s.Time)
	if err != nil {
		return nil, err
	}
	b = jsontext.AppendString(append(b, `,"outcome":`...), string(s.Outcome))
	b = strconv.AppendInt(append(b, `,"charged_micros":`...), s.ChargedMicros, 10)
	if len(s.Messages) > 0 {
		b = append(b, `,"messages":[`...)
		for i, m := range s.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(append(b, `{"message_id":`...), m.ID)
			b = jsontext.AppendString(append(b, `,"country":`...), m.Country)
			b = strconv.AppendInt(append(b, `,"segments":`...), int64(m.Segments), 10)
			b = strconv.AppendInt(append(b, `,"share_micros":`...), m.ShareMicros, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return endLine(b)
}

// appendAdjustLine appends a's line, newline included.
func appendAdjustLine(b []byte, a *Adjustment) ([]byte, error) {
	b = append(b, `{"type":"adjust","message_id":`...)
	b = jsontext.AppendString(b, a.MessageID)
	b, err := appendTime(append(b, `,"time":`...), a.Time)
	if err != nil {
		return nil, err
	}
	b = jsontext.AppendString(append(b, `,"status":`...), a.Status)
	b = strconv.AppendInt(append(b, `,"cost_micros":`...), a.CostMicros, 10)
	b = strconv.AppendInt(append(b, `,"delta_micros":`...), a.DeltaMicros, 10)
	b = jsontext.AppendString(append(b, `,"tenant":`...), a.Tenant)
	b = jsontext.AppendString(append(b, `,"workspace":`...), a.Workspace)
	b = jsontext.AppendString(append(b, `,"country":`...), a.Country)
	b = jsontext.AppendString(append(b, `,"day":`...), a.Day)
	b = jsontext.AppendString(append(b, `,"currency":`...), a.Currency)
	return endLine(b)
}

// endLine closes a line's object and ends the line, which must fit in
// maxLine.
func endLine(b []byte) ([]byte, error) {
	b = append(b, '}', '\n')
	if len(b) > maxLine {
		return nil, fmt.Errorf("record of %d bytes is longer than a line may be (%d)", len(b)-1, maxLine)
	}
	return b, nil
}

// appendTime appends t as encoding/json does: RFC 3339 with nanoseconds,
// quoted; a year outside 0 to 9999 is an error, as it is there.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, errors.New("json: time outside the years 0 to 9999")
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

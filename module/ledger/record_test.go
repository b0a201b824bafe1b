package ledger

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var recordTime = time.Date(2026, 12, 5, 10, 0, 0, 123456789, time.UTC)

// goodRecords are one valid record of each type, with their lines.
var goodRecords = []struct {
	name string
	line any // what encodeLine takes
	want any // what parseLine gives
	text string
}{
	{
		name: "reserve",
		line: reserveLine{typeReserve, Reservation{
			ID: "s1", Time: recordTime, Tenant: "acme", Workspace: "main", Day: "2026-12-05", Month: "2026-12",
			Currency: "EUR", EstimateMicros: 85_000,
			Recipients: []Recipient{
				{Country: "GB", Segments: 2, EstimateMicros: 80_000, NumberHash: strings.Repeat("ab", 16)},
				{Country: "ZZ", Segments: 1, EstimateMicros: 5_000},
			},
		}},
		text: `{"type":"reserve","id":"s1","time":"2026-12-05T10:00:00.123456789Z","tenant":"acme","workspace":"main","day":"2026-12-05","month":"2026-12","currency":"EUR","estimate_micros":85000,"recipients":[{"country":"GB","segments":2,"estimate_micros":80000,"number_hash":"abababababababababababababababab"},{"country":"ZZ","segments":1,"estimate_micros":5000}]}`,
	},
	{
		name: "settle charged",
		line: settleLine{typeSettle, Settlement{
			ID: "s1", Time: recordTime, Outcome: Charged, ChargedMicros: 17_000,
			Messages: []Message{
				{ID: "api_42_1_a", Country: "GB", Segments: 2, ShareMicros: 11_334},
				{ID: "api_42_1_b", Country: "ZZ", Segments: 1, ShareMicros: 5_666},
			},
		}},
		text: `{"type":"settle","id":"s1","time":"2026-12-05T10:00:00.123456789Z","outcome":"charged","charged_micros":17000,"messages":[{"message_id":"api_42_1_a","country":"GB","segments":2,"share_micros":11334},{"message_id":"api_42_1_b","country":"ZZ","segments":1,"share_micros":5666}]}`,
	},
	{
		name: "settle unknown",
		line: settleLine{typeSettle, Settlement{ID: "s2", Time: recordTime, Outcome: Unknown}},
		text: `{"type":"settle","id":"s2","time":"2026-12-05T10:00:00.123456789Z","outcome":"unknown","charged_micros":0}`,
	},
	{
		name: "adjust",
		line: adjustLine{typeAdjust, Adjustment{
			MessageID: "api_42_1_a", Time: recordTime, Status: "UNDELIV", CostMicros: 0, DeltaMicros: -11_334,
			Tenant: "acme", Workspace: "main", Country: "GB", Day: "2026-12-05", Currency: "EUR",
		}},
		text: `{"type":"adjust","message_id":"api_42_1_a","time":"2026-12-05T10:00:00.123456789Z","status":"UNDELIV","cost_micros":0,"delta_micros":-11334,"tenant":"acme","workspace":"main","country":"GB","day":"2026-12-05","currency":"EUR"}`,
	},
}

// recordIn returns the record a line holds, as parseLine returns it.
func recordIn(line any) any {
	switch l := line.(type) {
	case reserveLine:
		return &l.Reservation
	case settleLine:
		return &l.Settlement
	case adjustLine:
		return &l.Adjustment
	}
	return nil
}

func TestRecordLines(t *testing.T) {
	for _, tc := range goodRecords {
		t.Run(tc.name, func(t *testing.T) {
			line, err := encodeLine(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(line); got != tc.text+"\n" {
				t.Fatalf("line:\n got %s\nwant %s", got, tc.text)
			}
			rec, err := parseLine(line[:len(line)-1])
			if err != nil {
				t.Fatalf("parseLine: %v", err)
			}
			want := recordIn(tc.line)
			if !reflect.DeepEqual(rec, want) {
				t.Fatalf("parsed %+v, want %+v", rec, want)
			}
		})
	}
}

// TestParseLineAcceptsOtherSpellings: a line written by hand or another
// tool (fields in another order, a time with an offset, unknown fields)
// parses as the same record.
func TestParseLineAcceptsOtherSpellings(t *testing.T) {
	line := `{"cost_micros":0,"delta_micros":-11334,"extra":[1,2],"tenant":"acme","workspace":"main","country":"GB","day":"2026-12-05","currency":"EUR","type":"adjust","message_id":"api_42_1_a","time":"2026-12-05T11:00:00.123456789+01:00","status":"UNDELIV"}`
	rec, err := parseLine([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := recordIn(goodRecords[3].line)
	if !reflect.DeepEqual(rec, want) {
		t.Fatalf("parsed %+v, want %+v", rec, want)
	}
}

func TestParseLineRefuses(t *testing.T) {
	reserve := goodRecords[0].text
	settle := goodRecords[1].text
	adjust := goodRecords[3].text
	tests := []struct {
		name, line, want string
	}{
		{"not JSON", `{"type":"reserve",`, "unexpected end of JSON input"},
		{"no type", `{"id":"s1"}`, "record has no type"},
		{"unknown type", `{"type":"refund","id":"s1"}`, `unknown record type "refund"`},
		{"two types", strings.Replace(reserve, `"id":"s1"`, `"id":"s1","type":"settle"`, 1), `two types, "reserve" and "settle"`},
		{"float amount", strings.Replace(reserve, `"estimate_micros":85000`, `"estimate_micros":85000.5`, 1), "cannot unmarshal number 85000.5"},
		{"estimate not the sum", strings.Replace(reserve, `"estimate_micros":85000`, `"estimate_micros":85001`, 1), "not the sum of the recipients' estimates, 85000"},
		{"no recipients", strings.Replace(reserve, reserve[strings.Index(reserve, `"recipients"`):], `"recipients":[]}`, 1), "1 to 1000 recipients, not 0"},
		{"phone number as hash", strings.Replace(reserve, strings.Repeat("ab", 16), "447700900123", 1), "never the number"},
		{"plus sign in hash", strings.Replace(reserve, strings.Repeat("ab", 16), "+"+strings.Repeat("1", 31), 1), "never the number"},
		{"country", strings.Replace(reserve, `"country":"GB"`, `"country":"gb"`, 1), `country "gb" is not two upper-case letters`},
		{"no segments", strings.Replace(reserve, `"segments":2`, `"segments":0`, 1), "segments 0 is out of range (1 to 255)"},
		{"day", strings.Replace(reserve, `"day":"2026-12-05"`, `"day":"2026-12-32"`, 1), `day "2026-12-32" is not a day`},
		{"month", strings.Replace(reserve, `"month":"2026-12"`, `"month":"2026-11"`, 1), `month "2026-11" is not the month of day "2026-12-05"`},
		{"tenant", strings.Replace(reserve, `"tenant":"acme"`, `"tenant":"a/b"`, 1), "tenant \"a/b\" may contain only"},
		{"currency", strings.Replace(reserve, `"currency":"EUR"`, `"currency":"€"`, 1), "currency"},
		{"no time", strings.Replace(reserve, `"time":"2026-12-05T10:00:00.123456789Z",`, "", 1), "time is missing"},
		{"time before 1970", strings.Replace(goodRecords[2].text, `2026-12-05T10:00:00.123456789Z`, `0000-01-01T00:00:00+14:00`, 1), "time -0001-12-31T10:00:00Z is not between 1970 and 9999"},
		{"time not RFC 3339", strings.Replace(reserve, `2026-12-05T10:00:00.123456789Z`, `5 Dec 2026`, 1), "cannot parse"},
		{"id with a space", strings.Replace(reserve, `"id":"s1"`, `"id":"s 1"`, 1), "printable ASCII without spaces"},
		{"huge estimate", strings.Replace(reserve, `"estimate_micros":80000`, `"estimate_micros":1000000000001`, 1), "out of range"},
		{"shares not the charge", strings.Replace(settle, `"charged_micros":17000`, `"charged_micros":17001`, 1), "not the sum of the messages' shares, 17000"},
		{"message twice", strings.Replace(settle, "api_42_1_b", "api_42_1_a", 1), `message_id "api_42_1_a" appears twice`},
		{"charge without messages", strings.Replace(settle, settle[strings.Index(settle, `,"messages"`):], "}", 1), "none are given"},
		{"released with a charge", strings.Replace(goodRecords[2].text, `"outcome":"unknown","charged_micros":0`, `"outcome":"released","charged_micros":5`, 1), "a send released has no charge"},
		{"outcome", strings.Replace(settle, `"outcome":"charged"`, `"outcome":"refunded"`, 1), `outcome "refunded"`},
		{"status", strings.Replace(adjust, `"status":"UNDELIV"`, `"status":"delivered"`, 1), `status "delivered"`},
		{"negative cost", strings.Replace(adjust, `"cost_micros":0`, `"cost_micros":-1`, 1), "cost_micros -1 is out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseLine([]byte(tc.line))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseLine(%s) = %v, want an error containing %q", tc.line, err, tc.want)
			}
		})
	}
}

// TestEncodeLineBounds: the largest reservation fits in a line, and a
// record too long for one (ids that JSON escapes) is refused when
// written, so that every line written can be read back.
func TestEncodeLineBounds(t *testing.T) {
	r := Reservation{ID: strings.Repeat("s", maxIDLength), Time: recordTime, Tenant: strings.Repeat("t", 128), Workspace: strings.Repeat("w", 128), Day: "2026-12-05", Month: "2026-12", Currency: "EUR"}
	for range maxParts {
		r.Recipients = append(r.Recipients, Recipient{Country: "GB", Segments: maxSegments, EstimateMicros: maxMicros, NumberHash: strings.Repeat("f", 128)})
	}
	line, err := encodeLine(reserveLine{typeReserve, r})
	if err != nil {
		t.Fatalf("the largest reservation: %v", err)
	}
	if bytes.Count(line, []byte("\n")) != 1 {
		t.Fatal("a line holds a newline of its own")
	}
	s := Settlement{ID: "s1", Time: recordTime, Outcome: Charged}
	for i := range maxParts {
		id := fmt.Sprintf("%d%s", i, strings.Repeat("<", maxIDLength-4))
		s.Messages = append(s.Messages, Message{ID: id, Country: "GB", Segments: 1})
	}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	if _, err := encodeLine(settleLine{typeSettle, s}); err == nil || !strings.Contains(err.Error(), "longer than a line may be") {
		t.Fatalf("a settlement of %d escaped ids: %v", maxParts, err)
	}
}

// TestLinesAreWhatJSONWrites: the line encoders write what encoding/json
// writes, escapes included (encodeLine compares them), for strings that
// need escaping, times with and without fractions, nil and empty lists.
func TestLinesAreWhatJSONWrites(t *testing.T) {
	odd := "m<1>&\"\\\u2028\x00é\xff"
	at := time.Date(2026, 12, 5, 21, 0, 0, 123456789, time.UTC)
	for _, v := range []any{
		reserveLine{typeReserve, Reservation{ID: odd, Time: at, Tenant: "a&b", Recipients: []Recipient{{Country: "GB", Segments: 2, EstimateMicros: -1, NumberHash: "ab"}, {Country: "ZZ"}}}},
		reserveLine{typeReserve, Reservation{ID: "s", Time: at.Truncate(time.Second), Tenant: "a<b", Workspace: "w>", Currency: "&"}},
		reserveLine{typeReserve, Reservation{ID: "s", Recipients: []Recipient{}}},
		settleLine{typeSettle, Settlement{ID: "s", Time: at, Outcome: Charged, ChargedMicros: 9, Messages: []Message{{ID: odd, Country: "GB", Segments: 1, ShareMicros: 9}}}},
		settleLine{typeSettle, Settlement{ID: "s", Outcome: Unknown, Messages: []Message{}}},
		adjustLine{typeAdjust, Adjustment{MessageID: odd, Time: at.In(time.FixedZone("x", 3600)), Status: "DELIVRD", DeltaMicros: -5, Currency: "EUR"}},
	} {
		if _, err := encodeLine(v); err != nil {
			t.Error(err)
		}
	}
	if _, err := appendSettleLine(nil, &Settlement{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("a time past the year 9999 is written; encoding/json refuses it")
	}
}

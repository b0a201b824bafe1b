package ledger

import (
	"bytes"
	"testing"
)

// FuzzParseLine: any line (a segment may hold anything after a crash or
// a hand edit) never panics the parser, and a line it accepts holds a
// record that writes back as a line the parser reads as the same record:
// what replay and Usage read is what Reserve, Settle and Adjust would
// have written.
func FuzzParseLine(f *testing.F) {
	for _, tc := range goodRecords {
		f.Add([]byte(tc.text))
	}
	f.Add([]byte(`{"type":"reserve","id":"s1","type":"settle"}`))
	f.Add([]byte(`{"TYPE":"adjust","message_id":"m","time":"2026-12-05T10:00:00+14:00","status":"DELIVRD","cost_micros":1,"delta_micros":-1,"tenant":"a","workspace":"b","country":"ZZ","day":"2026-02-28","currency":"EUR"}`))
	f.Add([]byte(`{"type":"settle","id":"s1","time":"2026-12-05T10:00:00Z","outcome":"charged","charged_micros":0,"messages":null}`))
	f.Add([]byte(`{"type":"settle","id":"s2","time":"0000-01-01T00:00:00+14:00","outcome":"unknown","charged_micros":0}`))
	f.Add([]byte("\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := parseLine(line)
		if err != nil {
			return
		}
		v := recordLine(rec)
		if v == nil {
			t.Fatalf("parseLine returned a %T", rec)
		}
		out, err := encodeLine(v)
		if err != nil {
			t.Fatalf("accepted %q, but cannot write it back: %v", line, err)
		}
		if bytes.IndexByte(out, '\n') != len(out)-1 {
			t.Fatalf("written back as %q: not one line", out)
		}
		again, err := parseLine(out[:len(out)-1])
		if err != nil {
			t.Fatalf("accepted %q, written back as %q, which is refused: %v", line, out, err)
		}
		if out2, _ := encodeLine(recordLine(again)); !bytes.Equal(out, out2) {
			t.Fatalf("accepted %q as\n%s\nthen read that as\n%s", line, out, out2)
		}
	})
}

// recordLine wraps a parsed record in its line's type.
func recordLine(rec any) any {
	switch rec := rec.(type) {
	case *Reservation:
		return reserveLine{typeReserve, *rec}
	case *Settlement:
		return settleLine{typeSettle, *rec}
	case *Adjustment:
		return adjustLine{typeAdjust, *rec}
	}
	return nil
}

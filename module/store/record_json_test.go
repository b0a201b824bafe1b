package store

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// storedBefore is the Record type as it was, with a header map: what
// encoding/json writes for it is the form records have in Redis.
type storedBefore struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`
}

// checkStoredForm checks that rec is stored byte for byte as the old type
// was, and read back from that form as the old type reads it (itself,
// but for invalid UTF-8 in its Content-Type, which JSON cannot carry).
func checkStoredForm(t *testing.T, rec Record) {
	t.Helper()
	before := storedBefore{Status: rec.Status, Body: rec.Body}
	if rec.ContentType != "" {
		before.Header = map[string]string{"Content-Type": rec.ContentType}
	}
	want, err := json.Marshal(before)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.appendJSON(nil); string(got) != string(want) {
		t.Fatalf("stored as %s, want %s", got, want)
	}
	if got, err := json.Marshal(&rec); err != nil || string(got) != string(want) {
		t.Fatalf("json.Marshal: %s, %v; want %s", got, err, want)
	}
	var read Record
	if err := json.Unmarshal(want, &read); err != nil {
		t.Fatal(err)
	}
	var readBefore storedBefore
	if err := json.Unmarshal(want, &readBefore); err != nil {
		t.Fatal(err)
	}
	if read.Status != readBefore.Status || read.ContentType != readBefore.Header["Content-Type"] || !bytes.Equal(read.Body, readBefore.Body) {
		t.Fatalf("%s read as %+v, the old type as %+v", want, read, readBefore)
	}
	if utf8.ValidString(rec.ContentType) && (read.ContentType != rec.ContentType || !bytes.Equal(read.Body, rec.Body)) {
		t.Fatalf("%s read as %+v, want %+v", want, read, rec)
	}
}

// TestRecordJSONIsUnchanged checks that a Record is stored in Redis in the
// form it had when it held a header map, and read back from it: sidecars
// of both versions share a fleet's records during a rolling upgrade.
func TestRecordJSONIsUnchanged(t *testing.T) {
	for _, rec := range []Record{
		{Status: 202, ContentType: "application/json", Body: []byte(`{"message_id":"api_1"}`)},
		{Status: 502, Body: []byte("bad gateway")},
		{Status: 202, Body: []byte{}},
		{Status: 202},
		{Status: -1, ContentType: "text/html; charset=\"utf-8\" <&>\u2028\x00\xff", Body: []byte{0, 0xff, '"'}},
	} {
		checkStoredForm(t, rec)
	}

	// What the old type could read, the new one reads alike.
	for stored, want := range map[string]Record{
		`{"status":202,"header":null,"body":null}`:                                  {Status: 202},
		`{"status":202,"header":{"X-Other":"x","Content-Type":"text/plain"}}`:       {Status: 202, ContentType: "text/plain"},
		`{"header":{"Content-Type":"application/json"},"body":"e30=","extra":true}`: {ContentType: "application/json", Body: []byte("{}")},
	} {
		var read Record
		if err := json.Unmarshal([]byte(stored), &read); err != nil {
			t.Fatalf("%s: %v", stored, err)
		}
		if read.Status != want.Status || read.ContentType != want.ContentType || !bytes.Equal(read.Body, want.Body) {
			t.Errorf("%s read as %+v, want %+v", stored, read, want)
		}
	}
}

// FuzzRecordJSON checks the stored form against the old type's for any
// record.
func FuzzRecordJSON(f *testing.F) {
	f.Add(202, "application/json", []byte(`{"message_id":"api_1"}`))
	f.Add(0, "", []byte{})
	f.Add(-500, "<&>\u2028\x7f\xff", []byte{0, 0xff})
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		checkStoredForm(t, Record{Status: status, ContentType: contentType, Body: body})
	})
}

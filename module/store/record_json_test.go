package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestRecordJSONIsUnchanged checks that a Record is stored in Redis in the
// form it had when it held a header map, and read back from it: sidecars
// of both versions share a fleet's records during a rolling upgrade.
func TestRecordJSONIsUnchanged(t *testing.T) {
	// storedBefore is the Record type as it was: encoding/json's plain
	// encoding of it is the stored form.
	type storedBefore struct {
		Status int               `json:"status"`
		Header map[string]string `json:"header,omitempty"`
		Body   []byte            `json:"body,omitempty"`
	}
	for _, c := range []struct {
		now    Record
		before storedBefore
	}{
		{Record{Status: 202, ContentType: "application/json", Body: []byte(`{"message_id":"api_1"}`)},
			storedBefore{Status: 202, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"message_id":"api_1"}`)}},
		{Record{Status: 502, Body: []byte("bad gateway")}, storedBefore{Status: 502, Body: []byte("bad gateway")}},
		{Record{Status: 202}, storedBefore{Status: 202}},
	} {
		want, err := json.Marshal(c.before)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(&c.now)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("stored as %s, want %s", got, want)
		}
		var read Record
		if err := json.Unmarshal(want, &read); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(read, c.now) {
			t.Errorf("%s read as %+v, want %+v", want, read, c.now)
		}
	}
	var read Record
	if err := json.Unmarshal([]byte(`{"status":`), &read); err == nil {
		t.Error("a truncated record was read without an error")
	}
}

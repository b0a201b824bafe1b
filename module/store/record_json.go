package store

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/23telecom/restlink-sidecar/internal/jsontext"
)

// recordJSON is a Record as the Redis store keeps it:
// {"status":202,"header":{"Content-Type":"application/json"},"body":"…"}
// (the body base64), the form it has had since records were first kept
// there, so that sidecars of either version replay each other's records.
type recordJSON struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`
}

// appendJSON appends r in its stored form, byte for byte what
// encoding/json writes for its recordJSON.
func (r *Record) appendJSON(b []byte) []byte {
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	if r.ContentType != "" {
		b = append(b, `,"header":{"Content-Type":`...)
		b = jsontext.AppendString(b, r.ContentType)
		b = append(b, '}')
	}
	if len(r.Body) > 0 {
		b = append(b, `,"body":"`...)
		b = base64.StdEncoding.AppendEncode(b, r.Body)
		b = append(b, '"')
	}
	return append(b, '}')
}

// MarshalJSON encodes r in its stored form.
func (r Record) MarshalJSON() ([]byte, error) {
	return r.appendJSON(nil), nil
}

// UnmarshalJSON decodes a Record's stored form.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Record{Status: j.Status, ContentType: j.Header["Content-Type"], Body: j.Body}
	return nil
}

package store

import "encoding/json"

// recordJSON is a Record as the Redis store keeps it:
// {"status":202,"header":{"Content-Type":"application/json"},"body":"…"}
// (the body base64), the form it has had since records were first kept
// there, so that sidecars of either version replay each other's records.
type recordJSON struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`
}

// MarshalJSON encodes r in its stored form.
func (r Record) MarshalJSON() ([]byte, error) {
	j := recordJSON{Status: r.Status, Body: r.Body}
	if r.ContentType != "" {
		j.Header = map[string]string{"Content-Type": r.ContentType}
	}
	return json.Marshal(j)
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

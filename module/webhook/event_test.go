package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestDedupKey(t *testing.T) {
	hashOf := func(body string) string {
		sum := sha256.Sum256([]byte(body))
		return hex.EncodeToString(sum[:])
	}
	tests := []struct {
		name string
		typ  string
		body string
		want string
	}{
		{
			name: "delivery report",
			typ:  "delivery",
			body: `{"message_id":"api_42_7","recipient":"+447700900123","status":"DELIVRD"}`,
			want: "main|delivery|api_42_7|DELIVRD",
		},
		{
			name: "same report formatted differently",
			typ:  "delivery",
			body: "{ \"status\": \"DELIVRD\",\n  \"recipient\": \"+447700900123\", \"message_id\": \"api_42_7\" }",
			want: "main|delivery|api_42_7|DELIVRD",
		},
		{
			name: "no message_id",
			typ:  "conversion",
			body: `{"recipient":"+447700900123","value":3}`,
			want: "main|conversion|" + hashOf(`{"recipient":"+447700900123","value":3}`),
		},
		{
			name: "message_id without status",
			typ:  "click",
			body: `{"message_id":"api_42_7","url":"https://x.test/a"}`,
			want: "main|click|" + hashOf(`{"message_id":"api_42_7","url":"https://x.test/a"}`),
		},
		{
			name: "message_id not a string",
			typ:  "delivery",
			body: `{"message_id":7,"status":"DELIVRD"}`,
			want: "main|delivery|" + hashOf(`{"message_id":7,"status":"DELIVRD"}`),
		},
		{
			name: "message_id with the separator",
			typ:  "delivery",
			body: `{"message_id":"a|b","status":"DELIVRD"}`,
			want: "main|delivery|" + hashOf(`{"message_id":"a|b","status":"DELIVRD"}`),
		},
		{
			name: "message_id with spaces",
			typ:  "delivery",
			body: `{"message_id":"call +44 7700 900123","status":"DELIVRD"}`,
			want: "main|delivery|" + hashOf(`{"message_id":"call +44 7700 900123","status":"DELIVRD"}`),
		},
		{
			name: "status too long",
			typ:  "delivery",
			body: `{"message_id":"api_1","status":"` + strings.Repeat("X", 129) + `"}`,
			want: "main|delivery|" + hashOf(`{"message_id":"api_1","status":"`+strings.Repeat("X", 129)+`"}`),
		},
		{
			name: "not JSON",
			typ:  "delivery",
			body: `message_id=api_1&status=DELIVRD`,
			want: "main|delivery|" + hashOf(`message_id=api_1&status=DELIVRD`),
		},
		{
			name: "JSON array",
			typ:  "delivery",
			body: `[{"message_id":"api_1","status":"DELIVRD"}]`,
			want: "main|delivery|" + hashOf(`[{"message_id":"api_1","status":"DELIVRD"}]`),
		},
		{
			name: "empty body",
			typ:  "delivery",
			body: ``,
			want: "main|delivery|" + hashOf(``),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DedupKey("main", tc.typ, []byte(tc.body))
			if got != tc.want {
				t.Fatalf("DedupKey() = %q, want %q", got, tc.want)
			}
			if strings.Contains(got, "447700900123") {
				t.Fatalf("DedupKey() = %q holds the phone number", got)
			}
		})
	}
}

func TestEventID(t *testing.T) {
	a := EventID("main|delivery|api_42_7|DELIVRD")
	tests := []struct {
		name string
		key  string
		same bool
	}{
		{"same key, same id (replicas agree)", "main|delivery|api_42_7|DELIVRD", true},
		{"other status", "main|delivery|api_42_7|UNDELIV", false},
		{"other workspace", "other|delivery|api_42_7|DELIVRD", false},
	}
	if len(a) != 32 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("EventID() = %q, want 32 lowercase hex characters", a)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EventID(tc.key); (got == a) != tc.same {
				t.Fatalf("EventID(%q) = %q, EventID of the first key = %q; want same=%v", tc.key, got, a, tc.same)
			}
		})
	}
}

func TestEventValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Event)
		wantErr bool
	}{
		{"valid", func(*Event) {}, false},
		{"empty workspace", func(e *Event) { e.Workspace = "" }, true},
		{"workspace with a slash", func(e *Event) { e.Workspace = "a/b" }, true},
		{"workspace climbing up", func(e *Event) { e.Workspace = ".." }, true},
		{"workspace too long", func(e *Event) { e.Workspace = strings.Repeat("a", 129) }, true},
		{"empty type", func(e *Event) { e.Type = "" }, true},
		{"type with a separator", func(e *Event) { e.Type = "a|b" }, true},
		{"content type with a newline", func(e *Event) { e.ContentType = "application/json\r\nX-Evil: 1" }, true},
		{"content type with parameters", func(e *Event) { e.ContentType = "application/json; charset=utf-8" }, false},
		{"no content type", func(e *Event) { e.ContentType = "" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := newEvent("main", 1)
			tc.mutate(ev)
			if err := ev.validate(); (err != nil) != tc.wantErr {
				t.Fatalf("validate() = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

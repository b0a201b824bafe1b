package restlink

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestUpstreamHeader(t *testing.T) {
	snap := testSnapshot(t, routingYAML)
	in := http.Header{
		"Content-Type":           {"application/json"},
		"X-Api-Key":              {"app-key"},
		"Authorization":          {"Bearer app-jwt"},
		"Proxy-Authorization":    {"Basic x"},
		"Cookie":                 {"session=1"},
		"X-Tenant":               {"acme"},
		"X-Workspace-Id":         {"18"},
		"X-Forwarded-Host":       {"evil.example"},
		"X-Forwarded-For":        {"1.2.3.4"},
		"Forwarded":              {"for=1.2.3.4"},
		"X-Http-Method-Override": {"DELETE"},
		"Connection":             {"keep-alive, X-Secret-Hop"},
		"X-Secret-Hop":           {"1"},
		"Keep-Alive":             {"timeout=5"},
		"Expect":                 {"100-continue"},
		"x-api-key":              {"non-canonical"},
		"X-Request-Id":           {"req-1"},
		"Idempotency-Key":        {"idem-1"},
	}
	out := upstreamHeader(in, snap.strip, http.MethodPost)
	want := http.Header{
		"Content-Type":    {"application/json"},
		"X-Request-Id":    {"req-1"},
		"idempotency-key": {"idem-1"},
		"User-Agent":      {""},
	}
	if len(out) != len(want) {
		t.Errorf("forwarded %v, want %v", out, want)
	}
	for name, v := range want {
		if strings.Join(out[name], ",") != strings.Join(v, ",") {
			t.Errorf("%s = %q, want %q", name, out[name], v)
		}
	}
	// Safe methods keep the canonical idempotency header.
	get := upstreamHeader(http.Header{"Idempotency-Key": {"i"}, "User-Agent": {"app/1"}}, snap.strip, http.MethodGet)
	if get.Get("Idempotency-Key") != "i" || get.Get("User-Agent") != "app/1" {
		t.Errorf("GET header %v", get)
	}
}

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		chunked   bool
		tooLarge  bool
		wantBytes int
	}{
		{"empty", "", false, false, 0},
		{"sized", "hello", false, false, 5},
		{"at limit", strings.Repeat("x", 10), false, false, 10},
		{"chunked", "hello", true, false, 5},
		{"chunked at limit", strings.Repeat("x", 10), true, false, 10},
		{"chunked over limit", strings.Repeat("x", 11), true, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.chunked {
				r.ContentLength = -1
			}
			body, tooLarge, err := readBody(r, 10)
			if err != nil || tooLarge != tc.tooLarge || len(body) != tc.wantBytes {
				t.Errorf("got %d bytes, tooLarge %v, err %v", len(body), tooLarge, err)
			}
		})
	}
}

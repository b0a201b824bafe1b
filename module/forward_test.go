package restlink

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"
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
	policy := &clientPolicy{maxBody: 10, bodyTimeout: time.Second, maxBodyInFlight: 1 << 20}
	for _, tc := range []struct {
		name      string
		body      io.Reader
		length    int64 // announced; -1: chunked
		wantCode  ErrorCode
		wantBytes int
	}{
		{"empty", strings.NewReader(""), 0, "", 0},
		{"sized", strings.NewReader("hello"), 5, "", 5},
		{"at limit", strings.NewReader(strings.Repeat("x", 10)), 10, "", 10},
		{"chunked", strings.NewReader("hello"), -1, "", 5},
		{"chunked at limit", strings.NewReader(strings.Repeat("x", 10)), -1, "", 10},
		{"chunked over limit", strings.NewReader(strings.Repeat("x", 11)), -1, CodeBodyTooLarge, 0},
		{"ends early", io.MultiReader(strings.NewReader("he"), iotest.ErrReader(io.ErrUnexpectedEOF)), 5, CodeRequestBodyIncomplete, 0},
		{"malformed chunks", iotest.ErrReader(errors.New("malformed chunked encoding")), -1, CodeRequestBodyIncomplete, 0},
		{"too slow", iotest.ErrReader(os.ErrDeadlineExceeded), 5, CodeRequestBodyTimeout, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", tc.body)
			r.ContentLength = tc.length
			var budget bodyBudget
			body, rj := readBody(httptest.NewRecorder(), r, policy, &budget)
			switch {
			case tc.wantCode == "" && (rj != nil || len(body.data) != tc.wantBytes):
				t.Errorf("got %d bytes, %v; want %d bytes", len(body.data), rj, tc.wantBytes)
			case tc.wantCode != "" && (rj == nil || rj.code != tc.wantCode):
				t.Errorf("got %v, want %s", rj, tc.wantCode)
			}
			if budget.used.Load() != body.held || body.held < int64(len(body.data)) {
				t.Errorf("budget holds %d, body %d of %d bytes", budget.used.Load(), body.held, len(body.data))
			}
			body.release(&budget)
			if budget.used.Load() != 0 {
				t.Errorf("budget holds %d after release", budget.used.Load())
			}
		})
	}
}

// TestReadBodyBudget: memory is taken as data arrives, not as announced,
// and a body that would take the budget over its limit is refused.
func TestReadBodyBudget(t *testing.T) {
	policy := &clientPolicy{maxBody: 1 << 20, bodyTimeout: time.Second, maxBodyInFlight: 100 << 10}
	var budget bodyBudget
	stalled := httptest.NewRequest(http.MethodPost, "/", iotest.ErrReader(os.ErrDeadlineExceeded))
	stalled.ContentLength = 1 << 20
	held, rj := readBody(httptest.NewRecorder(), stalled, policy, &budget)
	if rj == nil || held.held > bodyChunk {
		t.Errorf("a body announced at 1 MiB that never came held %d bytes (%v)", held.held, rj)
	}
	big := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 200<<10)))
	if _, rj := readBody(httptest.NewRecorder(), big, policy, &budget); rj == nil || rj.code != CodeSidecarOverloaded {
		t.Errorf("a body over the in-flight budget: %v, want SIDECAR_OVERLOADED", rj)
	}
	held.release(&budget)
	small := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 50<<10)))
	if body, rj := readBody(httptest.NewRecorder(), small, policy, &budget); rj != nil || len(body.data) != 50<<10 || body.held > 50<<10+1 {
		t.Errorf("a 50 KiB body: %v, %d bytes held for %d", rj, body.held, len(body.data))
	}
}

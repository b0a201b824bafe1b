package restlink

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/policy"
)

// TestActedUpon: the answers after which restlink certainly did not act
// (charges refunded, the idempotency record released) are 4xx and 500
// DB_ERROR; anything else may have sent.
func TestActedUpon(t *testing.T) {
	answer := func(body string) *sharedAnswer { return &sharedAnswer{body: []byte(body)} }
	for _, tc := range []struct {
		status int
		body   string
		acted  bool
	}{
		{200, `{"status":true}`, true},
		{400, `{"error_code":"INVALID_TO"}`, false},
		{402, `{"error_code":"INSUFFICIENT_BALANCE"}`, false},
		{429, ``, false},
		{500, `{"status":false,"error_code":"DB_ERROR"}`, false},
		{500, `{"status":false,"error_code":"INTERNAL_ERROR"}`, true},
		{500, `<html>`, true},
		{502, ``, true},
		{504, ``, true},
	} {
		if got := actedUpon(tc.status, answer(tc.body)); got != tc.acted {
			t.Errorf("%d %s: acted upon %v, want %v", tc.status, tc.body, got, tc.acted)
		}
	}
}

// TestIdempotencyClaim: a POST with the header is claimed by tenant, key
// and a digest of what it sends; other requests are not; bad keys are
// refused.
func TestIdempotencyClaim(t *testing.T) {
	ip := idempotencyPlan{header: "Idempotency-Key", ttl: time.Hour}
	req := func(method string, keys ...string) *http.Request {
		r := httptest.NewRequest(method, "/api/v1/sms/send", nil)
		for _, k := range keys {
			r.Header.Add("Idempotency-Key", k)
		}
		return r
	}
	a, rj := ip.claim(req("POST", "order-1"), "acme", "/api/v1/sms/send", []byte("{}"), time.Minute)
	b, _ := ip.claim(req("POST", "order-1"), "acme", "/api/v1/sms/send", []byte("{ }"), time.Minute)
	c, _ := ip.claim(req("POST", "order-1"), "globex", "/api/v1/sms/send", []byte("{}"), time.Minute)
	if rj != nil || a == nil || a.Key != "acme:order-1" || a.BodyHash == b.BodyHash || c.Key == a.Key || a.TTL != time.Hour || a.InFlightFor != time.Minute {
		t.Errorf("claims %+v %+v %+v %v", a, b, c, rj)
	}
	if c, rj := ip.claim(req("GET", "order-1"), "acme", "/x", nil, time.Minute); c != nil || rj != nil {
		t.Error("a GET was claimed")
	}
	if c, rj := ip.claim(req("POST"), "acme", "/x", nil, time.Minute); c != nil || rj != nil {
		t.Error("a POST without the header was claimed")
	}
	for _, bad := range [][]string{{"a", "b"}, {strings.Repeat("k", 256)}, {"has space"}, {""}} {
		if _, rj := ip.claim(req("POST", bad...), "acme", "/x", nil, time.Minute); rj == nil || rj.code != CodeInvalidIdempotencyKey {
			t.Errorf("key %q: %v", bad, rj)
		}
	}
}

// TestCountSentIsExact: a send's summary.total_cost is counted in
// micro-units read from its JSON text, never through a float: a cost past
// a float64's 53 bits of precision is counted to the micro-unit, and one
// finer than a micro-unit is not counted at all.
func TestCountSentIsExact(t *testing.T) {
	g := &gate{send: &policy.Send{}}
	st := new(tenantStats)
	g.countSent(st, parseAnswer([]byte(`{"status":true,"summary":{"total_cost":9007199254.740993}}`)))
	g.countSent(st, parseAnswer([]byte(`{"status":true,"summary":{"total_cost":0.0085}}`)))
	g.countSent(st, parseAnswer([]byte(`{"status":true,"summary":{"total_cost":0.00000001}}`)))
	if got, want := st.costMicros.Load(), uint64(9007199254740993+8500); got != want {
		t.Errorf("counted %d micro-units, want %d", got, want)
	}
}

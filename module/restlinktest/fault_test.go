package restlinktest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestFaults: each action, its scope and its count.
func TestFaults(t *testing.T) {
	s := start(t, Options{})

	t.Run("status for one workspace, twice", func(t *testing.T) {
		s.Inject(Fault{WorkspaceID: 18, Status: 503, ErrorCode: "DOWN", Times: 2})
		for i, want := range []int{503, 503, 200} {
			if a := send(t, s, keyTest, smsBody); a.status != want || (want == 503 && a.code() != "DOWN") {
				t.Errorf("request %d for the faulty workspace: %d %s, want %d", i, a.status, a.body, want)
			}
		}
		wantAnswer(t, send(t, s, keyMain, smsBody), 200, "")
	})
	t.Run("status without a code", func(t *testing.T) {
		s.Inject(Fault{Status: 502, Times: 1})
		wantAnswer(t, send(t, s, keyMain, smsBody), 502, "FAULT_INJECTED")
	})
	t.Run("path", func(t *testing.T) {
		remove := s.Inject(Fault{Path: "/api/v1/user/balance", Status: 500, ErrorCode: "INTERNAL_ERROR"})
		wantAnswer(t, send(t, s, keyMain, smsBody), 200, "")
		wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+keyMain), 500, "INTERNAL_ERROR")
		remove()
		wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+keyMain), 200, "")
	})
	t.Run("before authentication", func(t *testing.T) {
		s.Inject(Fault{Status: 503, Times: 1})
		wantAnswer(t, send(t, s, "sk_prod_nobody", smsBody), 503, "FAULT_INJECTED")
	})
	t.Run("redirect", func(t *testing.T) {
		s.Inject(Fault{RedirectTo: "http://127.0.0.1:1/x", Times: 1})
		if a := send(t, s, keyMain, smsBody); a.status != http.StatusFound || a.header.Get("Location") != "http://127.0.0.1:1/x" {
			t.Errorf("redirect: %d %v", a.status, a.header)
		}
	})
	t.Run("bare 429", func(t *testing.T) {
		s.Inject(Fault{Bare429: true, Times: 1})
		a := send(t, s, keyMain, smsBody)
		if a.status != 429 || len(a.body) != 0 || a.header.Get("Retry-After") != "" || a.header.Get("Content-Type") != "" {
			t.Errorf("got %d %v %q, want a 429 without body or Retry-After", a.status, a.header, a.body)
		}
	})
	t.Run("HTML 429", func(t *testing.T) {
		s.Inject(Fault{HTML429: true, Times: 1})
		a := send(t, s, keyMain, smsBody)
		if a.status != 429 || a.header.Get("Content-Type") != "text/html" || !strings.HasPrefix(string(a.body), "<html>") || a.header.Get("Retry-After") != "" {
			t.Errorf("got %d %v %q, want a 429 with an HTML page", a.status, a.header, a.body)
		}
	})
	t.Run("close after read", func(t *testing.T) {
		s.Reset()
		s.Inject(Fault{CloseAfterRead: true, Times: 1})
		a := send(t, s, keyMain, smsBody)
		if a.err == nil || !errors.Is(a.err, io.EOF) && !strings.Contains(a.err.Error(), "EOF") {
			t.Errorf("got %d %v, want the connection closed", a.status, a.err)
		}
		if reqs := s.Requests(); len(reqs) != 1 || string(reqs[0].Body) != smsBody || reqs[0].Status != 0 {
			t.Errorf("recorded %+v, want the request read and unanswered", reqs)
		}
	})
	t.Run("reset after headers", func(t *testing.T) {
		s.Inject(Fault{ResetAfterHeaders: true, Times: 1})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/sms/send", strings.NewReader(smsBody))
		req.Header.Set("X-API-Key", keyMain)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatalf("no headers: %v", err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || err == nil {
			t.Errorf("got %d, body error %v; want 200 and a cut body", resp.StatusCode, err)
		}
	})
	t.Run("delay", func(t *testing.T) {
		s.Inject(Fault{Delay: 100 * time.Millisecond, Times: 1})
		started := time.Now()
		wantAnswer(t, send(t, s, keyMain, smsBody), 200, "")
		if waited := time.Since(started); waited < 100*time.Millisecond {
			t.Errorf("answered after %v, before the delay", waited)
		}
	})
	t.Run("delay cut by the client", func(t *testing.T) {
		s.Reset()
		s.Inject(Fault{Delay: time.Minute, Times: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v1/sms/send", strings.NewReader(smsBody))
		req.Header.Set("X-API-Key", keyMain)
		if resp, err := s.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("answered despite the delay")
		}
		if s.Count() != 1 {
			t.Errorf("count %d, want the request recorded", s.Count())
		}
	})
}

// TestRateLimit: a fixed one-second window per account, answered with
// restlink's JSON and no Retry-After.
func TestRateLimit(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now, RateLimit: 3})
	// Workspaces 16 and 18 share the default account; 30 has its own.
	for _, key := range []string{keyMain, keyTest, keyMain} {
		wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+key), 200, "")
	}
	a := do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+keyTest)
	wantAnswer(t, a, 429, "RATE_LIMIT_EXCEEDED")
	if a.header.Get("Retry-After") != "" {
		t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
	}
	wantAnswer(t, do(t, s, "GET", "/api/v1/nothing", "", "X-API-Key: "+keyMain), 429, "RATE_LIMIT_EXCEEDED")
	wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+keyOther), 200, "")
	// Refused credentials are not the account's.
	wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: sk_prod_nobody"), 401, "INVALID_API_KEY")

	clock.Add(time.Second)
	wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+keyMain), 200, "")

	s.SetOptions(Options{Now: clock.Now})
	for range 10 {
		wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+keyMain), 200, "")
	}
}

// TestRecording: the record holds each request with its answer; off, it
// keeps a bounded tail without headers or bodies, and Count counts all.
func TestRecording(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	do(t, s, "POST", "/api/v1/sms/send?trace=1&x=%2F", smsBody, "X-API-Key: "+keyTest, "X-Request-Id: r1")
	do(t, s, "GET", "/api/v1/sms/status/a%2Fb", "", "X-API-Key: sk_prod_nobody")
	reqs := s.Requests()
	if len(reqs) != 2 || s.Count() != 2 {
		t.Fatalf("recorded %d, count %d", len(reqs), s.Count())
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/api/v1/sms/send" || r.RawQuery != "trace=1&x=%2F" || r.Host != strings.TrimPrefix(s.URL, "http://") ||
		r.Header.Get("X-Request-Id") != "r1" || string(r.Body) != smsBody || r.Key != keyTest || r.WorkspaceID != 18 ||
		!r.Received.Equal(clock.Now()) || r.Status != 200 || r.ErrorCode != "" {
		t.Errorf("first request %+v", r)
	}
	if r := reqs[1]; r.Path != "/api/v1/sms/status/a%2Fb" || r.WorkspaceID != 0 || r.Status != 401 || r.ErrorCode != "INVALID_API_KEY" {
		t.Errorf("second request %+v", r)
	}

	s.SetRecording(false)
	for range 2*recentWithoutRecording + 10 {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/sms/send", strings.NewReader(smsBody))
		req.Header.Set("X-API-Key", keyMain)
		s.ServeHTTP(httptest.NewRecorder(), req)
	}
	reqs = s.Requests()
	if n := s.Count(); n != 2*recentWithoutRecording+12 {
		t.Errorf("count %d with recording off", n)
	}
	if len(reqs) > 2*recentWithoutRecording || len(reqs) < recentWithoutRecording {
		t.Errorf("kept %d requests with recording off", len(reqs))
	}
	last := reqs[len(reqs)-1]
	if last.Header != nil || last.Body != nil || last.Status != 200 || last.Key != keyMain {
		t.Errorf("a request recorded with recording off: %+v", last)
	}

	s.Reset()
	if s.Count() != 0 || len(s.Requests()) != 0 {
		t.Error("Reset kept requests")
	}
}

// TestAccountCacheFaults: the degraded and setup answers of balance,
// pricing and payments, in restlink's shapes and headers, only to
// authorized requests of their endpoints.
func TestAccountCacheFaults(t *testing.T) {
	s := start(t, Options{})
	s.AddAPIKey(16, Key{Value: "sk_prod_sendonly", Permissions: []string{"sms.send"}})
	s.SetPrices(16, []Price{{Dialcode: "44", Rate: "0.04"}})
	get := func(key, method, path string) answer {
		return do(t, s, method, "/api/v1/"+path, "", "X-API-Key: "+key)
	}
	const (
		table    = `[{"mcc":"","mnc":"","mccmnc":"","dialcode":"44","country":"","network":"","rate":0.04,"prev_rate":0.04,"rate_start_date":"0001.01.01 00:00:00","rate_end_date":"2100.01.01 00:00:00","change_type":"Same"}]`
		setup    = `{"status":false,"error":"Account is in setup process"}`
		degraded = `{"balance":0,"currency":"EUR","unavailable":true,"reason":"cache_miss_refresh_failed"}`
	)
	wantBody := func(a answer, body string, degradedHeaders bool) {
		t.Helper()
		status, reason := a.header.Get("X-Sms-Gateway-Status"), a.header.Get("X-Sms-Gateway-Reason")
		if a.status != 200 || string(a.body) != body || (status == "unavailable" && reason == "cache_miss_refresh_failed") != degradedHeaders ||
			(!degradedHeaders && (status != "" || reason != "")) {
			t.Errorf("got %d %s %s: %s, want 200 %s with degraded headers %t", a.status, status, reason, a.body, body, degradedHeaders)
		}
	}

	t.Run("pricing degraded", func(t *testing.T) {
		s.Inject(Fault{PricingDegraded: true, WorkspaceID: 16, Times: 2})
		wantAnswer(t, get("sk_prod_sendonly", "GET", "user/pricing"), 403, "FORBIDDEN") // not used up
		wantAnswer(t, get("sk_prod_nobody", "GET", "user/pricing"), 401, "INVALID_API_KEY")
		wantAnswer(t, get(keyMain, "GET", "user/balance"), 200, "") // another endpoint
		wantBody(get(keyTest, "GET", "user/pricing"), "[]", false)  // another workspace, without a table
		wantBody(get(keyMain, "GET", "user/pricing"), "[]", true)
		wantBody(get(keyMain, "POST", "user/pricing"), "[]", true)
		wantBody(get(keyMain, "GET", "user/pricing"), table, false) // used up
	})
	t.Run("account in setup", func(t *testing.T) {
		remove := s.Inject(Fault{AccountSetup: true})
		wantBody(get(keyMain, "GET", "user/pricing"), setup, false)
		wantBody(get(keyMain, "POST", "user/pricing"), setup, false)
		wantBody(get(keyMain, "GET", "user/payments"), setup, false)
		wantAnswer(t, get(keyMain, "GET", "user/balance"), 200, "")
		remove()
		wantBody(get(keyMain, "GET", "user/pricing"), table, false)
		wantBody(get(keyMain, "GET", "user/payments"), "[]", false)
	})
	t.Run("balance degraded", func(t *testing.T) {
		s.Inject(Fault{BalanceDegraded: true, Path: "/api/v1/user/balance", Times: 1})
		wantAnswer(t, send(t, s, keyMain, smsBody), 200, "") // not a balance request: not used up
		wantBody(get(keyMain, "GET", "user/pricing"), table, false)
		a := get(keyMain, "GET", "user/balance")
		wantBody(a, degraded, true)
		var bal BalanceResponse
		a.decode(t, &bal)
		if !bal.Unavailable || bal.Balance != "0" || bal.CreditBlocked {
			t.Errorf("degraded balance %+v", bal)
		}
		a = get(keyMain, "GET", "user/balance")
		if a.status != 200 || strings.Contains(string(a.body), "unavailable") || a.header.Get("X-Sms-Gateway-Status") != "" ||
			!strings.Contains(string(a.body), `"balance":999999.9915,`) {
			t.Errorf("after the fault: %d %v %s", a.status, a.header, a.body)
		}
	})
}

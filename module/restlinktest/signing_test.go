package restlinktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestSignFormula checks Sign against the formula computed here by hand.
func TestSignFormula(t *testing.T) {
	m := hmac.New(sha256.New, []byte("s"))
	m.Write([]byte("POST|/api/v1/sms/send|1700000000|{}"))
	want := hex.EncodeToString(m.Sum(nil))
	if got := Sign("s", "POST", "/api/v1/sms/send", "1700000000", []byte("{}")); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

// TestSigning: a signing key's requests are checked over method, wire
// path, timestamp and body, within five minutes, once each.
func TestSigning(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	ts := func(d time.Duration) string { return strconv.FormatInt(clock.Now().Add(d).Unix(), 10) }
	const send, status = "/api/v1/sms/send", "/api/v1/sms/status/"

	for _, tc := range []struct {
		name string
		// The request sent.
		method, target, body string
		timestamp            string
		// What was signed.
		signMethod, signPath, signBody string
		signSecret                     string
		omit                           string // a header to leave out
		status                         int
		code                           string
	}{
		{"valid POST", "POST", send, smsBody, ts(0), "POST", send, smsBody, secret, "", 200, ""},
		{"valid GET with an empty body", "GET", "/api/v1/user/balance", "", ts(0), "GET", "/api/v1/user/balance", "", secret, "", 200, ""},
		{"query not covered", "GET", "/api/v1/sms/stats?period=7d", "", ts(1), "GET", "/api/v1/sms/stats", "", secret, "", 200, ""},
		{"query signed too", "GET", "/api/v1/sms/stats?period=7d", "", ts(2), "GET", "/api/v1/sms/stats?period=7d", "", secret, "", 401, "INVALID_SIGNATURE"},
		{"escaped path signed as sent", "GET", status + "api%5F42", "", ts(0), "GET", status + "api%5F42", "", secret, "", 404, "NOT_FOUND"},
		{"escaped path signed decoded", "GET", status + "api%5F43", "", ts(0), "GET", status + "api_43", "", secret, "", 401, "INVALID_SIGNATURE"},
		{"path without /api/v1", "POST", send, smsBody, ts(3), "POST", "/sms/send", smsBody, secret, "", 401, "INVALID_SIGNATURE"},
		{"lowercase method", "POST", send, smsBody, ts(4), "post", send, smsBody, secret, "", 401, "INVALID_SIGNATURE"},
		{"other body", "POST", send, smsBody, ts(5), "POST", send, smsBody + " ", secret, "", 401, "INVALID_SIGNATURE"},
		{"other secret", "POST", send, smsBody, ts(6), "POST", send, smsBody, "not-the-secret", "", 401, "INVALID_SIGNATURE"},
		{"no timestamp", "POST", send, smsBody, ts(7), "POST", send, smsBody, secret, "X-Timestamp", 401, "SIGNATURE_REQUIRED"},
		{"no signature", "POST", send, smsBody, ts(8), "POST", send, smsBody, secret, "X-Signature", 401, "SIGNATURE_REQUIRED"},
		{"timestamp in milliseconds", "POST", send, smsBody, strconv.FormatInt(clock.Now().UnixMilli(), 10), "POST", send, smsBody, secret, "", 401, "INVALID_SIGNATURE"},
		{"timestamp not a number", "POST", send, smsBody, "soon", "POST", send, smsBody, secret, "", 401, "INVALID_SIGNATURE"},
		{"5 minutes old", "POST", send, smsBody, ts(-5 * time.Minute), "POST", send, smsBody, secret, "", 200, ""},
		{"5 minutes and 1 s old", "POST", send, smsBody, ts(-5*time.Minute - time.Second), "POST", send, smsBody, secret, "", 401, "INVALID_SIGNATURE"},
		{"5 minutes ahead", "POST", send, smsBody, ts(5 * time.Minute), "POST", send, smsBody, secret, "", 200, ""},
		{"5 minutes and 1 s ahead", "POST", send, smsBody, ts(5*time.Minute + time.Second), "POST", send, smsBody, secret, "", 401, "INVALID_SIGNATURE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{"X-API-Key: " + keySigned}
			if tc.omit != "X-Timestamp" {
				headers = append(headers, "X-Timestamp: "+tc.timestamp)
			}
			if tc.omit != "X-Signature" {
				headers = append(headers, "X-Signature: "+Sign(tc.signSecret, tc.signMethod, tc.signPath, tc.timestamp, []byte(tc.signBody)))
			}
			a := do(t, s, tc.method, tc.target, tc.body, headers...)
			wantAnswer(t, a, tc.status, tc.code)
		})
	}
	if n := s.ReplaysRefused(); n != 0 {
		t.Errorf("%d replays refused among distinct requests", n)
	}

	t.Run("replay", func(t *testing.T) {
		s.Reset()
		clock.Add(10 * time.Second) // past the timestamps used above
		stamp := ts(0)
		sig := Sign(secret, "GET", "/api/v1/user/balance", stamp, nil)
		headers := []string{"X-API-Key: " + keySigned, "X-Timestamp: " + stamp, "X-Signature: " + sig}
		wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", headers...), 200, "")
		wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", headers...), 401, "INVALID_SIGNATURE")
		// The query is not signed, so changing it does not make a new pair.
		wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance?x=1", "", headers...), 401, "INVALID_SIGNATURE")
		if n := s.ReplaysRefused(); n != 2 {
			t.Errorf("ReplaysRefused = %d, want 2", n)
		}
		// A fresh timestamp is a fresh pair.
		clock.Add(time.Second)
		wantAnswer(t, signed(t, s, clock, "GET", "/api/v1/user/balance", "", ""), 200, "")
		s.Reset()
		if n := s.ReplaysRefused(); n != 0 {
			t.Errorf("ReplaysRefused after Reset = %d", n)
		}
		// Still refused after Reset: restlink does not forget.
		wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", headers...), 401, "INVALID_SIGNATURE")
	})

	t.Run("a refused request does not use its pair", func(t *testing.T) {
		stamp := ts(time.Hour) // stale
		sig := Sign(secret, "GET", "/api/v1/user/balance", stamp, nil)
		headers := []string{"X-API-Key: " + keySigned, "X-Timestamp: " + stamp, "X-Signature: " + sig}
		wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", headers...), 401, "INVALID_SIGNATURE")
		clock.Add(time.Hour)
		wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", headers...), 200, "")
	})

	t.Run("plain keys need no signature", func(t *testing.T) {
		wantAnswer(t, do(t, s, http.MethodGet, "/api/v1/user/balance", "", "X-API-Key: "+keyMain), 200, "")
	})
}

// TestReplayCacheIsBounded: pairs are forgotten once their timestamp has
// left the window, where a replay is refused as stale anyway.
func TestReplayCacheIsBounded(t *testing.T) {
	c := newReplayCache()
	const start = 1_700_000_000
	for i := range int64(1000) {
		if !c.accept(start+i%10, strconv.FormatInt(i, 10), start) {
			t.Fatalf("pair %d refused", i)
		}
	}
	if c.accept(start+3, "3", start) {
		t.Error("a replay was accepted")
	}
	if n := c.size(); n != 1000 {
		t.Errorf("holding %d pairs, want 1000", n)
	}
	later := int64(start + 9 + 301)
	c.accept(later, "new", later)
	if n := c.size(); n != 1 {
		t.Errorf("holding %d pairs after the window passed, want 1", n)
	}
}

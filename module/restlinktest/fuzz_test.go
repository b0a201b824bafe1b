package restlinktest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serve sends a request straight to the fake's handler.
func serve(f *Fake, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	return rec
}

// FuzzSend: any body answers 200 with a consistent summary, or 400 with
// one of the send's validation codes.
func FuzzSend(f *testing.F) {
	for _, seed := range []string{smsBody, "", "null", "{}", `{"to":[]}`, `{"to":["+14155551234"],"message":"€🙂","sender_id":"+447700900123"}`,
		`{"to":"x"}`, `{"to":["+14155551234"],"message":"hi","sender_id":"1a"}`, "{\"to\":[\"+1\"]}"} {
		f.Add(seed)
	}
	fake := New(fixture()...)
	fake.SetRecording(false)
	fake.SetOptions(Options{BlockedCountries: []string{"7"}})
	codes := []string{"INVALID_BODY", "INVALID_TO", "TOO_MANY_RECIPIENTS", "INVALID_MESSAGE", "INVALID_SENDER"}
	f.Fuzz(func(t *testing.T, body string) {
		rec := serve(fake, "POST", "/api/v1/sms/send", body, "X-API-Key: "+keyMain)
		switch rec.Code {
		case 200:
			var resp SendResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("200 with %s: %v", rec.Body, err)
			}
			s := resp.Summary
			if !resp.Status || s.TotalRecipients != len(resp.Results) || s.AcceptedCount != len(resp.Messages) ||
				s.AcceptedCount+s.BlockedCount != s.TotalRecipients || s.TotalRecipients < 1 || s.TotalRecipients > 100 {
				t.Fatalf("inconsistent answer %s", rec.Body)
			}
			if want := micros(8_500 * s.TotalSegments).number(); s.TotalCost != want { // 0.0085 a segment
				t.Fatalf("total_cost %s for %d segments, want %s", s.TotalCost, s.TotalSegments, want)
			}
		case 400:
			var e ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !slices.Contains(codes, e.ErrorCode) {
				t.Fatalf("400 with %s", rec.Body)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

// FuzzPutWebhooks: any body answers 200 or 400 with a documented code,
// and the answer never holds the secret's value.
func FuzzPutWebhooks(f *testing.F) {
	for _, seed := range []string{`{}`, `{"delivery_url":"https://example.com/x"}`, `{"signing_secret":"abcdefgh12345678"}`,
		`{"clear_signing_secret":true}`, `{"delivery_fields":["message_id"]}`, `{"unique_clicks_only":1}`, `[`} {
		f.Add(seed)
	}
	fake := New(fixture()...)
	fake.SetRecording(false)
	codes := []string{"INVALID_BODY", "INVALID_URL", "INVALID_SECRET", "INVALID_FIELDS", "INVALID_TOGGLE", "CONFLICTING_FIELDS"}
	f.Fuzz(func(t *testing.T, body string) {
		rec := serve(fake, "PUT", "/api/v1/user/webhooks", body, "X-API-Key: "+keyMain)
		switch rec.Code {
		case 200:
			var resp WebhookSettingsResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("200 with %s: %v", rec.Body, err)
			}
			s := fake.Webhooks(16)
			if resp.SigningSecretSet != (s.SigningSecret != "") {
				t.Fatalf("signing_secret_set %t with a secret of %d bytes", resp.SigningSecretSet, len(s.SigningSecret))
			}
			if len(s.SigningSecret) >= 8 && strings.Contains(rec.Body.String(), s.SigningSecret) {
				t.Fatalf("the answer shows the secret: %s", rec.Body)
			}
		case 400:
			var e ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !slices.Contains(codes, e.ErrorCode) {
				t.Fatalf("400 with %s", rec.Body)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

// FuzzSignedPath: a request signed over its path exactly as sent passes
// the signature check, whatever the path's escapes and query.
func FuzzSignedPath(f *testing.F) {
	for _, seed := range [][2]string{{"api_42_1_x", ""}, {"a/b", "x=%2F"}, {"ü ?#%", "period=7d&x"}, {"", ""}} {
		f.Add(seed[0], seed[1])
	}
	fake := New(fixture()...)
	fake.SetRecording(false)
	now := time.Now()
	fake.SetOptions(Options{Now: func() time.Time { return now }})
	var n int64
	f.Fuzz(func(t *testing.T, segment, query string) {
		path := "/api/v1/sms/status/" + url.PathEscape(segment)
		target := path
		if q := url.PathEscape(query); q != "" {
			target += "?" + q
		}
		n++ // a fresh timestamp for each input, so that none is a replay
		ts := strconv.FormatInt(now.Unix()-n%290, 10)
		sig := Sign(secret, "GET", path, ts, nil)
		rec := serve(fake, "GET", target, "", "X-API-Key: "+keySigned, "X-Timestamp: "+ts, "X-Signature: "+sig)
		if rec.Code == http.StatusUnauthorized {
			if strings.Contains(rec.Body.String(), "already used") {
				t.Skip("the same input ran twice within the window")
			}
			t.Fatalf("%s refused: %s", target, rec.Body)
		}
	})
}

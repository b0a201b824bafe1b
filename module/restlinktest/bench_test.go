package restlinktest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSend is the fake's hot path in load tests: a plain key's send,
// recording off.
func BenchmarkSend(b *testing.B) {
	f := New(fixture()...)
	f.SetRecording(false)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/sms/send", strings.NewReader(smsBody))
		req.Header.Set("X-API-Key", keyMain)
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkSignedSend adds the signature check and the replay cache.
func BenchmarkSignedSend(b *testing.B) {
	f := New(fixture()...)
	f.SetRecording(false)
	now := time.Now()
	f.SetOptions(Options{Now: func() time.Time { return now }})
	ts := strconv.FormatInt(now.Unix(), 10)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := `{"to":["+14155551234"],"message":"hi ` + strconv.Itoa(i) + `","sender_id":"MyApp"}`
		req := httptest.NewRequest(http.MethodPost, "/api/v1/sms/send", strings.NewReader(body))
		req.Header.Set("X-API-Key", keySigned)
		req.Header.Set("X-Timestamp", ts)
		req.Header.Set("X-Signature", Sign(secret, http.MethodPost, "/api/v1/sms/send", ts, []byte(body)))
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

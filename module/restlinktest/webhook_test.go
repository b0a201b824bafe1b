package restlinktest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const webhookSecret = "whsec-0123456789abcdef0123456789"

// received is a webhook as a receiver got it.
type received struct {
	header http.Header
	body   []byte
}

// receiver is an HTTPS webhook receiver with its own CA.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, w http.ResponseWriter, r *http.Request) // n: 1 for the first request
}

// newReceiver starts a receiver answering 200 unless answer is set.
func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rv := &receiver{}
	rv.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rv.mu.Lock()
		rv.got = append(rv.got, received{r.Header.Clone(), body})
		n, answer := len(rv.got), rv.answer
		rv.mu.Unlock()
		if answer != nil {
			answer(n, w, r)
		}
	}))
	t.Cleanup(rv.Close)
	return rv
}

func (rv *receiver) received() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return slices.Clone(rv.got)
}

// verify checks a webhook as restlink's docs tell receivers to, with
// the formula computed here rather than by SignWebhook.
func verify(secret string, now time.Time, h http.Header, body []byte) bool {
	ts, sig := h.Get("X-Webhook-Timestamp"), h.Get("X-Webhook-Signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Unix()-sec > 300 || sec-now.Unix() > 300 {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	return hmac.Equal([]byte(sig), []byte("sha256="+hex.EncodeToString(m.Sum(nil))))
}

// webhookFake is a fake whose workspace 16 sends to rv.
func webhookFake(t *testing.T, rv *receiver, opts Options, settings WebhookSettings) *Server {
	t.Helper()
	opts.WebhookClient = rv.Client()
	s := start(t, opts)
	settings.DeliveryURL = rv.URL + "/dlr"
	s.SetWebhooks(16, settings)
	return s
}

// TestWebhookRequest: the documented method, headers and signature, and
// none without a secret.
func TestWebhookRequest(t *testing.T) {
	clock := newClock()
	for _, tc := range []struct {
		name    string
		secret  string
		payload any
		body    string
	}{
		{"signed", webhookSecret, map[string]any{"message_id": "api_42_1_x", "status": "DELIVRD"}, `{"message_id":"api_42_1_x","status":"DELIVRD"}`},
		{"unsigned", "", map[string]int{"n": 1}, `{"n":1}`},
		{"raw payload sent as is", webhookSecret, json.RawMessage(`{ "b":2,  "a":1 }`), `{ "b":2,  "a":1 }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rv := newReceiver(t)
			s := webhookFake(t, rv, Options{Now: clock.Now}, WebhookSettings{SigningSecret: tc.secret})
			d, err := s.SendWebhook(context.Background(), 16, EventDelivery, tc.payload)
			if err != nil || !d.Delivered || !d.Done || len(d.Attempts) != 1 || d.Attempts[0].Status != 200 || d.Event != EventDelivery || d.WorkspaceID != 16 {
				t.Fatalf("delivery %+v, %v", d, err)
			}
			got := rv.received()
			if len(got) != 1 {
				t.Fatalf("received %d webhooks", len(got))
			}
			h := got[0].header
			if string(got[0].body) != tc.body || h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != "23Telecom-Webhooks/1.0" {
				t.Errorf("received %q with %v", got[0].body, h)
			}
			if tc.secret == "" {
				if h.Get("X-Webhook-Signature") != "" || h.Get("X-Webhook-Timestamp") != "" {
					t.Errorf("unsigned webhook has signature headers: %v", h)
				}
				return
			}
			if h.Get("X-Webhook-Timestamp") != strconv.FormatInt(clock.Now().Unix(), 10) || !verify(tc.secret, clock.Now(), h, got[0].body) {
				t.Errorf("signature headers %v do not verify", h)
			}
			if d.Attempts[0].Signature != h.Get("X-Webhook-Signature") || d.Attempts[0].Timestamp != h.Get("X-Webhook-Timestamp") {
				t.Errorf("logged attempt %+v, sent %v", d.Attempts[0], h)
			}
		})
	}
}

// TestSignWebhook checks the exported helper against the formula.
func TestSignWebhook(t *testing.T) {
	h := http.Header{}
	h.Set("X-Webhook-Timestamp", "1770977700")
	h.Set("X-Webhook-Signature", SignWebhook("s", "1770977700", []byte("{}")))
	if !verify("s", time.Unix(1770977700, 0), h, []byte("{}")) {
		t.Errorf("SignWebhook gave %s", h.Get("X-Webhook-Signature"))
	}
}

// TestWebhookErrors: nothing to send to.
func TestWebhookErrors(t *testing.T) {
	s := start(t, Options{})
	s.SetWebhooks(16, WebhookSettings{DeliveryURL: "https://127.0.0.1:1/x"})
	for _, tc := range []struct {
		name  string
		event Event
		ws    int64
		want  error
	}{
		{"no click URL", EventClick, 16, ErrNoWebhookURL},
		{"unknown event", Event("bounce"), 16, ErrNoWebhookURL},
		{"workspace without webhooks", EventDelivery, 18, ErrNoWebhookURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.SendWebhook(context.Background(), tc.ws, tc.event, map[string]int{}); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if _, err := s.QueueWebhook(tc.ws, tc.event, map[string]int{}); !errors.Is(err, tc.want) {
				t.Errorf("queueing: got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := s.SendWebhook(context.Background(), 16, EventDelivery, func() {}); err == nil {
		t.Error("a payload that is not JSON was sent")
	}
	if _, err := s.ReplayWebhook(context.Background(), "whd_999"); !errors.Is(err, ErrUnknownDelivery) {
		t.Errorf("replaying an unknown delivery: %v", err)
	}
	if _, err := s.SendTamperedWebhook(context.Background(), 16, EventDelivery, 1, TamperStale); !errors.Is(err, ErrNoSigningSecret) {
		t.Errorf("tampering without a secret: %v", err)
	}
}

// TestWebhookRetries: 3 attempts, 10 s then 30 s apart (scaled), until a
// 2xx within the deadline.
func TestWebhookRetries(t *testing.T) {
	const scale = 0.01
	wantDelays := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond}
	for _, tc := range []struct {
		name      string
		statuses  []int // the receiver's answers, in order; 0: hang
		attempts  int
		delivered bool
		errorText string
	}{
		{"first attempt", []int{204}, 1, true, ""},
		{"third attempt", []int{500, 503, 200}, 3, true, ""},
		{"a 4xx is retried", []int{404, 200}, 2, true, ""},
		{"a redirect is a failure", []int{302, 302, 302}, 3, false, ""},
		{"never", []int{500, 500, 500, 200}, 3, false, ""},
		{"too slow", []int{0, 0, 0}, 3, false, "no answer within 50ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rv := newReceiver(t)
			rv.answer = func(n int, w http.ResponseWriter, r *http.Request) {
				status := tc.statuses[min(n, len(tc.statuses))-1]
				if status == 0 {
					<-r.Context().Done()
					panic(http.ErrAbortHandler) // no answer at all, not a late implicit 200
				}
				if status == 302 {
					w.Header().Set("Location", "https://127.0.0.1:1/elsewhere")
				}
				w.WriteHeader(status)
			}
			// A generous deadline, so that a loaded machine does not fail
			// the cases where the receiver answers.
			deadline := 10 * time.Second
			if tc.errorText != "" {
				deadline = 50 * time.Millisecond
			}
			s := webhookFake(t, rv, Options{TimeScale: scale, WebhookTimeout: deadline}, WebhookSettings{SigningSecret: webhookSecret})
			rv.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			d, err := s.SendWebhook(context.Background(), 16, EventDelivery, map[string]string{"message_id": "m1"})
			if d.Delivered != tc.delivered || (err == nil) != tc.delivered || (err != nil && !errors.Is(err, ErrUndelivered)) {
				t.Errorf("delivered %t, error %v", d.Delivered, err)
			}
			if len(d.Attempts) != tc.attempts {
				t.Fatalf("%d attempts, want %d: %+v", len(d.Attempts), tc.attempts, d.Attempts)
			}
			for i, a := range d.Attempts {
				if a.Attempt != i+1 || a.Delay != wantDelays[i] {
					t.Errorf("attempt %d: number %d after %v, want after %v", i+1, a.Attempt, a.Delay, wantDelays[i])
				}
				if i > 0 {
					if gap := a.Started.Sub(d.Attempts[i-1].Started); gap < wantDelays[i] {
						t.Errorf("attempt %d started %v after the previous one, before its delay", i+1, gap)
					}
				}
				if tc.errorText != "" && (a.Error != tc.errorText || a.Status != 0) {
					t.Errorf("attempt %d: status %d error %q, want %q", i+1, a.Status, a.Error, tc.errorText)
				}
				if tc.errorText == "" && a.Status != tc.statuses[i] {
					t.Errorf("attempt %d: status %d, want %d", i+1, a.Status, tc.statuses[i])
				}
			}
			// With a 50 ms deadline on a loaded machine, an attempt may time
			// out before its request reaches the receiver's handler.
			got := rv.received()
			if len(got) == 0 || len(got) > tc.attempts || tc.errorText == "" && len(got) != tc.attempts ||
				got[0].header.Get("X-Webhook-Signature") == "" {
				t.Errorf("receiver got %d requests for %d attempts", len(got), tc.attempts)
			}
			if logged := s.WebhookDeliveries(); len(logged) != 1 || len(logged[0].Attempts) != tc.attempts || !logged[0].Done {
				t.Errorf("log %+v", logged)
			}
		})
	}
}

// TestWebhookAttemptErrorHidesURL: a transport error is logged without
// the receiver's URL, which may carry a token.
func TestWebhookAttemptErrorHidesURL(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL + "/hook?token=receiver-token"
	closed.Close()
	s := start(t, Options{TimeScale: 0.0001})
	s.SetWebhooks(16, WebhookSettings{DeliveryURL: url})
	d, err := s.SendWebhook(context.Background(), 16, EventDelivery, 1)
	if !errors.Is(err, ErrUndelivered) || len(d.Attempts) != 3 {
		t.Fatalf("got %+v, %v", d, err)
	}
	for _, a := range d.Attempts {
		if a.Error == "" || strings.Contains(a.Error, "receiver-token") || strings.Contains(a.Error, "/hook") {
			t.Errorf("attempt error %q", a.Error)
		}
	}
	if strings.Contains(err.Error(), "receiver-token") {
		t.Errorf("error %v shows the URL", err)
	}
}

// TestSimulatedDelivery: accepted messages turn DELIVRD and each sends a
// delivery report with the workspace's fields.
func TestSimulatedDelivery(t *testing.T) {
	clock := newClock()
	rv := newReceiver(t)
	s := webhookFake(t, rv, Options{Now: clock.Now, SimulateDelivery: true, TimeScale: 0.01, WebhookTimeout: 10 * time.Second,
		BlockedCountries: []string{"7"}}, WebhookSettings{SigningSecret: webhookSecret})

	var resp SendResponse
	send(t, s, keyMain, sendBody(strings.Repeat("a", 161), "+14155551234", "+79161234567", "+447700900123")).decode(t, &resp)
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rv.received()
	if len(got) != 2 {
		t.Fatalf("received %d delivery reports for 2 accepted recipients", len(got))
	}
	byID := map[string]map[string]any{}
	for _, g := range got {
		if !verify(webhookSecret, clock.Now(), g.header, g.body) {
			t.Errorf("report %s does not verify", g.body)
		}
		var p map[string]any
		if err := json.Unmarshal(g.body, &p); err != nil {
			t.Fatal(err)
		}
		byID[p["message_id"].(string)] = p
		if !strings.Contains(string(g.body), `"cost":0.017,`) {
			t.Errorf("report %s: cost not written as the exact number 0.017", g.body)
		}
	}
	for _, m := range resp.Messages {
		p := byID[m.MessageID]
		want := map[string]any{"message_id": m.MessageID, "recipient": m.DNIS, "sender_id": "MyApp", "status": "DELIVRD",
			"status_code": "000", "num_parts": 2.0, "cost": 0.017, "timestamp": "2026-02-13T10:15:00Z"}
		if len(p) != len(want) {
			t.Errorf("report fields %v, want %v", p, want)
		}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("report %s: %s = %v, want %v", m.MessageID, k, p[k], v)
			}
		}
		var st struct{ Message MessageStatus }
		do(t, s, "GET", "/api/v1/sms/status/"+m.MessageID, "", "X-API-Key: "+keyMain).decode(t, &st)
		if st.Message.Status != "DELIVRD" || st.Message.StatusCode != "000" || st.Message.DeliveredAt == nil {
			t.Errorf("status after delivery %+v", st.Message)
		}
	}

	t.Run("chosen fields", func(t *testing.T) {
		rv.mu.Lock()
		rv.got = nil
		rv.mu.Unlock()
		s.SetWebhooks(16, WebhookSettings{DeliveryURL: rv.URL, DeliveryFields: []string{"message_id", "workspace_id"}})
		send(t, s, keySandbox, sendBody("hi", "+14155551234"))
		if err := s.WaitWebhooks(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := rv.received()
		if len(got) != 1 || !strings.HasPrefix(string(got[0].body), `{"message_id":"api_42_`) || !strings.HasSuffix(string(got[0].body), `","workspace_id":16}`) {
			t.Errorf("received %v", got)
		}
		if got[0].header.Get("X-Webhook-Signature") != "" {
			t.Error("signed without a secret")
		}
	})
}

// TestDeliveryDelay: nothing happens before the delay; Close stops what
// is pending.
func TestDeliveryDelay(t *testing.T) {
	rv := newReceiver(t)
	s := webhookFake(t, rv, Options{SimulateDelivery: true, DeliveryDelay: time.Hour, SandboxDeliveryDelay: time.Hour}, WebhookSettings{})
	var resp SendResponse
	send(t, s, keyMain, sendBody("hi", "+14155551234")).decode(t, &resp)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.WaitWebhooks(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitWebhooks: %v, want the delivery still pending", err)
	}
	var st struct{ Message MessageStatus }
	do(t, s, "GET", "/api/v1/sms/status/"+resp.Messages[0].MessageID, "", "X-API-Key: "+keyMain).decode(t, &st)
	if st.Message.Status != "sent" {
		t.Errorf("status %q before the delivery", st.Message.Status)
	}
	s.Fake.Close() // returns once the pending delivery has stopped
	if n := len(rv.received()); n != 0 {
		t.Errorf("received %d reports", n)
	}
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestReplayDelivered: restlink may send a delivered event again.
func TestReplayDelivered(t *testing.T) {
	rv := newReceiver(t)
	s := webhookFake(t, rv, Options{ReplayDelivered: true}, WebhookSettings{SigningSecret: webhookSecret})
	if _, err := s.SendWebhook(context.Background(), 16, EventDelivery, map[string]string{"message_id": "m1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rv.received()
	if len(got) != 2 || string(got[0].body) != string(got[1].body) || !verify(webhookSecret, time.Now(), got[1].header, got[1].body) {
		t.Fatalf("received %v", got)
	}
	if log := s.WebhookDeliveries(); len(log) != 2 || log[0].Replay || !log[1].Replay || !log[1].Delivered {
		t.Errorf("log %+v", log)
	}
}

// TestTamperedWebhooks: each kind of tampering fails a receiver that
// checks as the docs say, in one attempt.
func TestTamperedWebhooks(t *testing.T) {
	clock := newClock()
	rv := newReceiver(t)
	s := webhookFake(t, rv, Options{Now: clock.Now}, WebhookSettings{SigningSecret: webhookSecret})
	payload := map[string]string{"message_id": "m1"}
	for _, tc := range []struct {
		tamper Tamper
		check  func(t *testing.T, g received)
	}{
		{TamperSignature, func(t *testing.T, g received) {
			if g.header.Get("X-Webhook-Timestamp") != strconv.FormatInt(clock.Now().Unix(), 10) {
				t.Errorf("timestamp %q", g.header.Get("X-Webhook-Timestamp"))
			}
		}},
		{TamperStale, func(t *testing.T, g received) {
			stale := clock.Now().Add(-10 * time.Minute)
			if !verify(webhookSecret, stale, g.header, g.body) {
				t.Error("a stale webhook should be correctly signed")
			}
		}},
		{TamperBody, func(t *testing.T, g received) {
			if !strings.HasSuffix(string(g.body), "} ") || !verify(webhookSecret, clock.Now(), g.header, g.body[:len(g.body)-1]) {
				t.Errorf("body %q should be the signed one with a byte added", g.body)
			}
		}},
		{TamperUnsigned, func(t *testing.T, g received) {
			if g.header.Get("X-Webhook-Signature") != "" || g.header.Get("X-Webhook-Timestamp") != "" {
				t.Errorf("headers %v", g.header)
			}
		}},
	} {
		t.Run(tc.tamper.String(), func(t *testing.T) {
			before := len(rv.received())
			d, err := s.SendTamperedWebhook(context.Background(), 16, EventDelivery, payload, tc.tamper)
			if err != nil || d.Tamper != tc.tamper || len(d.Attempts) != 1 {
				t.Fatalf("got %+v, %v", d, err)
			}
			got := rv.received()
			if len(got) != before+1 {
				t.Fatalf("received %d", len(got)-before)
			}
			g := got[len(got)-1]
			if verify(webhookSecret, clock.Now(), g.header, g.body) {
				t.Error("a tampered webhook verifies")
			}
			tc.check(t, g)
		})
	}
	if Tamper(9).String() != "Tamper(9)" || Tamper(0).String() != "none" {
		t.Error("Tamper.String")
	}

	t.Run("exact replay", func(t *testing.T) {
		d, err := s.SendWebhook(context.Background(), 16, EventDelivery, payload)
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Minute)
		r, err := s.ReplayWebhook(context.Background(), d.ID)
		if err != nil || !r.Replay || r.ID == d.ID {
			t.Fatalf("replay %+v, %v", r, err)
		}
		got := rv.received()
		orig, again := got[len(got)-2], got[len(got)-1]
		for _, h := range []string{"X-Webhook-Timestamp", "X-Webhook-Signature", "Content-Type", "User-Agent"} {
			if orig.header.Get(h) != again.header.Get(h) || again.header.Get(h) == "" {
				t.Errorf("%s: %q then %q", h, orig.header.Get(h), again.header.Get(h))
			}
		}
		if string(orig.body) != string(again.body) {
			t.Errorf("bodies %q and %q", orig.body, again.body)
		}
	})
}

// TestWebhooksThroughTheAPI: settings made with PUT /user/webhooks, the
// test event, the log.
func TestWebhooksThroughTheAPI(t *testing.T) {
	rv := newReceiver(t)
	rv.answer = func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}
	s := start(t, Options{WebhookClient: rv.Client(), TimeScale: 0.001, WebhookTimeout: 5 * time.Second})
	wantAnswer(t, do(t, s, "POST", "/api/v1/user/webhooks/test", "", "X-API-Key: "+keyMain), 400, "INVALID_URL")
	wantAnswer(t, do(t, s, "PUT", "/api/v1/user/webhooks", `{"delivery_url":"`+rv.URL+`/dlr","signing_secret":"`+webhookSecret+`"}`, "X-API-Key: "+keyMain), 200, "")

	a := do(t, s, "POST", "/api/v1/user/webhooks/test", "", "X-API-Key: "+keyMain)
	wantAnswer(t, a, 200, "")
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rv.received()
	if len(got) != 2 || !verify(webhookSecret, time.Now(), got[1].header, got[1].body) || !strings.Contains(string(got[1].body), `"status":"DELIVRD"`) {
		t.Fatalf("received %v", got)
	}
	var logs struct {
		Status bool              `json:"status"`
		Logs   []WebhookLogEntry `json:"logs"`
	}
	do(t, s, "GET", "/api/v1/user/webhooks/logs", "", "X-API-Key: "+keyMain).decode(t, &logs)
	if len(logs.Logs) != 2 || logs.Logs[0].Attempt != 2 || !logs.Logs[0].Success || logs.Logs[1].StatusCode != 503 || logs.Logs[1].Success ||
		logs.Logs[0].Event != EventDelivery || logs.Logs[0].URL != rv.URL+"/dlr" {
		t.Errorf("logs %+v", logs)
	}
	do(t, s, "GET", "/api/v1/user/webhooks/logs", "", "X-API-Key: "+keyTest).decode(t, &logs)
	if len(logs.Logs) != 0 {
		t.Errorf("another workspace sees %d log entries", len(logs.Logs))
	}
}

// TestQueueWebhook: queued deliveries run in the background until
// WaitWebhooks.
func TestQueueWebhook(t *testing.T) {
	rv := newReceiver(t)
	s := webhookFake(t, rv, Options{}, WebhookSettings{})
	var ids []string
	for i := range 5 {
		id, err := s.QueueWebhook(16, EventDelivery, map[string]int{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rv.received()); n != 5 {
		t.Errorf("received %d of 5", n)
	}
	log := s.WebhookDeliveries()
	for i, d := range log {
		if d.ID != ids[i] || !d.Delivered || !d.Done {
			t.Errorf("delivery %d: %+v", i, d)
		}
	}
}

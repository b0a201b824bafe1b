package restlink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/appreceiver"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// The webhook site of the webhook tests, next to the sidecar's.
const (
	hookURL   = "http://127.0.0.1:9081"
	hookSite  = "\nhttp://:9081 {\n\tbind 127.0.0.1\n\trestlink_webhook {{dir}}/config.yaml\n}\n"
	hookMain  = "WHSECmainWHSECmainWHSECmain01" // main's webhook secret
	hookMain2 = "WHSECnextWHSECnextWHSECnext02" // its successor in a rotation
)

// webhookBox is a sidecar with a webhook site, the app receiving its
// events, and a fake restlink whose workspace 16 (main) posts signed
// webhooks to the site.
type webhookBox struct {
	*sidecar
	app *appreceiver.Receiver
}

// startWebhookBox starts it; extraYAML is appended to the webhooks
// section.
func startWebhookBox(t *testing.T, extraYAML string) *webhookBox {
	t.Helper()
	app := appreceiver.New()
	t.Cleanup(app.Close)
	yaml := strings.Replace(standardYAML, "    main: true\n",
		"    main: true\n    webhook_secrets: [{file: {{dir}}/main.webhook}]\n", 1) +
		"webhooks:\n  spool_dir: {{dir}}/spool\n  deliver_to: " + app.URL + "/events\n" + extraYAML
	keys := map[string]string{"main.key": keyMain + "\n", "test-space.key": keyTestA, "test-space.previous.key": keyTestB,
		"main.webhook": hookMain + "\n"}
	sc := startSidecar(t, setup{yaml: yaml, keys: keys, extraSites: hookSite + opsSite})
	sc.fake.SetWebhooks(16, restlinktest.WebhookSettings{
		DeliveryURL: hookURL + "/hooks/main/delivery", ClickURL: hookURL + "/hooks/main/click", SigningSecret: hookMain,
	})
	sc.fake.SetOptions(restlinktest.Options{TimeScale: 0.01, WebhookTimeout: 5 * time.Second})
	return &webhookBox{sidecar: sc, app: app}
}

// dlr is a delivery report's payload for message n.
func dlr(n int) map[string]any {
	return map[string]any{"message_id": fmt.Sprintf("api_42_%d", n), "recipient": "+447700900123", "sender_id": "Shop",
		"status": "DELIVRD", "status_code": "000", "num_parts": 1, "cost": 0.0085, "timestamp": "2026-11-23T10:00:00Z"}
}

// TestWebhookVerifiedSpooledDelivered: a signed webhook is acknowledged
// and reaches the app with its original body and the sidecar's headers,
// never restlink's signature.
func TestWebhookVerifiedSpooledDelivered(t *testing.T) {
	wb := startWebhookBox(t, "")
	d, err := wb.fake.SendWebhook(context.Background(), 16, restlinktest.EventDelivery, dlr(1))
	if err != nil || len(d.Attempts) != 1 || d.Attempts[0].Status != http.StatusOK {
		t.Fatalf("the webhook was not acknowledged at once: %+v %v", d.Attempts, err)
	}
	eventually(t, 5*time.Second, "the event to reach the app", func() bool { return len(wb.app.Accepted()) == 1 })
	got := wb.app.Deliveries()[0]
	if string(got.Body) != string(d.Body) {
		t.Errorf("the app got %s, restlink sent %s", got.Body, d.Body)
	}
	for name, want := range map[string]string{"X-Restlink-Workspace": "main", "X-Restlink-Workspace-Id": "16",
		"X-Restlink-Event": "delivery", "Content-Type": "application/json"} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("%s: %q, want %q", name, v, want)
		}
	}
	if id := got.EventID(); len(id) != 32 {
		t.Errorf("X-Restlink-Event-Id %q is not 32 hex digits", id)
	}
	for name := range got.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-webhook") {
			t.Errorf("the app got restlink's %s header", name)
		}
	}

	st := wb.doAt(opsURL, http.MethodGet, "/status", "")
	var status struct {
		Webhooks struct {
			Open       bool `json:"open"`
			Workspaces []struct {
				Workspace string `json:"workspace"`
				Path      string `json:"path"`
				Received  int    `json:"received"`
				Delivered int    `json:"delivered"`
				Secrets   []struct {
					Fingerprint string `json:"fingerprint"`
				} `json:"secrets"`
			} `json:"workspaces"`
		} `json:"webhooks"`
	}
	if err := json.Unmarshal([]byte(st.body), &status); err != nil {
		t.Fatal(err)
	}
	ws := status.Webhooks.Workspaces
	if !status.Webhooks.Open || len(ws) != 1 || ws[0].Workspace != "main" || ws[0].Path != "/hooks/main/{event}" ||
		ws[0].Received != 1 || ws[0].Delivered != 1 || len(ws[0].Secrets) != 1 || len(ws[0].Secrets[0].Fingerprint) != 8 {
		t.Errorf("status: %s", st.body)
	}
	// The app has the event once it answered; the receiver takes the
	// event off the spool right after: the gauge follows.
	want := []string{`restlink_webhooks_received_total{workspace="main"} 1`,
		`restlink_webhook_deliveries_total{result="delivered",workspace="main"} 1`,
		`restlink_webhook_spool_pending{workspace="main"} 0`}
	var metrics string
	eventually(t, 5*time.Second, "the delivered event's metrics", func() bool {
		metrics = wb.doAt(opsURL, http.MethodGet, "/metrics", "").body
		for _, series := range want {
			if !strings.Contains(metrics, series) {
				return false
			}
		}
		return true
	})
}

// TestWebhookRefusals: forged, stale, altered, unsigned and replayed
// webhooks are refused (or, replayed, not delivered twice); other paths,
// workspaces, events and methods find nothing; and no refusal tells the
// outside more than its status.
func TestWebhookRefusals(t *testing.T) {
	wb := startWebhookBox(t, "  max_body_bytes: 1024\n")
	ctx := context.Background()
	for _, tamper := range []restlinktest.Tamper{restlinktest.TamperSignature, restlinktest.TamperStale,
		restlinktest.TamperBody, restlinktest.TamperUnsigned} {
		d, err := wb.fake.SendTamperedWebhook(ctx, 16, restlinktest.EventDelivery, dlr(1), tamper)
		if err == nil || d.Attempts[0].Status != http.StatusUnauthorized {
			t.Errorf("%v: answered %d, want 401", tamper, d.Attempts[0].Status)
		}
	}
	first, err := wb.fake.SendWebhook(ctx, 16, restlinktest.EventDelivery, dlr(2))
	if err != nil {
		t.Fatal(err)
	}
	replayed, err := wb.fake.ReplayWebhook(ctx, first.ID) // the same bytes and signature again
	if err != nil {
		t.Fatalf("a replay within the window is acknowledged (it is not spooled again): %v", err)
	}
	again, err := wb.fake.SendWebhook(ctx, 16, restlinktest.EventDelivery, dlr(2)) // restlink's retry, freshly signed
	if err != nil || replayed.Attempts[0].Status != http.StatusOK || again.Attempts[0].Status != http.StatusOK {
		t.Fatalf("duplicates should be acknowledged: %v", err)
	}
	eventually(t, 5*time.Second, "the event to reach the app", func() bool { return len(wb.app.Accepted()) == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := len(wb.app.Deliveries()); n != 1 {
		t.Errorf("the app got %d deliveries of one event received three times", n)
	}

	signed := func(body string, age time.Duration) []string {
		ts := strconv.FormatInt(time.Now().Add(-age).Unix(), 10)
		return []string{"Content-Type: application/json", "X-Webhook-Timestamp: " + ts,
			"X-Webhook-Signature: " + restlinktest.SignWebhook(hookMain, ts, []byte(body))}
	}
	body := `{"message_id":"api_42_3","status":"DELIVRD"}`
	for _, tc := range []struct {
		name, method, path, body string
		headers                  []string
		want                     int
	}{
		{"stale replay of a captured webhook", "POST", "/hooks/main/delivery", body, signed(body, 6*time.Minute), 401},
		{"timestamp from the future", "POST", "/hooks/main/delivery", body, signed(body, -6*time.Minute), 401},
		{"unknown workspace", "POST", "/hooks/nobody/delivery", body, signed(body, 0), 404},
		{"workspace without webhook secrets", "POST", "/hooks/test-space/delivery", body, signed(body, 0), 404},
		{"unknown event", "POST", "/hooks/main/sms", body, signed(body, 0), 404},
		{"another path", "POST", "/status", body, signed(body, 0), 404},
		{"a trailing slash", "POST", "/hooks/main/delivery/", body, signed(body, 0), 404},
		{"an escaped workspace", "POST", "/hooks/ma%69n/delivery", body, signed(body, 0), 404},
		{"the root", "GET", "/", "", nil, 404},
		{"GET", "GET", "/hooks/main/delivery", "", nil, 405},
		{"too large", "POST", "/hooks/main/delivery", strings.Repeat("x", 1025), signed(strings.Repeat("x", 1025), 0), 413},
	} {
		a := wb.doAt(hookURL, tc.method, tc.path, tc.body, tc.headers...)
		if a.status != tc.want || a.body != "" {
			t.Errorf("%s: %d %q, want %d and no body", tc.name, a.status, a.body, tc.want)
		}
		for name := range a.header {
			if strings.HasPrefix(strings.ToLower(name), "x-restlink") {
				t.Errorf("%s: the answer carries %s", tc.name, name)
			}
		}
	}
	if a := wb.doAt(hookURL, "POST", "/hooks/main/delivery", body, signed(body, 0)...); a.status != http.StatusOK {
		t.Errorf("a good webhook after the refusals: %d", a.status)
	}
	metrics := wb.doAt(opsURL, http.MethodGet, "/metrics", "").body
	for _, series := range []string{`restlink_webhooks_refused_total{reason="bad_signature"} 2`,
		`restlink_webhooks_refused_total{reason="stale_timestamp"} 3`, `restlink_webhooks_refused_total{reason="missing_signature"} 1`,
		`restlink_webhooks_refused_total{reason="not_found"} 7`, `restlink_webhooks_refused_total{reason="too_large"} 1`,
		`restlink_webhooks_duplicates_total{workspace="main"} 2`} {
		if !strings.Contains(metrics, series) {
			t.Errorf("metrics lack %s", series)
		}
	}
}

// TestWebhookSecretRotation: with the old and the new secret listed, both
// are accepted, so restlink can switch at any moment; once the old one is
// removed from the config, it is refused.
func TestWebhookSecretRotation(t *testing.T) {
	wb := startWebhookBox(t, "")
	ctx := context.Background()
	wb.write("main.webhook2", hookMain2)
	cfg := filepath.Join(wb.dir, "config.yaml")
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	both := strings.Replace(string(raw), "webhook_secrets: [{file: "+wb.dir+"/main.webhook}]",
		"webhook_secrets: [{file: "+wb.dir+"/main.webhook}, {file: "+wb.dir+"/main.webhook2}]", 1)
	wb.write("config.yaml", both)
	eventually(t, 5*time.Second, "the second secret to load", func() bool {
		return strings.Contains(wb.logs(), "workspace webhook secrets changed")
	})
	for i, secret := range []string{hookMain, hookMain2, hookMain} {
		wb.fake.SetWebhooks(16, restlinktest.WebhookSettings{DeliveryURL: hookURL + "/hooks/main/delivery", SigningSecret: secret})
		if d, err := wb.fake.SendWebhook(ctx, 16, restlinktest.EventDelivery, dlr(10+i)); err != nil || len(d.Attempts) != 1 {
			t.Fatalf("secret %d during the overlap: %v %+v", i, err, d.Attempts)
		}
	}
	wb.write("config.yaml", strings.Replace(both, "{file: "+wb.dir+"/main.webhook}, ", "", 1))
	eventually(t, 5*time.Second, "the old secret to be dropped", func() bool {
		return strings.Count(wb.logs(), "workspace webhook secrets changed") == 2
	})
	d, err := wb.fake.SendTamperedWebhook(ctx, 16, restlinktest.EventDelivery, dlr(20), 0)
	if err == nil || d.Attempts[0].Status != http.StatusUnauthorized {
		t.Errorf("the removed secret is still accepted: %+v", d.Attempts)
	}
	eventually(t, 5*time.Second, "the accepted events to reach the app", func() bool { return len(wb.app.Accepted()) == 3 })
}

// TestWebhookAppDown: while the app answers 503 the events wait in the
// spool (status shows them); when it is back, each arrives once.
func TestWebhookAppDown(t *testing.T) {
	wb := startWebhookBox(t, "")
	wb.app.SetStatus(http.StatusServiceUnavailable)
	for i := range 20 {
		if _, err := wb.fake.SendWebhook(context.Background(), 16, restlinktest.EventDelivery, dlr(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "the app's failures to be logged", func() bool {
		return strings.Contains(wb.logs(), "webhook deliveries to the app are failing")
	})
	st := wb.doAt(opsURL, http.MethodGet, "/status", "").body
	if !strings.Contains(st, `"pending": 20`) || !strings.Contains(st, `"failing": true`) {
		t.Errorf("status does not show the events waiting: %s", st)
	}
	wb.app.SetStatus(http.StatusOK)
	eventually(t, 15*time.Second, "every event to reach the app", func() bool { return len(wb.app.Accepted()) == 20 })
	for id, n := range wb.app.Accepted() {
		if n != 1 {
			t.Errorf("event %s taken %d times", id, n)
		}
	}
	eventually(t, 5*time.Second, "the recovery to be logged", func() bool {
		return strings.Contains(wb.logs(), "webhook deliveries to the app resumed")
	})
}

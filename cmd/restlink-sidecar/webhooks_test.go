package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/appreceiver"
	"github.com/23telecom/restlink-sidecar/internal/redistest"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// webhookSecret is workspace main's webhook signing secret in these tests.
const webhookSecret = "hookSECRETqz81hookSECRETqz81"

// webhookYAML is the black-box config with webhooks for workspace main;
// {{app}} is the app's receiver.
var webhookYAML = strings.Replace(blackBoxYAML, "    keys: [{file: {{dir}}/good.key}]\n",
	"    keys: [{file: {{dir}}/good.key}]\n    webhook_secrets: [{file: {{dir}}/main.webhook}]\n", 1) + `
webhooks:
  spool_dir: {{dir}}/spool
  deliver_to: {{app}}/events
`

// startWebhookBox runs a sidecar with a webhook site delivering to app;
// extraYAML is appended to the config.
func startWebhookBox(t *testing.T, app *appreceiver.Receiver, extraYAML string) *blackBox {
	t.Helper()
	yaml := strings.ReplaceAll(webhookYAML, "{{app}}", app.URL) + extraYAML
	return startBlackBoxWith(t, yaml, boxOptions{webhooks: true, files: map[string]string{"main.webhook": webhookSecret}})
}

// webhookFake is a restlink whose workspace 16 posts its delivery reports
// to bb, signed; time runs 60 times faster for its retries (10 s, 30 s).
func webhookFake(t *testing.T, bb *blackBox, opts restlinktest.Options) *restlinktest.Server {
	t.Helper()
	fake := restlinktest.NewServer(restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{goodKey}})
	t.Cleanup(fake.Close)
	fake.SetWebhooks(16, restlinktest.WebhookSettings{DeliveryURL: bb.hooks + "/hooks/main/delivery", SigningSecret: webhookSecret})
	opts.TimeScale, opts.WebhookTimeout = 1.0/60, 5*time.Second
	fake.SetOptions(opts)
	return fake
}

// report is a delivery report's payload for message n.
func report(n int) map[string]any {
	return map[string]any{"message_id": fmt.Sprintf("api_42_%d", n), "recipient": "+447700900123", "sender_id": "Shop",
		"status": "DELIVRD", "status_code": "000", "num_parts": 1, "cost": 0.0085, "timestamp": "2026-11-23T10:00:00Z"}
}

// sendReports has the fake post delivery reports first..first+n-1, batch
// at a time, and fails the test unless each was acknowledged (of the last
// 1,000, which the fake's log keeps).
func sendReports(t *testing.T, fake *restlinktest.Server, first, n, batch int) {
	t.Helper()
	for start := first; start < first+n; start += batch {
		for i := start; i < min(start+batch, first+n); i++ {
			if _, err := fake.QueueWebhook(16, restlinktest.EventDelivery, report(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := fake.WaitWebhooks(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range fake.WebhookDeliveries() {
		if !d.Delivered {
			t.Fatalf("webhook %s was not acknowledged: %+v", d.ID, d.Attempts)
		}
	}
}

// wantEachOnce waits until the app has taken n distinct events, then
// checks that it took none twice.
func wantEachOnce(t *testing.T, app *appreceiver.Receiver, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(app.Accepted()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the app took %d of %d events in %v", len(app.Accepted()), n, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // room for a second delivery, if there were one
	accepted := app.Accepted()
	if len(accepted) != n {
		t.Errorf("the app took %d distinct events, want %d", len(accepted), n)
	}
	for id, times := range accepted {
		if times != 1 {
			t.Errorf("event %s taken %d times", id, times)
		}
	}
}

// TestWebhooksAppDownThenUp: the app is down for 2 simulated minutes
// while restlink posts 1,000 delivery reports, and posts each of them a
// second time (restlink may replay delivered webhooks). Every post is
// acknowledged at once; once the app is back, each event reaches it
// exactly once.
func TestWebhooksAppDownThenUp(t *testing.T) {
	app := appreceiver.New()
	defer app.Close()
	app.SetStatus(http.StatusServiceUnavailable)
	bb := startWebhookBox(t, app, "")
	fake := webhookFake(t, bb, restlinktest.Options{ReplayDelivered: true})
	down := time.Now()
	sendReports(t, fake, 0, 1000, 100)
	if err := fake.WaitWebhooks(context.Background()); err != nil { // the replays
		t.Fatal(err)
	}
	for _, d := range fake.WebhookDeliveries() { // the latest 1,000
		if !d.Delivered {
			t.Fatalf("webhook %s (replay: %v) was not acknowledged: %+v", d.ID, d.Replay, d.Attempts)
		}
	}
	if got := bb.metric(`restlink_webhooks_received_total{workspace="main"}`); got != "1000" {
		t.Errorf("events spooled: %s, want 1000", got)
	}
	time.Sleep(time.Until(down.Add(2 * time.Second))) // 2 minutes at the fake's pace
	if n := len(app.Accepted()); n != 0 {
		t.Fatalf("the app took %d events while down", n)
	}
	app.SetStatus(http.StatusOK)
	wantEachOnce(t, app, 1000, 90*time.Second)
	if v := bb.metric(`restlink_webhooks_duplicates_total{workspace="main"}`); v != "1000" {
		t.Errorf("duplicates counted: %s, want 1000", v)
	}
	if v := bb.metric(`restlink_webhook_spool_pending{workspace="main"}`); v != "0" {
		t.Errorf("spool pending: %s, want 0", v)
	}
}

// TestWebhooksSurviveKill9: events acknowledged to restlink while the app
// is down are on disk: after a kill -9 and a restart, every one reaches
// the app.
func TestWebhooksSurviveKill9(t *testing.T) {
	app := appreceiver.New()
	defer app.Close()
	app.SetStatus(http.StatusServiceUnavailable)
	bb := startWebhookBox(t, app, "")
	fake := webhookFake(t, bb, restlinktest.Options{})
	sendReports(t, fake, 0, 200, 50)
	bb.kill9()
	if n := len(app.Accepted()); n != 0 {
		t.Fatalf("the app took %d events before the crash", n)
	}
	app.SetStatus(http.StatusOK)
	bb.start()
	wantEachOnce(t, app, 200, 60*time.Second)
}

// TestWebhooksTwoReplicasDeliverOnce: two sidecars sharing a Redis receive
// every event at the same moment (restlink's retry reaching the other
// replica behind a load balancer); the app gets each event once.
func TestWebhooksTwoReplicasDeliverOnce(t *testing.T) {
	app := appreceiver.New()
	defer app.Close()
	redis := redistest.Start(t)
	store := "store:\n  redis:\n    url: redis://" + redis.Addr + "\n    timeout: 10s\n"
	replicas := []*blackBox{startWebhookBox(t, app, store), startWebhookBox(t, app, store)}

	const events = 200
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	post := func(base string, n int) error {
		body := fmt.Sprintf(`{"message_id":"api_42_%d","status":"DELIVRD","status_code":"000"}`, n)
		for attempt := 0; ; attempt++ {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			req, _ := http.NewRequest(http.MethodPost, base+"/hooks/main/delivery", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Webhook-Timestamp", ts)
			req.Header.Set("X-Webhook-Signature", restlinktest.SignWebhook(webhookSecret, ts, []byte(body)))
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
				return nil
			case resp.StatusCode != http.StatusServiceUnavailable || attempt == 20:
				return fmt.Errorf("event %d: %s", n, resp.Status)
			}
			time.Sleep(100 * time.Millisecond) // the other replica is spooling it: restlink tries again later
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*events)
	for n := range events {
		for _, bb := range replicas {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- post(bb.hooks, n) }()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantEachOnce(t, app, events, 30*time.Second)
	spooled := 0
	for _, bb := range replicas {
		n, _ := strconv.Atoi(bb.metric(`restlink_webhooks_received_total{workspace="main"}`))
		spooled += n
	}
	if spooled != events {
		t.Errorf("the replicas spooled %d events between them, want %d", spooled, events)
	}
}

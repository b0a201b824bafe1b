package main

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/appreceiver"
	"github.com/23telecom/restlink-sidecar/internal/monitoring"
	"github.com/23telecom/restlink-sidecar/internal/redistest"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// monitoringYAML is a sidecar with every part that exports metrics: a
// send policy with a budget and fraud signals, a ledger, spend alerts, a
// Redis store, webhooks, and a second workspace whose breaker the test
// opens. The signals' windows are short, and a single send after three
// idle ones is a surge.
// {{redis}}, {{app}} and {{alerts}} are replaced.
const monitoringYAML = `
upstream:
  url: {{upstream}}
  timeout: 5s
workspaces:
  main:
    id: 16
    main: true
    keys: [{file: {{dir}}/good.key}]
    webhook_secrets: [{file: {{dir}}/main.webhook}]
  flaky:
    id: 17
    keys: [{file: {{dir}}/good2.key}]
tenants:
  acme: main
  flaky: flaky
breaker:
  consecutive_failures: 2
  open_timeout: 1m
policy:
  default:
    countries: [GB]
    budget: {daily: 1.00, soft_at: 0.01}  # the first send crosses soft_at
    anomaly: {mode: enforce, window: 2s, volume: {sigma: 1, min_sends: 1}}
ledger:
  dir: {{dir}}/ledger
  currency: EUR
alerts:
  url: {{alerts}}/alerts
store:
  redis:
    url: {{redis}}
    timeout: 5s
webhooks:
  spool_dir: {{dir}}/spool
  deliver_to: {{app}}/events
`

// TestMonitoringUsesExportedMetrics: every metric the alert rules and the
// dashboard in deploy/ use is one a running sidecar exports. The sidecar
// runs with a policy, a budget and its ledger, Redis and webhooks, and is
// sent what creates the series that appear only once something happened
// (a forwarded send that crosses its budget's soft_at, a refused one, a
// breaker that opened, a webhook delivered to the app, the send's
// delivery report, and a second send three signal windows after the
// first, which the volume signal measures against a baseline and
// quarantines); then its operators' /metrics is scraped.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	rules, _, dash, err := monitoring.Load("../..")
	if err != nil {
		t.Fatal(err)
	}
	redis := redistest.Start(t)
	app := appreceiver.New()
	defer app.Close()
	fake := restlinktest.NewServer(
		restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{goodKey}},
		restlinktest.Workspace{ID: 17, Name: "flaky", Keys: []string{goodKey + "2"}})
	t.Cleanup(fake.Close)
	fake.SetPrices(16, []restlinktest.Price{{Dialcode: "44", Rate: "0.04", Country: "c44", Network: "n"}})
	alerts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(alerts.Close)
	yaml := strings.NewReplacer("{{redis}}", redis.URL, "{{app}}", app.URL, "{{alerts}}", alerts.URL).Replace(monitoringYAML)
	bb := startBlackBoxWith(t, yaml, boxOptions{upstream: fake.URL, webhooks: true, files: map[string]string{"main.webhook": webhookSecret}})

	first := bb.post("/api/v1/sms/send", sendTo("hi", "+447400123456"), "X-Tenant: acme")
	if first.status != http.StatusOK {
		t.Fatalf("a send within the policy: %d %s", first.status, first.body)
	}
	firstAt := time.Now()
	if a := bb.post("/api/v1/sms/send", sendTo("hi", "+14155550100"), "X-Tenant: acme"); a.status != http.StatusForbidden {
		t.Fatalf("a send the policy refuses: %d %s", a.status, a.body)
	}
	fake.Inject(restlinktest.Fault{WorkspaceID: 17, Path: "/api/v1/sms/stats/by-country", Status: http.StatusServiceUnavailable})
	for range 2 { // breaker.consecutive_failures
		if status, body := bb.do(http.MethodGet, "/api/v1/sms/stats/by-country", "", "X-Tenant: flaky"); status != http.StatusServiceUnavailable {
			t.Fatalf("a request restlink fails: %d %s", status, body)
		}
	}
	fake.SetWebhooks(16, restlinktest.WebhookSettings{DeliveryURL: bb.hooks + "/hooks/main/delivery", SigningSecret: webhookSecret})
	sendReports(t, fake, 1, 1, 1)
	wantEachOnce(t, app, 1, 10*time.Second)

	// Three 2-second windows after the first send's, with the first as
	// its baseline, a second send is above the volume's threshold; the
	// first send's delivery report gives a delivery ratio. A reading is
	// shown for two windows after its last evaluation: both come just
	// before the scrape.
	window := 2 * time.Second
	time.Sleep(time.Until(firstAt.Truncate(window).Add(3 * window)))
	if a := bb.post("/api/v1/sms/send", sendTo("hi", "+447400123456"), "X-Tenant: acme"); a.status != http.StatusOK {
		t.Fatalf("a send three windows later: %d %s", a.status, a.body)
	}
	for _, r := range (sent{answer: first}).parse(t).Results {
		if err := fake.Deliver(r.MessageID, "DELIVRD"); err != nil {
			t.Fatal(err)
		}
	}
	if err := fake.WaitWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the first send's delivery report to be reconciled", func() bool {
		return bb.metric(`restlink_reconciliations_total{outcome="reconciled"}`) == "1"
	})
	eventually(t, 5*time.Second, "the volume signal to quarantine acme's sends to GB", func() bool {
		return bb.metric(`restlink_quarantined{country="GB",mode="enforce",signal="volume",tenant="acme"}`) == "1"
	})

	types := scrapeTypes(t, bb)
	for _, source := range []struct {
		file  string
		exprs []string
	}{{monitoring.RulesFile, rules.Exprs()}, {monitoring.DashboardFile, dash.Exprs()}} {
		used := monitoring.MetricNames(source.exprs...)
		if len(used) < 10 {
			t.Errorf("%s uses only %d metrics: %v", source.file, len(used), used)
		}
		for _, name := range used {
			if !exported(name, types) {
				t.Errorf("%s uses %s, which the sidecar does not export", source.file, name)
			}
		}
	}
}

// exported reports whether a metric name used in a query is a metric
// family of the scrape, or a histogram's series (_bucket, _sum, _count).
func exported(name string, types map[string]string) bool {
	if _, ok := types[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if family, ok := strings.CutSuffix(name, suffix); ok && types[family] == "histogram" {
			return true
		}
	}
	return false
}

// scrapeTypes scrapes the operators' /metrics and returns each metric
// family's type (counter, gauge, histogram, …), from its # TYPE line: a
// family is listed only when it has series.
func scrapeTypes(t *testing.T, bb *blackBox) map[string]string {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, bb.ops+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	types := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return types
}

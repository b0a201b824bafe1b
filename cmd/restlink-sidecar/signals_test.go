package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/redistest"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// pumpingPolicy: acme enforces its signals, beta only watches them
// (shadow), gamma has none. Windows are short for the tests.
const pumpingPolicy = `policy:
  default:
    anomaly: {mode: enforce, window: 1m, delivery_ratio_below: 0.3, min_reports: 10, volume: {sigma: 0}, quarantine_for: 1h}
    trusted_numbers: {file: {{dir}}/trusted.txt}
  tenants:
    beta: {anomaly: {mode: shadow, window: 1m, min_reports: 10, volume: {sigma: 0}}}
    gamma: {}
`

// signalsYAML is the money fixture with policy in place of its own.
func signalsYAML(policy string) string {
	before, after, _ := strings.Cut(moneyYAML, "policy:\n")
	_, rest, _ := strings.Cut(after, "ledger:\n")
	return before + policy + "ledger:\n" + rest
}

// frNumber is the i-th of a range of French mobile numbers: the pumped
// range of the tests.
func frNumber(i int) string { return fmt.Sprintf("+3361234%04d", i) }

// trustedFR is a French number in the trusted-numbers file.
const trustedFR = "+33698765432"

// startSignalBox starts a sidecar with policy in the money fixture, in
// front of fake, its delivery reports coming back to it.
func startSignalBox(t *testing.T, fake *restlinktest.Server, policy, extra string, files map[string]string) *moneyBox {
	t.Helper()
	mb := startSidecarWith(t, fake, signalsYAML(policy)+extra, files)
	fake.SetWebhooks(16, restlinktest.WebhookSettings{DeliveryURL: mb.hooks + "/hooks/main/delivery", SigningSecret: webhookSecret})
	return mb
}

// pump sends n messages as tenant to distinct numbers of the French
// range, from first, and has restlink report each UNDELIV; it waits until
// the sidecar reconciled them all.
func pump(t *testing.T, mb *moneyBox, tenant string, first, n int, message string) {
	t.Helper()
	before := mb.metric(`restlink_reconciliations_total{outcome="reconciled"}`)
	var ids []string
	for i := first; i < first+n; i++ {
		s := mb.sendAs(tenant, message, frNumber(i))
		if s.answer.status != http.StatusOK {
			t.Fatalf("pumping send %d of %s: %d %s", i, tenant, s.answer.status, s.answer.body)
		}
		for _, r := range s.parse(t).Results {
			ids = append(ids, r.MessageID)
		}
	}
	for _, id := range ids {
		if err := mb.fake.Deliver(id, "UNDELIV"); err != nil {
			t.Fatal(err)
		}
	}
	if err := mb.fake.WaitWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(atoi(before) + len(ids))
	eventually(t, 20*time.Second, "the reports to be reconciled", func() bool {
		return mb.metric(`restlink_reconciliations_total{outcome="reconciled"}`) == want
	})
}

// atoi reads a metric's value; "" is 0.
func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

// quarantineCommand runs the quarantine command on the box's config.
func (mb *moneyBox) quarantineCommand(args ...string) string {
	mb.t.Helper()
	cmd := sidecarCommand(append([]string{"quarantine", args[0], mb.dir + "/config.yaml"}, args[1:]...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		mb.t.Fatalf("quarantine %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

// TestPumpingQuarantine: acme's sends to a French range come back
// UNDELIV. Once min_reports reports arrived, its next send to France is
// refused 403 DESTINATION_QUARANTINED with a Retry-After, while its sends
// to Britain, other tenants' sends to France and its trusted number go
// through; an alert arrives once. beta, in shadow mode, is only logged,
// counted and alerted. The quarantine survives a restart, the quarantine
// command lists and lifts it, and no number or text appears anywhere.
func TestPumpingQuarantine(t *testing.T) {
	alerts := newAlertReceiver(t, false)
	fake := newMoneyFake(t, restlinktest.Options{})
	mb := startSignalBox(t, fake, pumpingPolicy, "alerts:\n  url: "+alerts.URL+"/alerts\n",
		map[string]string{"trusted.txt": "# staff\n" + trustedFR + "\n"})
	const text = "Your code is 918273 pumpsecret"
	pump(t, mb, "acme", 0, 9, text)
	if s := mb.sendAs("acme", text, frNumber(100)); s.answer.status != http.StatusOK {
		t.Fatalf("with 9 of min_reports 10 reports: %d %s", s.answer.status, s.answer.body)
	}
	pump(t, mb, "acme", 9, 1, text)

	refused := mb.sendAs("acme", text, frNumber(101))
	if refused.answer.status != http.StatusForbidden || !strings.Contains(refused.answer.body, `"DESTINATION_QUARANTINED"`) ||
		refused.answer.header.Get("Retry-After") == "" {
		t.Fatalf("after 10 UNDELIV reports: %d %v %s; want 403 DESTINATION_QUARANTINED with Retry-After", refused.answer.status, refused.answer.header, refused.answer.body)
	}
	for _, s := range []sent{mb.sendAs("acme", text, numberGB), mb.sendAs("beta", text, frNumber(102)), mb.sendAs("gamma", text, frNumber(103)),
		mb.sendAs("acme", text, trustedFR)} {
		if s.answer.status != http.StatusOK {
			t.Errorf("%s to %s: %d %s; want it sent", s.tenant, countryOf(s.numbers[0]), s.answer.status, s.answer.body)
		}
	}

	// The trusted-numbers file is watched: a number added to it goes
	// through within seconds.
	if s := mb.sendAs("acme", text, frNumber(500)); s.answer.status != http.StatusForbidden {
		t.Fatalf("an untrusted number: %d %s", s.answer.status, s.answer.body)
	}
	mb.write("trusted.txt", trustedFR+"\n"+frNumber(500)+"\n")
	eventually(t, 10*time.Second, "a number added to the trusted file to go through", func() bool {
		return mb.sendAs("acme", text, frNumber(500)).answer.status == http.StatusOK
	})

	// beta pumps the same range in shadow mode: alerted, never refused.
	pump(t, mb, "beta", 200, 10, text)
	if s := mb.sendAs("beta", text, frNumber(300)); s.answer.status != http.StatusOK {
		t.Errorf("beta in shadow mode: %d %s", s.answer.status, s.answer.body)
	}
	eventually(t, 10*time.Second, "a quarantine alert for acme and a signal_shadow alert for beta", func() bool {
		return len(signalAlerts(alerts, "quarantine", "acme")) == 1 && len(signalAlerts(alerts, "signal_shadow", "beta")) == 1
	})
	a := signalAlerts(alerts, "quarantine", "acme")[0]
	if a["country"] != "FR" || a["signal"] != "delivery_ratio" || numberText(a["value"]) != "0" || numberText(a["threshold"]) != "0.3" || numberText(a["count"]) != "10" {
		t.Errorf("quarantine alert %v", a)
	}
	if got := mb.metric(`restlink_policy_decisions_total{outcome="would_refuse",rule="quarantine",tenant="beta"}`); got != "1" {
		t.Errorf("beta's shadow quarantine counted %q would-be refusals, want 1", got)
	}
	if got := mb.metric(`restlink_quarantined{country="FR",mode="enforce",signal="delivery_ratio",tenant="acme"}`); got != "1" {
		t.Errorf("restlink_quarantined for acme FR: %q", got)
	}
	list := mb.quarantineCommand("list")
	if !strings.Contains(list, "TENANT") || !regexpLine(list, `acme\s+FR\s+delivery_ratio\s+enforce`) || !regexpLine(list, `beta\s+FR\s+delivery_ratio\s+shadow`) {
		t.Errorf("quarantine list:\n%s", list)
	}

	// The quarantine survives a crash.
	mb.kill9()
	mb.start()
	mb.waitForPrices()
	if s := mb.sendAs("acme", text, frNumber(104)); s.answer.status != http.StatusForbidden {
		t.Errorf("after a restart: %d %s; want the quarantine to hold", s.answer.status, s.answer.body)
	}

	// Lifted, acme sends to France again, within 10 s.
	mb.quarantineCommand("lift", "acme", "FR")
	eventually(t, 10*time.Second, "the lift to take effect", func() bool {
		return mb.sendAs("acme", text, frNumber(105)).answer.status == http.StatusOK
	})
	if list := mb.quarantineCommand("list"); strings.Contains(list, "acme") {
		t.Errorf("acme is still listed after the lift:\n%s", list)
	}

	// Nothing personal anywhere: logs, status, metrics, alerts, the
	// quarantine file.
	var alertBodies []string
	for _, at := range alerts.seen() {
		b, _ := json.Marshal(at.alert)
		alertBodies = append(alertBodies, string(b))
	}
	book, _ := os.ReadFile(filepath.Join(mb.dir, "ledger", "quarantines.json"))
	outputs := map[string]string{"log": mb.logs(), "status": fmt.Sprint(mb.status()), "metrics": mb.scrape(), "alerts": strings.Join(alertBodies, "\n"),
		"quarantine file": string(book), "list": list}
	for name, out := range outputs {
		out = withoutFractions(out)
		for _, secret := range []string{"918273", "pumpsecret", "61234", "698765432", "7400123456"} {
			if strings.Contains(out, secret) {
				t.Errorf("the %s holds %q: a phone number or message text", name, secret)
			}
		}
	}
}

// signalAlerts returns the alerts taken of a type and tenant.
func signalAlerts(ar *alertReceiver, typ, tenant string) []map[string]any {
	var out []map[string]any
	for _, a := range ar.seen() {
		if a.taken && a.alert["type"] == typ && a.alert["tenant"] == tenant {
			out = append(out, a.alert)
		}
	}
	return out
}

// TestVolumeSignal: in 2-second windows with a 5-window baseline, acme
// sends steadily and then ten times its rate to Britain, and is
// quarantined there; beta, sending steadily with ±20% jitter, and gamma,
// growing 10% a window, are never quarantined over the same run.
func TestVolumeSignal(t *testing.T) {
	const policy = `policy:
  default:
    anomaly: {mode: enforce, window: 2s, delivery_ratio_below: 0, volume: {sigma: 6, min_sends: 20, baseline: 10s}, quarantine_for: 1h}
`
	fake := newMoneyFake(t, restlinktest.Options{})
	mb := startSignalBox(t, fake, policy, "", nil)
	jitter := []float64{1.0, 1.2, 0.8, 1.15, 0.85, 1.2, 0.8, 1.1, 0.9, 1.2}
	gbNumbers := func(tenant string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("+4474%02d%06d", len(tenant), i)
		}
		return out
	}
	sendAll := func(tenant string, n int) answer {
		var last answer
		for n > 0 {
			batch := min(n, 100)
			last = mb.sendAs(tenant, "hello", gbNumbers(tenant, batch)...).answer
			n -= batch
		}
		return last
	}
	growth := 30.0
	for w := range len(jitter) {
		// Each window's sends start 200 ms into it and take a few ms.
		window := 2 * time.Second
		next := time.Now().Truncate(window).Add(window + 200*time.Millisecond)
		time.Sleep(time.Until(next))
		acme := 40
		if w == 7 {
			acme = 400 // ten times its rate
		}
		var wg sync.WaitGroup
		results := map[string]answer{}
		var mu sync.Mutex
		for tenant, n := range map[string]int{"acme": acme, "beta": int(40 * jitter[w]), "gamma": int(growth)} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := sendAll(tenant, n)
				mu.Lock()
				results[tenant] = a
				mu.Unlock()
			}()
		}
		wg.Wait()
		growth *= 1.10
		for tenant, a := range results {
			switch {
			case a.status == http.StatusOK, tenant == "acme" && w > 7:
			case tenant == "acme" && w == 7 && strings.Contains(a.body, "DESTINATION_QUARANTINED"):
				// The signal's tick (every second) saw the surge between
				// its batches: a quarantine may come that soon.
			default:
				t.Fatalf("window %d: %s's send: %d %s", w, tenant, a.status, a.body)
			}
		}
		if w == 7 {
			eventually(t, 5*time.Second, "acme's surge to quarantine Britain", func() bool {
				return mb.sendAs("acme", "hello", numberGB).answer.status == http.StatusForbidden
			})
		}
	}
	list := mb.quarantineCommand("list")
	if !regexpLine(list, `acme\s+GB\s+volume\s+enforce`) || strings.Contains(list, "beta") || strings.Contains(list, "gamma") {
		t.Errorf("quarantines after the run (want acme GB only):\n%s", list)
	}
	if got := mb.metric(`restlink_signal_alerts_total{signal="volume",tenant="acme",type="quarantine"}`); got != "1" {
		t.Errorf("acme's volume alerts: %q, want 1", got)
	}
}

// TestFleetQuarantine: three sidecars on one Redis; the reports reach one
// of them, and the quarantine it places holds on all three. A lift with
// the quarantine command frees all three within 10 s.
func TestFleetQuarantine(t *testing.T) {
	rds := redistest.Start(t)
	fake := newMoneyFake(t, restlinktest.Options{})
	extra := "store:\n  redis:\n    url: redis://" + rds.Addr + "\n    timeout: 10s\n"
	files := map[string]string{"trusted.txt": trustedFR + "\n"}
	first := startSignalBox(t, fake, pumpingPolicy, extra, files)
	boxes := []*moneyBox{first, startSidecarWith(t, fake, signalsYAML(pumpingPolicy)+extra, files), startSidecarWith(t, fake, signalsYAML(pumpingPolicy)+extra, files)}
	pump(t, first, "acme", 0, 10, "hi")
	for i, b := range boxes {
		eventually(t, 5*time.Second, fmt.Sprintf("sidecar %d to hold the quarantine", i), func() bool {
			return b.sendAs("acme", "hi", frNumber(50+i)).answer.status == http.StatusForbidden
		})
		if s := b.sendAs("beta", "hi", frNumber(60+i)); s.answer.status != http.StatusOK {
			t.Errorf("sidecar %d refused beta: %d %s", i, s.answer.status, s.answer.body)
		}
	}
	if list := boxes[2].quarantineCommand("list"); !regexpLine(list, `acme\s+FR\s+delivery_ratio\s+enforce`) {
		t.Errorf("quarantine list from the shared store:\n%s", list)
	}
	boxes[1].quarantineCommand("lift", "acme", "FR")
	for i, b := range boxes {
		eventually(t, 10*time.Second, fmt.Sprintf("sidecar %d to take the lift", i), func() bool {
			return b.sendAs("acme", "hi", frNumber(70+i)).answer.status == http.StatusOK
		})
	}
}

// decimalFraction is a number with a fractional part: a log line's
// timestamp or duration, a metric's value.
var decimalFraction = regexp.MustCompile(`[0-9]*\.[0-9]+(?:[eE][-+]?[0-9]+)?`)

// withoutFractions is out with its decimal fractions blanked, for a search
// of the short digit runs of a phone number: a timestamp such as
// 1796519117.8612347 can hold any of them (that one failed a run with
// 61234), and a phone number is never written as a fraction.
func withoutFractions(out string) string {
	return decimalFraction.ReplaceAllString(out, "#")
}

// regexpLine reports whether a line of out matches pattern.
func regexpLine(out, pattern string) bool {
	return regexp.MustCompile(`(?m)^` + pattern).MatchString(out)
}

// scrape returns the operators' /metrics whole.
func (bb *blackBox) scrape() string {
	bb.t.Helper()
	resp, err := http.Get(bb.ops + "/metrics")
	if err != nil {
		bb.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestWithoutFractions blanks the digits of timestamps and metric values,
// and keeps a phone number's.
func TestWithoutFractions(t *testing.T) {
	log := `{"ts":1796519117.8612347,"duration":0.000393817,"to":"+3361234000"} go_gc_duration_seconds_sum 1.61234e-03`
	got := withoutFractions(log)
	if strings.Count(got, "61234") != 1 || !strings.Contains(got, "+3361234000") {
		t.Errorf("withoutFractions(%s) = %s, want only the phone number's 61234 kept", log, got)
	}
}

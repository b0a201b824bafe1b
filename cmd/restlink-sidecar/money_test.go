package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/appreceiver"
	"github.com/23telecom/restlink-sidecar/internal/redistest"
	"github.com/23telecom/restlink-sidecar/module/ledger"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// The money fixture: tenants acme and beta send through workspace main,
// gamma through premium, whose product has other rates. Every tenant has
// a daily budget of 10 EUR but beta, whose budget is monthly.
const (
	moneyMainKey    = "sk_prod_MONEYmainMONEYmain01"
	moneyPremiumKey = "sk_prod_MONEYpremMONEYprem02"
	moneyYAML       = `
upstream:
  url: {{upstream}}
  timeout: 10s
workspaces:
  main:
    id: 16
    main: true
    keys: [{file: {{dir}}/main.key}]
    webhook_secrets: [{file: {{dir}}/main.webhook}]
  premium:
    id: 17
    keys: [{file: {{dir}}/premium.key}]
tenants:
  acme: main
  beta: main
  gamma: premium
  shade: premium
policy:
  default:
    budget: {daily: 10.00, soft_at: 0.5}
  tenants:
    beta: {budget: {monthly: 1000}}
    shade: {mode: shadow, budget: {daily: 0.10}}
ledger:
  dir: {{dir}}/ledger
  currency: EUR
pricing:
  refresh: 1m
webhooks:
  spool_dir: {{dir}}/spool
  deliver_to: {{app}}/events
`
)

// Destinations of the money tests, one per priced country, and one that
// the numbering plan places in no country (an international network).
const (
	numberGB = "+447400123456"
	numberFR = "+33612345678"
	numberIE = "+353851234567"
)

// countryOf is the test's own idea of a number's country.
func countryOf(number string) string {
	switch {
	case strings.HasPrefix(number, "+44"):
		return "GB"
	case strings.HasPrefix(number, "+33"):
		return "FR"
	case strings.HasPrefix(number, "+353"):
		return "IE"
	}
	return "ZZ"
}

// moneyPrices are the workspaces' price tables: premium's product costs
// more. Rates are in EUR per segment.
var moneyPrices = map[int64]map[string]string{
	16: {"44": "0.04", "33": "0.07", "353": "0.0523"},
	17: {"44": "0.05", "33": "0.09"},
}

// moneyBox is a sidecar with the money fixture, the fake restlink it
// sends to (which posts delivery reports back), and the app's receiver.
type moneyBox struct {
	*blackBox
	fake     *restlinktest.Server
	receiver *appreceiver.Receiver
}

// startMoneyBox starts the money fixture; extraYAML is appended to the
// config, opts are the fake's.
func startMoneyBox(t *testing.T, extraYAML string, opts restlinktest.Options) *moneyBox {
	t.Helper()
	fake := newMoneyFake(t, opts)
	mb := startMoneySidecar(t, fake, extraYAML)
	fake.SetWebhooks(16, restlinktest.WebhookSettings{DeliveryURL: mb.hooks + "/hooks/main/delivery", SigningSecret: webhookSecret})
	return mb
}

// newMoneyFake is a fake restlink with the money fixture's workspaces
// and price tables.
func newMoneyFake(t *testing.T, opts restlinktest.Options) *restlinktest.Server {
	t.Helper()
	fake := restlinktest.NewServer(
		restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{moneyMainKey}},
		restlinktest.Workspace{ID: 17, Name: "premium", Keys: []string{moneyPremiumKey}})
	t.Cleanup(fake.Close)
	for ws, table := range moneyPrices {
		var prices []restlinktest.Price
		for dialcode, rate := range table {
			prices = append(prices, restlinktest.Price{Dialcode: dialcode, Rate: rate, Country: "c" + dialcode, Network: "n"})
		}
		fake.SetPrices(ws, prices)
	}
	opts.TimeScale, opts.WebhookTimeout = 1.0/60, 5*time.Second
	fake.SetOptions(opts)
	return fake
}

// startMoneySidecar starts a sidecar with the money fixture in front of
// fake, and waits until it has read the price tables.
func startMoneySidecar(t *testing.T, fake *restlinktest.Server, extraYAML string) *moneyBox {
	t.Helper()
	return startSidecarWith(t, fake, moneyYAML+extraYAML, nil)
}

// startSidecarWith starts a sidecar with yaml (the money fixture's
// workspaces; {{app}} is the app's receiver) and files in front of fake,
// and waits until it has read the price tables.
func startSidecarWith(t *testing.T, fake *restlinktest.Server, yaml string, files map[string]string) *moneyBox {
	t.Helper()
	app := appreceiver.New()
	t.Cleanup(app.Close)
	all := map[string]string{"main.key": moneyMainKey, "premium.key": moneyPremiumKey, "main.webhook": webhookSecret}
	for name, content := range files {
		all[name] = content
	}
	bb := startBlackBoxWith(t, strings.ReplaceAll(yaml, "{{app}}", app.URL), boxOptions{upstream: fake.URL, webhooks: true, files: all})
	mb := &moneyBox{blackBox: bb, fake: fake, receiver: app}
	mb.waitForPrices()
	return mb
}

// waitForPrices waits until the sidecar has read both price tables. The
// operators' site may start listening a moment after the apps' site: a
// refused connection is polled again.
func (mb *moneyBox) waitForPrices() {
	mb.t.Helper()
	read := func() (ready int, st map[string]any) {
		resp, err := http.Get(mb.ops + "/status")
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		if json.NewDecoder(resp.Body).Decode(&st) != nil {
			return 0, nil
		}
		workspaces, _ := st["workspaces"].([]any)
		for _, ws := range workspaces {
			if p, ok := ws.(map[string]any)["pricing"].(map[string]any); ok && p["entries"] != nil && p["entries"].(float64) > 0 {
				ready++
			}
		}
		return ready, st
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ready, _ := read(); ready == 2 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, st := read()
	mb.t.Fatalf("the price tables were not read: %v", st["workspaces"])
}

// sent is a send the sidecar answered, as the test saw it.
type sent struct {
	tenant  string
	numbers []string
	answer  answer
}

// moneyClient sends the money tests' requests: a thousand concurrent
// sends share at most 64 connections to each sidecar, kept alive, rather
// than open a thousand that race the server's closing of idle ones.
var moneyClient = &http.Client{Transport: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}}

// sendAs sends message to numbers as tenant. It may be called from any
// goroutine: a failed round trip is an error of the test, and an answer
// with status 0.
func (mb *moneyBox) sendAs(tenant, message string, numbers ...string) sent {
	mb.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, mb.app+"/api/v1/sms/send", strings.NewReader(sendTo(message, numbers...)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant", tenant)
	resp, err := moneyClient.Do(req)
	if err != nil {
		mb.t.Error(err)
		return sent{tenant: tenant, numbers: numbers}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return sent{tenant: tenant, numbers: numbers, answer: answer{resp.StatusCode, resp.Header, string(b)}}
}

// sendAnswer is what the tests read of restlink's answer to a send.
type sendAnswer struct {
	Results []struct {
		MessageID string `json:"message_id"`
		DNIS      string `json:"dnis"`
		Segments  int    `json:"segments"`
	} `json:"results"`
	Summary struct {
		TotalCost json.Number `json:"total_cost"`
	} `json:"summary"`
}

// parse reads the answer to a send that restlink took.
func (s sent) parse(t *testing.T) sendAnswer {
	t.Helper()
	var a sendAnswer
	if err := json.Unmarshal([]byte(s.answer.body), &a); err != nil {
		t.Fatalf("answer %d %s: %v", s.answer.status, s.answer.body, err)
	}
	return a
}

// micros reads a decimal amount exactly, in micro-units: the test's own
// reading, with math/big, not the code under test.
func micros(t *testing.T, text string) int64 {
	t.Helper()
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		t.Fatalf("%q is not a decimal", text)
	}
	r.Mul(r, big.NewRat(1_000_000, 1))
	if !r.IsInt() {
		t.Fatalf("%q is finer than a micro-unit", text)
	}
	return r.Num().Int64()
}

// moneyText writes micro-units as the sidecar writes amounts.
func moneyText(m int64) string {
	r := new(big.Rat).SetFrac64(m, 1_000_000)
	return strings.TrimRight(strings.TrimRight(r.FloatString(6), "0"), ".")
}

// estimateOf is the test's own estimate of a recipient: segments × the
// workspace's rate for its dialcode.
func estimateOf(t *testing.T, ws int64, number string, segments int) int64 {
	t.Helper()
	for dialcode, rate := range moneyPrices[ws] {
		if strings.HasPrefix(number[1:], dialcode) {
			return micros(t, rate) * int64(segments)
		}
	}
	t.Fatalf("no price for %s", number)
	return 0
}

// tenantBudget returns a tenant's budget of a period from the status
// document: spent and remaining in micro-units.
func (mb *moneyBox) tenantBudget(tenant, period string) (spent, remaining int64, ok bool) {
	mb.t.Helper()
	tenants, _ := mb.status()["tenants"].([]any)
	for _, v := range tenants {
		ts := v.(map[string]any)
		if ts["tenant"] != tenant {
			continue
		}
		budgets, _ := ts["budgets"].([]any)
		for _, b := range budgets {
			bm := b.(map[string]any)
			if bm["period"] == period {
				return micros(mb.t, numberText(bm["spent"])), micros(mb.t, numberText(bm["remaining"])), true
			}
		}
	}
	return 0, 0, false
}

// numberText writes a JSON number decoded into an any back as text.
func numberText(v any) string {
	switch v := v.(type) {
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// statusNumbers decodes the status document keeping numbers' text.
func (mb *moneyBox) statusNumbers() map[string]any {
	mb.t.Helper()
	resp, err := http.Get(mb.ops + "/status")
	if err != nil {
		mb.t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	var st map[string]any
	if err := dec.Decode(&st); err != nil {
		mb.t.Fatal(err)
	}
	return st
}

// usage runs the usage command on the box's config and returns its rows.
func (mb *moneyBox) usage(args ...string) []map[string]any {
	mb.t.Helper()
	cmd := sidecarCommand(append([]string{"usage", mb.dir + "/config.yaml", "--format", "json"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		mb.t.Fatalf("usage: %v\n%s", err, errOut.String())
	}
	dec := json.NewDecoder(&out)
	dec.UseNumber()
	var rows []map[string]any
	if err := dec.Decode(&rows); err != nil {
		mb.t.Fatalf("usage output: %v\n%s", err, out.String())
	}
	return rows
}

// TestBudgetHoldsUnderConcurrency: 1,000 concurrent sends to
// destinations of different prices, against one tenant's daily budget of
// 10 EUR, with restlink charging each recipient its estimate. The sum
// charged is within the budget and short of it by less than the largest
// single estimate; every refusal is a 402 BUDGET_EXCEEDED with the
// budget's figures.
func TestBudgetHoldsUnderConcurrency(t *testing.T) {
	mb := startMoneyBox(t, "", restlinktest.Options{})
	long := strings.Repeat("x", 200) // 2 segments
	type plan struct {
		message string
		numbers []string
	}
	plans := []plan{{"hi", []string{numberGB}}, {long, []string{numberFR}}, {"hi", []string{numberIE, numberGB}}, {long, []string{numberFR, numberFR, numberGB}}}
	var largest int64
	for _, p := range plans {
		var est int64
		for _, n := range p.numbers {
			est += estimateOf(t, 16, n, len(p.message)/160+1)
		}
		largest = max(largest, est)
	}

	const n = 1000
	results := make([]sent, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := plans[i%len(plans)]
			results[i] = mb.sendAs("acme", p.message, p.numbers...)
		}()
	}
	wg.Wait()

	var charged int64
	accepted, refused := 0, 0
	for _, r := range results {
		switch r.answer.status {
		case http.StatusOK:
			accepted++
			charged += micros(t, r.parse(t).Summary.TotalCost.String())
		case http.StatusPaymentRequired:
			refused++
			var body map[string]any
			dec := json.NewDecoder(strings.NewReader(r.answer.body))
			dec.UseNumber()
			if err := dec.Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body["error_code"] != "BUDGET_EXCEEDED" || body["currency"] != "EUR" || body["period"] != "daily" ||
				numberText(body["budget"]) != "10.00" || body["resets_at"] == nil || body["spent"] == nil || body["estimated_cost"] == nil ||
				r.answer.header.Get("Retry-After") == "" {
				t.Fatalf("a refusal is not a complete 402 BUDGET_EXCEEDED: %v %s", r.answer.header, r.answer.body)
			}
			if spent, est := micros(t, numberText(body["spent"])), micros(t, numberText(body["estimated_cost"])); spent+est <= 10_000_000 {
				t.Errorf("refused a send that fitted: spent %d + estimate %d <= budget", spent, est)
			}
		default:
			t.Fatalf("unexpected answer %d: %s", r.answer.status, r.answer.body)
		}
	}
	t.Logf("%d accepted, %d refused with 402; restlink charged %s EUR of a 10 EUR budget (largest estimate %s)", accepted, refused, moneyText(charged), moneyText(largest))
	if charged > 10_000_000 || charged < 10_000_000-largest {
		t.Errorf("charged %s EUR: want within [10 - %s, 10]", moneyText(charged), moneyText(largest))
	}
	var fakeCharged int64
	for _, c := range mb.fake.Charges() {
		fakeCharged += c.Charged
	}
	if fakeCharged != charged {
		t.Errorf("restlink's own accounting says %s EUR, the answers %s", moneyText(fakeCharged), moneyText(charged))
	}
	if spent, _, ok := mb.tenantBudget("acme", "daily"); !ok || spent != charged {
		t.Errorf("status: acme spent %s EUR today (found %v), want what restlink charged, %s", moneyText(spent), ok, moneyText(charged))
	}
	if got := mb.metric(`restlink_policy_decisions_total{outcome="refused",rule="budget",tenant="acme"}`); got != strconv.Itoa(refused) {
		t.Errorf("refusals counted with rule budget: %q, want %d", got, refused)
	}
	if !strings.Contains(mb.logs(), `"alert":"budget_soft"`) || !strings.Contains(mb.logs(), `"alert":"budget_exhausted"`) {
		t.Error("no alert line for the soft threshold and the exhausted budget")
	}
	if n := strings.Count(mb.logs(), `"alert":"budget_soft"`); n != 1 {
		t.Errorf("the soft alert was logged %d times, want once", n)
	}
	// Another tenant of the same workspace is not touched by acme's budget.
	if r := mb.sendAs("beta", "hi", numberGB); r.answer.status != http.StatusOK {
		t.Errorf("tenant beta was refused after acme's budget ran out: %d %s", r.answer.status, r.answer.body)
	}
}

// TestBudgetPricesPerWorkspace: one send costs what its workspace's
// product charges; a number no table prices is refused with PRICE_UNKNOWN
// for a budgeted tenant; a dry run answers with the estimate.
func TestBudgetPricesPerWorkspace(t *testing.T) {
	mb := startMoneyBox(t, "", restlinktest.Options{})
	main, premium := mb.sendAs("acme", "hi", numberFR), mb.sendAs("gamma", "hi", numberFR)
	if got := main.parse(t).Summary.TotalCost.String(); got != "0.07" {
		t.Errorf("main's send to FR cost %s, want 0.07", got)
	}
	if got := premium.parse(t).Summary.TotalCost.String(); got != "0.09" {
		t.Errorf("premium's send to FR cost %s, want 0.09", got)
	}
	if spent, _, _ := mb.tenantBudget("gamma", "daily"); spent != 90_000 {
		t.Errorf("gamma spent %d micro-units, want 90000", spent)
	}
	unpriced := mb.sendAs("gamma", "hi", numberIE) // premium has no rate for +353
	if unpriced.answer.status != http.StatusServiceUnavailable || !strings.Contains(unpriced.answer.body, `"error_code":"PRICE_UNKNOWN"`) {
		t.Errorf("a send no price covers: %d %s, want 503 PRICE_UNKNOWN", unpriced.answer.status, unpriced.answer.body)
	}
	if n := len(mb.fake.Charges()); n != 2 {
		t.Errorf("restlink saw %d messages, want 2: an unpriced send must not be sent", n)
	}
	// The terminal view shows the budgets, prices and the ledger.
	out, err := sidecarCommand("status", "--url", mb.ops+"/status").CombinedOutput()
	for _, want := range []string{"daily budget 0.09/10.00 EUR", "3 rates", "2 rates", "ledger: " + mb.dir + "/ledger, EUR"} {
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("status command (%v) lacks %q:\n%s", err, want, out)
		}
	}
}

// TestDeliveryReportsReconcile: delivery reports with cost 0 refund
// their messages' shares, and the usage export equals the fake's own
// accounting exactly: per tenant, per country, per day. A send to several
// countries has its total_cost split among its messages by segments, so
// acme sends to one country at a time (its charges per country are
// exact), and beta mixes countries (its charges per tenant are exact,
// and its delivered costs per country).
func TestDeliveryReportsReconcile(t *testing.T) {
	undelivered := map[string]bool{numberFR: true}
	mb := startMoneyBox(t, "", restlinktest.Options{DeliveryStatus: func(recipient string) string {
		if undelivered[recipient] {
			return "UNDELIV"
		}
		return "DELIVRD"
	}})
	tenantOf := map[string]string{} // message_id -> tenant
	var sends []sent
	for i := range 30 {
		tenant := []string{"acme", "beta"}[i%2]
		numbers := [][]string{{numberGB}, {numberFR, numberFR}, {numberIE, numberIE, numberIE}}[i%3]
		if tenant == "beta" {
			numbers = [][]string{{numberGB}, {numberFR, numberGB}, {numberIE, numberFR, numberFR}}[i%3]
		}
		s := mb.sendAs(tenant, strings.Repeat("y", 10+i*7), numbers...)
		if s.answer.status != http.StatusOK {
			t.Fatalf("send %d: %d %s", i, s.answer.status, s.answer.body)
		}
		for _, r := range s.parse(t).Results {
			tenantOf[r.MessageID] = tenant
		}
		sends = append(sends, s)
	}
	spentBefore, _, _ := mb.tenantBudget("acme", "daily")
	for id := range tenantOf {
		if err := mb.fake.Deliver(id, statusFor(mb, id, undelivered)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mb.fake.WaitWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "every report reconciled", func() bool {
		return mb.metric(`restlink_reconciliations_total{outcome="reconciled"}`) == strconv.Itoa(len(tenantOf))
	})

	// The fake's own accounting, grouped as the export groups it.
	type key struct{ tenant, country, day string }
	type sums struct{ charged, reported, delivered, undelivered int64 }
	want := map[key]*sums{}
	var acmeReported int64
	for _, c := range mb.fake.Charges() {
		k := key{tenantOf[c.MessageID], countryOf(c.Recipient), c.Sent.UTC().Format(time.DateOnly)}
		if want[k] == nil {
			want[k] = &sums{}
		}
		want[k].charged += c.Charged
		want[k].reported += c.ReportedCost
		if c.Status == "DELIVRD" {
			want[k].delivered++
		} else {
			want[k].undelivered++
		}
		if k.tenant == "acme" {
			acmeReported += c.ReportedCost
		}
	}
	rows := mb.usage("--by", "tenant,country", "--from", time.Now().UTC().Format(time.DateOnly))
	byDay := mb.usage("--by", "tenant,day")
	got := map[key]*sums{}
	for _, r := range rows {
		k := key{r["tenant"].(string), r["country"].(string), time.Now().UTC().Format(time.DateOnly)}
		got[k] = &sums{charged: micros(t, numberText(r["charged"])), reported: micros(t, numberText(r["delivered_cost"])),
			delivered: mustInt(t, r["delivered"]), undelivered: mustInt(t, r["undelivered"])}
		if r["currency"] != "EUR" || mustInt(t, r["pending"]) != 0 {
			t.Errorf("row %v: currency %v, pending %v", k, r["currency"], r["pending"])
		}
	}
	if len(got) != len(want) {
		t.Errorf("usage has %d tenant,country rows, the fake's accounting %d", len(got), len(want))
	}
	perTenant := map[string][2]int64{} // charged: usage, restlink
	for k, w := range want {
		g := got[k]
		if g == nil {
			t.Errorf("%v: no usage row; restlink's accounting %+v", k, w)
			continue
		}
		sums := perTenant[k.tenant]
		sums[0], sums[1] = sums[0]+g.charged, sums[1]+w.charged
		perTenant[k.tenant] = sums
		if k.tenant == "beta" {
			g.charged, w.charged = 0, 0 // split by segments among countries: compared per tenant below
		}
		if *g != *w {
			t.Errorf("%v: usage %+v, restlink's accounting %+v", k, g, w)
		}
	}
	for tenant, sums := range perTenant {
		if sums[0] != sums[1] {
			t.Errorf("tenant %s: usage charges %d micro-units, restlink %d", tenant, sums[0], sums[1])
		}
	}
	var dayCharged, fakeTotal int64
	for _, r := range byDay {
		dayCharged += micros(t, numberText(r["charged"]))
	}
	for _, c := range mb.fake.Charges() {
		fakeTotal += c.Charged
	}
	if dayCharged != fakeTotal {
		t.Errorf("usage by tenant,day charges %d micro-units in all, restlink %d", dayCharged, fakeTotal)
	}
	spentAfter, _, _ := mb.tenantBudget("acme", "daily")
	if spentAfter != acmeReported || spentAfter >= spentBefore {
		t.Errorf("acme's spend after the reports: %s (before %s), want what the reports say, %s", moneyText(spentAfter), moneyText(spentBefore), moneyText(acmeReported))
	}
	if strings.Contains(mb.logs(), numberFR[3:]) {
		t.Error("a phone number reached the log")
	}
	for _, dir := range []string{mb.dir + "/ledger"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, _ := os.ReadFile(dir + "/" + e.Name()); bytes.Contains(b, []byte(numberGB[3:])) {
				t.Errorf("a phone number is in ledger file %s", e.Name())
			}
		}
	}
}

// statusFor is the final status the fake's DeliveryStatus gives a
// message: the test's own rule.
func statusFor(mb *moneyBox, id string, undelivered map[string]bool) string {
	for _, c := range mb.fake.Charges() {
		if c.MessageID == id && undelivered[c.Recipient] {
			return "UNDELIV"
		}
	}
	return "DELIVRD"
}

// mustInt reads a JSON integer.
func mustInt(t *testing.T, v any) int64 {
	t.Helper()
	n, err := strconv.ParseInt(numberText(v), 10, 64)
	if err != nil {
		t.Fatalf("%v is not an integer", v)
	}
	return n
}

// ledgerSpend opens a copy of a ledger directory (the running sidecar
// holds the directory's lock) and returns what it says a tenant spent
// today: charges, adjustments, and the estimates of sends of unknown
// outcome.
func ledgerSpend(t *testing.T, dir, tenant string) int64 {
	t.Helper()
	cp := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		b, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cp+"/"+e.Name(), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := ledger.Open(cp, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Spent().Tenants[tenant].DayMicros
}

// TestBudgetSurvivesKill9: the sidecar is killed with SIGKILL while
// sends are in flight, and restarted. The tenant's spend is at least what
// restlink charged before the kill, equals what its ledger holds, and did
// not start again from zero.
func TestBudgetSurvivesKill9(t *testing.T) {
	mb := startMoneyBox(t, "", restlinktest.Options{})
	mb.fake.Inject(restlinktest.Fault{Path: "/api/v1/sms/send", Delay: 300 * time.Millisecond})
	var wg sync.WaitGroup
	answered := make(chan struct{}, 200)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, mb.app+"/api/v1/sms/send", strings.NewReader(sendTo("hi", numberGB)))
			req.Header.Set("X-Tenant", "acme")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				answered <- struct{}{}
			}
		}()
	}
	for range 60 { // kill with some answered, the rest in flight
		<-answered
	}
	mb.kill9()
	wg.Wait()
	var charged int64
	for _, c := range mb.fake.Charges() {
		charged += c.Charged
	}
	mb.start()
	mb.waitForPrices()
	spent, _, ok := mb.tenantBudget("acme", "daily")
	if !ok {
		// The status lists a tenant once it sent: send one more, priced 0.04.
		if r := mb.sendAs("acme", "hi", numberGB); r.answer.status != http.StatusOK && r.answer.status != http.StatusPaymentRequired {
			t.Fatalf("send after restart: %d %s", r.answer.status, r.answer.body)
		}
		spent, _, _ = mb.tenantBudget("acme", "daily")
		charged += 40_000
	}
	held := ledgerSpend(t, mb.dir+"/ledger", "acme")
	t.Logf("restlink charged %s EUR before the kill (and since); after the restart acme's spend is %s, its ledger holds %s",
		moneyText(charged), moneyText(spent), moneyText(held))
	if spent < charged {
		t.Errorf("after kill -9: spend %s < what restlink charged, %s", moneyText(spent), moneyText(charged))
	}
	if spent != held {
		t.Errorf("after kill -9: spend %s != what the ledger holds, %s", moneyText(spent), moneyText(held))
	}
	if !strings.Contains(mb.logs(), "whose outcome a stop cut off") && spent != charged {
		t.Error("sends cut off by the kill were not reported as unknown")
	}
}

// alertReceiver is an alert receiver that records every attempt, and
// refuses them with 503 while down.
type alertReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	down     bool
	attempts []alertAttempt
}

// alertAttempt is one POST the receiver got, and whether it took it.
type alertAttempt struct {
	alert map[string]any
	taken bool
}

// newAlertReceiver starts an alert receiver, up unless down.
func newAlertReceiver(t *testing.T, down bool) *alertReceiver {
	ar := &alertReceiver{down: down}
	ar.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		var a map[string]any
		_ = dec.Decode(&a)
		ar.mu.Lock()
		defer ar.mu.Unlock()
		ar.attempts = append(ar.attempts, alertAttempt{a, !ar.down})
		if ar.down {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(ar.Close)
	return ar
}

// setDown takes the receiver down or up.
func (ar *alertReceiver) setDown(down bool) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	ar.down = down
}

// seen returns the attempts so far.
func (ar *alertReceiver) seen() []alertAttempt {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return slices.Clone(ar.attempts)
}

// taken returns the ids of the alerts taken, of a type, tenant and
// period, with how often each was taken.
func (ar *alertReceiver) taken(typ, tenant, period string) map[string]int {
	ids := map[string]int{}
	for _, a := range ar.seen() {
		if a.taken && a.alert["type"] == typ && a.alert["tenant"] == tenant && a.alert["period"] == period {
			ids[a.alert["id"].(string)]++
		}
	}
	return ids
}

// TestFleetBudget: three sidecars on one Redis hold one tenant's budget
// across the fleet, and its soft alert arrives with a single id.
func TestFleetBudget(t *testing.T) {
	rds := redistest.Start(t)
	alerts := newAlertReceiver(t, false)
	fake := newMoneyFake(t, restlinktest.Options{})
	extra := "store:\n  redis:\n    url: redis://" + rds.Addr + "\n    timeout: 10s\nalerts:\n  url: " + alerts.URL + "/alerts\n"
	var boxes []*moneyBox
	for range 3 {
		boxes = append(boxes, startMoneySidecar(t, fake, extra))
	}
	results := make([]sent, 600)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = boxes[i%3].sendAs("acme", "hi", numberGB)
		}()
	}
	wg.Wait()
	var charged int64
	statuses := map[int]int{}
	for _, r := range results {
		statuses[r.answer.status]++
		if r.answer.status == http.StatusOK {
			charged += micros(t, r.parse(t).Summary.TotalCost.String())
		}
	}
	t.Logf("answers %v; restlink charged %s EUR of a 10 EUR budget shared by 3 sidecars", statuses, moneyText(charged))
	if statuses[200]+statuses[402] != len(results) || charged > 10_000_000 || charged < 10_000_000-40_000 {
		t.Errorf("answers %v, charged %s: want the fleet to hold the 10 EUR budget to within one send (0.04)", statuses, moneyText(charged))
	}
	eventually(t, 20*time.Second, "the soft and the exhausted alert", func() bool {
		return len(alerts.taken("budget_soft", "acme", "daily")) > 0 && len(alerts.taken("budget_exhausted", "acme", "daily")) > 0
	})
	time.Sleep(500 * time.Millisecond) // a second raise would come within this
	for _, typ := range []string{"budget_soft", "budget_exhausted"} {
		if ids := alerts.taken(typ, "acme", "daily"); len(ids) != 1 {
			t.Errorf("%s alerts taken: %v, want one id across the fleet", typ, ids)
		}
	}
	raised := 0
	for _, b := range boxes {
		raised += strings.Count(b.logs(), `"alert":"budget_soft"`)
	}
	if raised != 1 {
		t.Errorf("the soft alert was logged %d times across the fleet, want once", raised)
	}
}

// TestAlertReceiverDown: the alert receiver is down while a tenant
// crosses its soft threshold, and the sidecar is killed and restarted
// meanwhile; once the receiver is back, the alert arrives, and every
// attempt carried the same id.
func TestAlertReceiverDown(t *testing.T) {
	alerts := newAlertReceiver(t, true)
	mb := startMoneyBox(t, "alerts:\n  url: "+alerts.URL+"/alerts\n", restlinktest.Options{})
	long := strings.Repeat("z", 200)
	for range 12 { // 12 x 3 x 2 segments x 0.07 = 5.04 EUR: over half the 10 EUR budget
		if r := mb.sendAs("acme", long, numberFR, numberFR, numberFR); r.answer.status != http.StatusOK {
			t.Fatalf("send: %d %s", r.answer.status, r.answer.body)
		}
	}
	eventually(t, 10*time.Second, "a first attempt", func() bool { return len(alerts.seen()) > 0 })
	mb.kill9()
	before := len(alerts.seen())
	mb.start()
	eventually(t, 10*time.Second, "an attempt after the restart", func() bool { return len(alerts.seen()) > before })
	alerts.setDown(false)
	eventually(t, 30*time.Second, "the alert taken", func() bool { return len(alerts.taken("budget_soft", "acme", "daily")) == 1 })
	seen := alerts.seen()
	id := seen[0].alert["id"]
	for i, a := range seen {
		if a.alert["id"] != id {
			t.Errorf("attempt %d carried id %v, the first %v", i, a.alert["id"], id)
		}
	}
	a := seen[len(seen)-1].alert
	if a["type"] != "budget_soft" || a["period"] != "daily" || a["currency"] != "EUR" || numberText(a["budget"]) != "10.00" ||
		numberText(a["spent"]) != "5.04" || a["at"] == nil {
		t.Errorf("the alert: %v", a)
	}
	t.Logf("%d attempts, %d refused, one id %v", len(seen), len(seen)-1, id)
}

// TestReportsReconcileAfterRestart: with the in-memory store, delivery
// reports that arrive after a restart still reconcile the messages sent
// before it (their attributions are restored from the ledger).
func TestReportsReconcileAfterRestart(t *testing.T) {
	mb := startMoneyBox(t, "", restlinktest.Options{DeliveryStatus: func(string) string { return "UNDELIV" }})
	var ids []string
	for range 3 {
		s := mb.sendAs("acme", "hi", numberFR)
		for _, r := range s.parse(t).Results {
			ids = append(ids, r.MessageID)
		}
	}
	mb.kill9()
	mb.start()
	mb.waitForPrices()
	for _, id := range ids {
		if err := mb.fake.Deliver(id, "UNDELIV"); err != nil {
			t.Fatal(err)
		}
	}
	if err := mb.fake.WaitWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the reports reconciled", func() bool {
		return mb.metric(`restlink_reconciliations_total{outcome="reconciled"}`) == "3"
	})
	rows := mb.usage("--by", "tenant")
	if len(rows) != 1 || micros(t, numberText(rows[0]["delivered_cost"])) != 0 || mustInt(t, rows[0]["undelivered"]) != 3 {
		t.Errorf("usage after the reports: %v", rows)
	}
	if held := ledgerSpend(t, mb.dir+"/ledger", "acme"); held != 0 {
		t.Errorf("the ledger holds %s spent after every message was refunded", moneyText(held))
	}
}

// TestKeysVerifyWarnsWithoutPricing: with budgets set, keys verify warns
// about a valid key that cannot read its workspace's prices.
func TestKeysVerifyWarnsWithoutPricing(t *testing.T) {
	fake := newMoneyFake(t, restlinktest.Options{})
	const noPricing = "sk_prod_NOPRICEnopriceNOPR03"
	fake.AddAPIKey(17, restlinktest.Key{Value: noPricing, Permissions: []string{"sms.send", "balance.read"}})
	dir := t.TempDir()
	files := map[string]string{"main.key": moneyMainKey, "premium.key": noPricing, "main.webhook": webhookSecret,
		"config.yaml": strings.NewReplacer("{{upstream}}", fake.URL, "{{dir}}", dir, "{{app}}", "http://127.0.0.1:1").Replace(moneyYAML)}
	for name, content := range files {
		if err := os.WriteFile(dir+"/"+name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := sidecarCommand("keys", "verify", dir+"/config.yaml").CombinedOutput()
	if err != nil || strings.Count(string(out), " valid ") != 2 {
		t.Fatalf("keys verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "of workspace premium cannot read prices") || strings.Contains(string(out), "of workspace main cannot") {
		t.Errorf("keys verify does not warn about premium's key alone:\n%s", out)
	}
}

// TestBudgetShadowAndReload: a tenant in shadow mode is forwarded where
// enforce would refuse (no price known, over its budget) and charged all
// the same; a reload that changes alerts.url keeps the ledger open, and
// sends go on being recorded.
func TestBudgetShadowAndReload(t *testing.T) {
	mb := startMoneyBox(t, "", restlinktest.Options{})
	for range 3 { // 3 x 0.05 EUR against a 0.10 budget: the third would go over
		if r := mb.sendAs("shade", "hi", numberGB); r.answer.status != http.StatusOK {
			t.Errorf("shadow, over budget: %d %s, want forwarded", r.answer.status, r.answer.body)
		}
	}
	if got := mb.metric(`restlink_policy_decisions_total{outcome="would_refuse",rule="budget",tenant="shade"}`); got != "1" {
		t.Errorf("shadow budget refusals counted: %q, want 1", got)
	}
	if r := mb.sendAs("shade", "hi", numberIE); r.answer.status != http.StatusOK { // premium has no rate for +353
		t.Errorf("shadow, no price known: %d %s, want forwarded", r.answer.status, r.answer.body)
	}
	// Charged all the same: 3 x 0.05, and restlink's default 0.0085 for
	// the unpriced send (a send's settlement may follow its answer).
	eventually(t, 5*time.Second, "the shadow sends charged", func() bool {
		spent, _, _ := mb.tenantBudget("shade", "daily")
		return spent == 158_500
	})

	alerts := newAlertReceiver(t, false)
	config, _ := os.ReadFile(mb.dir + "/config.yaml")
	mb.write("config.yaml", string(config)+"alerts:\n  url: "+alerts.URL+"/alerts\n")
	eventually(t, 10*time.Second, "the reload", func() bool { return strings.Count(mb.logs(), "config reloaded") > 0 })
	before := len(mb.usage())
	if r := mb.sendAs("gamma", "hi", numberGB); r.answer.status != http.StatusOK {
		t.Fatalf("a send after the reload: %d %s", r.answer.status, r.answer.body)
	}
	rows := mb.usage("--by", "tenant")
	found := false
	for _, r := range rows {
		found = found || r["tenant"] == "gamma"
	}
	if !found || len(rows) < before {
		t.Errorf("the send after the reload is not in the ledger: %v", rows)
	}
}

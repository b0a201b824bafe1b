package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// The policy fixture: every tenant sends through one workspace, each with
// its own policy (and so its own counters).
const (
	policyKey  = "sk_prod_POLICYpolicyPOLICYp10"
	policyYAML = `
upstream:
  url: {{upstream}}
  timeout: 1s
workspaces:
  main:
    id: 16
    main: true
    keys: [{file: {{dir}}/policy.key}]
tenants:
  acme: main
  shadow: main
  dry: main
  capped: main
  burst: main
policy:
  default:
    countries: [GB, IE]
    deny_prefixes: ["+4470090099"]
    max_recipients: 5
    per_recipient: {messages: 3, per: 1h}
  tenants:
    shadow: {mode: shadow}
    dry: {dry_run: true}
    capped: {daily_segments: 3}
    burst: {rate: {recipients: 600, per: 1m}, per_recipient: {messages: 1000, per: 1h}}
`
)

// startPolicyBox runs the sidecar with the policy fixture (plus settings
// of the upstream section) in front of a fake restlink.
func startPolicyBox(t *testing.T, upstreamSettings string) (*blackBox, *restlinktest.Server) {
	t.Helper()
	return startPolicyBoxTimeout(t, "1s", upstreamSettings)
}

// startPolicyBoxTimeout is startPolicyBox with another upstream.timeout.
func startPolicyBoxTimeout(t *testing.T, timeout, upstreamSettings string) (*blackBox, *restlinktest.Server) {
	t.Helper()
	fake := restlinktest.NewServer(restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{policyKey}})
	t.Cleanup(fake.Close)
	yaml := strings.Replace(policyYAML, "  timeout: 1s\n", "  timeout: "+timeout+"\n"+upstreamSettings, 1)
	bb := startBlackBoxWith(t, yaml, boxOptions{upstream: fake.URL, files: map[string]string{"policy.key": policyKey}})
	return bb, fake
}

// sendBody is a send to numbers with message.
func sendTo(message string, numbers ...string) string {
	to, _ := json.Marshal(numbers)
	return fmt.Sprintf(`{"to":%s,"message":%q,"sender_id":"MyApp"}`, to, message)
}

// answer is a response, read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

// post sends a POST through the sidecar.
func (bb *blackBox) post(path, body string, headers ...string) answer {
	bb.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, bb.app+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		bb.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// sendsReceived counts the sends the fake received.
func sendsReceived(fake *restlinktest.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Path == "/api/v1/sms/send" {
			n++
		}
	}
	return n
}

// TestPolicyRules: each rule refuses in enforce mode (with its code, and
// restlink's own codes for malformed sends), and in shadow mode is logged
// and counted but forwarded; no phone number reaches a log line.
func TestPolicyRules(t *testing.T) {
	bb, fake := startPolicyBox(t, "")
	const gb, us, denied = "+447400123456", "+14155550100", "+447009009912"
	for _, tc := range []struct {
		name, body, code string
		status           int
	}{
		{"country not allowed", sendTo("hi", gb, us), "DESTINATION_NOT_ALLOWED", 403},
		{"denied prefix", sendTo("hi", denied), "DESTINATION_NOT_ALLOWED", 403},
		{"too many recipients for the policy", sendTo("hi", gb, gb, gb, gb, gb, gb), "TOO_MANY_RECIPIENTS", 400},
		{"not JSON", `{"to":`, "INVALID_BODY", 400},
		{"malformed number", sendTo("hi", "+44"), "INVALID_TO", 400},
		{"no message", `{"to":["+447400123456"],"sender_id":"MyApp"}`, "INVALID_MESSAGE", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.Reset()
			a := bb.post("/api/v1/sms/send", tc.body, "X-Tenant: acme")
			if a.status != tc.status || a.header.Get("X-Restlink-Sidecar-Error") != tc.code || !strings.Contains(a.body, `"error_code":"`+tc.code+`"`) {
				t.Errorf("enforce: %d %s %s", a.status, a.header.Get("X-Restlink-Sidecar-Error"), a.body)
			}
			if sendsReceived(fake) != 0 {
				t.Error("a refused send reached restlink")
			}
			shadow := bb.post("/api/v1/sms/send", tc.body, "X-Tenant: shadow")
			malformed := tc.status == 400 && tc.code != "TOO_MANY_RECIPIENTS"
			if malformed && shadow.status != tc.status || !malformed && (shadow.header.Get("X-Restlink-Sidecar-Error") != "" || sendsReceived(fake) != 1) {
				t.Errorf("shadow: %d %s, %d sends reached restlink", shadow.status, shadow.body, sendsReceived(fake))
			}
		})
	}
	if a := bb.post("/api/v1/sms/send", sendTo("hi", us), "X-Tenant: acme"); !strings.Contains(a.body, "US") {
		t.Errorf("the refusal does not name the country: %s", a.body)
	}

	// per_recipient: 3 messages per number and hour.
	for i := range 4 {
		a := bb.post("/api/v1/sms/send", sendTo("hi", "+353851234567"), "X-Tenant: acme")
		switch {
		case i < 3 && a.status != 200:
			t.Fatalf("send %d: %d %s", i, a.status, a.body)
		case i == 3 && (a.status != 429 || a.header.Get("X-Restlink-Sidecar-Error") != "RECIPIENT_FLOOD" || a.header.Get("Retry-After") == ""):
			t.Errorf("the 4th send to one number: %d %v %s", a.status, a.header, a.body)
		}
	}
	// daily_segments: 3 for tenant capped; a 2-segment message to 2 numbers is 4.
	long := strings.Repeat("x", 161)
	if a := bb.post("/api/v1/sms/send", sendTo(long, gb, "+353851234568"), "X-Tenant: capped"); a.status != 429 || a.header.Get("X-Restlink-Sidecar-Error") != "DAILY_SEGMENT_CAP" {
		t.Errorf("over the daily cap: %d %s", a.status, a.body)
	} else if ra, _ := strconv.Atoi(a.header.Get("Retry-After")); ra < 1 || ra > 86400 {
		t.Errorf("Retry-After %q, want the seconds to UTC midnight", a.header.Get("Retry-After"))
	}
	if a := bb.post("/api/v1/sms/send", sendTo(long, gb), "X-Tenant: capped"); a.status != 200 {
		t.Errorf("within the daily cap: %d %s", a.status, a.body)
	}
	tenants, _ := json.Marshal(bb.status()["tenants"])
	if !strings.Contains(string(tenants), `{"mode":"enforce","quotas":[{"limit":3,"rule":"daily_segments","used":2,"window":"day"}],"recipients":1,"refused":1,"segments":2,"tenant":"capped","would_refuse":0}`) {
		t.Errorf("status tenants: %s", tenants)
	}

	for _, number := range []string{gb, us, denied, "+353851234567", "447400123456", "7400123456"} {
		if strings.Contains(bb.logs(), number) {
			t.Errorf("the log holds a phone number (%s…)", number[:5])
		}
	}
	if v := bb.metric(`restlink_policy_decisions_total{outcome="would_refuse",rule="countries",tenant="shadow"}`); v != "1" {
		t.Errorf("shadow decisions counted %q", v)
	}
	if v := bb.metric(`restlink_policy_decisions_total{outcome="refused",rule="per_recipient",tenant="acme"}`); v != "1" {
		t.Errorf("flood refusals counted %q", v)
	}
}

// TestSendPathVariants: a request target that a common server would route
// to the send endpoint is refused as a path, or checked as a send; none
// reaches restlink with a recipient the policy refuses. The targets go out
// as raw request lines: Go's client and curl would normalise some of them.
func TestSendPathVariants(t *testing.T) {
	bb, fake := startPolicyBox(t, "")
	body := sendTo("hi", "+14155550100") // a US number: outside the policy's countries
	for _, tc := range []struct{ target, want string }{
		{"/api/v1/sms/send", "403 DESTINATION_NOT_ALLOWED"},
		{"/api/v1/sms/send;a;b", "400 INVALID_PATH"},
		{"/api/v1/sms/send;jsessionid=1;x=2", "400 INVALID_PATH"},
		{"/api/v1/sms;x/send", "400 INVALID_PATH"},
		{"/api;x/v1/sms/send", "400 INVALID_PATH"},
		{"/api/v1/sms/send/;x", "400 INVALID_PATH"},
		{"/api/v1/sms/send#x", "400 INVALID_PATH"},
		{"/api/v1/sms/send?a=1#x", "400 INVALID_PATH"},
		{"/api/v1/sms/send.", "400 INVALID_PATH"},
		{"/api/v1/sms/send%2e", "400 INVALID_PATH"},
		{"/api/v1/sms/send%20", "400 INVALID_PATH"},
		{"/api/v1/sms/send.json", "403 DESTINATION_NOT_ALLOWED"},
		{"/api/v1/sms/SEND.XML/", "403 DESTINATION_NOT_ALLOWED"},
	} {
		fake.Reset()
		answer := bb.rawRequest(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: localhost\r\nX-Tenant: acme\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			tc.target, len(body), body))
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(answer)), nil)
		if err != nil {
			t.Errorf("POST %s: no answer (%v): %q", tc.target, err, answer)
			continue
		}
		resp.Body.Close()
		if got := fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("X-Restlink-Sidecar-Error")); got != tc.want {
			t.Errorf("POST %s: answered %s, want %s", tc.target, got, tc.want)
		}
		for _, r := range fake.Requests() {
			if r.Method == http.MethodPost {
				t.Errorf("POST %s reached restlink as POST %s", tc.target, r.Path)
			}
		}
	}
}

// TestRecipientSpellingsShareACounter: a number written with its trunk
// prefix kept after the calling code (+44 0…) counts against the same
// per_recipient limit as its E.164 form, and goes to restlink as the app
// wrote it.
func TestRecipientSpellingsShareACounter(t *testing.T) {
	bb, fake := startPolicyBox(t, "")
	const e164, kept = "+447400123402", "+4407400123402"
	for i, number := range []string{e164, kept, e164, kept} { // per_recipient: 3 an hour
		a := bb.post("/api/v1/sms/send", sendTo("hi", number), "X-Tenant: acme")
		switch {
		case i < 3 && a.status != 200:
			t.Fatalf("send %d: %d %s", i, a.status, a.body)
		case i == 3 && (a.status != 429 || a.header.Get("X-Restlink-Sidecar-Error") != "RECIPIENT_FLOOD"):
			t.Errorf("the 4th send to one number, in its other spelling: %d %s", a.status, a.body)
		}
	}
	var sent []string
	for _, r := range fake.Requests() {
		if r.Path == "/api/v1/sms/send" {
			sent = append(sent, string(r.Body))
		}
	}
	if len(sent) != 3 || sent[1] != sendTo("hi", kept) {
		t.Errorf("restlink received %d sends; the second must be the app's body, unchanged", len(sent))
	}
}

// TestDryRun: a dry-run tenant is answered in restlink's shape, marked as
// a sandbox answer, and nothing is sent.
func TestDryRun(t *testing.T) {
	bb, fake := startPolicyBox(t, "")
	a := bb.post("/api/v1/sms/send", sendTo("hello", "+447400123456", "+353851234567"), "X-Tenant: dry")
	var got struct {
		Status  bool `json:"status"`
		Sandbox bool `json:"sandbox"`
		Results []struct {
			MessageID string `json:"message_id"`
			Status    string `json:"status"`
		} `json:"results"`
		Summary struct {
			TotalSegments int    `json:"total_segments"`
			Encoding      string `json:"encoding"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(a.body), &got); err != nil || a.status != 200 || !got.Status || !got.Sandbox ||
		len(got.Results) != 2 || !strings.HasPrefix(got.Results[0].MessageID, "dryrun_") || got.Summary.TotalSegments != 2 || got.Summary.Encoding != "GSM-7" {
		t.Errorf("dry run answered %d %s (%v)", a.status, a.body, err)
	}
	if n := sendsReceived(fake); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
	if a := bb.post("/api/v1/sms/send", sendTo("hello", "+14155550100"), "X-Tenant: dry"); a.status != 403 {
		t.Errorf("a dry run is refused like a real send: %d", a.status)
	}
}

// TestRateIsExact: 1,000 concurrent sends against rate 600 recipients a
// minute let exactly 600 through.
func TestRateIsExact(t *testing.T) {
	// The fake, in this test process, answers 1,000 requests at once
	// slowly under the race detector: give it time.
	bb, fake := startPolicyBoxTimeout(t, "30s", "")
	fake.SetRecording(false)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, bb.app+"/api/v1/sms/send", strings.NewReader(sendTo("hi", fmt.Sprintf("+447400%06d", i))))
			req.Header.Set("X-Tenant", "burst")
			resp, err := client.Do(req)
			status := 0
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 600 || statuses[429] != 400 || sendsReceived(fake) != 600 {
		t.Errorf("answers %v, restlink received %d sends; want exactly 600 through", statuses, sendsReceived(fake))
	}
}

// TestIdempotentSends: a key retried concurrently reaches restlink once;
// a completed one is replayed; another body is refused; and after a
// timeout (outcome unknown) retries are refused, never sent.
func TestIdempotentSends(t *testing.T) {
	bb, fake := startPolicyBox(t, "")
	body := sendTo("hi", "+447400123456")
	concurrently := func(key string) map[int]int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		out := map[int]int{}
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, bb.app+"/api/v1/sms/send", strings.NewReader(body))
				req.Header.Set("Idempotency-Key", key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				out[resp.StatusCode]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		return out
	}

	got := concurrently("order-1")
	if sendsReceived(fake) != 1 || got[200]+got[409] != 50 {
		t.Fatalf("50 concurrent retries: %v; restlink received %d", got, sendsReceived(fake))
	}
	replay := bb.post("/api/v1/sms/send", body, "Idempotency-Key: order-1")
	if replay.status != 200 || replay.header.Get("Idempotent-Replayed") != "true" || !strings.Contains(replay.body, "api_42_") || sendsReceived(fake) != 1 {
		t.Errorf("replay: %d %v %s", replay.status, replay.header, replay.body)
	}
	if a := bb.post("/api/v1/sms/send", sendTo("other", "+447400123456"), "Idempotency-Key: order-1"); a.status != 422 || a.header.Get("X-Restlink-Sidecar-Error") != "IDEMPOTENCY_KEY_REUSED" {
		t.Errorf("another body: %d %s", a.status, a.body)
	}

	// The upstream answers too late: the outcome is unknown, and no retry
	// is ever sent.
	fake.Reset()
	remove := fake.Inject(restlinktest.Fault{Path: "/api/v1/sms/send", Delay: 1500 * time.Millisecond, Times: 1})
	if a := bb.post("/api/v1/sms/send", body, "Idempotency-Key: order-2"); a.status != 504 {
		t.Fatalf("slow upstream: %d %s", a.status, a.body)
	}
	remove()
	got = concurrently("order-2")
	if got[502] != 50 || sendsReceived(fake) != 1 {
		t.Errorf("retries after a timeout: %v, restlink received %d (want 502 SEND_OUTCOME_UNKNOWN and 1)", got, sendsReceived(fake))
	}

	// restlink could not queue the send (DB_ERROR: nothing happened): a
	// retry with the same key is sent.
	fake.Reset()
	fake.Inject(restlinktest.Fault{DBError: true, Times: 1})
	if a := bb.post("/api/v1/sms/send", body, "Idempotency-Key: order-3"); a.status != 500 {
		t.Fatalf("DB_ERROR: %d %s", a.status, a.body)
	}
	if a := bb.post("/api/v1/sms/send", body, "Idempotency-Key: order-3"); a.status != 200 || sendsReceived(fake) != 2 {
		t.Errorf("retry after DB_ERROR: %d, restlink received %d", a.status, sendsReceived(fake))
	}
}

// TestUpstream429: restlink's 429s (JSON, empty, HTML) reach the app
// unchanged but for a Retry-After when they have none; they are never
// retried and never count against the breaker.
func TestUpstream429(t *testing.T) {
	bb, fake := startPolicyBox(t, "")
	for _, f := range []restlinktest.Fault{{Bare429: true}, {HTML429: true}, {Status: 429, ErrorCode: "RATE_LIMIT_EXCEEDED"}} {
		fake.Reset()
		fake.Inject(f)
		for range 6 { // consecutive_failures defaults to 5
			a := bb.post("/api/v1/sms/send", sendTo("hi", "+447400123456"))
			if a.status != 429 || a.header.Get("Retry-After") == "" || a.header.Get("X-Restlink-Sidecar-Error") != "" {
				t.Errorf("%+v: %d %v", f, a.status, a.header)
			}
			if f.HTML429 && !strings.Contains(a.body, "<html") || f.Bare429 && a.body != "" {
				t.Errorf("%+v: body changed: %q", f, a.body)
			}
		}
		if n := sendsReceived(fake); n != 6 {
			t.Errorf("%+v: restlink received %d, want 6 (no retries)", f, n)
		}
	}
	if v := bb.metric(`restlink_breaker_state{workspace="main"}`); v != "0" {
		t.Errorf("breaker state %s after 429s", v)
	}
}

// TestPacing: the account's rate limit holds within 5%, for requests of
// every kind.
func TestPacing(t *testing.T) {
	bb, fake := startPolicyBox(t, "  rate_limit: 100/s\n  max_wait: 5s\n")
	var wg sync.WaitGroup
	stop := time.Now().Add(3 * time.Second)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := client.Get(bb.app + "/api/v1/sms/messages?limit=1")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	checkPaced(t, fake, 100)
}

// checkPaced checks that the GETs of /api/v1/sms/messages reached restlink
// at perSecond, within 5%, over the run after the first burst (a tenth of
// a second's worth).
func checkPaced(t *testing.T, fake *restlinktest.Server, perSecond int) {
	t.Helper()
	var times []time.Time
	for _, r := range fake.Requests() {
		if r.Path == "/api/v1/sms/messages" {
			times = append(times, r.Received)
		}
	}
	if len(times) < perSecond {
		t.Fatalf("only %d requests reached restlink", len(times))
	}
	burst := perSecond / 10
	span := times[len(times)-1].Sub(times[burst]).Seconds()
	rate := float64(len(times)-burst-1) / span
	if want := float64(perSecond); rate > want*1.05 || rate < want*0.95 {
		t.Errorf("paced at %.1f requests/s, want %d ± 5%%", rate, perSecond)
	}
	t.Logf("paced at %.1f requests/s over %.2f s", rate, span)
}

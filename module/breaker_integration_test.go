package restlink_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// countRequestsFor counts the upstream's requests for one workspace.
func countRequestsFor(fake *restlinktest.Server, wsID int64) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.WorkspaceID == wsID {
			n++
		}
	}
	return n
}

func TestBreakerOpensAndIsolatesWorkspaces(t *testing.T) {
	sc := startSidecar(t, setup{})
	sc.fake.Inject(restlinktest.Fault{WorkspaceID: 18, Status: http.StatusServiceUnavailable, ErrorCode: "GATEWAY_DOWN"})

	// consecutive_failures: 3 — the upstream's 503s pass through until then.
	for i := range 3 {
		if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 503 || !strings.Contains(a.body, "GATEWAY_DOWN") {
			t.Fatalf("request %d: %d %s", i, a.status, a.body)
		}
	}
	received := countRequestsFor(sc.fake, 18)

	// Open: refused at once, nothing sent, while main is untouched.
	var wg sync.WaitGroup
	mainOK := make(chan int, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mainOK <- sc.send("/api/v1/sms/send", "X-Tenant: globex").status
		}()
	}
	for range 10 {
		a := sc.send("/api/v1/sms/send", "X-Tenant: acme")
		wantSidecarError(t, a, 503, "CIRCUIT_OPEN")
		if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || ra < 1 || ra > 1 {
			t.Errorf("Retry-After %q with open_timeout 1s", a.header.Get("Retry-After"))
		}
	}
	wg.Wait()
	close(mainOK)
	for status := range mainOK {
		if status != 200 {
			t.Errorf("main workspace got %d while test-space's breaker was open", status)
		}
	}
	if n := countRequestsFor(sc.fake, 18); n != received {
		t.Errorf("upstream received %d requests for an open workspace", n-received)
	}
	if n := strings.Count(sc.logs(), `"to":"open"`); n != 1 {
		t.Errorf("state change to open logged %d times, want once", n)
	}
}

// openBreaker makes test-space's upstream answer status and sends the
// three failures (consecutive_failures: 3) that open its breaker; remove
// ends the upstream's failure.
func (sc *sidecar) openBreaker(status int) (remove func()) {
	sc.t.Helper()
	remove = sc.fake.Inject(restlinktest.Fault{WorkspaceID: 18, Status: status})
	for range 3 {
		if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != status {
			sc.t.Fatalf("failure passed through as %d %s", a.status, a.body)
		}
	}
	return remove
}

func TestBreakerHalfOpenProbes(t *testing.T) {
	sc := startSidecar(t, setup{})
	remove := sc.openBreaker(500)
	wantSidecarError(t, sc.send("/api/v1/sms/send", "X-Tenant: acme"), 503, "CIRCUIT_OPEN")

	// After open_timeout a probe goes through; it fails: open again.
	time.Sleep(1100 * time.Millisecond)
	if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 500 {
		t.Fatalf("probe: %d %s", a.status, a.body)
	}
	wantSidecarError(t, sc.send("/api/v1/sms/send", "X-Tenant: acme"), 503, "CIRCUIT_OPEN")

	// Next probe succeeds: closed, traffic flows.
	remove()
	time.Sleep(1100 * time.Millisecond)
	for i := range 5 {
		if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 200 {
			t.Fatalf("after recovery, request %d: %d %s", i, a.status, a.body)
		}
	}
	logs := sc.logs()
	for _, change := range []string{`"from":"open","to":"half-open"`, `"from":"half-open","to":"open"`, `"from":"half-open","to":"closed"`} {
		if !strings.Contains(logs, change) {
			t.Errorf("no log line for %s", change)
		}
	}
}

// TestBreakerHalfOpenAdmitsOneProbe: while the probe is in flight, other
// requests are refused with Retry-After: 1.
func TestBreakerHalfOpenAdmitsOneProbe(t *testing.T) {
	sc := startSidecar(t, setup{})
	sc.openBreaker(502)()
	sc.fake.Inject(restlinktest.Fault{WorkspaceID: 18, Delay: 500 * time.Millisecond, Times: 1})
	time.Sleep(1100 * time.Millisecond)
	probe := make(chan answer)
	go func() { probe <- sc.send("/api/v1/sms/send", "X-Tenant: acme") }()
	time.Sleep(150 * time.Millisecond)
	a := sc.send("/api/v1/sms/send", "X-Tenant: acme")
	wantSidecarError(t, a, 503, "CIRCUIT_OPEN")
	if a.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q while half-open", a.header.Get("Retry-After"))
	}
	if p := <-probe; p.status != 200 {
		t.Errorf("probe: %d %s", p.status, p.body)
	}
}

// TestBreakerIgnoresClientErrors: 401 and 429 answers, and apps that hang
// up, never open the breaker. A hung-up app's request still runs to its
// end upstream, so its outcome is known.
func TestBreakerIgnoresClientErrors(t *testing.T) {
	sc := startSidecar(t, setup{})
	remove := sc.fake.Inject(restlinktest.Fault{WorkspaceID: 16, Status: http.StatusTooManyRequests, ErrorCode: "RATE_LIMITED"})
	for range 6 {
		if a := sc.send("/api/v1/sms/send"); a.status != 429 {
			t.Fatalf("429 did not pass through: %d", a.status)
		}
	}
	remove()
	sc.fake.RevokeKey(keyMain)
	for range 6 {
		wantSidecarError(t, sc.send("/api/v1/sms/send"), 503, "NO_USABLE_KEY")
	}
	sc.fake.AddKey(keyMain, 16)

	sc.fake.Reset()
	sc.fake.Inject(restlinktest.Fault{WorkspaceID: 16, Delay: 300 * time.Millisecond})
	for range 6 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, siteURL+"/api/v1/sms/send", strings.NewReader(smsBody))
		if resp, err := sc.tester.Client.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("the client's deadline did not cut the request")
		}
		cancel()
	}
	eventually(t, 3*time.Second, "the hung-up requests to complete upstream", func() bool {
		return strings.Count(sc.logs(), "the client closed the connection before the answer") == 6
	})
	if n := sc.fake.Count(); n != 6 {
		t.Errorf("upstream received %d of the hung-up requests", n)
	}
	sc.fake.Reset()
	if a := sc.send("/api/v1/sms/send"); a.status != 200 {
		t.Errorf("after 401s, 429s and hang-ups: %d %s", a.status, a.body)
	}
	if strings.Contains(sc.logs(), `"to":"open"`) {
		t.Error("the breaker opened")
	}
}

func TestUpstreamTimeoutAndRefusal(t *testing.T) {
	sc := startSidecar(t, setup{yaml: strings.Replace(standardYAML, "timeout: 2s", "timeout: 300ms", 1)})
	sc.fake.Inject(restlinktest.Fault{Delay: 2 * time.Second, Times: 1})
	start := time.Now()
	a := sc.send("/api/v1/sms/send", "X-Tenant: acme")
	wantSidecarError(t, a, http.StatusGatewayTimeout, "UPSTREAM_TIMEOUT")
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("504 after %v with a 300ms timeout", d)
	}

	closed := startSidecar(t, setup{})
	closed.fake.Close() // nothing listens there any more
	a = closed.send("/api/v1/sms/send", "X-Tenant: acme")
	wantSidecarError(t, a, http.StatusBadGateway, "UPSTREAM_UNAVAILABLE")
	if !strings.Contains(a.body, "the request was not sent") {
		t.Errorf("a refused connection should say nothing was sent: %s", a.body)
	}
}

// TestNoDuplicateSend: when the upstream may have acted on a POST, the
// sidecar answers with an error and the upstream received it exactly once.
// The keep-alive connection is warmed first: Go's transport resends only on
// reused connections, and would resend a POST carrying Idempotency-Key.
func TestNoDuplicateSend(t *testing.T) {
	sc := startSidecar(t, setup{yaml: strings.Replace(standardYAML, "timeout: 2s", "timeout: 500ms", 1)})
	for _, tc := range []struct {
		name  string
		fault restlinktest.Fault
		check func(t *testing.T, a answer, err error)
	}{
		{"read then close", restlinktest.Fault{CloseAfterRead: true, Times: 1}, func(t *testing.T, a answer, err error) {
			if err != nil {
				t.Fatal(err)
			}
			wantSidecarError(t, a, http.StatusBadGateway, "UPSTREAM_UNAVAILABLE")
		}},
		{"reset after headers", restlinktest.Fault{ResetAfterHeaders: true, Times: 1}, func(t *testing.T, a answer, err error) {
			if err == nil && a.status == 200 && strings.HasSuffix(a.body, "}") {
				t.Errorf("a cut response reached the app as whole: %d %q", a.status, a.body)
			}
		}},
		{"timeout after the body was sent", restlinktest.Fault{Delay: 2 * time.Second, Times: 1}, func(t *testing.T, a answer, err error) {
			if err != nil {
				t.Fatal(err)
			}
			wantSidecarError(t, a, http.StatusGatewayTimeout, "UPSTREAM_TIMEOUT")
		}},
	} {
		for _, idem := range []string{"", "Idempotency-Key: idem-1", "X-Idempotency-Key: idem-2"} {
			t.Run(tc.name+" "+idem, func(t *testing.T) {
				if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 200 {
					t.Fatalf("warm-up: %d", a.status)
				}
				sc.fake.Reset()
				sc.fake.Inject(tc.fault)
				headers := []string{"X-Tenant: acme"}
				if idem != "" {
					// A key of its own per case: a key whose first POST had
					// an unknown outcome is never sent again.
					headers = append(headers, idem+"-"+strings.ReplaceAll(tc.name, " ", "-"))
				}
				a, err := sc.try(http.MethodPost, "/api/v1/sms/send", smsBody, headers...)
				tc.check(t, a, err)
				time.Sleep(100 * time.Millisecond) // a resend would arrive by now
				if n := sc.fake.Count(); n != 1 {
					t.Errorf("upstream received the POST %d times", n)
				}
				if reqs := sc.fake.Requests(); idem != "" && len(reqs) > 0 && reqs[0].Header.Get(strings.Split(idem, ":")[0]) == "" {
					t.Errorf("%s was not forwarded", idem)
				}
			})
		}
	}
}

// TestBreakerSurvivesCaddyReload: a Caddy config reload keeps an unchanged
// workspace's open breaker; removing the workspace from the config drops it.
func TestBreakerSurvivesCaddyReload(t *testing.T) {
	sc := startSidecar(t, setup{})
	sc.openBreaker(500)
	wantSidecarError(t, sc.send("/api/v1/sms/send", "X-Tenant: acme"), 503, "CIRCUIT_OPEN")

	sc.reloadCaddy("\trespond /healthz 200\n")
	if a := sc.do(http.MethodGet, "/healthz", ""); a.status != 200 {
		t.Fatalf("new Caddy config not active: %d", a.status)
	}
	wantSidecarError(t, sc.send("/api/v1/sms/send", "X-Tenant: acme"), 503, "CIRCUIT_OPEN")

	// Remove test-space (and acme), then bring it back: a fresh breaker.
	sc.fake.Reset()
	without := strings.Replace(strings.Replace(sc.expand(standardYAML), "  acme: test-space\n", "", 1),
		"  test-space:\n    id: 18\n    keys:\n      - file: "+sc.dir+"/test-space.key\n      - file: "+sc.dir+"/test-space.previous.key\n", "", 1)
	sc.write("config.yaml", without)
	eventually(t, 3*time.Second, "test-space removed", func() bool {
		return strings.Contains(sc.logs(), `"msg":"workspace removed","workspace":"test-space"`)
	})
	sc.write("config.yaml", sc.expand(standardYAML))
	eventually(t, 3*time.Second, "test-space back", func() bool {
		return sc.send("/api/v1/sms/send", "X-Tenant: acme").status == 200
	})
}

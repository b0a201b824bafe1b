package restlink_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// raw sends bytes as they are to the sidecar from a local address and
// reads one response: the request line and headers are not normalised by a
// client library.
func raw(t *testing.T, from, request string) (*http.Response, string) {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	conn, err := d.Dial("tcp", "127.0.0.1:"+sitePort)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", strings.SplitN(request, "\r\n", 2)[0], err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// post builds a raw POST with the SMS body.
func post(target string, headers ...string) string {
	return "POST " + target + " HTTP/1.1\r\nHost: localhost:" + sitePort + "\r\nContent-Type: application/json\r\n" +
		strings.Join(append(headers, fmt.Sprintf("Content-Length: %d", len(smsBody))), "\r\n") + "\r\nConnection: close\r\n\r\n" + smsBody
}

// TestHostileRequests sends what an attacker on the host, or a web page in
// a developer's browser, might: each is refused with its documented status, and
// nothing reaches the upstream or the other local listener.
func TestHostileRequests(t *testing.T) {
	other := restlinktest.NewServer(fixtureWorkspaces()...) // another local service
	defer other.Close()
	otherHost := strings.TrimPrefix(other.URL, "http://")
	sc := startSidecar(t, setup{yaml: standardYAML + "security:\n  trusted_clients: [127.0.0.1/32, \"::1/128\"]\n  max_body_bytes: 1024\n"})

	for _, tc := range []struct {
		name, from, request string
		status              int
		code                string
	}{
		{"dot segments", "", post("/t/acme/../globex/api/v1/sms/send"), 400, "INVALID_PATH"},
		{"encoded dot segments", "", post("/t/globex/%2e%2e/acme/api/v1/sms/send"), 400, "INVALID_PATH"},
		{"mixed-case encoded dots", "", post("/api/v1/%2E./user/workspaces"), 400, "INVALID_PATH"},
		{"encoded slash", "", post("/t/acme%2F..%2Fglobex/api/v1/sms/send"), 400, "INVALID_PATH"},
		{"encoded backslash", "", post("/t/acme%5c/api/v1/sms/send"), 400, "INVALID_PATH"},
		{"double-encoded dots", "", post("/api/v1/sms/%252e%252e/x"), 400, "INVALID_PATH"},
		{"double slash", "", post("//t/acme/api/v1/sms/send"), 400, "INVALID_PATH"},
		{"foreign host", "", strings.Replace(post("/api/v1/sms/send"), "Host: localhost:"+sitePort, "Host: evil.example", 1), 421, "MISDIRECTED_HOST"},
		{"rebinding host", "", strings.Replace(post("/api/v1/sms/send"), "Host: localhost:"+sitePort, "Host: 127.0.0.1.nip.io:"+sitePort, 1), 421, "MISDIRECTED_HOST"},
		{"absolute-form to a foreign host", "", post("http://evil.example:" + sitePort + "/api/v1/sms/send"), 421, "MISDIRECTED_HOST"},
		{"origin", "", post("/api/v1/sms/send", "Origin: http://localhost:3000"), 403, "BROWSER_REQUEST_REJECTED"},
		{"cross-site fetch", "", post("/api/v1/sms/send", "Sec-Fetch-Site: cross-site"), 403, "BROWSER_REQUEST_REJECTED"},
		{"same-origin fetch", "", post("/api/v1/sms/send", "Sec-Fetch-Site: same-origin", "Sec-Fetch-Mode: cors"), 403, "BROWSER_REQUEST_REJECTED"},
		{"untrusted client address", "127.0.0.2", post("/api/v1/sms/send"), 403, "CLIENT_NOT_TRUSTED"},
		{"announced body too large", "", "POST /api/v1/sms/send HTTP/1.1\r\nHost: localhost\r\nContent-Length: 50000000\r\nConnection: close\r\n\r\n", 413, "BODY_TOO_LARGE"},
		{"chunked body too large", "", "POST /api/v1/sms/send HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
			strings.Repeat(fmt.Sprintf("%x\r\n%s\r\n", 512, strings.Repeat("x", 512)), 4) + "0\r\n\r\n", 413, "BODY_TOO_LARGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc.fake.Reset()
			other.Reset()
			resp, body := raw(t, tc.from, tc.request)
			if resp.StatusCode != tc.status || resp.Header.Get("X-Restlink-Sidecar-Error") != tc.code {
				t.Errorf("got %d %q %s; want %d %s", resp.StatusCode, resp.Header.Get("X-Restlink-Sidecar-Error"), body, tc.status, tc.code)
			}
			if sc.fake.Count()+other.Count() != 0 {
				t.Errorf("the upstream received %d, the other listener %d", sc.fake.Count(), other.Count())
			}
		})
	}

	// Requests that may pass, but only ever to the fixed upstream, with its key.
	for _, tc := range []struct{ name, request string }{
		{"absolute-form to another local listener", post("http://" + otherHost + "/api/v1/sms/send")},
		{"X-Forwarded-Host", post("/api/v1/sms/send", "X-Forwarded-Host: "+otherHost, "X-Forwarded-Proto: https", "Forwarded: host="+otherHost)},
		{"method override", post("/api/v1/sms/send", "X-HTTP-Method-Override: DELETE")},
		{"Sec-Fetch-Mode alone, as Node's fetch sends it", post("/api/v1/sms/send", "Sec-Fetch-Mode: cors")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc.fake.Reset()
			other.Reset()
			resp, body := raw(t, "", tc.request)
			if resp.StatusCode != 200 || other.Count() != 0 || sc.fake.Count() != 1 {
				t.Fatalf("got %d %s; upstream %d, other listener %d", resp.StatusCode, body, sc.fake.Count(), other.Count())
			}
			got := sc.fake.Requests()[0]
			for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Http-Method-Override"} {
				if got.Header.Get(h) != "" {
					t.Errorf("upstream received %s", h)
				}
			}
			if got.Key != keyMain || got.Method != http.MethodPost {
				t.Errorf("upstream got %s with key %q", got.Method, got.Key)
			}
		})
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

const sendBody = `{"to":["+14155551234"],"message":"hi","sender_id":"MyApp"}`

// TestRealClients: mainstream HTTP clients with their default settings
// reach the upstream through the sidecar, with the workspace's key; a
// browser's request is refused.
func TestRealClients(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML)
	url := bb.app + "/api/v1/sms/send"
	for _, tc := range []struct {
		name string
		cmd  []string
	}{
		{"curl", []string{needTool(t, "curl"), "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/json", "--data-binary", sendBody, url}},
		{"node fetch", []string{needTool(t, "node"), "-e", fmt.Sprintf(
			`fetch(%q, {method: "POST", headers: {"content-type": "application/json"}, body: %q}).then(r => process.stdout.write(String(r.status)))`, url, sendBody)}},
		{"python urllib", []string{needTool(t, "python3"), "-c", fmt.Sprintf(`
import urllib.request, urllib.error, sys
req = urllib.request.Request(%q, data=%q.encode(), headers={"Content-Type": "application/json"})
try:
    sys.stdout.write(str(urllib.request.urlopen(req).status))
except urllib.error.HTTPError as e:
    sys.stdout.write(str(e.code))
`, url, sendBody)}},
		{"python http.client", []string{needTool(t, "python3"), "-c", fmt.Sprintf(`
import http.client, sys
c = http.client.HTTPConnection(%q)
c.request("POST", "/api/v1/sms/send", body=%q, headers={"Content-Type": "application/json"})
sys.stdout.write(str(c.getresponse().status))
`, bb.appAddr, sendBody)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bb.up.take()
			out, err := exec.Command(tc.cmd[0], tc.cmd[1:]...).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "200" {
				t.Fatalf("%s: %v: %s", tc.name, err, out)
			}
			got := bb.up.take()
			if len(got) != 1 || got[0].Header.Get("X-Api-Key") != goodKey || got[0].Body != sendBody {
				t.Errorf("upstream received %+v", got)
			}
		})
	}

	// What a browser sends on a cross-site POST to a loopback origin
	// (fetch from a page): Origin and the Sec-Fetch family. Each of the two
	// headers browsers always send refuses it alone.
	for _, headers := range [][]string{
		{"Origin: http://evil.example", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: cors", "Sec-Fetch-Dest: empty"},
		{"Sec-Fetch-Site: same-origin"},
		{"Origin: null"},
	} {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(sendBody))
		for _, h := range headers {
			name, value, _ := strings.Cut(h, ": ")
			req.Header.Set(name, value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Restlink-Sidecar-Error") != "BROWSER_REQUEST_REJECTED" {
			t.Errorf("browser request %q: %d %s", headers, resp.StatusCode, resp.Header.Get("X-Restlink-Sidecar-Error"))
		}
	}
	if got := bb.up.take(); len(got) != 0 {
		t.Errorf("browser requests reached the upstream: %d", len(got))
	}
}

// TestAnswersPassUnchanged: what the upstream answers reaches the app as
// it was sent: no Content-Type sniffed, no Server or Date added.
func TestAnswersPassUnchanged(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML)
	answer := bb.rawRequest("GET /api/v1/bare HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	head, body, _ := strings.Cut(answer, "\r\n\r\n")
	for _, h := range []string{"Content-Type:", "Server:", "Date:"} {
		if strings.Contains(strings.ToLower(head), strings.ToLower(h)) {
			t.Errorf("the answer gained %s\n%s", h, head)
		}
	}
	if body != "hello" || !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Errorf("answer %q", answer)
	}
}

// TestNodeFetchSendsSecFetchMode documents why Sec-Fetch-Mode alone does
// not make a browser: Node's fetch sends it on every request.
func TestNodeFetchSendsSecFetchMode(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML)
	script := fmt.Sprintf(`fetch(%q).then(r => r.text()).then(t => process.stdout.write(t))`, bb.up.URL+"/echo")
	if out, err := exec.Command(needTool(t, "node"), "-e", script).CombinedOutput(); err != nil {
		t.Fatalf("node: %v %s", err, out)
	}
	got := bb.up.take()
	if len(got) != 1 || got[0].Header.Get("Sec-Fetch-Mode") == "" {
		t.Fatalf("node's fetch sent %v; the browser rule's premise no longer holds", got)
	}
}

// jsonOf decodes a JSON document for a test.
func jsonOf(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return v
}

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// The credentials fixture: a fake restlink that enforces its documented
// contract (signatures, their 5-minute window and replay rule, key states),
// and a sidecar whose workspaces hold a signed key, a plain one, a sandbox
// one and one being rotated.
const (
	signedKey       = "sk_prod_SIGNEDsignedSIGNED01"
	signedSecret    = "whsec_SIGNINGsecretSIGNINGsecret01"
	plainKey        = "sk_prod_PLAINplainPLAINpla02"
	sandboxKey      = "sk_test_SANDBOXsandboxSANDB03"
	rotatingKey     = "sk_prod_ROTATINGrotatingROT04"
	credentialsYAML = `
upstream:
  url: {{upstream}}
  timeout: 2s
workspaces:
  main:
    id: 16
    main: true
    environment: live
    keys:
      - file: {{dir}}/main.key
        secret: {file: {{dir}}/main.secret}
  plain:
    id: 17
    keys: [{file: {{dir}}/plain.key}]
  staging:
    id: 18
    environment: test
    keys: [{file: {{dir}}/staging.key}]
  rotating:
    id: 19
    keys: [{file: {{dir}}/rotating.key}]
tenants:
  acme: main
  plain: plain
  staging: staging
  rot: rotating
`
)

// startCredentialsBox runs the sidecar binary against a fake restlink.
func startCredentialsBox(t *testing.T) (*blackBox, *restlinktest.Server) {
	t.Helper()
	bb, fake := startCredentialsBoxWith(t, "", nil)
	// Keys are verified in the background at start-up: let those probes
	// be done before a test counts what the upstream received.
	eventually(t, 10*time.Second, "the keys were not verified at start-up", func() bool {
		for _, ws := range []string{"main", "plain", "staging", "rotating"} {
			for _, k := range bb.keyStatus(ws) {
				if k["verified"] == "pending" {
					return false
				}
			}
		}
		return true
	})
	return bb, fake
}

// startCredentialsBoxWith runs the credentials fixture with extraYAML
// appended to its config; files replace or, as "", remove the fixture's
// key files (the fake still knows every key). It does not wait for the
// keys' verification.
func startCredentialsBoxWith(t *testing.T, extraYAML string, files map[string]string) (*blackBox, *restlinktest.Server) {
	t.Helper()
	stagingKey := sandboxKey
	if k, ok := files["staging.key"]; ok && k != "" {
		stagingKey = k
	}
	fake := restlinktest.NewServer(
		restlinktest.Workspace{ID: 16, Name: "main", Main: true, APIKeys: []restlinktest.Key{{Value: signedKey, Secret: signedSecret}}},
		restlinktest.Workspace{ID: 17, Name: "plain", Keys: []string{plainKey}},
		restlinktest.Workspace{ID: 18, Name: "staging", Keys: []string{stagingKey}},
		restlinktest.Workspace{ID: 19, Name: "rotating", Keys: []string{rotatingKey}},
	)
	t.Cleanup(fake.Close)
	fixture := map[string]string{
		"main.key": signedKey + "\n", "main.secret": signedSecret + "\n", "plain.key": plainKey,
		"staging.key": sandboxKey, "rotating.key": rotatingKey,
	}
	for name, content := range files {
		if content == "" {
			delete(fixture, name)
		} else {
			fixture[name] = content
		}
	}
	return startBlackBoxWith(t, credentialsYAML+extraYAML, boxOptions{upstream: fake.URL, files: fixture}), fake
}

// do sends a request through the sidecar and returns its status and body.
func (bb *blackBox) do(method, path, body string, headers ...string) (int, string) {
	bb.t.Helper()
	resp, b := bb.request(method, path, body, headers...)
	return resp.StatusCode, b
}

// request sends a request through the sidecar with headers ("Name:
// value") and returns its answer, body read.
func (bb *blackBox) request(method, path, body string, headers ...string) (*http.Response, string) {
	bb.t.Helper()
	req, err := http.NewRequest(method, bb.app+path, strings.NewReader(body))
	if err != nil {
		bb.t.Fatal(err)
	}
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
	return resp, string(b)
}

// keyStatus returns the status document's keys of a workspace.
func (bb *blackBox) keyStatus(workspace string) []map[string]any {
	bb.t.Helper()
	for _, ws := range bb.status()["workspaces"].([]any) {
		w := ws.(map[string]any)
		if w["name"] == workspace {
			var keys []map[string]any
			for _, k := range w["keys"].([]any) {
				keys = append(keys, k.(map[string]any))
			}
			return keys
		}
	}
	bb.t.Fatalf("no workspace %s in the status", workspace)
	return nil
}

// eventually polls cond every 20 ms until it holds, or fails after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// lastKeyUsed is the key of the fake's last request for a workspace.
func lastKeyUsed(fake *restlinktest.Server, workspaceID int64) string {
	reqs := fake.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].WorkspaceID == workspaceID && reqs[i].Path != "/api/v1/user/balance" {
			return reqs[i].Key
		}
	}
	return ""
}

// TestSignedRequests: a key with a secret signs every request, whatever its
// method, body, path prefix and query; a key without one signs nothing; an
// app's own signing headers never pass.
func TestSignedRequests(t *testing.T) {
	bb, fake := startCredentialsBox(t)
	send := `{"to":["+447700900123"],"message":"Grüße — 你好","sender_id":"MyApp"}`
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/v1/sms/send", send},
		{"POST", "/t/acme/api/v1/sms/send?trace=1&x=%2F", send},
		{"GET", "/api/v1/sms/messages?limit=1&page=1", ""},
		{"GET", "/t/acme/api/v1/user/balance", ""},
		{"PUT", "/api/v1/user/webhooks", `{"delivery_url":"https://hooks.example.com/d"}`},
		{"PATCH", "/api/v1/sms/x", "{}"},
		{"DELETE", "/api/v1/sms/x", ""},
		{"POST", "/api/v1/sms/send", strings.Repeat(" ", 100<<10) + send},
		{"GET", "/api/v1/sms/status/%3Bx(1)", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			fake.Reset()
			status, body := bb.do(tc.method, tc.path, tc.body, "X-Signature: app-sent", "X-Timestamp: 1")
			reqs := fake.Requests()
			if len(reqs) != 1 {
				var codes []string
				for _, r := range reqs {
					codes = append(codes, r.ErrorCode)
				}
				var lines []string
				for _, l := range strings.Split(bb.logs(), "\n") {
					if strings.Contains(l, "sms/send") {
						lines = append(lines, l)
					}
				}
				t.Fatalf("upstream received %d requests, answered %q\n%s", len(reqs), codes, strings.Join(lines, "\n"))
			}
			if status == 401 || reqs[0].ErrorCode == "INVALID_SIGNATURE" || reqs[0].ErrorCode == "SIGNATURE_REQUIRED" {
				t.Fatalf("signature refused: %d %s", status, body)
			}
			if sig := reqs[0].Header.Get("X-Signature"); len(sig) != 64 || sig == "app-sent" {
				t.Errorf("X-Signature %q", sig)
			}
		})
	}
	fake.Reset()
	if status, body := bb.do("GET", "/api/v1/sms/messages", "", "X-Tenant: plain", "X-Signature: app-sent"); status != 200 {
		t.Fatalf("plain key: %d %s", status, body)
	}
	if r := fake.Requests()[0]; r.Header.Get("X-Signature") != "" || r.Header.Get("X-Timestamp") != "" {
		t.Errorf("an unsigned key's request carries %v", r.Header)
	}
	if n := fake.ReplaysRefused(); n != 0 {
		t.Errorf("%d replays refused", n)
	}
}

// TestIdenticalSignedRequestsNeverReplay: restlink accepts each
// (timestamp, signature) pair once; a burst of identical signed requests
// must never send a pair twice.
func TestIdenticalSignedRequestsNeverReplay(t *testing.T) {
	bb, fake := startCredentialsBox(t)
	fake.SetRecording(false)
	var wg sync.WaitGroup
	statuses := make(chan int, 1000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(bb.app + "/api/v1/sms/messages?limit=1")
			if err != nil {
				statuses <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	failed := 0
	for s := range statuses {
		if s != 200 {
			failed++
		}
	}
	if failed > 0 || fake.ReplaysRefused() != 0 {
		t.Errorf("1,000 identical signed GETs: %d not 200, %d replays refused", failed, fake.ReplaysRefused())
	}
	// Identical POSTs (each one a message) are never shared: each moves to
	// a second of its own.
	for range 20 {
		if status, body := bb.do("POST", "/api/v1/sms/send", `{"to":["+447700900123"],"message":"same","sender_id":"MyApp"}`); status != 200 {
			t.Fatalf("identical POST: %d %s", status, body)
		}
	}
	if n := fake.ReplaysRefused(); n != 0 {
		t.Errorf("identical POSTs: %d replays refused", n)
	}
}

// TestVerifiedRotation: a mistyped new key never goes active while the old
// one keeps serving; a correct one is promoted within 2 s of its file
// changing; a secret changed alone is reported as a mismatched pair.
func TestVerifiedRotation(t *testing.T) {
	bb, fake := startCredentialsBox(t)
	if status, _ := bb.do("GET", "/api/v1/sms/messages", "", "X-Tenant: rot"); status != 200 {
		t.Fatalf("before rotation: %d", status)
	}

	const mistyped = "sk_prod_ROTATINGrotatingROT4" // a character lost
	bb.write("rotating.key", mistyped)
	eventually(t, 5*time.Second, "the mistyped key was not found invalid", func() bool {
		return strings.Contains(bb.logs(), "new key value is invalid; the value in use keeps serving")
	})
	for range 5 {
		if status, _ := bb.do("GET", "/api/v1/sms/messages", "", "X-Tenant: rot"); status != 200 || lastKeyUsed(fake, 19) != rotatingKey {
			t.Fatalf("with a mistyped key in the file: %d, key used %s", status, lastKeyUsed(fake, 19)[:12])
		}
	}
	keys := bb.keyStatus("rotating")
	if len(keys) != 2 || keys[0]["active"] != true || keys[1]["verified"] != "false" || keys[1]["fingerprint"] == keys[0]["fingerprint"] {
		t.Errorf("status keys %v", keys)
	}

	const next = "sk_prod_ROTATINGnextROTATIN05"
	fake.AddKey(next, 19)
	bb.write("rotating.key", next)
	took := eventually(t, 2*time.Second, "the new key was not promoted within 2 s", func() bool {
		bb.do("GET", "/api/v1/sms/messages", "", "X-Tenant: rot")
		return lastKeyUsed(fake, 19) == next
	})
	t.Logf("new key in use %v after its file changed", took)

	// Only the secret changes, to one that does not belong to the key.
	bb.write("main.secret", "whsec_WRONGwrongWRONGwrongWRONG99")
	eventually(t, 5*time.Second, "the mismatched pair was not reported", func() bool {
		return strings.Contains(bb.logs(), "mismatched pair: only the secret changed")
	})
	if status, body := bb.do("POST", "/api/v1/sms/send", `{"to":["+447700900123"],"message":"hi","sender_id":"MyApp"}`); status != 200 {
		t.Errorf("the old pair stopped serving: %d %s", status, body)
	}
}

// TestKeyKindGuard: a live key is refused in a test workspace, at start-up
// (validate-config fails) and on reload (the last good key keeps serving).
func TestKeyKindGuard(t *testing.T) {
	bb, fake := startCredentialsBox(t)
	fake.AddKey("sk_prod_LIVEintoSTAGINGlive06", 18)
	bb.write("staging.key", "sk_prod_LIVEintoSTAGINGlive06")
	eventually(t, 5*time.Second, "the live key was not refused", func() bool {
		return strings.Contains(bb.logs(), "workspace's environment is test")
	})
	if status, _ := bb.do("GET", "/api/v1/sms/messages", "", "X-Tenant: staging"); status != 200 || lastKeyUsed(fake, 18) != sandboxKey {
		t.Errorf("staging: %d with key %q", status, lastKeyUsed(fake, 18)[:8])
	}
	if keys := bb.keyStatus("staging"); len(keys) != 1 || keys[0]["kind"] != "test" || keys[0]["stale"] != true {
		t.Errorf("staging keys in status: %v", keys)
	}
	out, err := sidecarCommand("validate-config", filepath.Join(bb.dir, "config.yaml")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "live key, not a sandbox key") || strings.Contains(string(out), "LIVEinto") {
		t.Errorf("validate-config: %v\n%s", err, out)
	}
}

// TestKeysVerify: the pre-deploy check probes every key and fails on an
// invalid one.
func TestKeysVerify(t *testing.T) {
	bb, fake := startCredentialsBox(t)
	config := filepath.Join(bb.dir, "config.yaml")
	out, err := sidecarCommand("keys", "verify", config).CombinedOutput()
	if err != nil || strings.Count(string(out), " valid ") != 4 {
		t.Fatalf("all keys valid: %v\n%s", err, out)
	}
	fake.RevokeKey(plainKey)
	out, err = sidecarCommand("keys", "verify", config).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "invalid") || !strings.Contains(string(out), "API_KEY_INACTIVE") {
		t.Errorf("a revoked key: %v\n%s", err, out)
	}
	for _, secret := range []string{signedKey, signedSecret, plainKey, sandboxKey, rotatingKey} {
		if strings.Contains(string(out), secret[len(secret)-12:]) {
			t.Errorf("keys verify printed a piece of a secret")
		}
	}
}

// TestStartupWithBadKeys: one workspace whose key file is missing and one
// whose key is of the wrong kind for its environment do not stop the
// sidecar: it starts, the good tenant is served, the other two answer
// 503 NO_USABLE_KEY with the reason in the status and the metrics, and
// validate-config stays strict.
func TestStartupWithBadKeys(t *testing.T) {
	bb, _ := startCredentialsBoxWith(t, "", map[string]string{"plain.key": "", "staging.key": "sk_prod_LIVEintoSTAGINGlive07"})
	send := `{"to":["+447700900123"],"message":"hi","sender_id":"MyApp"}`
	if status, body := bb.do("POST", "/api/v1/sms/send", send, "X-Tenant: acme"); status != 200 {
		t.Errorf("acme, whose key was read: %d %s", status, body)
	}
	for _, tenant := range []string{"plain", "staging"} {
		status, body := bb.do("POST", "/api/v1/sms/send", send, "X-Tenant: "+tenant)
		if status != 503 || !strings.Contains(body, `"NO_USABLE_KEY"`) {
			t.Errorf("%s: %d %s, want 503 NO_USABLE_KEY", tenant, status, body)
		}
	}
	for ws, why := range map[string]string{"plain": "plain.key: no such file or directory", "staging": "the workspace's environment is test"} {
		if !strings.Contains(fmt.Sprint(bb.status()), why) {
			t.Errorf("the status does not say why %s has no key (%q)", ws, why)
		}
		if got := bb.metric(`restlink_workspace_keys{workspace="` + ws + `"}`); got != "0" {
			t.Errorf("restlink_workspace_keys for %s: %q, want 0", ws, got)
		}
	}
	if logs := bb.logs(); strings.Count(logs, "workspace has no usable key") < 2 || strings.Contains(logs, "LIVEinto") {
		t.Errorf("the log does not warn of both workspaces, or shows a key:\n%s", logs)
	}
	if out, err := sidecarCommand("validate-config", filepath.Join(bb.dir, "config.yaml")).CombinedOutput(); err == nil {
		t.Errorf("validate-config passed a config with a missing key file:\n%s", out)
	}
}

// TestHugeKeyFile: a 1 GiB (sparse) file written where a running sidecar
// reads a key costs it neither memory nor reload time: it is refused
// unread, with a warning, and the workspace keeps its last good key.
func TestHugeKeyFile(t *testing.T) {
	bb, fake := startCredentialsBox(t)
	if err := os.Truncate(filepath.Join(bb.dir, "plain.key"), 1<<30); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the huge key file was not refused", func() bool {
		return strings.Contains(bb.logs(), "plain.key is 1073741824 bytes, more than a key can be")
	})
	if status, _ := bb.do("GET", "/api/v1/sms/messages", "", "X-Tenant: plain"); status != 200 || lastKeyUsed(fake, 17) != plainKey {
		t.Errorf("plain: %d with key %q, want its last good key", status, lastKeyUsed(fake, 17))
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", bb.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			if n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(kb), " kB")); n > 300<<10 {
				t.Errorf("the sidecar's peak RSS is %d KiB: it read the file", n)
			}
		}
	}
}

// TestSignedProbeWithQuery: a signed key whose rotation probe has a query
// string is verified valid by the fake, which checks signatures as
// restlink does (over the path without the query).
func TestSignedProbeWithQuery(t *testing.T) {
	bb, fake := startCredentialsBoxWith(t, "rotation:\n  probe: GET /api/v1/sms/stats?period=today\n", nil)
	eventually(t, 10*time.Second, "the signed key was not verified", func() bool {
		keys := bb.keyStatus("main")
		return len(keys) == 1 && keys[0]["verified"] != "pending"
	})
	if keys := bb.keyStatus("main"); keys[0]["verified"] != "true" {
		t.Errorf("the signed key's verdict: %v", keys[0])
	}
	probed := false
	for _, r := range fake.Requests() {
		if r.Path == "/api/v1/sms/stats" && r.RawQuery == "period=today" && r.Header.Get("X-Signature") != "" && r.Status == 200 {
			probed = true
		}
	}
	if !probed {
		t.Error("the fake never answered the signed probe with its query 200")
	}
}

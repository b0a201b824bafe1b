// Command restlink-demo shows the sidecar at work, on loopback only: it
// starts the restlink simulator (module/restlinktest) with two workspaces,
// writes a config with throw-away keys and webhook secrets, starts the real
// sidecar binary, sends a few requests as a legacy app would (no key), and
// prints which workspace each one reached and why. Then the simulator
// delivers those messages and posts signed delivery reports to the
// sidecar's webhook site, which verifies them and hands them to the app (a
// recording receiver that holds no secret); a forged and a replayed report
// are refused. It exits non-zero if anything is not as shown.
//
//	go run ./cmd/restlink-demo -sidecar bin/restlink-sidecar
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/appreceiver"
	"github.com/23telecom/restlink-sidecar/internal/loopback"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

func main() {
	sidecar := flag.String("sidecar", "bin/restlink-sidecar", "path of the restlink-sidecar binary")
	tryDir := flag.String("try", "", "instead of the demo, run the simulator and the sidecar with the config and Caddyfile in this directory (examples/try) until interrupted")
	flag.Parse()
	if *tryDir != "" {
		if err := try(*sidecar, *tryDir); err != nil {
			fmt.Fprintln(os.Stderr, "make try:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*sidecar); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

// demoRequest is one request the demo app sends, and what should happen.
type demoRequest struct {
	label     string
	path      string
	headers   map[string]string
	wantCode  int
	wantWSID  int64  // workspace the upstream should see; 0: nothing sent
	wantError string // sidecar error_code
}

func run(sidecarBin string) error {
	keys := map[string]string{"main": newKey(), "test-space": newKey(), "main-secret": newKey(), "main-webhook": newKey(), "test-space-webhook": newKey()}
	// The main workspace's key was created with HMAC signature
	// verification: the simulator refuses its requests unless signed.
	fake := restlinktest.NewServer(
		restlinktest.Workspace{ID: 16, Name: "main", Main: true, APIKeys: []restlinktest.Key{{Value: keys["main"], Secret: keys["main-secret"]}}},
		restlinktest.Workspace{ID: 18, Name: "test-space", Keys: []string{keys["test-space"]}},
	)
	defer fake.Close()
	app := appreceiver.New()
	defer app.Close()

	dir, err := os.MkdirTemp("", "restlink-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	port, err := loopback.FreePort()
	if err != nil {
		return err
	}
	hookPort, err := loopback.FreePort()
	if err != nil {
		return err
	}
	hooks := fmt.Sprintf("http://127.0.0.1:%d", hookPort)
	// restlink's portal: each workspace's delivery reports go to the
	// sidecar's webhook site, signed with the workspace's secret.
	fake.SetOptions(restlinktest.Options{SimulateDelivery: true, DeliveryDelay: 300 * time.Millisecond})
	setPrices(fake.Fake)
	fake.SetWebhooks(16, restlinktest.WebhookSettings{DeliveryURL: hooks + "/hooks/main/delivery", SigningSecret: keys["main-webhook"]})
	fake.SetWebhooks(18, restlinktest.WebhookSettings{DeliveryURL: hooks + "/hooks/test-space/delivery", SigningSecret: keys["test-space-webhook"]})
	files := map[string]string{
		"main.key":           keys["main"] + "\n",
		"main.secret":        keys["main-secret"] + "\n",
		"test-space.key":     keys["test-space"] + "\n",
		"main.webhook":       keys["main-webhook"] + "\n",
		"test-space.webhook": keys["test-space-webhook"] + "\n",
		"config.yaml": fmt.Sprintf(`upstream:
  url: %[1]s
webhooks:
  spool_dir: %[2]s/spool
  deliver_to: %[3]s/events
workspaces:
  main:
    id: 16
    main: true
    keys: [{file: %[2]s/main.key, secret: {file: %[2]s/main.secret}}]
    webhook_secrets: [{file: %[2]s/main.webhook}]
  test-space:
    id: 18
    keys: [{file: %[2]s/test-space.key}]
    webhook_secrets: [{file: %[2]s/test-space.webhook}]
tenants:
  acme: test-space
  globex: main
policy:
  default:
    budget: {daily: 100}
  tenants:
    acme: {budget: {daily: 0.04}}
ledger:
  dir: %[2]s/ledger
  currency: EUR
`, fake.URL, dir, app.URL),
		"Caddyfile": fmt.Sprintf("{\n\tadmin off\n\tservers {\n\t\tprotocols h1\n\t}\n}\n\nhttp://:%d {\n\tbind 127.0.0.1\n\trestlink %s/config.yaml\n}\n\n"+
			"http://:%d {\n\tbind 127.0.0.1\n\trestlink_webhook %s/config.yaml\n}\n", port, dir, hookPort, dir),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}

	logPath := filepath.Join(dir, "sidecar.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(sidecarBin, "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w (run make build first)", sidecarBin, err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	base := fmt.Sprintf("http://localhost:%d", port)
	if err := loopback.WaitForPort(port, 15*time.Second); err != nil {
		out, _ := os.ReadFile(logPath)
		return fmt.Errorf("the sidecar did not start: %w\n%s", err, out)
	}

	fmt.Printf("restlink simulator on %s (workspaces: 16 main, 18 test-space)\n", fake.URL)
	fmt.Printf("sidecar on %s, its webhook site on %s; tenants: acme -> test-space, globex -> main\n", base, hooks)
	fmt.Printf("keys (shown only as fingerprints): main %s (signs with secret %s), test-space %s\n\n",
		fingerprint(keys["main"]), fingerprint(keys["main-secret"]), fingerprint(keys["test-space"]))

	requests := []demoRequest{
		{"tenant acme, by header", "/api/v1/sms/send", map[string]string{"X-Tenant": "acme"}, 200, 18, ""},
		{"tenant globex, by path", "/t/globex/api/v1/sms/send", nil, 200, 16, ""},
		{"an app still sending its old key", "/api/v1/sms/send", map[string]string{"X-Tenant": "acme", "X-API-Key": "old-app-key"}, 200, 18, ""},
		{"no tenant named", "/api/v1/sms/send", nil, 200, 16, ""},
		{"unknown tenant", "/api/v1/sms/send", map[string]string{"X-Tenant": "initech"}, 403, 0, "UNKNOWN_TENANT"},
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tANSWER\tREACHED\tKEY SENT\tSIGNED\tWHY")
	var failures []string
	for _, dr := range requests {
		before := fake.Count()
		status, body, err := post(base+dr.path, dr.headers)
		if err != nil {
			return err
		}
		reached, keyFP, signed := "nothing sent upstream", "-", "-"
		if reqs := fake.Requests(); len(reqs) > before {
			got := reqs[len(reqs)-1]
			reached = fmt.Sprintf("workspace %d", got.WorkspaceID)
			keyFP = fingerprint(got.Key)
			signed = "no"
			if got.Header.Get("X-Signature") != "" {
				signed = "HMAC"
			}
			if got.WorkspaceID != dr.wantWSID || got.Header.Get("X-Tenant") != "" {
				failures = append(failures, dr.label+": reached "+reached)
			}
		} else if dr.wantWSID != 0 {
			failures = append(failures, dr.label+": nothing reached the upstream")
		}
		answer := fmt.Sprintf("%d", status)
		if code := errorCode(body); code != "" {
			answer += " " + code
		}
		if status != dr.wantCode || (dr.wantError != "" && errorCode(body) != dr.wantError) {
			failures = append(failures, fmt.Sprintf("%s: answered %s", dr.label, answer))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dr.label, answer, reached, keyFP, signed, why(logPath, dr.path))
	}
	_ = tw.Flush()
	sends, probes := 0, 0
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost {
			sends++
		} else {
			probes++ // the sidecar verifying each key at start-up
		}
	}
	fmt.Printf("\nThe upstream received the %d sends above, each with exactly its workspace's key (signed where the key requires it); the app's own key never left the sidecar.\n", sends)
	fmt.Printf("Its %d other requests were the sidecar verifying each key when it started (rotation.probe) and reading each workspace's prices and balance.\n\n", probes)
	failures = append(failures, showBudget(base)...)
	failures = append(failures, showWebhooks(fake.Fake, app, hooks, len(fake.Charges()))...)
	failures = append(failures, showUsage(sidecarBin, filepath.Join(dir, "config.yaml"))...)
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

// why finds the sidecar's log line for the latest request to path and says
// how its workspace was chosen, or why it was refused.
func why(logPath, path string) string {
	time.Sleep(50 * time.Millisecond) // let the line reach the file
	f, err := os.Open(logPath)
	if err != nil {
		return "?"
	}
	defer f.Close()
	var last map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["logger"] == "http.handlers.restlink" && line["method"] != nil {
			last = line
		}
	}
	if last == nil {
		return "?"
	}
	if reason, ok := last["reason"].(string); ok {
		return "refused: " + reason
	}
	switch last["routed_by"] {
	case "tenant_header":
		return fmt.Sprintf("X-Tenant: %s -> workspace %s", last["tenant"], last["workspace"])
	case "path":
		return fmt.Sprintf("path /t/%s/… -> workspace %s (prefix removed)", last["tenant"], last["workspace"])
	case "main":
		return "no tenant named -> main workspace"
	}
	return fmt.Sprint(last["routed_by"])
}

func post(url string, headers map[string]string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"to":["+14155551234"],"message":"hello from a legacy app","sender_id":"Demo"}`))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func errorCode(body string) string {
	var e struct {
		ErrorCode string `json:"error_code"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.ErrorCode
}

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "demo_" + hex.EncodeToString(b)
}

// fingerprint is how the sidecar shows a key or secret (restlink.Fingerprint:
// the first 8 hex digits of its SHA-256), computed here so that the demo,
// which drives the binary, does not compile the module and Caddy again.
func fingerprint(material string) string {
	sum := sha256.Sum256([]byte(material))
	return hex.EncodeToString(sum[:4])
}

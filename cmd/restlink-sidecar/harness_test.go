package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/loopback"
)

// These tests run the sidecar as a black box: the test binary re-executes
// itself as the restlink-sidecar binary (main, with every module the real
// binary has), with the shipped caddyfile/Caddyfile (only its ports
// changed) and a fresh config, in front of a recording upstream; and they
// talk to it as apps do, with real clients (curl, Node's fetch, Python's
// standard library) and raw sockets.

// runMainEnv makes the test binary run the sidecar's main instead of tests.
const runMainEnv = "RESTLINK_SIDECAR_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// Keys the recording upstream knows: goodKey is valid, badKey is refused
// with 401 INVALID_API_KEY.
const (
	goodKey = "rl_live_GOODgoodGOODgood0001"
	badKey  = "rl_live_BADbadBADbadBADb0002"
)

// blackBoxYAML is the config of the black-box sidecar; {{upstream}} and
// {{dir}} are replaced. Each workspace serves one group of tests, so that
// their state (breaker, demoted keys) does not mix.
const blackBoxYAML = `
upstream:
  url: {{upstream}}
  timeout: 1s
workspaces:
  main:
    id: 16
    main: true
    keys: [{file: {{dir}}/good.key}]
  failover:
    id: 17
    keys: [{file: {{dir}}/bad.key}, {file: {{dir}}/good2.key}]
  breaker:
    id: 18
    keys: [{file: {{dir}}/good3.key}]
  slowread:
    id: 19
    keys: [{file: {{dir}}/good4.key}]
tenants:
  acme: main
  failover: failover
  brk: breaker
  slowread: slowread
breaker:
  consecutive_failures: 3
  open_timeout: 1s
security:
  body_timeout: 1s
`

// blackBox is a running sidecar process and its upstream.
type blackBox struct {
	t           *testing.T
	dir         string
	app, ops    string // base URLs of the apps' and the operators' sites
	hooks       string // base URL of the webhook site; "" without one
	appAddr     string // host:port of the apps' site
	appPort     int
	opsPort     int
	cmd         *exec.Cmd
	up          *recorder
	upstreamURL string // what {{upstream}} stands for
	logPath     string
	exited      chan struct{} // closed when the process has exited
}

// expand replaces {{upstream}} and {{dir}} in a config.
func (bb *blackBox) expand(yaml string) string {
	return strings.NewReplacer("{{upstream}}", bb.upstreamURL, "{{dir}}", bb.dir).Replace(yaml)
}

// startBlackBox runs the sidecar with the shipped Caddyfile and yaml, in
// front of the recording upstream.
func startBlackBox(t *testing.T, yaml string) *blackBox {
	t.Helper()
	return startBlackBoxWith(t, yaml, boxOptions{})
}

// boxOptions vary a black box.
type boxOptions struct {
	upstream string            // the upstream's URL; default: the recording upstream
	files    map[string]string // more files in the sidecar's directory (name -> content)
	// webhooks adds a webhook site (restlink_webhook, plain HTTP on
	// loopback) to the shipped Caddyfile.
	webhooks bool
	// socket adds an apps' site on a unix socket at this path, which
	// every user may connect to (mode 0666).
	socket string
}

// startBlackBoxWith is startBlackBox with options.
func startBlackBoxWith(t *testing.T, yaml string, opts boxOptions) *blackBox {
	t.Helper()
	bb := &blackBox{t: t, dir: t.TempDir(), up: newRecorder(t)}
	if opts.upstream == "" {
		opts.upstream = bb.up.URL
	}
	ports := make([]int, 3)
	for i := range ports {
		port, err := loopback.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = port
	}
	shipped, err := os.ReadFile("../../caddyfile/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	caddyfile := strings.NewReplacer(":8080", fmt.Sprintf(":%d", ports[0]), ":9090", fmt.Sprintf(":%d", ports[1])).Replace(string(shipped))
	if opts.webhooks {
		// A cleartext webhook site speaks HTTP/1.x only, as docs/webhooks.md shows.
		caddyfile = strings.Replace(caddyfile, "\tservers 127.0.0.1:", fmt.Sprintf("\tservers 127.0.0.1:%d {\n\t\tprotocols h1\n\t}\n\tservers 127.0.0.1:", ports[2]), 1)
		caddyfile += fmt.Sprintf("\nhttp://:%d {\n\tbind 127.0.0.1\n\trestlink_webhook {$RESTLINK_CONFIG}\n}\n", ports[2])
		bb.hooks = fmt.Sprintf("http://127.0.0.1:%d", ports[2])
	}
	if opts.socket != "" {
		caddyfile += fmt.Sprintf("\nhttp:// {\n\tbind unix/%s|0666\n\trestlink {$RESTLINK_CONFIG}\n}\n", opts.socket)
	}
	bb.write("Caddyfile", caddyfile)
	for name, key := range map[string]string{"good.key": goodKey, "bad.key": badKey, "good2.key": goodKey + "2", "good3.key": goodKey + "3", "good4.key": goodKey + "4"} {
		bb.write(name, key+"\n")
	}
	for name, content := range opts.files {
		bb.write(name, content)
	}
	bb.upstreamURL = opts.upstream
	bb.write("config.yaml", bb.expand(yaml))
	bb.appPort, bb.opsPort = ports[0], ports[1]
	bb.appAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	bb.app, bb.ops = "http://"+bb.appAddr, fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	bb.logPath = filepath.Join(bb.dir, "sidecar.log")
	bb.start()
	return bb
}

// start starts the sidecar process and waits until it listens. Its output
// is appended to the box's log.
func (bb *blackBox) start() {
	t := bb.t
	t.Helper()
	logFile, err := os.OpenFile(bb.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := sidecarCommand("run", "--config", filepath.Join(bb.dir, "Caddyfile"), "--adapter", "caddyfile")
	cmd.Env = append(cmd.Env, "RESTLINK_CONFIG="+filepath.Join(bb.dir, "config.yaml"),
		"XDG_CONFIG_HOME="+bb.dir, "XDG_DATA_HOME="+bb.dir, "HOME="+bb.dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	bb.cmd = cmd
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if t.Failed() && cmd == bb.cmd {
			t.Logf("sidecar log:\n%s", bb.logs())
		}
	})
	bb.exited = done
	// Caddy starts its sites one after another: wait for the operators'
	// site too, which the tests read the status and metrics from.
	for _, port := range []int{bb.appPort, bb.opsPort} {
		if err := loopback.WaitForPort(port, 20*time.Second); err != nil {
			t.Fatalf("the sidecar did not start: %v\n%s", err, bb.logs())
		}
	}
}

// kill9 kills the sidecar process with SIGKILL, as a crash or an OOM kill
// would, and waits until it is gone.
func (bb *blackBox) kill9() {
	bb.t.Helper()
	if err := bb.cmd.Process.Kill(); err != nil {
		bb.t.Fatal(err)
	}
	<-bb.exited
}

// sidecarCommand is the restlink-sidecar binary with args: this test
// binary, running main.
func sidecarCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	return cmd
}

func (bb *blackBox) write(name, content string) {
	bb.t.Helper()
	if err := os.WriteFile(filepath.Join(bb.dir, name), []byte(content), 0o600); err != nil {
		bb.t.Fatal(err)
	}
}

// logs returns what the sidecar wrote so far.
func (bb *blackBox) logs() string {
	b, _ := os.ReadFile(bb.logPath)
	return string(b)
}

// rawRequest sends request as written on a new connection and returns the
// answer, read until the server closes the connection or 5 s pass.
func (bb *blackBox) rawRequest(request string) string {
	bb.t.Helper()
	conn, err := net.Dial("tcp", bb.appAddr)
	if err != nil {
		bb.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		bb.t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	return string(b)
}

// status fetches the sidecar's status document from the operators' site.
func (bb *blackBox) status() map[string]any {
	bb.t.Helper()
	resp, err := http.Get(bb.ops + "/status")
	if err != nil {
		bb.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		bb.t.Fatal(err)
	}
	return st
}

// metric returns the value of one metric series from the operators'
// /metrics, e.g. `restlink_upstream_failures_total{reason="truncated",workspace="main"}`.
func (bb *blackBox) metric(series string) string {
	bb.t.Helper()
	resp, err := http.Get(bb.ops + "/metrics")
	if err != nil {
		bb.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return v
		}
	}
	return ""
}

// recorded is a request as the upstream received it.
type recorded struct {
	Method, Target string // Target: the request target as on the wire
	Header         http.Header
	Body           string
}

// recorder is the upstream: it records every request and answers by path
// (see serve).
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	// sseNext lets the event stream send its second event; the test
	// releases it once the client has the first.
	sseNext chan struct{}
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{sseNext: make(chan struct{})}
	rec.Server = httptest.NewServer(http.HandlerFunc(rec.serve))
	t.Cleanup(rec.Close)
	return rec
}

// take returns the requests recorded since the last take.
func (rec *recorder) take() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := rec.requests
	rec.requests = nil
	return out
}

func (rec *recorder) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/api/v1/user/balance" { // the sidecar's key probes: valid, not recorded
		writeJSON(w, http.StatusOK, `{"balance":100,"currency":"EUR"}`)
		return
	}
	rec.mu.Lock()
	rec.requests = append(rec.requests, recorded{Method: r.Method, Target: r.RequestURI, Header: r.Header.Clone(), Body: string(body)})
	rec.mu.Unlock()

	if r.Header.Get("X-Api-Key") == badKey {
		writeJSON(w, http.StatusUnauthorized, `{"status":false,"error_code":"INVALID_API_KEY","description":"unknown key"}`)
		return
	}
	switch path, _, _ := strings.Cut(r.RequestURI, "?"); path {
	case "/api/v1/user/workspaces": // JWT-only: refused whatever the key
		writeJSON(w, http.StatusUnauthorized, `{"status":false,"error_code":"UNAUTHORIZED","description":"use a JWT"}`)
	case "/api/v1/bare":
		// No Content-Type, Date or Server: the sidecar must add none.
		w.Header()["Date"] = nil
		w.Header()["Content-Type"] = nil
		w.Header().Set("Content-Length", "5")
		_, _ = io.WriteString(w, "hello")
	case "/api/v1/events":
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-rec.sseNext:
		case <-time.After(5 * time.Second):
		}
		_, _ = io.WriteString(w, "data: two\n\n")
	case "/api/v1/large":
		w.Header().Set("Content-Length", fmt.Sprint(largeAnswer))
		_, _ = w.Write(make([]byte, largeAnswer))
	case "/api/v1/cut":
		conn, buf, _ := http.NewResponseController(w).Hijack()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"partial\":")
		_ = buf.Flush()
		_ = conn.Close()
	case "/api/v1/fail":
		writeJSON(w, http.StatusServiceUnavailable, `{"status":false,"error_code":"INTERNAL_ERROR"}`)
	default:
		writeJSON(w, http.StatusOK, `{"status":true}`)
	}
}

// largeAnswer is the size of /api/v1/large.
const largeAnswer = 5 << 20

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// needTool fails the test when a client it uses is not installed: tests
// are never skipped (make test installs them).
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run make test, which installs it from Debian", name)
	}
	return path
}

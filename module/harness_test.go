package restlink_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/23telecom/restlink-sidecar/caddyfile"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// Keys of the standard fixture. Tests grep logs and answers for them.
const (
	keyMain      = "rl_live_MAINmainMAINmain0001"
	keyTestA     = "rl_live_TESTtestTESTtestA002"
	keyTestB     = "rl_live_TESTtestTESTtestB003"
	sitePort     = "9080"
	siteURL      = "http://localhost:" + sitePort
	standardYAML = `
upstream:
  url: {{upstream}}
  timeout: 2s
workspaces:
  main:
    id: 16
    main: true
    keys:
      - file: {{dir}}/main.key
  test-space:
    id: 18
    keys:
      - file: {{dir}}/test-space.key
      - file: {{dir}}/test-space.previous.key
tenants:
  acme: test-space
  globex: main
breaker:
  consecutive_failures: 3
  open_timeout: 1s
rotation:
  verify: false # the verification tests turn it on; here its probes would add to the requests counted
`
)

// fixtureWorkspaces are the fake upstream's workspaces for the standard
// fixture: keyTestB is bound to test-space too (the previous key).
func fixtureWorkspaces() []restlinktest.Workspace {
	return []restlinktest.Workspace{
		{ID: 16, Name: "Main", Main: true, Keys: []string{keyMain}},
		{ID: 18, Name: "test-space", Keys: []string{keyTestA, keyTestB}},
	}
}

// sidecar is a real Caddy server running the module in-process, in front of
// a fake restlink, with its config and key files in a temp dir.
type sidecar struct {
	t      *testing.T
	dir    string
	fake   *restlinktest.Server
	tester *caddytest.Tester
	log    string // path of Caddy's log file (debug level, JSON)
	setup  setup
}

// setup says what a sidecar runs with; zero fields take the standard fixture.
type setup struct {
	yaml       string            // config.yaml; {{upstream}} and {{dir}} are replaced
	keys       map[string]string // file name in dir -> content
	site       string            // site body; default: restlink {{dir}}/config.yaml
	extraSites string            // more Caddyfile sites
	workspaces []restlinktest.Workspace
	tls        bool // serve the fake over HTTPS and trust it with ca_file
	noCA       bool // with tls: do not trust it
}

func startSidecar(t *testing.T, s setup) *sidecar {
	t.Helper()
	if s.yaml == "" {
		s.yaml = standardYAML
	}
	if s.keys == nil {
		s.keys = map[string]string{"main.key": keyMain + "\n", "test-space.key": keyTestA, "test-space.previous.key": keyTestB}
	}
	if s.site == "" {
		s.site = "restlink {{dir}}/config.yaml"
	}
	if s.workspaces == nil {
		s.workspaces = fixtureWorkspaces()
	}
	sc := &sidecar{t: t, dir: t.TempDir()}
	if s.tls {
		sc.fake = restlinktest.NewTLSServer(s.workspaces...)
		if !s.noCA {
			sc.write("ca.pem", string(sc.fake.CACertPEM()))
			s.yaml = strings.Replace(s.yaml, "  timeout: 2s\n", "  timeout: 2s\n  ca_file: {{dir}}/ca.pem\n", 1)
		}
	} else {
		sc.fake = restlinktest.NewServer(s.workspaces...)
	}
	t.Cleanup(sc.fake.Close)
	for name, content := range s.keys {
		sc.write(name, content)
	}
	sc.write("config.yaml", sc.expand(s.yaml))
	sc.log = filepath.Join(sc.dir, "caddy.log")
	sc.setup = s
	sc.tester = caddytest.NewTester(t)
	sc.reloadCaddy("")
	return sc
}

// reloadCaddy loads the sidecar's Caddyfile into the running Caddy, with
// extra directives in the main site: a Caddy config reload.
func (sc *sidecar) reloadCaddy(extra string) {
	sc.t.Helper()
	caddyfile := sc.expand(`{
	admin localhost:2999
	debug
	log {
		output file {{dir}}/caddy.log
		format json
		level DEBUG
	}
}

http://:` + sitePort + ` {
	bind 127.0.0.1
` + extra + `	` + sc.setup.site + `
}
` + sc.setup.extraSites)
	sc.tester.InitServer(caddyfile, "caddyfile")
	if sc.t.Failed() {
		sc.t.FailNow()
	}
}

func (sc *sidecar) expand(s string) string {
	return strings.NewReplacer("{{upstream}}", sc.fake.URL, "{{dir}}", sc.dir).Replace(s)
}

// write writes a file in the sidecar's dir, mode 0600.
func (sc *sidecar) write(name, content string) {
	sc.t.Helper()
	if err := os.WriteFile(filepath.Join(sc.dir, name), []byte(content), 0o600); err != nil {
		sc.t.Fatal(err)
	}
}

// answer is a response, read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a request to the sidecar's main site. headers are
// "Name: value" strings.
func (sc *sidecar) do(method, path, body string, headers ...string) answer {
	sc.t.Helper()
	return sc.doAt(siteURL, method, path, body, headers...)
}

// doAt sends a request to the site at base.
func (sc *sidecar) doAt(base, method, path, body string, headers ...string) answer {
	sc.t.Helper()
	a, err := sc.tryAt(base, method, path, body, headers...)
	if err != nil {
		sc.t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// try is do that returns transport errors, including a body cut short.
func (sc *sidecar) try(method, path, body string, headers ...string) (answer, error) {
	return sc.tryAt(siteURL, method, path, body, headers...)
}

func (sc *sidecar) tryAt(base, method, path, body string, headers ...string) (answer, error) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if body == "" {
		req.Body = http.NoBody
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Add(name, strings.TrimSpace(value))
	}
	resp, err := sc.tester.Client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}, err
}

const smsBody = `{"to":["+14155551234"],"message":"hi","sender_id":"MyApp"}`

// send posts an SMS through the sidecar.
func (sc *sidecar) send(path string, headers ...string) answer {
	sc.t.Helper()
	return sc.do(http.MethodPost, path, smsBody, append([]string{"Content-Type: application/json"}, headers...)...)
}

// logs returns Caddy's log output so far.
func (sc *sidecar) logs() string {
	sc.t.Helper()
	b, err := os.ReadFile(sc.log)
	if err != nil {
		sc.t.Fatal(err)
	}
	return string(b)
}

// eventually retries cond every 20ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantSidecarError checks a sidecar error answer: status, error_code in the
// body and header, JSON content type.
func wantSidecarError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status || a.header.Get("X-Restlink-Sidecar-Error") != code ||
		!strings.Contains(a.body, `"error_code":"`+code+`"`) || a.header.Get("Content-Type") != "application/json" {
		t.Errorf("want %d %s, got %d %q header=%q body=%s", status, code, a.status,
			a.header.Get("Content-Type"), a.header.Get("X-Restlink-Sidecar-Error"), a.body)
	}
}

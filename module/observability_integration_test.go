package restlink_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	restlink "github.com/23telecom/restlink-sidecar/module"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

const opsURL = "http://localhost:9082"

// opsSite serves metrics and status next to the sidecar, as the shipped
// Caddyfile does.
const opsSite = `
http://:9082 {
	bind 127.0.0.1
	handle /metrics {
		metrics
	}
	handle /status {
		restlink_status {{dir}}/config.yaml
	}
}
`

// scrape reads the metrics endpoint into series -> value, the series
// written as name{label="value",…} with labels in Prometheus' order.
func (sc *sidecar) scrape() map[string]float64 {
	sc.t.Helper()
	a := sc.doAt(opsURL, http.MethodGet, "/metrics", "")
	if a.status != 200 {
		sc.t.Fatalf("metrics: %d", a.status)
	}
	out := make(map[string]float64)
	s := bufio.NewScanner(strings.NewReader(a.body))
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			sc.t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// series names a series the way scrape does.
func series(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	pairs := make([]string, 0, len(labels)/2)
	for i := 0; i < len(labels); i += 2 {
		pairs = append(pairs, labels[i]+`="`+labels[i+1]+`"`)
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

func TestMetricsStatusAndLogs(t *testing.T) {
	sc := startSidecar(t, setup{extraSites: opsSite})
	before := sc.scrape()

	for range 3 {
		if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 200 {
			t.Fatalf("send: %d", a.status)
		}
	}
	wantSidecarError(t, sc.send("/api/v1/sms/send", "X-Tenant: nobody"), 403, "UNKNOWN_TENANT")
	sc.fake.Inject(restlinktest.Fault{WorkspaceID: 16, Status: 503})
	for range 3 {
		sc.send("/api/v1/sms/send", "X-Tenant: globex")
	}
	for range 2 {
		wantSidecarError(t, sc.send("/api/v1/sms/send", "X-Tenant: globex"), 503, "CIRCUIT_OPEN")
	}
	sc.fake.RevokeKey(keyTestA)
	if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 200 {
		t.Fatalf("failover: %d", a.status)
	}
	const keyMainNew = "rl_live_MAINmainMAINmain0002"
	sc.fake.AddKey(keyMainNew, 16)
	sc.write("main.key", keyMainNew)
	eventually(t, 3*time.Second, "the rotation", func() bool {
		return strings.Contains(sc.logs(), restlink.Fingerprint(keyMainNew))
	})

	after := sc.scrape()
	delta := func(s string) float64 { return after[s] - before[s] }
	for _, c := range []struct {
		series string
		want   float64
	}{
		{series("restlink_requests_total", "workspace", "test-space", "class", "2xx"), 4},
		{series("restlink_requests_total", "workspace", "(none)", "class", "4xx"), 1},
		{series("restlink_requests_total", "workspace", "main", "class", "5xx"), 5},
		{series("restlink_rejections_total", "error_code", "UNKNOWN_TENANT"), 1},
		{series("restlink_rejections_total", "error_code", "CIRCUIT_OPEN"), 2},
		{series("restlink_breaker_transitions_total", "workspace", "main", "state", "open"), 1},
		{series("restlink_key_failovers_total", "workspace", "test-space"), 1},
		{series("restlink_config_reloads_total", "result", "success"), 1},
		{series("restlink_upstream_duration_seconds_count", "workspace", "test-space"), 4},
		{series("restlink_upstream_duration_seconds_count", "workspace", "main"), 3},
	} {
		if got := delta(c.series); got != c.want {
			t.Errorf("%s moved by %v, want %v", c.series, got, c.want)
		}
	}
	if v := after[series("restlink_breaker_state", "workspace", "main")]; v != 2 {
		t.Errorf("breaker_state of main = %v, want 2 (open)", v)
	}
	if v, ok := after[series("restlink_key_age_seconds", "workspace", "main")]; !ok || v > 5 {
		t.Errorf("key_age_seconds of main = %v (present %v), want a freshly loaded key", v, ok)
	}
	if v := after[series("restlink_key_age_seconds", "workspace", "test-space")]; v <= 0 {
		t.Errorf("key_age_seconds of test-space = %v", v)
	}

	// Status: fingerprints and sources, demotion, breaker, last reload.
	a := sc.doAt(opsURL, http.MethodGet, "/status", "")
	var st restlink.Status
	if err := json.Unmarshal([]byte(a.body), &st); err != nil || a.status != 200 {
		t.Fatalf("status %d: %v\n%s", a.status, err, a.body)
	}
	if st.LastReload == nil || st.LastReload.Result != "success" || st.Config != sc.dir+"/config.yaml" || len(st.Workspaces) != 2 {
		t.Errorf("status: %+v", st)
	}
	byName := map[string]restlink.WorkspaceStatus{}
	for _, ws := range st.Workspaces {
		byName[ws.Name] = ws
	}
	main, test := byName["main"], byName["test-space"]
	if main.ID != 16 || !main.Main || main.Breaker.State != "open" || main.Tenants != 1 ||
		main.Keys[0].Fingerprint != restlink.Fingerprint(keyMainNew) || main.Keys[0].Source != "file" || main.Keys[0].Location != sc.dir+"/main.key" {
		t.Errorf("main: %+v", main)
	}
	if len(test.Keys) != 2 || test.Keys[0].Fingerprint != restlink.Fingerprint(keyTestB) || !test.Keys[0].Active ||
		test.Keys[1].Fingerprint != restlink.Fingerprint(keyTestA) || !test.Keys[1].Demoted || test.Breaker.State != "closed" {
		t.Errorf("test-space: %+v", test)
	}
	wantSidecarError(t, sc.doAt(opsURL, http.MethodGet, "/status", "", "Origin: http://evil.example"), 403, "BROWSER_REQUEST_REJECTED")

	// The readiness probe command reads the same endpoint.
	if out, err := runCommand(t, "ready", "http://127.0.0.1:9082/status"); err != nil || !strings.Contains(out, "ready: 2 workspaces") {
		t.Errorf("ready: %v %s", err, out)
	}
	if out, err := runCommand(t, "ready", "http://127.0.0.1:9082/nothing-here"); err == nil {
		t.Errorf("ready succeeded against a wrong path: %s", out)
	}

	// Logs: one structured line per request, rejections with their code.
	var forwarded, rejected int
	for _, line := range strings.Split(sc.logs(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil || l["logger"] != "http.handlers.restlink" {
			continue
		}
		switch l["msg"] {
		case "forwarded request":
			forwarded++
			for _, f := range []string{"method", "path", "tenant", "workspace", "workspace_id", "routed_by", "breaker", "key", "attempts", "upstream_duration", "status", "duration"} {
				if _, ok := l[f]; !ok {
					t.Errorf("forwarded request line lacks %q: %s", f, line)
				}
			}
			if l["level"] != "info" {
				t.Errorf("forwarded request at %v", l["level"])
			}
		case "sidecar answered with an error":
			rejected++
			wantLevel := "info"
			if l["error_code"] == "CIRCUIT_OPEN" {
				wantLevel = "debug" // counted in metrics; the breaker's opening is logged once
			}
			if l["level"] != wantLevel || l["error_code"] == nil || l["reason"] == nil {
				t.Errorf("rejection line: %s", line)
			}
		}
	}
	if forwarded != 7 || rejected != 3 {
		t.Errorf("%d forwarded and %d rejection lines, want 7 and 3", forwarded, rejected)
	}
}

// TestMetricsCardinality: request input never creates label values.
func TestMetricsCardinality(t *testing.T) {
	sc := startSidecar(t, setup{extraSites: opsSite})
	sc.send("/api/v1/sms/send", "X-Tenant: nobody")
	before := sc.scrape()
	// An unknown tenant's refusal closes the connection without reading
	// the body, so a client may see the close as a reset: the request was
	// refused and counted either way, so transport errors are ignored.
	for i := range 1000 {
		tenant := fmt.Sprintf("t%d-%x", i, rand.Uint64())
		if i%2 == 0 {
			_, _ = sc.try(http.MethodPost, "/api/v1/sms/send", smsBody, "Content-Type: application/json", "X-Tenant: "+tenant)
		} else {
			_, _ = sc.try(http.MethodPost, "/t/"+tenant+"/api/v1/sms/send", smsBody, "Content-Type: application/json")
		}
	}
	after := sc.scrape()
	for s := range after {
		if _, ok := before[s]; !ok && strings.HasPrefix(s, "restlink_") {
			t.Errorf("new series %s", s)
		}
	}
	if d := after[series("restlink_rejections_total", "error_code", "UNKNOWN_TENANT")] - before[series("restlink_rejections_total", "error_code", "UNKNOWN_TENANT")]; d != 1000 {
		t.Errorf("UNKNOWN_TENANT moved by %v", d)
	}
}

// TestCoreLogsUnderTheCoreLogger: the core's lines ("config loaded", …)
// are logged under the restlink handler's name, whichever handler loaded
// the config (here the status handler alone).
func TestCoreLogsUnderTheCoreLogger(t *testing.T) {
	sc := startSidecar(t, setup{site: "restlink_status {{dir}}/config.yaml"})
	for line := range strings.Lines(sc.logs()) {
		if strings.Contains(line, `"msg":"config loaded"`) {
			if !strings.Contains(line, `"logger":"http.handlers.restlink"`) {
				t.Errorf("config loaded under another logger: %s", line)
			}
			return
		}
	}
	t.Fatalf("no config loaded line in:\n%s", sc.logs())
}

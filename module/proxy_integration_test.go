package restlink_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// TestForwarding runs the real server and checks what the upstream received
// for each way of naming a tenant: exactly the workspace's key, the path
// without the tenant prefix, and none of the app's credentials.
func TestForwarding(t *testing.T) {
	sc := startSidecar(t, setup{})
	appCreds := []string{
		"X-API-Key: app-own-key", "Authorization: Bearer app-jwt", "Proxy-Authorization: Basic eDp5",
		"Cookie: session=abc", "X-Forwarded-Host: evil.example", "X-Forwarded-For: 10.9.9.9",
		"X-Request-Id: req-42",
	}
	for _, tc := range []struct {
		name, path string
		headers    []string
		wantKey    string
		wantWS     int64
	}{
		{"tenant header", "/api/v1/sms/send", []string{"X-Tenant: acme"}, keyTestA, 18},
		{"path prefix", "/t/globex/api/v1/sms/send", nil, keyMain, 16},
		{"workspace id", "/api/v1/sms/send", []string{"X-Workspace-ID: 18"}, keyTestA, 18},
		{"no tenant: main", "/api/v1/sms/send", nil, keyMain, 16},
		{"all selectors agree", "/t/acme/api/v1/sms/send", []string{"X-Tenant: acme", "X-Workspace-ID: 18"}, keyTestA, 18},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc.fake.Reset()
			a := sc.send(tc.path+"?trace=1&x=%2F", append(tc.headers, appCreds...)...)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			var sent restlinktest.SendResponse
			if err := json.Unmarshal([]byte(a.body), &sent); err != nil || !sent.Status || len(sent.Results) != 1 {
				t.Errorf("answer %s (%v)", a.body, err)
			}
			reqs := sc.fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream received %d requests", len(reqs))
			}
			got := reqs[0]
			if got.Key != tc.wantKey || got.WorkspaceID != tc.wantWS || got.Path != "/api/v1/sms/send" || got.RawQuery != "trace=1&x=%2F" {
				t.Errorf("upstream got key %q ws %d path %q query %q", got.Key, got.WorkspaceID, got.Path, got.RawQuery)
			}
			if len(got.Header.Values("X-Api-Key")) != 1 || got.Body == nil || string(got.Body) != smsBody {
				t.Errorf("upstream got keys %q body %q", got.Header.Values("X-Api-Key"), got.Body)
			}
			for _, h := range []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Tenant", "X-Workspace-Id", "X-Forwarded-Host", "X-Forwarded-For"} {
				if v := got.Header.Values(h); len(v) > 0 {
					t.Errorf("upstream received %s: %q", h, v)
				}
			}
			if got.Header.Get("X-Request-Id") != "req-42" || got.Host != strings.TrimPrefix(sc.fake.URL, "http://") {
				t.Errorf("upstream got X-Request-Id %q Host %q", got.Header.Get("X-Request-Id"), got.Host)
			}
		})
	}
}

// TestUpstreamAnswersPassThrough: the upstream's own errors and redirects
// reach the app unchanged; redirects are not followed.
func TestUpstreamAnswersPassThrough(t *testing.T) {
	sc := startSidecar(t, setup{})

	a := sc.do(http.MethodPost, "/api/v1/sms/send", `{"to":["12"],"message":"hi"}`, "X-Tenant: acme")
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, `"error_code":"INVALID_TO"`) || a.header.Get("X-Restlink-Sidecar-Error") != "" {
		t.Errorf("validation error: %d %s %v", a.status, a.body, a.header)
	}
	a = sc.do(http.MethodGet, "/api/v1/user/workspaces", "", "X-Tenant: acme")
	if a.status != http.StatusUnauthorized || !strings.Contains(a.body, `"error_code":"UNAUTHORIZED"`) {
		t.Errorf("workspaces listing: %d %s", a.status, a.body)
	}

	sc.fake.Reset()
	sc.fake.Inject(restlinktest.Fault{RedirectTo: "http://127.0.0.1:1/steal", Times: 1})
	client := *sc.tester.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest(http.MethodPost, siteURL+"/api/v1/sms/send", strings.NewReader(smsBody))
	req.Header.Set("X-Tenant", "acme")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://127.0.0.1:1/steal" || sc.fake.Count() != 1 {
		t.Errorf("redirect: %d %q, upstream count %d", resp.StatusCode, resp.Header.Get("Location"), sc.fake.Count())
	}
}

// TestSidecarErrors checks every sidecar error that routing and checks
// produce: status, error_code, header — and that the upstream received
// nothing.
func TestSidecarErrors(t *testing.T) {
	type errCase struct {
		name, method, path string
		headers            []string
		body               string
		status             int
		code               string
	}
	run := func(t *testing.T, sc *sidecar, cases []errCase) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				sc.fake.Reset()
				a := sc.do(tc.method, tc.path, tc.body, tc.headers...)
				wantSidecarError(t, a, tc.status, tc.code)
				if n := sc.fake.Count(); n != 0 {
					t.Errorf("upstream received %d requests", n)
				}
			})
		}
	}

	allowYAML := standardYAML + "allow:\n  - POST /api/v1/sms/send\n  - GET /api/v1/sms/*\nsecurity:\n  max_body_bytes: 100\n"
	t.Run("standard", func(t *testing.T) {
		sc := startSidecar(t, setup{yaml: allowYAML})
		run(t, sc, []errCase{
			{"unknown tenant", "POST", "/api/v1/sms/send", []string{"X-Tenant: nobody"}, smsBody, 403, "UNKNOWN_TENANT"},
			{"unknown tenant in path", "POST", "/t/nobody/api/v1/sms/send", nil, smsBody, 403, "UNKNOWN_TENANT"},
			{"empty tenant header", "POST", "/api/v1/sms/send", []string{"X-Tenant:"}, smsBody, 403, "UNKNOWN_TENANT"},
			{"conflicting tenants", "POST", "/t/acme/api/v1/sms/send", []string{"X-Tenant: globex"}, smsBody, 400, "CONFLICTING_TENANT"},
			{"conflicting workspace id", "POST", "/api/v1/sms/send", []string{"X-Tenant: acme", "X-Workspace-ID: 16"}, smsBody, 400, "CONFLICTING_TENANT"},
			{"workspace id not an integer", "POST", "/api/v1/sms/send", []string{"X-Workspace-ID: abc"}, smsBody, 400, "INVALID_WORKSPACE_HEADER"},
			{"workspace id not configured", "POST", "/api/v1/sms/send", []string{"X-Workspace-ID: 77"}, smsBody, 403, "CROSS_TENANT_WORKSPACE"},
			{"dot segments", "POST", "/t/acme/../globex/api/v1/sms/send", nil, smsBody, 400, "INVALID_PATH"},
			{"encoded dots", "POST", "/t/acme/%2e%2e/globex/api/v1/sms/send", nil, smsBody, 400, "INVALID_PATH"},
			{"encoded slash", "POST", "/t/acme%2Fapi/v1/sms/send", nil, smsBody, 400, "INVALID_PATH"},
			{"double slash", "POST", "/t/acme//api/v1/sms/send", nil, smsBody, 400, "INVALID_PATH"},
			{"not in allow list", "GET", "/api/v1/user/workspaces", []string{"X-Tenant: acme"}, "", 403, "ROUTE_NOT_ALLOWED"},
			{"method not in allow list", "DELETE", "/api/v1/sms/send", []string{"X-Tenant: acme"}, "", 403, "ROUTE_NOT_ALLOWED"},
			{"browser origin", "POST", "/api/v1/sms/send", []string{"Origin: http://evil.example"}, smsBody, 403, "BROWSER_REQUEST_REJECTED"},
			{"browser fetch metadata", "POST", "/api/v1/sms/send", []string{"Sec-Fetch-Site: cross-site"}, smsBody, 403, "BROWSER_REQUEST_REJECTED"},
			{"body too large", "POST", "/api/v1/sms/send", []string{"X-Tenant: acme"}, strings.Repeat("x", 101), 413, "BODY_TOO_LARGE"},
		})
		// The allow list is matched on the path as forwarded.
		sc.fake.Reset()
		if a := sc.do("GET", "/t/acme/api/v1/sms/msg_9", ""); a.status != http.StatusNotFound || sc.fake.Count() != 1 {
			t.Errorf("allowed GET: %d %s", a.status, a.body)
		}
	})
	t.Run("on_missing reject", func(t *testing.T) {
		sc := startSidecar(t, setup{yaml: standardYAML + "routing:\n  on_missing: reject\n"})
		run(t, sc, []errCase{{"no tenant", "POST", "/api/v1/sms/send", nil, smsBody, 400, "TENANT_REQUIRED"}})
	})
	t.Run("no main workspace", func(t *testing.T) {
		sc := startSidecar(t, setup{yaml: strings.Replace(standardYAML, "main: true", "main: false", 1)})
		run(t, sc, []errCase{{"no tenant", "POST", "/api/v1/sms/send", nil, smsBody, 403, "NO_MAIN_WORKSPACE"}})
	})
}

// TestPinnedTenant: a site pinned to a tenant cannot be used for another.
func TestPinnedTenant(t *testing.T) {
	sc := startSidecar(t, setup{extraSites: `
http://:9081 {
	bind 127.0.0.1
	restlink {
		config {{dir}}/config.yaml
		tenant acme
	}
}
`})
	const pinned = "http://localhost:9081"
	post := func(path string, headers ...string) answer {
		t.Helper()
		return sc.doAt(pinned, http.MethodPost, path, smsBody, headers...)
	}
	lastWorkspace := func() int64 {
		reqs := sc.fake.Requests()
		if len(reqs) == 0 {
			return 0
		}
		return reqs[len(reqs)-1].WorkspaceID
	}
	if a := post("/api/v1/sms/send"); a.status != 200 || lastWorkspace() != 18 {
		t.Errorf("pinned send: %d %s, reached workspace %d", a.status, a.body, lastWorkspace())
	}
	if a := post("/t/acme/api/v1/sms/send", "X-Tenant: acme"); a.status != 200 {
		t.Errorf("pinned send naming its own tenant: %d %s", a.status, a.body)
	}
	sc.fake.Reset()
	for _, h := range [][]string{{"X-Tenant: globex"}, {"X-Workspace-ID: 16"}, {"X-Tenant: nobody"}} {
		wantSidecarError(t, post("/api/v1/sms/send", h...), 400, "CONFLICTING_TENANT")
	}
	wantSidecarError(t, post("/t/globex/api/v1/sms/send"), 400, "CONFLICTING_TENANT")
	if sc.fake.Count() != 0 {
		t.Errorf("upstream received %d conflicting requests", sc.fake.Count())
	}
	// The unpinned site still serves every tenant.
	if a := sc.send("/api/v1/sms/send", "X-Tenant: globex"); a.status != 200 || lastWorkspace() != 16 {
		t.Errorf("unpinned site: %d %s, reached workspace %d", a.status, a.body, lastWorkspace())
	}
}

// TestTLSUpstream: the upstream's certificate is verified against ca_file
// (plus system roots); without it the connection fails closed.
func TestTLSUpstream(t *testing.T) {
	sc := startSidecar(t, setup{tls: true})
	if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 200 {
		t.Fatalf("via TLS: %d %s", a.status, a.body)
	}
	if reqs := sc.fake.Requests(); len(reqs) != 1 || reqs[0].Key != keyTestA {
		t.Fatalf("upstream got %+v", reqs)
	}

	untrusted := startSidecar(t, setup{tls: true, noCA: true})
	a := untrusted.send("/api/v1/sms/send", "X-Tenant: acme")
	wantSidecarError(t, a, http.StatusBadGateway, "UPSTREAM_UNAVAILABLE")
	if untrusted.fake.Count() != 0 {
		t.Errorf("a request reached an unverified upstream")
	}
}

// TestWorkspaceIDTakesTenantPolicy: naming a workspace by X-Workspace-ID
// instead of its one tenant does not skip that tenant's policy: a dry_run
// tenant's workspace reached by id sends nothing.
func TestWorkspaceIDTakesTenantPolicy(t *testing.T) {
	sc := startSidecar(t, setup{yaml: standardYAML + "policy:\n  tenants:\n    globex: {dry_run: true}\n"})
	if a := sc.send("/api/v1/sms/send", "X-Workspace-ID: 16"); a.status != http.StatusOK || sc.fake.Count() != 0 {
		t.Errorf("a send to globex's workspace by id: %d %s; the upstream received %d, want a dry run", a.status, a.body, sc.fake.Count())
	}
	if a := sc.send("/api/v1/sms/send", "X-Workspace-ID: 18"); a.status != http.StatusOK || sc.fake.Count() != 1 {
		t.Errorf("a send to acme's workspace by id: %d %s; the upstream received %d, want 1", a.status, a.body, sc.fake.Count())
	}
}

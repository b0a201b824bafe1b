package restlink

import (
	"cmp"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const routingYAML = `
workspaces:
  main:
    id: 16
    main: true
    keys: [{value: key-main}]
  test-space:
    id: 18
    keys: [{value: key-test}]
  other:
    id: 20
    keys: [{value: key-other}]
tenants:
  acme: test-space
  acme-eu: test-space
  globex: main
  initech: other
`

// testSnapshot builds a snapshot from YAML with literal keys, without an
// upstream (routing and checks only).
func testSnapshot(t testing.TB, yaml string, env ...string) *snapshot {
	t.Helper()
	cfg, err := parseConfig([]byte(yaml), envOf(env...))
	if err != nil {
		t.Fatal(err)
	}
	keys := loadKeys(cfg.workspaces, cfg.Rotation.Verify, envOf(env...).lookup(), nil, nil, time.Now())
	if len(keys.errs) > 0 {
		t.Fatal(keys.errs)
	}
	return buildSnapshot(cfg, [32]byte{}, keys, new(webhookSecretLoad), nil, nil, nil, liveState{stats: new(configStats)}, time.Now())
}

func TestRoute(t *testing.T) {
	snap := testSnapshot(t, routingYAML)
	reject := testSnapshot(t, routingYAML+"routing:\n  on_missing: reject\n")
	noMain := testSnapshot(t, strings.Replace(routingYAML, "main: true", "main: false", 1))
	for _, tc := range []struct {
		name     string
		snap     *snapshot
		path     string
		headers  []string
		pinned   string
		wantWS   string // workspace name, or the error code
		wantPath string
		wantBy   string
	}{
		{"tenant header", snap, "/api/v1/sms/send", []string{"X-Tenant: acme"}, "", "test-space", "/api/v1/sms/send", byHeader},
		{"path prefix", snap, "/t/globex/api/v1/sms/send", nil, "", "main", "/api/v1/sms/send", byPath},
		{"path prefix only", snap, "/t/globex", nil, "", "main", "/", byPath},
		{"path prefix trailing slash", snap, "/t/globex/", nil, "", "main", "/", byPath},
		{"not the prefix", snap, "/tx/globex/api", nil, "", "main", "/tx/globex/api", byMain},
		{"prefix without tenant", snap, "/t/", nil, "", "INVALID_PATH", "", ""},
		{"workspace id", snap, "/api/v1/sms/send", []string{"X-Workspace-ID: 18"}, "", "test-space", "/api/v1/sms/send", byWorkspaceID},
		{"workspace id leading zero", snap, "/x", []string{"X-Workspace-ID: 018"}, "", "test-space", "/x", byWorkspaceID},
		{"workspace id not configured", snap, "/x", []string{"X-Workspace-ID: 99"}, "", "CROSS_TENANT_WORKSPACE", "", ""},
		{"workspace id zero", snap, "/x", []string{"X-Workspace-ID: 0"}, "", "INVALID_WORKSPACE_HEADER", "", ""},
		{"workspace id negative", snap, "/x", []string{"X-Workspace-ID: -18"}, "", "INVALID_WORKSPACE_HEADER", "", ""},
		{"workspace id plus sign", snap, "/x", []string{"X-Workspace-ID: +18"}, "", "INVALID_WORKSPACE_HEADER", "", ""},
		{"workspace id text", snap, "/x", []string{"X-Workspace-ID: main"}, "", "INVALID_WORKSPACE_HEADER", "", ""},
		{"workspace id empty", snap, "/x", []string{"X-Workspace-ID: "}, "", "INVALID_WORKSPACE_HEADER", "", ""},
		{"workspace id overflow", snap, "/x", []string{"X-Workspace-ID: 99999999999999999999"}, "", "INVALID_WORKSPACE_HEADER", "", ""},
		{"unknown tenant never falls back", snap, "/x", []string{"X-Tenant: nobody"}, "", "UNKNOWN_TENANT", "", ""},
		{"unknown tenant in path", snap, "/t/nobody/x", nil, "", "UNKNOWN_TENANT", "", ""},
		{"tenant names are case-sensitive", snap, "/x", []string{"X-Tenant: ACME"}, "", "UNKNOWN_TENANT", "", ""},
		{"empty tenant header", snap, "/x", []string{"X-Tenant: "}, "", "UNKNOWN_TENANT", "", ""},
		{"tenant header twice, different", snap, "/x", []string{"X-Tenant: acme", "X-Tenant: globex"}, "", "CONFLICTING_TENANT", "", ""},
		{"tenant header twice, same", snap, "/x", []string{"X-Tenant: acme", "X-Tenant: acme"}, "", "test-space", "/x", byHeader},
		{"path and header disagree", snap, "/t/acme/x", []string{"X-Tenant: globex"}, "", "CONFLICTING_TENANT", "", ""},
		{"path and workspace id disagree", snap, "/t/acme/x", []string{"X-Workspace-ID: 16"}, "", "CONFLICTING_TENANT", "", ""},
		{"header and workspace id disagree", snap, "/x", []string{"X-Tenant: initech", "X-Workspace-ID: 18"}, "", "CONFLICTING_TENANT", "", ""},
		{"two tenants, one workspace", snap, "/t/acme/x", []string{"X-Tenant: acme-eu"}, "", "test-space", "/x", byPath},
		{"all three agree", snap, "/t/acme/x", []string{"X-Tenant: acme", "X-Workspace-ID: 18"}, "", "test-space", "/x", byPath},
		{"no tenant goes to main", snap, "/api/v1/sms/send", nil, "", "main", "/api/v1/sms/send", byMain},
		{"no tenant, reject", reject, "/x", nil, "", "TENANT_REQUIRED", "", ""},
		{"no tenant, no main", noMain, "/x", nil, "", "NO_MAIN_WORKSPACE", "", ""},
		{"pinned", snap, "/x", nil, "acme", "test-space", "/x", byPinned},
		{"pinned, same tenant by header", snap, "/x", []string{"X-Tenant: acme"}, "acme", "test-space", "/x", byPinned},
		{"pinned, same tenant by path", snap, "/t/acme/x", nil, "acme", "test-space", "/x", byPinned},
		{"pinned, same workspace by id", snap, "/x", []string{"X-Workspace-ID: 18"}, "acme", "test-space", "/x", byPinned},
		{"pinned, other tenant by header", snap, "/x", []string{"X-Tenant: globex"}, "acme", "CONFLICTING_TENANT", "", ""},
		{"pinned, other tenant same workspace", snap, "/x", []string{"X-Tenant: acme-eu"}, "acme", "CONFLICTING_TENANT", "", ""},
		{"pinned, unknown tenant by header", snap, "/x", []string{"X-Tenant: nobody"}, "acme", "CONFLICTING_TENANT", "", ""},
		{"pinned, other tenant by path", snap, "/t/globex/x", nil, "acme", "CONFLICTING_TENANT", "", ""},
		{"pinned, other workspace id", snap, "/x", []string{"X-Workspace-ID: 16"}, "acme", "CONFLICTING_TENANT", "", ""},
		{"pinned, unknown workspace id", snap, "/x", []string{"X-Workspace-ID: 99"}, "acme", "CONFLICTING_TENANT", "", ""},
		{"pinned, tenant no longer configured", snap, "/x", nil, "gone", "UNKNOWN_TENANT", "", ""},
		{"pinned with on_missing reject", reject, "/x", nil, "acme", "test-space", "/x", byPinned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, kv := range tc.headers {
				name, value, _ := strings.Cut(kv, ":")
				h.Add(name, strings.TrimSpace(value))
			}
			sel, rj := tc.snap.router.route(h, tc.path, tc.pinned)
			if rj != nil {
				if string(rj.code) != tc.wantWS {
					t.Fatalf("rejected with %s (%s), want %s", rj.code, rj.description, tc.wantWS)
				}
				return
			}
			if sel.ws.name != tc.wantWS || sel.path != tc.wantPath || sel.by != tc.wantBy {
				t.Errorf("routed to %s path %q by %s; want %s %q by %s", sel.ws.name, sel.path, sel.by, tc.wantWS, tc.wantPath, tc.wantBy)
			}
		})
	}
}

// TestRouteWorkspaceIDTakesItsSoleTenant: a workspace named by id that
// exactly one tenant maps to is that tenant's (its policy, counters and
// records); one that several tenants, or none, map to is nobody's.
func TestRouteWorkspaceIDTakesItsSoleTenant(t *testing.T) {
	snap := testSnapshot(t, routingYAML+"  nobody-maps: main\n")
	lone := testSnapshot(t, strings.Replace(routingYAML, "  globex: main\n", "", 1))
	for _, tc := range []struct {
		name       string
		snap       *snapshot
		id         string
		wantTenant string
	}{
		{"one tenant", snap, "20", "initech"},
		{"two tenants", snap, "18", ""},
		{"two tenants, main", snap, "16", ""},
		{"no tenant", lone, "16", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, rj := tc.snap.router.route(http.Header{"X-Workspace-Id": {tc.id}}, "/x", "")
			if rj != nil || sel.tenant != tc.wantTenant || policySubject(sel) != cmp.Or(tc.wantTenant, "@"+sel.ws.name) {
				t.Errorf("tenant %q (subject %q), %v; want %q", sel.tenant, policySubject(sel), rj, tc.wantTenant)
			}
		})
	}
}

func TestRouteDisabledSelectors(t *testing.T) {
	snap := testSnapshot(t, routingYAML+"routing:\n  tenant_header: \"\"\n  path_prefix: \"\"\n  workspace_id_header: \"\"\n")
	h := http.Header{"X-Tenant": {"acme"}, "X-Workspace-Id": {"18"}}
	sel, rj := snap.router.route(h, "/t/acme/x", "")
	if rj != nil || sel.ws.name != "main" || sel.path != "/t/acme/x" {
		t.Errorf("disabled selectors were used: %+v %v", sel, rj)
	}
}

func TestParsePathPrefix(t *testing.T) {
	for tmpl, want := range map[string]string{"/t/{tenant}": "/t/", "/tenants/by-name/{tenant}": "/tenants/by-name/", "": ""} {
		if got, err := parsePathPrefix(tmpl); err != nil || got != want {
			t.Errorf("parsePathPrefix(%q) = %q, %v; want %q", tmpl, got, err, want)
		}
	}
	for _, bad := range []string{"/t/", "/{tenant}", "/t/{tenant}/x", "t/{tenant}", "/{x}/{tenant}", "/t//{tenant}", "/t/{tenant}*"} {
		if _, err := parsePathPrefix(bad); err == nil {
			t.Errorf("parsePathPrefix(%q) accepted", bad)
		}
	}
}

// FuzzRoute: whatever the path and headers, a routed request goes to the
// workspace its selectors name (never main when a tenant was named), and
// the forwarded path is what followed the prefix.
func FuzzRoute(f *testing.F) {
	snap := testSnapshot(f, routingYAML)
	f.Add("/t/acme/api/v1/sms/send", "globex", "18", "")
	f.Add("/api/v1/sms/send", "acme", "", "")
	f.Add("/t/initech", "", "20", "initech")
	f.Add("/t//x", "ACME", "0018", "acme")
	f.Fuzz(func(t *testing.T, path, tenant, wsID, pinned string) {
		path, reason := canonicalPath(path)
		if reason != "" {
			return
		}
		h := http.Header{}
		if tenant != "" {
			h.Set("X-Tenant", tenant)
		}
		if wsID != "" {
			h.Set("X-Workspace-ID", wsID)
		}
		sel, rj := snap.router.route(h, path, pinned)
		if rj != nil {
			return
		}
		named := map[string]bool{}
		if tenant != "" {
			named[snap.router.tenant(tenant).name] = true
		}
		if id, ok := parseWorkspaceID(wsID); ok && wsID != "" {
			named[snap.router.workspaceByID(id).name] = true
		}
		if p, ok := strings.CutPrefix(path, "/t/"); ok {
			name, rest, _ := strings.Cut(p, "/")
			named[snap.router.tenant(name).name] = true
			if sel.path != "/"+rest {
				t.Fatalf("path %q forwarded as %q", path, sel.path)
			}
		} else if sel.path != path {
			t.Fatalf("path %q forwarded as %q", path, sel.path)
		}
		if pinned != "" {
			named[snap.router.tenant(pinned).name] = true
		}
		if len(named) > 1 || (len(named) == 1 && !named[sel.ws.name]) || (len(named) == 0 && sel.by != byMain) {
			t.Fatalf("path %q tenant %q id %q pinned %q: routed to %s by %s; selectors named %v", path, tenant, wsID, pinned, sel.ws.name, sel.by, named)
		}
	})
}

func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{10, 10000} {
		var sb strings.Builder
		sb.WriteString(routingYAML)
		for i := range n {
			fmt.Fprintf(&sb, "  tenant-%d: other\n", i)
		}
		snap := testSnapshot(b, sb.String())
		h := http.Header{"X-Tenant": {fmt.Sprintf("tenant-%d", n/2)}}
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, rj := snap.router.route(h, "/api/v1/sms/send", ""); rj != nil {
					b.Fatal(rj.description)
				}
			}
		})
	}
	for _, n := range []int{10, 10000} {
		var sb strings.Builder
		sb.WriteString("workspaces:\n")
		for i := range n {
			fmt.Fprintf(&sb, "  ws-%d:\n    id: %d\n    keys: [{value: key-%d}]\n", i, 7*i+1, i)
		}
		snap := testSnapshot(b, sb.String())
		h := http.Header{"X-Workspace-Id": {strconv.Itoa(7*(n/2) + 1)}}
		b.Run(fmt.Sprintf("workspace-id/workspaces=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if sel, rj := snap.router.route(h, "/api/v1/sms/send", ""); rj != nil || sel.by != byWorkspaceID {
					b.Fatal("not routed by the workspace id")
				}
			}
		})
	}
}

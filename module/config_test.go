package restlink

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/23telecom/restlink-sidecar/module/policy"
)

const minimalYAML = `
workspaces:
  main:
    id: 16
    main: true
    keys:
      - file: /run/secrets/main.key
`

func noEnv() []string { return nil }

func envOf(kv ...string) Environ { return func() []string { return kv } }

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := parseConfig([]byte(minimalYAML), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"upstream.url", cfg.Upstream.URL, "https://restlink23telecom.com"},
		{"upstream.timeout", cfg.Upstream.Timeout, 15 * time.Second},
		{"routing.tenant_header", cfg.Routing.TenantHeader, "X-Tenant"},
		{"routing.path_prefix", cfg.Routing.PathPrefix, "/t/{tenant}"},
		{"routing.workspace_id_header", cfg.Routing.WorkspaceIDHeader, "X-Workspace-ID"},
		{"routing.on_missing", cfg.Routing.OnMissing, "main"},
		{"breaker.consecutive_failures", cfg.Breaker.ConsecutiveFailures, uint32(5)},
		{"breaker.open_timeout", cfg.Breaker.OpenTimeout, 30 * time.Second},
		{"breaker.half_open_requests", cfg.Breaker.HalfOpenRequests, uint32(1)},
		{"breaker.failure_statuses", len(cfg.Breaker.FailureStatuses), 4},
		{"security.trusted_clients", cfg.Security.TrustedClients[1], netip.MustParsePrefix("::1/128")},
		{"security.allowed_hosts", strings.Join(cfg.Security.AllowedHosts, ","), "localhost,127.0.0.1,[::1]"},
		{"security.reject_browser_requests", cfg.Security.RejectBrowserRequests, true},
		{"security.max_body_bytes", cfg.Security.MaxBodyBytes, int64(1 << 20)},
		{"allow", cfg.Allow == nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseConfigExplicitEmptyDisables(t *testing.T) {
	cfg, err := parseConfig([]byte(minimalYAML+`
routing:
  tenant_header: ""
  path_prefix: ""
security:
  reject_browser_requests: false
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Routing.TenantHeader != "" || cfg.Routing.PathPrefix != "" || cfg.Security.RejectBrowserRequests {
		t.Errorf("explicit values did not override defaults: %+v %+v", cfg.Routing, cfg.Security)
	}
	if cfg.Routing.WorkspaceIDHeader != "X-Workspace-ID" {
		t.Errorf("unset field lost its default: %q", cfg.Routing.WorkspaceIDHeader)
	}
}

// TestPolicySendersAndLinksDecode: the YAML of senders and links reaches
// the policy as written: a quoted number keeps its +, and empty lists
// allow nothing rather than everything.
func TestPolicySendersAndLinksDecode(t *testing.T) {
	pl, err := parseConfig([]byte(minimalYAML+`tenants:
  acme: main
  none: main
  nolinks: main
policy:
  default:
    senders: [MyApp, "+447700900123"]
    links: {allow: [example.com, "*.example.org"]}
  tenants:
    none: {senders: []}
    nolinks: {links: {allow: []}}
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tenant, sender, message, rule string
	}{
		{"acme", "MyApp", "see https://example.com and a.example.org", ""},
		{"acme", "+447700900123", "hi", ""},
		{"acme", "Other", "hi", policy.RuleSenders},
		{"acme", "MyApp", "see evil.com", policy.RuleLinks},
		{"none", "MyApp", "hi", policy.RuleSenders},
		{"nolinks", "MyApp", "hi", ""},
		{"nolinks", "MyApp", "see https://example.com", policy.RuleLinks},
	} {
		s, ref := pl.policy.ParseSend([]byte(`{"to":["+447400123456"],"message":"` + tc.message + `","sender_id":"` + tc.sender + `"}`))
		if ref == nil {
			ref = pl.policy.For(tc.tenant).Check(s)
		}
		if got := ""; ref != nil && ref.Rule != tc.rule || ref == nil && tc.rule != "" {
			if ref != nil {
				got = ref.Rule
			}
			t.Errorf("%s, %s…, %q: refused by %q, want %q", tc.tenant, tc.sender[:3], tc.message, got, tc.rule)
		}
	}
}

func TestParseConfigTenantNamesWithDots(t *testing.T) {
	cfg, err := parseConfig([]byte(minimalYAML+"tenants:\n  acme.example.com: main\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tenants["acme.example.com"] != "main" {
		t.Errorf("tenants = %v", cfg.Tenants)
	}
}

func TestEnvOverrides(t *testing.T) {
	cfg, err := parseConfig([]byte(minimalYAML), envOf(
		"RESTLINK__UPSTREAM__URL=https://staging.example.com",
		"RESTLINK__BREAKER__OPEN_TIMEOUT=45s",
		"RESTLINK__BREAKER__CONSECUTIVE_FAILURES=9",
		"RESTLINK__SECURITY__REJECT_BROWSER_REQUESTS=false",
		"RESTLINK__WORKSPACES__MAIN__ID=99",
		"RESTLINK_KEY_MAIN=not-an-override",
	))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Upstream.URL != "https://staging.example.com" || cfg.Breaker.OpenTimeout != 45*time.Second ||
		cfg.Breaker.ConsecutiveFailures != 9 || cfg.Security.RejectBrowserRequests || cfg.Workspaces["main"].ID != 99 {
		t.Errorf("overrides not applied: %+v %+v %+v %+v", cfg.Upstream, cfg.Breaker, cfg.Security, cfg.Workspaces)
	}
}

func TestEnvOverrideErrors(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"RESTLINK__UPSTREAM__URLL=x", `RESTLINK__UPSTREAM__URLL: there is no setting "upstream.urll"`},
		{"RESTLINK__UPSTREAM=x", `RESTLINK__UPSTREAM: "upstream" is not a scalar setting`},
		{"RESTLINK__BREAKER__FAILURE_STATUSES=500", `"breaker.failure_statuses" is not a scalar setting`},
		{"RESTLINK__WORKSPACES__OTHER__ID=5", `there is no setting "workspaces.other.id"`},
		{"RESTLINK__BREAKER__OPEN_TIMEOUT=30", "a duration needs a unit"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			_, err := parseConfig([]byte(minimalYAML), envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestBadConfigs is the table of invalid configs and the message each
// gives; every message names the field.
func TestBadConfigs(t *testing.T) {
	const ws = "workspaces:\n  main:\n    id: 16\n    main: true\n    keys:\n      - file: /k\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown top-level field", ws + "upstrem: {}\n", "config: unknown field(s): upstrem"},
		{"unknown nested field", ws + "upstream:\n  urll: x\n", "upstream: unknown field(s): urll"},
		{"unknown key source field", "workspaces:\n  main:\n    id: 1\n    keys:\n      - fil: /k\n", "unknown field(s): fil"},
		{"no workspaces", "tenants: {}\n", "workspaces: at least one workspace is required"},
		{"id missing", "workspaces:\n  main:\n    keys:\n      - file: /k\n", "workspaces.main.id: must be a positive integer"},
		{"negative id", "workspaces:\n  main:\n    id: -3\n    keys:\n      - file: /k\n", "workspaces.main.id: must be a positive integer"},
		{"id not a number", "workspaces:\n  main:\n    id: abc\n    keys:\n      - file: /k\n", "workspaces.main.id: cannot parse the value as a whole number (line 3)"},
		{"duplicate ids", ws + "  other:\n    id: 16\n    keys:\n      - file: /o\n", `workspaces.other.id: id 16 is also the id of workspace "main"`},
		{"two mains", ws + "  other:\n    id: 17\n    main: true\n    keys:\n      - file: /o\n", "workspaces: only one workspace may be main, found 2: main, other"},
		{"no key source", "workspaces:\n  main:\n    id: 1\n", "workspaces.main.keys: at least one key source is required"},
		{"two fields in a key source", "workspaces:\n  main:\n    id: 1\n    keys:\n      - file: /k\n        env: K\n", "workspaces.main.keys[0]: exactly one of file, env or value must be set"},
		{"a key file path with a NUL byte", "workspaces:\n  main:\n    id: 1\n    keys:\n      - file: \"/k\\0env:K\"\n", "workspaces.main.keys[0]: file holds a NUL byte, which no path can"},
		{"bad env name", "workspaces:\n  main:\n    id: 1\n    keys:\n      - env: 9LIVES\n", `workspaces.main.keys[0]: env "9LIVES" is not an environment variable name`},
		{"too many keys", "workspaces:\n  main:\n    id: 1\n    keys: [{file: /1},{file: /2},{file: /3},{file: /4},{file: /5},{file: /6},{file: /7},{file: /8},{file: /9}]\n", "at most 8 key sources"},
		{"bad workspace name", "workspaces:\n  'main ws':\n    id: 1\n    keys:\n      - file: /k\n", "may contain only A-Z a-z 0-9 . _ -"},
		{"tenant to unknown workspace", ws + "tenants:\n  acme: nowhere\n", `tenants.acme: names workspace "nowhere", which is not configured`},
		{"bad tenant name", ws + "tenants:\n  'ac/me': main\n", "tenants.ac/me: tenant name"},
		{"upstream not https", ws + "upstream:\n  url: http://restlink.example.com\n", "upstream.url: plain http is allowed only to a loopback address"},
		{"upstream with path", ws + "upstream:\n  url: https://restlink.example.com/api/v1\n", "upstream.url: must be an origin"},
		{"upstream with user info", ws + "upstream:\n  url: https://u:p@restlink.example.com\n", "upstream.url: must be an origin"},
		{"upstream ftp", ws + "upstream:\n  url: ftp://restlink.example.com\n", `upstream.url: scheme must be https, not "ftp"`},
		{"ca_file with http", ws + "upstream:\n  url: http://127.0.0.1:1\n  ca_file: /ca.pem\n", "upstream.ca_file: is used only with an https upstream"},
		{"timeout without unit", ws + "upstream:\n  timeout: 15\n", "a duration needs a unit"},
		{"timeout zero", ws + "upstream:\n  timeout: 0s\n", "upstream.timeout: must be positive"},
		{"tenant header is a credential", ws + "routing:\n  tenant_header: Authorization\n", `routing.tenant_header: "Authorization" is a credential header`},
		{"tenant header with underscore", ws + "routing:\n  tenant_header: X_Tenant\n", "routing.tenant_header: \"X_Tenant\" is not a header name"},
		{"same header twice", ws + "routing:\n  tenant_header: X-Ws\n  workspace_id_header: x-ws\n", "routing.workspace_id_header: must differ from routing.tenant_header"},
		{"prefix without placeholder", ws + "routing:\n  path_prefix: /t/\n", "routing.path_prefix: must be of the form"},
		{"prefix placeholder only", ws + "routing:\n  path_prefix: /{tenant}\n", "routing.path_prefix: must be of the form"},
		{"prefix with dot segment", ws + "routing:\n  path_prefix: /a/../{tenant}\n", "routing.path_prefix: the path has a dot segment"},
		{"on_missing", ws + "routing:\n  on_missing: fallback\n", `routing.on_missing: must be "main" or "reject", not "fallback"`},
		{"empty allow list", ws + "allow: []\n", "allow: the list is empty"},
		{"allow rule without path", ws + "allow:\n  - POST\n", `allow: rule 0 ("POST") must be "METHOD /path"`},
		{"allow rule lower-case method", ws + "allow:\n  - post /api/v1/sms/send\n", "method must be an upper-case HTTP method"},
		{"allow rule star inside", ws + "allow:\n  - GET /api/*/sms\n", "* may only end the path"},
		{"allow rule dot segment", ws + "allow:\n  - GET /api/../sms\n", "dot segment"},
		{"failure status 4xx", ws + "breaker:\n  failure_statuses: [429]\n", "breaker.failure_statuses: 429 is not a 5xx status"},
		{"zero failures", ws + "breaker:\n  consecutive_failures: 0\n", "breaker.consecutive_failures: must be at least 1"},
		{"zero half-open", ws + "breaker:\n  half_open_requests: 0\n", "breaker.half_open_requests: must be at least 1"},
		{"bad network", ws + "security:\n  trusted_clients: [localhost]\n", "not a network or address"},
		{"no trusted clients", ws + "security:\n  trusted_clients: []\n", "security.trusted_clients: at least one network is required"},
		{"no allowed hosts", ws + "security:\n  allowed_hosts: []\n", "security.allowed_hosts: at least one host is required"},
		{"zero body limit", ws + "security:\n  max_body_bytes: 0\n", "security.max_body_bytes: must be positive"},
		{"not YAML", "workspaces: [\n", "parsing config YAML"},
		{"rate limit without unit", ws + "upstream:\n  rate_limit: \"900\"\n", `upstream.rate_limit: must be "<requests>/<unit>"`},
		{"rate limit zero", ws + "upstream:\n  rate_limit: 0/s\n", `upstream.rate_limit: must be`},
		{"negative max wait", ws + "upstream:\n  max_wait: -1s\n", "upstream.max_wait: must not be negative"},
		{"idempotency header a credential", ws + "idempotency:\n  header: X-Api-Key\n", `idempotency.header: "X-Api-Key" is a credential header`},
		{"idempotency ttl zero", ws + "idempotency:\n  ttl: 0s\n", "idempotency.ttl: must be positive"},
		{"policy for an unknown tenant", ws + "policy:\n  tenants:\n    nobody: {dry_run: true}\n", "policy.tenants.nobody"},
		{"policy country", ws + "policy:\n  default: {countries: [XX]}\n", `policy.default.countries[0]`},
		{"policy sender without its +", ws + "policy:\n  default: {senders: [447700900123]}\n", `policy.default.senders[0]: a number without its "+"`},
		{"policy sender invalid", ws + "policy:\n  default: {senders: [My App]}\n", `policy.default.senders[0]: not a sender_id restlink accepts`},
		{"policy links without allow", ws + "policy:\n  default: {links: {}}\n", "policy.default.links.allow: is required"},
		{"policy links unknown field", ws + "policy:\n  default: {links: {allowed: [example.com]}}\n", "unknown field(s): allowed"},
		{"policy links public suffix", ws + "policy:\n  default: {links: {allow: [\"*.co.uk\"]}}\n", `policy.default.links.allow[0]: "*.co.uk" is a public suffix`},
		{"probe not a GET", ws + "rotation:\n  probe: POST /api/v1/sms/send\n", `rotation.probe: must be "GET <path>"`},
		{"probe with a fragment", ws + "rotation:\n  probe: GET /api/v1/sms/stats?period=today#x\n", "rotation.probe: the query has a raw #"},
		{"environment", ws + "  other:\n    id: 17\n    environment: prod\n    keys:\n      - file: /o\n", `workspaces.other.environment: must be "live", "test" or "any"`},
		{"store with url and addrs", ws + "store:\n  redis:\n    url: redis://a:1\n    addrs: [b:2]\n", "store.redis: set url or addrs, not both"},
		{"store without address", ws + "store:\n  redis:\n    timeout: 1s\n", "store.redis: set url"},
		{"store scheme", ws + "store:\n  redis:\n    url: http://a:1\n", `store.redis.url: scheme must be redis or rediss, not "http"`},
		{"store on_error", ws + "store:\n  redis:\n    url: redis://a:1\n    on_error: ignore\n", `store.redis.on_error: must be "local" or "refuse"`},
		{"store prefix braces", ws + "store:\n  redis:\n    url: redis://a:1\n    key_prefix: \"x{y}\"\n", "store.redis.key_prefix: must not contain"},
		{"store password twice", ws + "store:\n  redis:\n    url: redis://u:pw@a:1\n    password_file: /p\n", "store.redis.password_file: the url holds a password too"},
		{"secret with two sources", "workspaces:\n  main:\n    id: 1\n    keys:\n      - file: /k\n        secret: {file: /s, env: S}\n", "workspaces.main.keys[0]: secret: exactly one of file, env or value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig([]byte(tc.yaml), noEnv)
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestConfigErrorsQuoteNoContent: YAML and decode errors must not repeat
// what the file holds, which may be a literal key.
func TestConfigErrorsQuoteNoContent(t *testing.T) {
	const secret = "rl_live_SECRETsecretSECRET"
	for _, yaml := range []string{
		"workspaces:\n  main:\n    id: " + secret + "\n    keys:\n      - value: x\n",
		"workspaces:\n  main:\n    id: 1\n    keys:\n      - value: x\n  main:\n    id: 2\n" + secret + ": 1\n",
		"workspaces:\n  main: {id: 1, keys: [{value: \"" + secret + "\"}]}\n  \"" + secret + "\": [\n",
		"upstream:\n  timeout: " + secret + "\n",
		"security:\n  trusted_clients: [" + secret + "]\n",
	} {
		_, err := parseConfig([]byte(yaml), noEnv)
		if err == nil {
			t.Fatalf("no error for:\n%s", yaml)
		}
		if strings.Contains(err.Error(), secret[:12]) {
			t.Errorf("error quotes file content:\n%v", err)
		}
	}
}

// TestExampleConfig: the shipped config.example.yaml is valid as it is.
func TestExampleConfig(t *testing.T) {
	cfg, err := LoadConfig("../config.example.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Workspaces) != 2 || cfg.Tenants["acme"] != "test-space" || len(cfg.Allow) != 2 ||
		cfg.Security.TrustedClients[1].String() != "::1/128" {
		t.Errorf("unexpected example config: %+v", cfg)
	}
}

// TestStoreDefaults: the defaults of the optional store.redis section,
// which the compiler applies, are those docs/configuration.md gives.
func TestStoreDefaults(t *testing.T) {
	pl, err := parseConfig([]byte(minimalYAML+"store:\n  redis:\n    url: redis://127.0.0.1:6379/0\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	rp := pl.store.redis
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for field, value := range map[string]string{
		"key_prefix": rp.keyPrefix, "timeout": rp.timeout.String(), "on_error": rp.onError.String(), "fleet_size": strconv.Itoa(rp.fleetSize),
	} {
		if row := "| `store.redis." + field + "` | `" + value + "` |"; !strings.Contains(string(doc), row) {
			t.Errorf("docs/configuration.md has no row %s", row)
		}
	}
}

// A live config keeps its compiled workspaces and tenants only: the
// decoded sections held about 190 bytes a workspace and 60 a tenant for
// the life of the config.
func TestLiveConfigKeepsNoDecodedWorkspaces(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	path := filepath.Join(t.TempDir(), "config.yaml")
	yaml := "rotation:\n  verify: false\nworkspaces:\n  main:\n    id: 16\n    main: true\n    keys: [{env: KEY_MAIN}]\ntenants:\n  acme: main\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	lc, err := acquireLiveConfig(ctx, path, envOf("KEY_MAIN=rl_live_MAINmainMAINmain0001"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = liveConfigs.Delete(path) }()
	snap := lc.current.Load()
	if snap.Config.Workspaces != nil || len(snap.workspaces) != 1 || snap.workspaces[0].name != "main" {
		t.Errorf("decoded workspaces %v kept, serving %d workspaces", snap.Config.Workspaces, len(snap.workspaces))
	}
	if snap.Config.Tenants != nil || snap.router.tenant("acme") != snap.workspaces[0] {
		t.Errorf("decoded tenants %v kept, or acme not routed to main", snap.Config.Tenants)
	}
}

// TestEveryProblemInOneRun: a config with three decode errors (a bad
// duration, an unknown field, a wrong type) and two semantic errors gets
// all five reported at once, each naming its field, and no spurious error
// for a field that did not decode.
func TestEveryProblemInOneRun(t *testing.T) {
	raw := `
upstream:
  url: http://127.0.0.1:1
  timeout: 15
  colour: blue
breaker:
  consecutive_failures: many
workspaces:
  main: {id: 16, main: true, keys: [{value: k1}]}
tenants:
  acme: nowhere
routing:
  on_missing: maybe
`
	_, err := parseConfig([]byte(raw), noEnv)
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{"upstream.timeout: a duration needs a unit", "upstream: unknown field(s): colour",
		"breaker.consecutive_failures: cannot parse", "tenants.acme: names workspace", "routing.on_missing: must be"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q is not reported in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "must be at least 1") {
		t.Errorf("a field that did not decode is reported again by the compiler:\n%s", msg)
	}
}

// TestCallersAreChecked: each callers entry names a uid or a gid, and
// configured tenants.
func TestCallersAreChecked(t *testing.T) {
	yaml := minimalYAML + `
tenants: {acme: main}
callers:
  - {uid: 1001, gid: 1001, tenants: [acme]}
  - {tenants: [acme]}
  - {uid: 1002, tenants: []}
  - {gid: 2000, tenants: [acme, nobody]}
`
	_, err := parseConfig([]byte(yaml), noEnv)
	msg := fmt.Sprint(err)
	for _, want := range []string{"callers[0]: set uid or gid", "callers[1]: set uid or gid", "callers[2].tenants: at least one",
		`callers[3].tenants[1]: "nobody" is not a configured tenant`} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q not reported in:\n%s", want, msg)
		}
	}
	pl, err := parseConfig([]byte(minimalYAML+"tenants: {acme: main, globex: main}\ncallers:\n  - {uid: 7, tenants: [globex]}\n  - {gid: 9, tenants: [acme, globex]}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.callers.allowed(peerCred{uid: 7, gid: 9, known: true}); !slices.Equal(got, []string{"acme", "globex"}) {
		t.Errorf("uid 7 gid 9 may use %v, want the union [acme globex]", got)
	}
	if got := pl.callers.allowed(peerCred{uid: 8, gid: 8, known: true}); len(got) != 0 {
		t.Errorf("a caller with no entry may use %v", got)
	}
}

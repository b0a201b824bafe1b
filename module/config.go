package restlink

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Config is the sidecar's YAML configuration file (config.yaml, SPEC §4).
// It is loaded with koanf: built-in defaults, then the file, then
// RESTLINK__<PATH> environment overrides; then validated whole.
type Config struct {
	// Where requests are forwarded to.
	Upstream UpstreamConfig `koanf:"upstream"`

	// Local workspace name -> workspace. The name is used in logs, metrics
	// and the tenants map; it is never sent upstream.
	Workspaces map[string]WorkspaceConfig `koanf:"workspaces"`

	// Tenant name, as apps send it -> workspace name.
	Tenants map[string]string `koanf:"tenants"`

	// How a request names its tenant.
	Routing RoutingConfig `koanf:"routing"`

	// Optional list of "METHOD /path" rules; a path ending in "*" matches
	// every path that starts with what precedes the "*", and METHOD may be
	// "*" for any method. Absent: every request may pass. Matched against
	// the method and the path as forwarded (after prefix removal).
	Allow []string `koanf:"allow"`

	// Per-workspace circuit breaking.
	Breaker BreakerConfig `koanf:"breaker"`

	// Who may use the sidecar, and how.
	Security SecurityConfig `koanf:"security"`
}

// UpstreamConfig says where and how requests are forwarded.
type UpstreamConfig struct {
	// Origin of the restlink API: scheme://host[:port], no path. Request
	// paths pass through unchanged. https is required except for loopback
	// addresses (simulators and tests). Default: https://restlink23telecom.com
	URL string `koanf:"url"`

	// Limit for the whole upstream round trip, from sending the request to
	// the last byte of the response. Default: 15s.
	Timeout time.Duration `koanf:"timeout"`

	// Optional PEM file of extra trusted root certificates (a private CA),
	// trusted in addition to the system roots. Upstream certificates are
	// always verified.
	CAFile string `koanf:"ca_file"`
}

// WorkspaceConfig is one 23 Telecom workspace and its API keys.
type WorkspaceConfig struct {
	// The workspace id at 23 Telecom (a positive integer). Requests naming
	// it in the workspace-id header are routed here.
	ID int64 `koanf:"id"`

	// Marks the main workspace: where requests that name no tenant go
	// (with routing.on_missing: main). At most one workspace is main.
	Main bool `koanf:"main"`

	// Key sources, first = active; later ones are tried in turn when the
	// upstream answers 401 (rotation overlap). At least one, at most 8.
	Keys []KeySource `koanf:"keys"`
}

// KeySource says where one API key is read from. Exactly one field is set.
type KeySource struct {
	// Path of a file holding the key; surrounding white space is trimmed.
	// Watched: a change is picked up without a restart.
	File string `koanf:"file"`

	// Name of an environment variable holding the key. Read at start-up
	// and on reloads; a change needs a restart of the process.
	Env string `koanf:"env"`

	// The key itself. For local trials only: a warning is logged.
	Value string `koanf:"value"`
}

// RoutingConfig says how a request names its tenant or workspace.
type RoutingConfig struct {
	// Header carrying the tenant name. "" disables. Default: X-Tenant.
	TenantHeader string `koanf:"tenant_header"`

	// Path prefix naming the tenant, with {tenant} as its last segment.
	// The prefix is removed before forwarding. "" disables.
	// Default: /t/{tenant}.
	PathPrefix string `koanf:"path_prefix"`

	// Header carrying a workspace id, with the upstream's JWT-mode
	// semantics: not a positive integer -> 400 INVALID_WORKSPACE_HEADER;
	// no configured workspace with that id -> 403 CROSS_TENANT_WORKSPACE.
	// "" disables. Default: X-Workspace-ID.
	WorkspaceIDHeader string `koanf:"workspace_id_header"`

	// What to do with a request that names no tenant: "main" sends it to
	// the main workspace, "reject" answers 400 TENANT_REQUIRED.
	// Default: main.
	OnMissing string `koanf:"on_missing"`
}

// BreakerConfig configures the circuit breaker of each workspace.
type BreakerConfig struct {
	// Consecutive failures that open the breaker. Default: 5.
	ConsecutiveFailures uint32 `koanf:"consecutive_failures"`

	// How long an open breaker refuses requests before letting probes
	// through. Default: 30s.
	OpenTimeout time.Duration `koanf:"open_timeout"`

	// Probes let through when half-open; that many successes close the
	// breaker, one failure opens it again. Default: 1.
	HalfOpenRequests uint32 `koanf:"half_open_requests"`

	// Upstream statuses counted as failures (besides connection errors
	// and timeouts). 4xx statuses never count. Default: [500, 502, 503, 504].
	FailureStatuses []int `koanf:"failure_statuses"`
}

// SecurityConfig says who may use the sidecar.
type SecurityConfig struct {
	// Client networks allowed to connect. Unix-socket clients are always
	// trusted. Default: [127.0.0.0/8, ::1/128].
	TrustedClients []netip.Prefix `koanf:"trusted_clients"`

	// Host header values accepted (port ignored), against DNS rebinding.
	// Default: [localhost, 127.0.0.1, "[::1]"].
	AllowedHosts []string `koanf:"allowed_hosts"`

	// Refuse requests carrying Origin or any Sec-Fetch-* header: a web page
	// must not be able to send through the sidecar. Default: true.
	RejectBrowserRequests bool `koanf:"reject_browser_requests"`

	// Largest request body accepted, in bytes. Default: 1048576 (1 MiB).
	MaxBodyBytes int64 `koanf:"max_body_bytes"`
}

// defaultConfig holds the defaults, as koanf paths. They are loaded first,
// so that the file and the environment override them, and so that every
// setting exists as a path an environment override can name.
var defaultConfig = map[string]any{
	"upstream.url":                     "https://restlink23telecom.com",
	"upstream.timeout":                 "15s",
	"upstream.ca_file":                 "",
	"routing.tenant_header":            "X-Tenant",
	"routing.path_prefix":              "/t/{tenant}",
	"routing.workspace_id_header":      "X-Workspace-ID",
	"routing.on_missing":               "main",
	"breaker.consecutive_failures":     5,
	"breaker.open_timeout":             "30s",
	"breaker.half_open_requests":       1,
	"breaker.failure_statuses":         []any{500, 502, 503, 504},
	"security.trusted_clients":         []any{"127.0.0.0/8", "::1/128"},
	"security.allowed_hosts":           []any{"localhost", "127.0.0.1", "[::1]"},
	"security.reject_browser_requests": true,
	"security.max_body_bytes":          1 << 20,
}

const (
	onMissingMain   = "main"
	onMissingReject = "reject"

	maxKeysPerWorkspace = 8
	maxNameLength       = 128
)

// Validate checks the whole config and reports every problem it finds,
// each naming the field. It reads no files.
func (c *Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}

	if _, err := parseUpstreamURL(c.Upstream.URL); err != nil {
		add("upstream.url", "%v", err)
	}
	if c.Upstream.Timeout <= 0 {
		add("upstream.timeout", "must be positive")
	}
	if c.Upstream.CAFile != "" && strings.HasPrefix(c.Upstream.URL, "http://") {
		add("upstream.ca_file", "is used only with an https upstream")
	}

	if len(c.Workspaces) == 0 {
		add("workspaces", "at least one workspace is required")
	}
	var mains []string
	ids := make(map[int64]string, len(c.Workspaces))
	for _, name := range sortedKeys(c.Workspaces) {
		ws := c.Workspaces[name]
		field := "workspaces." + name
		if err := checkName(name); err != nil {
			add(field, "workspace name %v", err)
		}
		if ws.ID <= 0 {
			add(field+".id", "must be a positive integer")
		} else if other, dup := ids[ws.ID]; dup {
			add(field+".id", "id %d is also the id of workspace %q", ws.ID, other)
		} else {
			ids[ws.ID] = name
		}
		if ws.Main {
			mains = append(mains, name)
		}
		if len(ws.Keys) == 0 {
			add(field+".keys", "at least one key source is required")
		}
		if len(ws.Keys) > maxKeysPerWorkspace {
			add(field+".keys", "at most %d key sources are allowed", maxKeysPerWorkspace)
		}
		for i, ks := range ws.Keys {
			if err := ks.validate(); err != nil {
				add(fmt.Sprintf("%s.keys[%d]", field, i), "%v", err)
			}
		}
	}
	if len(mains) > 1 {
		add("workspaces", "only one workspace may be main, found %d: %s", len(mains), strings.Join(mains, ", "))
	}

	for _, tenant := range sortedKeys(c.Tenants) {
		field := "tenants." + tenant
		if err := checkName(tenant); err != nil {
			add(field, "tenant name %v", err)
		}
		if _, ok := c.Workspaces[c.Tenants[tenant]]; !ok {
			add(field, "names workspace %q, which is not configured", c.Tenants[tenant])
		}
	}

	if err := checkHeaderName(c.Routing.TenantHeader); err != nil {
		add("routing.tenant_header", "%v", err)
	}
	if err := checkHeaderName(c.Routing.WorkspaceIDHeader); err != nil {
		add("routing.workspace_id_header", "%v", err)
	}
	if c.Routing.TenantHeader != "" && strings.EqualFold(c.Routing.TenantHeader, c.Routing.WorkspaceIDHeader) {
		add("routing.workspace_id_header", "must differ from routing.tenant_header")
	}
	if _, err := parsePathPrefix(c.Routing.PathPrefix); err != nil {
		add("routing.path_prefix", "%v", err)
	}
	if c.Routing.OnMissing != onMissingMain && c.Routing.OnMissing != onMissingReject {
		add("routing.on_missing", "must be %q or %q, not %q", onMissingMain, onMissingReject, c.Routing.OnMissing)
	}

	if c.Allow != nil {
		if _, err := compileAllowList(c.Allow); err != nil {
			add("allow", "%v", err)
		}
	}

	if c.Breaker.ConsecutiveFailures == 0 {
		add("breaker.consecutive_failures", "must be at least 1")
	}
	if c.Breaker.OpenTimeout <= 0 {
		add("breaker.open_timeout", "must be positive")
	}
	if c.Breaker.HalfOpenRequests == 0 {
		add("breaker.half_open_requests", "must be at least 1")
	}
	for _, s := range c.Breaker.FailureStatuses {
		if s < 500 || s > 599 {
			add("breaker.failure_statuses", "%d is not a 5xx status (4xx answers never count as failures)", s)
		}
	}

	if len(c.Security.TrustedClients) == 0 {
		add("security.trusted_clients", "at least one network is required (unix-socket clients are always trusted)")
	}
	for i, p := range c.Security.TrustedClients {
		if !p.IsValid() {
			add(fmt.Sprintf("security.trusted_clients[%d]", i), "not a valid network")
		}
	}
	if len(c.Security.AllowedHosts) == 0 {
		add("security.allowed_hosts", "at least one host is required")
	}
	for i, h := range c.Security.AllowedHosts {
		if h == "" || strings.ContainsAny(h, " /\t") {
			add(fmt.Sprintf("security.allowed_hosts[%d]", i), "%q is not a host name or address", h)
		}
	}
	if c.Security.MaxBodyBytes <= 0 {
		add("security.max_body_bytes", "must be positive")
	}

	return errors.Join(errs...)
}

func (ks KeySource) validate() error {
	set := 0
	for _, v := range []string{ks.File, ks.Env, ks.Value} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return errors.New("exactly one of file, env or value must be set")
	}
	if ks.Env != "" && !isEnvName(ks.Env) {
		return fmt.Errorf("env %q is not an environment variable name", ks.Env)
	}
	return nil
}

// parseUpstreamURL checks that raw is an origin the sidecar may send keys to.
func parseUpstreamURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("scheme must be https, not %q", u.Scheme)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must be an origin, scheme://host[:port], with no path, query or user info")
	}
	if u.Scheme == "http" {
		addr, err := netip.ParseAddr(u.Hostname())
		if u.Hostname() != "localhost" && (err != nil || !addr.IsLoopback()) {
			return nil, errors.New("plain http is allowed only to a loopback address; use https")
		}
	}
	u.Path = ""
	return u, nil
}

// checkName accepts workspace and tenant names: 1-128 characters from
// A-Z a-z 0-9 . _ - (they appear in URL paths, headers, logs and metrics).
func checkName(name string) error {
	if name == "" || len(name) > maxNameLength {
		return fmt.Errorf("%q must have 1 to %d characters", name, maxNameLength)
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return fmt.Errorf("%q may contain only A-Z a-z 0-9 . _ -", name)
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// checkHeaderName accepts "" (disabled) or an HTTP token that is not one
// of the headers the sidecar strips or sets itself.
func checkHeaderName(name string) error {
	if name == "" {
		return nil
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(isNameByte(c) && c != '.' && c != '_') {
			return fmt.Errorf("%q is not a header name (A-Z a-z 0-9 -)", name)
		}
	}
	if slices.ContainsFunc(credentialHeaders, func(h string) bool { return strings.EqualFold(h, name) }) {
		return fmt.Errorf("%q is a credential header", name)
	}
	return nil
}

func isEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

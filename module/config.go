package restlink

import (
	"net/netip"
	"time"

	"github.com/23telecom/restlink-sidecar/module/policy"
)

// Config is the sidecar's YAML configuration file. It is loaded in layers
// (see parseConfig): built-in defaults, then the file, then
// RESTLINK__<PATH> environment overrides; then compiled whole (see Validate), so that every problem is
// reported at once, each naming its field.
type Config struct {
	// Where requests are forwarded to.
	Upstream UpstreamConfig `yaml:"upstream"`

	// Local workspace name -> workspace. The name is used in logs, metrics
	// and the tenants map; it is never sent upstream.
	Workspaces map[string]WorkspaceConfig `yaml:"workspaces"`

	// Tenant name, as apps send it -> workspace name.
	Tenants map[string]string `yaml:"tenants"`

	// How a request names its tenant.
	Routing RoutingConfig `yaml:"routing"`

	// Optional list of "METHOD /path" rules; a path ending in "*" matches
	// every path that starts with what precedes the "*", and METHOD may be
	// "*" for any method. Absent: every request may pass. Matched against
	// the method and the path as forwarded (after prefix removal).
	Allow []string `yaml:"allow"`

	// Per-workspace circuit breaking.
	Breaker BreakerConfig `yaml:"breaker"`

	// Who may use the sidecar, and how.
	Security SecurityConfig `yaml:"security"`

	// Which tenants a process connecting over a unix socket may use, by
	// the uid and gid the kernel reports for it (SO_PEERCRED). A caller's
	// tenants are those of every entry matching its uid or its primary
	// gid; a caller with none is refused, 403 CALLER_NOT_ALLOWED. TCP
	// listeners are not concerned. Absent: any local caller may name any
	// tenant.
	Callers []CallerConfig `yaml:"callers"`

	// How new key values are checked before they go live.
	Rotation RotationConfig `yaml:"rotation"`

	// The send policy: per tenant, which SMS sends may leave the host.
	Policy policy.Config `yaml:"policy"`

	// Idempotent POSTs: a retry with the same key is never sent twice.
	Idempotency IdempotencyConfig `yaml:"idempotency"`

	// Where limits, idempotency records, the pacing bucket, signing
	// timestamps and webhook markers are kept. Absent: in this sidecar's
	// memory.
	Store StoreConfig `yaml:"store"`

	// The receiver of restlink's webhooks (the restlink_webhook handler):
	// where events are spooled and delivered. Used by the workspaces that
	// have webhook_secrets.
	Webhooks WebhooksConfig `yaml:"webhooks"`

	// The ledger: the durable record of every send under a send policy,
	// its cost and its delivery reports. Required once any budget is set.
	Ledger LedgerConfig `yaml:"ledger"`

	// How prices are read from restlink, to estimate sends.
	Pricing PricingConfig `yaml:"pricing"`

	// Where spend alerts are sent, besides the log and metrics.
	Alerts AlertsConfig `yaml:"alerts"`
}

// CallerConfig grants tenants to the processes of one uid or one gid.
type CallerConfig struct {
	// The user id of the connecting process; set uid or gid, not both.
	UID *uint32 `yaml:"uid"`

	// The primary group id of the connecting process (the one SO_PEERCRED
	// reports; grant by a supplementary group with the socket's own group
	// permission instead).
	GID *uint32 `yaml:"gid"`

	// The tenants these processes may use; a caller allowed exactly one
	// is pinned to it and need not name it. Required.
	Tenants []string `yaml:"tenants"`
}

// UpstreamConfig says where and how requests are forwarded.
type UpstreamConfig struct {
	// Origin of the restlink API: scheme://host[:port], no path. Request
	// paths pass through unchanged. https is required except for loopback
	// addresses (simulators and tests). Default: https://restlink23telecom.com
	URL string `yaml:"url"`

	// Limit for the whole upstream round trip, from sending the request to
	// the last byte of the response. Default: 15s.
	Timeout time.Duration `yaml:"timeout"`

	// Optional PEM file of extra trusted root certificates (a private CA),
	// trusted in addition to the system roots. Upstream certificates are
	// always verified.
	CAFile string `yaml:"ca_file"`

	// This sidecar's share of restlink's per-account rate limit (about
	// 1,000 requests/s, shared by every key and app of the account), as
	// "<requests>/<unit>": "900/s", "30000/m". Every request to restlink
	// takes a slot; a burst of a tenth of a second's worth goes at once,
	// the rest is paced. Default: none (no pacing).
	RateLimit string `yaml:"rate_limit"`

	// How long a request may wait for its slot under rate_limit; one that
	// would wait longer is answered 429 UPSTREAM_RATE_LIMITED with
	// Retry-After. Default: 2s.
	MaxWait time.Duration `yaml:"max_wait"`
}

// WorkspaceConfig is one 23 Telecom workspace and its API keys.
type WorkspaceConfig struct {
	// The workspace id at 23 Telecom (a positive integer). Requests naming
	// it in the workspace-id header are routed here.
	ID int64 `yaml:"id"`

	// Marks the main workspace: where requests that name no tenant go
	// (with routing.on_missing: main). At most one workspace is main.
	Main bool `yaml:"main"`

	// Key sources, first = active; later ones are tried in turn when the
	// upstream refuses a key (rotation overlap). At least one, at most 8.
	Keys []KeySource `yaml:"keys"`

	// Which kind of key the workspace accepts: "live" refuses sandbox keys
	// (sk_test_…), so that production never runs on a key that sends
	// nothing; "test" accepts only sandbox keys, so that a staging
	// workspace can never send a live SMS; "any" accepts every key. A key
	// of the wrong kind is refused at load, like an unreadable one.
	// Default: any.
	Environment string `yaml:"environment"`

	// The signing secrets of the workspace's webhooks, as set in restlink's
	// portal (Settings → Webhooks): a webhook is accepted if its signature
	// matches any one of them, so that during a rotation the old and the
	// new secret can both be listed. At most 8. A workspace without them
	// receives no webhooks (its webhook URLs answer 404).
	WebhookSecrets []Source `yaml:"webhook_secrets"`

	// The workspace's own webhook settings, overriding the webhooks
	// section.
	Webhooks WorkspaceWebhooksConfig `yaml:"webhooks"`
}

// WorkspaceWebhooksConfig is what a workspace may set for itself about the
// delivery of its webhooks.
type WorkspaceWebhooksConfig struct {
	// The app's receiver for this workspace's events, instead of
	// webhooks.deliver_to.
	DeliverTo string `yaml:"deliver_to"`
}

// Source says where a secret is read from: an API key, a key's signing
// secret, a webhook signing secret. Exactly one field is set.
type Source struct {
	// Path of a file holding the secret; surrounding white space is
	// trimmed. Watched: a change is picked up without a restart.
	File string `yaml:"file"`

	// Name of an environment variable holding the secret. Read at start-up
	// and on reloads; a change needs a restart of the process.
	Env string `yaml:"env"`

	// The secret itself, in the config file. For local trials only: a
	// warning is logged.
	Value string `yaml:"value"`
}

// KeySource is one API key of a workspace: where it is read from, and its
// signing secret if the key was created with HMAC signature verification.
type KeySource struct {
	Source `yaml:",inline"`

	// The key's HMAC signing secret, from the same kinds of source. A key
	// with a secret signs every request it carries (X-Timestamp and
	// X-Signature); a key without one sends neither. The key and its
	// secret are one pair: rotate them together.
	Secret *Source `yaml:"secret"`
}

// RoutingConfig says how a request names its tenant or workspace.
type RoutingConfig struct {
	// Header carrying the tenant name. "" disables. Default: X-Tenant.
	TenantHeader string `yaml:"tenant_header"`

	// Path prefix naming the tenant, with {tenant} as its last segment.
	// The prefix is removed before forwarding. "" disables.
	// Default: /t/{tenant}.
	PathPrefix string `yaml:"path_prefix"`

	// Header carrying a workspace id, with the upstream's JWT-mode
	// semantics: not a positive integer -> 400 INVALID_WORKSPACE_HEADER;
	// no configured workspace with that id -> 403 CROSS_TENANT_WORKSPACE.
	// "" disables. Default: X-Workspace-ID.
	WorkspaceIDHeader string `yaml:"workspace_id_header"`

	// What to do with a request that names no tenant: "main" sends it to
	// the main workspace, "reject" answers 400 TENANT_REQUIRED.
	// Default: main.
	OnMissing string `yaml:"on_missing"`
}

// BreakerConfig configures the circuit breaker of each workspace.
type BreakerConfig struct {
	// Consecutive failures that open the breaker. Default: 5.
	ConsecutiveFailures uint32 `yaml:"consecutive_failures"`

	// How long an open breaker refuses requests before letting probes
	// through. Default: 30s.
	OpenTimeout time.Duration `yaml:"open_timeout"`

	// Probes let through when half-open; that many successes close the
	// breaker, one failure opens it again. Default: 1.
	HalfOpenRequests uint32 `yaml:"half_open_requests"`

	// Upstream statuses counted as failures (besides connection errors
	// and timeouts). 4xx statuses never count. Default: [500, 502, 503, 504].
	FailureStatuses []int `yaml:"failure_statuses"`
}

// SecurityConfig says who may use the sidecar.
type SecurityConfig struct {
	// Client networks allowed to connect. Unix-socket clients are always
	// trusted. Default: [127.0.0.0/8, ::1/128].
	TrustedClients []netip.Prefix `yaml:"trusted_clients"`

	// Host header values accepted (port ignored), against DNS rebinding.
	// Default: [localhost, 127.0.0.1, "[::1]"].
	AllowedHosts []string `yaml:"allowed_hosts"`

	// Refuse requests from web browsers: those carrying Origin or
	// Sec-Fetch-Site, which browsers send (on every request to a loopback
	// or https origin, and on every cross-origin or unsafe one) and
	// server-side HTTP clients do not. A web page must not be able to send
	// through the sidecar. Default: true.
	RejectBrowserRequests bool `yaml:"reject_browser_requests"`

	// Request methods forwarded; others are answered 405
	// METHOD_NOT_ALLOWED. TRACE would echo the injected key back, and
	// CONNECT or made-up methods have no use against a REST API.
	// Default: [GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS].
	Methods []string `yaml:"methods"`

	// Largest request body accepted, in bytes. Default: 1048576 (1 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`

	// How long a request body may take to arrive whole, from the end of
	// its headers; a slower one is answered 408 REQUEST_BODY_TIMEOUT and
	// its connection closed. Apps on the same host send their bodies at
	// once. Default: 10s.
	BodyTimeout time.Duration `yaml:"body_timeout"`

	// Request-body bytes held in memory at once, across all requests;
	// a request whose body would pass it is answered 503
	// SIDECAR_OVERLOADED. Bodies are held whole (to sign them, check them
	// against the send policy, and send them again after a 401).
	// Default: 67108864 (64 MiB).
	MaxBodyBytesInFlight int64 `yaml:"max_body_bytes_in_flight"`
}

// StoreConfig says where the sidecar keeps the state its limits share.
type StoreConfig struct {
	// A Redis shared by a fleet of sidecars, so that limits, idempotency
	// records, the pacing bucket, signing timestamps and webhook
	// de-duplication hold across the fleet. Absent: this sidecar's memory,
	// which a restart empties.
	Redis *RedisConfig `yaml:"redis"`
}

// RedisConfig is a Redis that a fleet of sidecars shares. Exactly one of
// URL and Addrs is set.
type RedisConfig struct {
	// One Redis node: redis://[user@]host:port[/db], or rediss:// for TLS.
	// A password may be in the URL (a warning is logged): password_file
	// is better, being watched, rotated and out of the config file.
	URL string `yaml:"url"`

	// Sentinel addresses (with master_name), or Redis Cluster seed nodes
	// (two or more, or one with cluster: true), as host:port.
	Addrs []string `yaml:"addrs"`

	// The name of the Sentinel-monitored master.
	MasterName string `yaml:"master_name"`

	// Treat a single address in addrs as a Cluster seed node.
	Cluster bool `yaml:"cluster"`

	// The ACL user; a URL's user overrides it.
	Username string `yaml:"username"`

	// A file holding the password, read anew at every reload (it is
	// watched) and used at the next connection: a rotated password needs
	// no restart. Never logged or shown.
	PasswordFile string `yaml:"password_file"`

	// Use TLS with addrs (a rediss:// URL always does).
	TLS bool `yaml:"tls"`

	// PEM file of extra trusted roots for the Redis' TLS certificate.
	CAFile string `yaml:"ca_file"`

	// Starts every key, so that an ACL can confine the sidecars to their
	// keys (~restlink:*) and several fleets can share one Redis.
	// Default: restlink:.
	KeyPrefix string `yaml:"key_prefix"`

	// The longest a store call may take, connecting included: no request
	// waits longer for Redis. Default: 50ms.
	Timeout time.Duration `yaml:"timeout"`

	// What happens to sends without an idempotency key while Redis does
	// not answer (down, or slower than timeout): "local" decides them
	// from this sidecar's memory, every limit divided by fleet_size;
	// "refuse" answers them 503 STORE_UNAVAILABLE. Either way, a POST
	// with an idempotency key is never sent then: it is answered from
	// this sidecar's own record of the key, if it has one, and otherwise
	// 503 STORE_UNAVAILABLE with Retry-After: 1; other requests pass; the
	// outage is logged once and shown in status and metrics, and Redis is
	// used again as soon as it answers. Default: local.
	OnError string `yaml:"on_error"`

	// How many sidecars share the limits: while Redis is down (on_error:
	// local), each takes this share of every limit. Default: 1.
	FleetSize int `yaml:"fleet_size"`
}

// WebhooksConfig configures the receiver of restlink's webhooks. restlink
// posts each workspace's events (delivery reports, clicks, impressions,
// conversions) to a URL per workspace and event, signed with the
// workspace's webhook secret. The sidecar verifies the signature, writes the
// event to a spool on local disk before it answers restlink, and delivers
// it to the app until the app takes it: the app holds no webhook secret and
// loses no event while it is down.
type WebhooksConfig struct {
	// The URL path webhooks are received on, with {workspace} (a workspace
	// name) and {event} (an event type) as whole segments. Register
	// https://<public host><path> for each workspace and event in
	// restlink's portal. Default: /hooks/{workspace}/{event}.
	Path string `yaml:"path"`

	// The app's receiver: events are POSTed here, with their original body
	// and the X-Restlink-Workspace, X-Restlink-Workspace-Id,
	// X-Restlink-Event and X-Restlink-Event-Id headers, until it answers
	// 2xx. An absolute http or https URL; a workspace may override it.
	// Required when a workspace has webhook_secrets.
	DeliverTo string `yaml:"deliver_to"`

	// How far a webhook's X-Webhook-Timestamp may be from this host's
	// clock, either way; an older (or newer) one is refused with 401, so
	// that a captured webhook cannot be replayed later. Default: 5m.
	MaxSkew time.Duration `yaml:"max_skew"`

	// The directory of the spool: a bbolt file of the events not yet
	// delivered, and the dead letters. Created (mode 0700) if missing;
	// keep it on a persistent volume. One sidecar process at a time can
	// use it. Changing it takes effect at the next restart. Required when
	// a workspace has webhook_secrets.
	SpoolDir string `yaml:"spool_dir"`

	// How long an event is redelivered to an app that does not take it;
	// then it becomes a dead letter, kept in spool_dir/dead until an
	// operator replays it (restlink-sidecar webhooks replay). It is also
	// how long a received event is remembered, so that restlink's retries
	// and replays of it are acknowledged without a second delivery.
	// Default: 24h.
	RetryFor time.Duration `yaml:"retry_for"`

	// The event types received; a webhook for another type is answered
	// 404. Default: [delivery, click, impression, conversion].
	Events []string `yaml:"events"`

	// Largest webhook body accepted, in bytes; a larger one is answered
	// 413. Default: 262144 (256 KiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`

	// Verified webhooks being written to the spool at once; more are
	// answered 503 at once (restlink tries again later). Bodies still
	// arriving, not yet verified, do not count: a slow stranger cannot hold
	// what restlink's events need. Default: 128.
	MaxConcurrent int `yaml:"max_concurrent"`

	// Webhook bodies one client address may have in flight before their
	// signature is verified; more are answered 503 at once. The address is
	// Caddy's client IP, so a site's trusted_proxies are honoured behind an
	// Ingress. Default: 8.
	MaxUnverifiedPerClient int `yaml:"max_unverified_per_client"`

	// How long a webhook's whole body may take to arrive, from the start of
	// reading it; a slower one is answered 408. restlink waits 5 s for the
	// whole answer, and its events are small. Default: 3s.
	BodyTimeout time.Duration `yaml:"body_timeout"`
}

// IdempotencyConfig makes POSTs safe to retry. A POST carrying the header
// is remembered per tenant and header value, with a digest of its body, for
// TTL: a repeat while the first is in flight is answered 409
// IDEMPOTENCY_IN_PROGRESS; a repeat after it completed gets the stored
// answer with Idempotent-Replayed: true, and nothing is sent; the same
// value with another body is answered 422 IDEMPOTENCY_KEY_REUSED; and if
// the first attempt's outcome is unknown (a timeout, or a connection lost
// after sending), repeats are answered 502 SEND_OUTCOME_UNKNOWN. A POST
// without the header behaves as if this were off.
type IdempotencyConfig struct {
	// The request header that names a POST. "" disables idempotency.
	// Default: Idempotency-Key.
	Header string `yaml:"header"`

	// How long a POST and its answer are remembered. Default: 24h.
	TTL time.Duration `yaml:"ttl"`

	// The most records (a POST and its answer, about 300 bytes each
	// with a send's answer, in memory outside the Go heap) kept in this
	// sidecar's memory: without store.redis; with it, only those of this
	// sidecar's sends whose outcome Redis does not have yet. Beyond it
	// the oldest completed records are dropped first, even before their
	// ttl, and counted in restlink_idempotency_records_dropped_total;
	// records of sends in flight or of unknown outcome are never dropped.
	// Redis keeps its records until their ttl. Default: 100000.
	MaxRecords int `yaml:"max_records"`
}

// RotationConfig says how a new key value is verified. When a key source
// yields a new value (a file changed, a reload), the sidecar probes it with
// one request of its own; until the probe says the new value is valid, the
// value it replaces keeps serving. An invalid value never becomes active.
type RotationConfig struct {
	// Verify new key values before they replace the ones in use. At
	// start-up, with no value to keep, keys serve at once and are verified
	// in the background; an invalid one is then tried last, as if refused.
	// Default: true.
	Verify bool `yaml:"verify"`

	// The probe: "GET <path>[?<query>]", a read-only request the upstream
	// answers for a valid key. 2xx or 403 FORBIDDEN (valid but without
	// that permission) prove the key; a 401 naming the key refutes it;
	// anything else decides nothing and is retried with backoff. The
	// default needs the balance.read permission; any GET path may be used.
	// The query is sent as written; a key with a secret signs the path
	// without it, as restlink checks signatures.
	// Default: GET /api/v1/user/balance.
	Probe string `yaml:"probe"`

	// How long a probe may take. Default: 5s.
	ProbeTimeout time.Duration `yaml:"probe_timeout"`
}

// defaultConfig holds the defaults, by dotted path. They are decoded first,
// so that the file and the environment override them, and so that every
// setting exists as a path an environment override can name.
var defaultConfig = map[string]any{
	"upstream.url":                       "https://restlink23telecom.com",
	"upstream.timeout":                   "15s",
	"upstream.ca_file":                   "",
	"upstream.rate_limit":                "",
	"upstream.max_wait":                  "2s",
	"routing.tenant_header":              "X-Tenant",
	"routing.path_prefix":                "/t/{tenant}",
	"routing.workspace_id_header":        "X-Workspace-ID",
	"routing.on_missing":                 "main",
	"breaker.consecutive_failures":       5,
	"breaker.open_timeout":               "30s",
	"breaker.half_open_requests":         1,
	"breaker.failure_statuses":           []any{500, 502, 503, 504},
	"security.trusted_clients":           []any{"127.0.0.0/8", "::1/128"},
	"security.allowed_hosts":             []any{"localhost", "127.0.0.1", "[::1]"},
	"security.reject_browser_requests":   true,
	"security.methods":                   []any{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
	"security.max_body_bytes":            1 << 20,
	"security.body_timeout":              "10s",
	"security.max_body_bytes_in_flight":  64 << 20,
	"rotation.verify":                    true,
	"rotation.probe":                     "GET /api/v1/user/balance",
	"rotation.probe_timeout":             "5s",
	"policy.send_path":                   policy.DefaultSendPath,
	"idempotency.header":                 "Idempotency-Key",
	"idempotency.ttl":                    "24h",
	"idempotency.max_records":            100000,
	"webhooks.path":                      "/hooks/{workspace}/{event}",
	"webhooks.deliver_to":                "",
	"webhooks.max_skew":                  "5m",
	"webhooks.spool_dir":                 "",
	"webhooks.retry_for":                 "24h",
	"webhooks.events":                    []any{"delivery", "click", "impression", "conversion"},
	"webhooks.max_body_bytes":            256 << 10,
	"webhooks.max_concurrent":            128,
	"webhooks.max_unverified_per_client": 8,
	"webhooks.body_timeout":              "3s",
	"ledger.dir":                         "",
	"ledger.currency":                    "",
	"ledger.retention":                   "400d",
	"ledger.timezone":                    "UTC",
	"ledger.sync_every":                  "0s",
	"pricing.refresh":                    "1h",
	"alerts.url":                         "",
}

// Validate checks the whole config and reports every problem it finds,
// each naming the field. It is the config compiler with its result thrown
// away, so that validation and serving can never disagree. It reads no
// files.
func (c *Config) Validate() error {
	_, err := compileConfig(c)
	return err
}

// LedgerConfig is the ledger section: where the sidecar records what its
// tenants spend.
//
//	ledger:
//	  dir: /var/lib/restlink/ledger
//	  currency: EUR
//	  timezone: Europe/Paris
type LedgerConfig struct {
	// The directory of the ledger's day files, created (0700) if missing.
	// One sidecar writes a directory; give each sidecar of a fleet its
	// own. Absent: no ledger, and no budget may be set.
	Dir string `yaml:"dir"`

	// How long records are kept, at least 32d. Default: 400d.
	Retention time.Duration `yaml:"retention"`

	// The account's currency, as restlink's balance answer names it
	// (EUR). Budgets are in it; while restlink reports another, budgeted
	// sends are refused. Required with dir.
	Currency string `yaml:"currency"`

	// The IANA timezone in which budget days and months begin, and in
	// which the usage export's days are counted. Default: UTC.
	Timezone string `yaml:"timezone"`

	// 0s: each reservation is synced to disk (group-committed with
	// concurrent ones) before its send is forwarded. A duration up to 1s:
	// each is written to the operating system before its send is
	// forwarded, which keeps it through a crash of the sidecar, and
	// synced at most that long after; a crash of the machine may lose
	// the records of that last interval. It saves an fsync per send at
	// low rates. Default: 0s.
	SyncEvery time.Duration `yaml:"sync_every"`
}

// PricingConfig is the pricing section: how the sidecar learns what a
// send will cost.
type PricingConfig struct {
	// How often each workspace's price table (GET /user/pricing) and the
	// account balance (GET /user/balance) are read again, at least 1m.
	// Default: 1h.
	Refresh time.Duration `yaml:"refresh"`

	// The per-segment rate assumed for a recipient no price table
	// covers (0.25 or "0.25"). Absent or "": such a budgeted send is
	// refused with 503 PRICE_UNKNOWN.
	UnknownRate any `yaml:"unknown_rate"`
}

// AlertsConfig is the alerts section.
type AlertsConfig struct {
	// Where each spend alert is POSTed as JSON, retried until a 2xx and
	// kept on disk (in ledger.dir) until then. Absent: alerts are only
	// logged and counted.
	URL string `yaml:"url"`
}

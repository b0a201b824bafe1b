package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The kinds of server a row runs.
const (
	kindSidecar         = "sidecar"           // tenants over 10 workspaces (the shape of the first benchmarks)
	kindSidecarWS       = "sidecar-ws"        // one workspace, with its own key file, per tenant
	kindSidecarQuiet    = "sidecar-quiet"     // the same, logging at WARN: without the request line every send writes
	kindSidecarCaps     = "sidecar-caps"      // one workspace per tenant, HMAC signing, send policy, idempotency
	kindSidecarPolicy   = "sidecar-policy"    // one workspace per tenant, send policy and idempotency
	kindSidecarRedis    = "sidecar-redis"     // the same, with its store in Redis
	kindSidecarMoney    = "sidecar-money"     // the same in memory, with a budget per tenant and the ledger
	kindSidecarAll      = "sidecar-all"       // everything on: signing, policy, idempotency, budgets with the ledger, fraud signals
	kindSidecarAllAhead = "sidecar-all-100ms" // the same, the ledger synced every 100 ms (ledger.sync_every)
	kindSidecarOpen     = "sidecar-open"      // an upstream that refuses connections: the breakers open
	kindCaddy           = "caddy"             // stock Caddy: map + reverse_proxy with header_up
	kindCaddyLog        = "caddy-log"         // the same, with Caddy's access log: a line a request, as the sidecar writes
	kindNginx           = "nginx"             // nginx: map + proxy_pass with proxy_set_header
	kindCaddyRespond    = "caddy-respond"     // stock Caddy answering a static respond: the floor of a refusal
	kindCaddyClose      = "caddy-close"       // the same, closing the connection: the floor of a refusal of an unread body
	policyRefusedName   = "tenant-refused"    // the caps sidecar's tenant whose sends its policy refuses
	unknownTenantName   = "tenant-unknown"    // a tenant no config names
	refusalBody         = `{"error":{"code":"UNKNOWN_TENANT","message":"no such tenant"}}`
)

// benchKey is tenant i's API key. Every tenant has its own, as with one
// workspace per tenant; today's shape shares 10 (see keyOf).
func benchKey(i int) string { return fmt.Sprintf("rl_bench_key_%05d", i) }

// writeConfig writes one server's configuration into its own directory
// under dir and returns its command. n is the number of tenants.
func writeConfig(dir, kind string, n, port, upPort int) (string, []string, error) {
	sub := filepath.Join(dir, fmt.Sprintf("%s-%d", kind, n))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return "", nil, err
	}
	switch kind {
	case kindSidecar, kindSidecarWS, kindSidecarQuiet, kindSidecarCaps, kindSidecarPolicy, kindSidecarRedis, kindSidecarMoney, kindSidecarAll, kindSidecarAllAhead, kindSidecarOpen:
		cfg, err := sidecarConfig(sub, kind, n, upPort)
		if err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(filepath.Join(sub, "config.yaml"), []byte(cfg), 0o600); err != nil {
			return "", nil, err
		}
		global := "admin off"
		if *profileOut != "" {
			global = "admin unix/" + filepath.Join(sub, "admin.sock")
		}
		if kind == kindSidecarQuiet {
			global += "\n\tlog {\n\t\tlevel WARN\n\t}"
		}
		caddyfile := fmt.Sprintf("{\n\t%s\n}\nhttp://:%d {\n\tbind 127.0.0.1\n\trestlink %s/config.yaml\n}\n", global, port, sub)
		return caddyCommand(sub, filepath.Join(*binDir, "restlink-sidecar"), caddyfile)
	case kindCaddy, kindCaddyLog:
		var b strings.Builder
		fmt.Fprintf(&b, "{\n\tadmin off\n}\nhttp://:%d {\n\tbind 127.0.0.1\n", port)
		if kind == kindCaddyLog {
			b.WriteString("\tlog\n")
		}
		b.WriteString("\tmap {header.X-Tenant} {api_key} {\n")
		for i := range n {
			fmt.Fprintf(&b, "\t\ttenant-%d %s\n", i, benchKey(i))
		}
		fmt.Fprintf(&b, "\t}\n\treverse_proxy 127.0.0.1:%d {\n\t\theader_up X-API-Key {api_key}\n", upPort)
		for _, h := range strippedHeaders {
			fmt.Fprintf(&b, "\t\theader_up -%s\n", h)
		}
		b.WriteString("\t}\n}\n")
		return caddyCommand(sub, filepath.Join(*binDir, "caddy"), b.String())
	case kindCaddyRespond, kindCaddyClose:
		closing := ""
		if kind == kindCaddyClose {
			closing = " {\n\t\tclose\n\t}"
		}
		caddyfile := fmt.Sprintf("{\n\tadmin off\n}\nhttp://:%d {\n\tbind 127.0.0.1\n\theader Content-Type application/json\n\trespond `%s` 400%s\n}\n",
			port, refusalBody, closing)
		return caddyCommand(sub, filepath.Join(*binDir, "caddy"), caddyfile)
	case kindNginx:
		return nginxConfig(sub, n, port, upPort)
	}
	return "", nil, fmt.Errorf("unknown server kind %q", kind)
}

// redisURL is the Redis of the kindSidecarRedis rows; run starts it.
var redisURL string

// strippedHeaders are the request headers every proxy removes.
var strippedHeaders = []string{"X-Tenant", "X-Workspace-ID", "Authorization", "Proxy-Authorization", "Cookie"}

// caddyCommand writes a Caddyfile and returns the command that runs it.
func caddyCommand(sub, bin, caddyfile string) (string, []string, error) {
	path := filepath.Join(sub, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		return "", nil, err
	}
	return bin, []string{"run", "--config", path, "--adapter", "caddyfile"}, nil
}

// sidecarConfig returns a sidecar config of the given kind, writing its key
// (and secret) files.
func sidecarConfig(sub, kind string, n, upPort int) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "upstream:\n  url: http://127.0.0.1:%d\nbreaker:\n  open_timeout: 1h\nworkspaces:\n", upPort)
	workspaces := n
	if kind == kindSidecar || kind == kindSidecarOpen {
		workspaces = min(n, 10)
	}
	for w := range workspaces {
		keyFile := filepath.Join(sub, fmt.Sprintf("ws-%d.key", w))
		if err := os.WriteFile(keyFile, []byte(benchKey(w)), 0o600); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "  ws-%d:\n    id: %d\n    keys: [{file: %s", w, w+1, keyFile)
		if kind == kindSidecarCaps || kind == kindSidecarAll || kind == kindSidecarAllAhead {
			secretFile := filepath.Join(sub, fmt.Sprintf("ws-%d.secret", w))
			if err := os.WriteFile(secretFile, []byte(fmt.Sprintf("whsec_bench_secret_%05d", w)), 0o600); err != nil {
				return "", err
			}
			fmt.Fprintf(&b, ", secret: {file: %s}", secretFile)
		}
		b.WriteString("}]\n")
	}
	b.WriteString("tenants:\n")
	for i := range n {
		fmt.Fprintf(&b, "  tenant-%d: ws-%d\n", i, i%workspaces)
	}
	if kind == kindSidecarCaps || kind == kindSidecarPolicy || kind == kindSidecarRedis || kind == kindSidecarMoney || kind == kindSidecarAll || kind == kindSidecarAllAhead {
		// Limits far above what a run sends, so that every send passes
		// every check; one tenant is refused by its destinations. Every
		// request is a new idempotent send: with restlink's 24h, the
		// records of 10,000 sends a second would pile up in memory for the
		// whole run, and the row would measure a growing heap; 30s keeps
		// about 300,000 of them.
		fmt.Fprintf(&b, "  %s: ws-0\n", policyRefusedName)
		b.WriteString(`policy:
  default:
    countries: [US, CA, GB]
    deny_prefixes: ["+882", "+883"]
    max_recipients: 100
    rate: {recipients: 100000000, per: 1m}
    daily_segments: 1000000000
    per_recipient: {messages: 1000000000, per: 1h}
` + moneyLines(kind) + `  tenants:
    ` + policyRefusedName + `: {countries: [GB]}
idempotency:
  ttl: 30s
`)
	}
	if kind == kindSidecarRedis {
		fmt.Fprintf(&b, "store:\n  redis:\n    url: %s\n    timeout: 1s\n", redisURL)
	}
	if kind == kindSidecarMoney || kind == kindSidecarAll || kind == kindSidecarAllAhead {
		// Each reservation is synced to disk before its send is
		// forwarded (but with sync_every). The upstream has no price
		// table: every recipient is estimated at unknown_rate.
		fmt.Fprintf(&b, "ledger:\n  dir: %s\n  currency: EUR\n", filepath.Join(sub, "ledger"))
		if kind == kindSidecarAllAhead {
			b.WriteString("  sync_every: 100ms\n")
		}
		b.WriteString("pricing:\n  unknown_rate: 0.0085\n")
	}
	return b.String(), nil
}

// moneyLines are the policy default's budget and fraud signals of a kind
// of sidecar: a budget far above what a run spends, so that every send is
// estimated, reserved and settled and none refused.
func moneyLines(kind string) string {
	switch kind {
	case kindSidecarMoney:
		return "    budget: {daily: 1000000000, monthly: 1000000000}\n"
	case kindSidecarAll, kindSidecarAllAhead:
		// The fraud signals count every accepted send; with the run's
		// steady load, nothing fires.
		return "    budget: {daily: 1000000000, monthly: 1000000000}\n    anomaly: {mode: enforce}\n"
	}
	return ""
}

// nginxConfig writes nginx's configuration and returns its command.
func nginxConfig(sub string, n, port, upPort int) (string, []string, error) {
	for _, d := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(sub, d), 0o755); err != nil {
			return "", nil, err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	uwsgi_temp_path %[1]s/tmp/uwsgi;
	scgi_temp_path %[1]s/tmp/scgi;
	map_hash_bucket_size 128;
	map_hash_max_size 65536;
	map $http_x_tenant $api_key {
		default "";
`, sub)
	for i := range n {
		fmt.Fprintf(&b, "\t\ttenant-%d %s;\n", i, benchKey(i))
	}
	fmt.Fprintf(&b, `	}
	upstream restlink { server 127.0.0.1:%d; keepalive 64; }
	server {
		listen 127.0.0.1:%d;
		location / {
			proxy_pass http://restlink;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-API-Key $api_key;
`, upPort, port)
	for _, h := range strippedHeaders {
		fmt.Fprintf(&b, "\t\t\tproxy_set_header %s \"\";\n", h)
	}
	b.WriteString("\t\t}\n\t}\n}\n")
	path := filepath.Join(sub, "nginx.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return "", nil, err
	}
	return "nginx", []string{"-p", sub, "-c", path}, nil
}

package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/23telecom/restlink-sidecar/caddyfile"
)

// adapted writes a row's configuration and returns its Caddyfile adapted
// to Caddy's JSON, as the server the row runs would see it.
func adapted(t *testing.T, kind string) map[string]any {
	t.Helper()
	_, args, err := writeConfig(t.TempDir(), kind, 3, 8080, 8081)
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(args[2])
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(body, map[string]any{"filename": args[2]})
	if err != nil {
		t.Fatalf("%s: %v\n%s", kind, err, body)
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// logging returns the "logging" section of an adapted config; nil if none.
func logging(cfg map[string]any) map[string]any {
	l, _ := cfg["logging"].(map[string]any)
	return l
}

// TestLikeForLikeRows checks that the rows comparing like with like
// differ from their plain rows only in logging: the sidecar without its
// request line (Caddy's log at WARN) and Caddy with its access log.
func TestLikeForLikeRows(t *testing.T) {
	if l := logging(adapted(t, kindSidecarWS)); l != nil {
		t.Errorf("plain sidecar row configures logging: %v", l)
	}
	quiet := logging(adapted(t, kindSidecarQuiet))
	logs, _ := quiet["logs"].(map[string]any)
	def, _ := logs["default"].(map[string]any)
	if level, _ := def["level"].(string); level != "WARN" {
		t.Errorf("quiet sidecar row logs at %q, want WARN: %v", level, quiet)
	}

	hasAccessLog := func(cfg map[string]any) bool {
		servers := cfg["apps"].(map[string]any)["http"].(map[string]any)["servers"].(map[string]any)
		for _, s := range servers {
			if _, ok := s.(map[string]any)["logs"]; ok {
				return true
			}
		}
		return false
	}
	if hasAccessLog(adapted(t, kindCaddy)) {
		t.Error("plain Caddy row writes an access log")
	}
	if !hasAccessLog(adapted(t, kindCaddyLog)) {
		t.Error("Caddy access-log row writes no access log")
	}
}

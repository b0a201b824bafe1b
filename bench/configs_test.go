package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/23telecom/restlink-sidecar/caddyfile"
)

// rowConfig is a row's configuration as its server sees it: its Caddyfile
// adapted to Caddy's JSON, and the sidecar's config file ("" for Caddy),
// with the row's own directory name replaced by "ROW".
type rowConfig struct {
	caddy   map[string]any
	sidecar string
}

// configOf writes a row's configuration into dir and reads it back.
func configOf(t *testing.T, dir, kind string) rowConfig {
	t.Helper()
	_, args, err := writeConfig(dir, kind, 3, 8080, 8081)
	if err != nil {
		t.Fatal(err)
	}
	row := filepath.Base(filepath.Dir(args[2]))
	body, err := os.ReadFile(args[2])
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(body, map[string]any{"filename": args[2]})
	if err != nil {
		t.Fatalf("%s: %v\n%s", kind, err, body)
	}
	var c rowConfig
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(out), row, "ROW")), &c.caddy); err != nil {
		t.Fatal(err)
	}
	if yaml, err := os.ReadFile(filepath.Join(dir, row, "config.yaml")); err == nil {
		c.sidecar = strings.ReplaceAll(string(yaml), row, "ROW")
	}
	return c
}

// withoutLogging returns the adapted config without its logging: the
// "logging" section and each server's access-log setting.
func withoutLogging(t *testing.T, cfg map[string]any) string {
	t.Helper()
	delete(cfg, "logging")
	if servers, ok := cfg["apps"].(map[string]any)["http"].(map[string]any)["servers"].(map[string]any); ok {
		for _, s := range servers {
			delete(s.(map[string]any), "logs")
		}
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestLikeForLikeRows checks that the rows comparing like with like
// differ from their plain rows in logging alone: the sidecar without its
// request line (Caddy's log at WARN), and Caddy with its access log.
func TestLikeForLikeRows(t *testing.T) {
	dir := t.TempDir()
	plain, quiet := configOf(t, dir, kindSidecarWS), configOf(t, dir, kindSidecarQuiet)
	if plain.caddy["logging"] != nil {
		t.Errorf("plain sidecar row configures logging: %v", plain.caddy["logging"])
	}
	logs, _ := quiet.caddy["logging"].(map[string]any)["logs"].(map[string]any)
	def, _ := logs["default"].(map[string]any)
	if level, _ := def["level"].(string); level != "WARN" {
		t.Errorf("quiet sidecar row logs at %q, want WARN: %v", level, quiet.caddy["logging"])
	}
	if plain.sidecar == "" || quiet.sidecar != plain.sidecar {
		t.Errorf("the quiet row's sidecar config differs from the plain row's:\n%s\nwant\n%s", quiet.sidecar, plain.sidecar)
	}
	if a, b := withoutLogging(t, quiet.caddy), withoutLogging(t, plain.caddy); a != b {
		t.Errorf("the quiet row's Caddy config differs beyond logging:\n%s\nwant\n%s", a, b)
	}

	caddy, logged := configOf(t, dir, kindCaddy), configOf(t, dir, kindCaddyLog)
	hasAccessLog := func(cfg map[string]any) bool {
		servers := cfg["apps"].(map[string]any)["http"].(map[string]any)["servers"].(map[string]any)
		for _, s := range servers {
			if _, ok := s.(map[string]any)["logs"]; ok {
				return true
			}
		}
		return false
	}
	if hasAccessLog(caddy.caddy) {
		t.Error("plain Caddy row writes an access log")
	}
	if !hasAccessLog(logged.caddy) {
		t.Error("Caddy access-log row writes no access log")
	}
	if a, b := withoutLogging(t, logged.caddy), withoutLogging(t, caddy.caddy); a != b {
		t.Errorf("the access-log row's Caddy config differs beyond logging:\n%s\nwant\n%s", a, b)
	}
}

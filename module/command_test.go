package restlink

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// commandFixture writes a config with a file key (world-readable), an env
// key and a literal key.
func commandFixture(t *testing.T) (path string, environ Environ) {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "main.key")
	if err := os.WriteFile(keyFile, []byte("rl_live_FILEKEYfilekey\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "config.yaml")
	yaml := "workspaces:\n  main:\n    id: 16\n    main: true\n    keys:\n      - file: " + keyFile + "\n      - env: KEY_MAIN_OLD\n  test-space:\n    id: 18\n    keys:\n      - value: rl_live_LITERALliteral\ntenants:\n  acme: test-space\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, envOf("KEY_MAIN_OLD=rl_live_ENVKEYenvkey")
}

func TestValidateConfigCommand(t *testing.T) {
	path, environ := commandFixture(t)
	var out strings.Builder
	if err := validateConfig(&out, path, environ); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"config OK: 2 workspaces, 1 tenants, upstream https://restlink23telecom.com",
		Fingerprint("rl_live_FILEKEYfilekey") + ", " + Fingerprint("rl_live_ENVKEYenvkey"),
		"readable by group or others", "literal key value",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "rl_live_") {
		t.Errorf("output shows a key:\n%s", got)
	}

	err := validateConfig(&out, path, envOf())
	if err == nil || !strings.Contains(err.Error(), "workspaces.main.keys[1]: environment variable KEY_MAIN_OLD is not set") {
		t.Errorf("missing env key: %v", err)
	}
}

func TestKeysCommand(t *testing.T) {
	path, environ := commandFixture(t)
	keyFile := filepath.Join(filepath.Dir(path), "main.key")
	old := time.Now().Add(-49 * time.Hour)
	os.Chtimes(keyFile, old, old)
	var out strings.Builder
	if err := listKeys(&out, path, environ, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{keyFile, Fingerprint("rl_live_FILEKEYfilekey"), "49h0m", "KEY_MAIN_OLD", "readable by group or others"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "rl_live_") {
		t.Errorf("output shows a key:\n%s", got)
	}
	os.Remove(keyFile)
	out.Reset()
	if err := listKeys(&out, path, environ, time.Now()); err == nil || !strings.Contains(out.String(), "no such file") {
		t.Errorf("missing file: %v\n%s", err, out.String())
	}
}

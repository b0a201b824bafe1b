package caddyfile

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// adapt runs the Caddyfile adapter.
func adapt(t *testing.T, caddyfile string) (map[string]any, error) {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		return nil, err
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg, nil
}

// TestAdaptFixtures compares each testdata/adapt/*.caddyfiletest (Caddyfile,
// a line of dashes, the expected JSON) with the adapter's output.
func TestAdaptFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/adapt/*.caddyfiletest")
	if len(files) == 0 {
		t.Fatal("no adapt fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, want, ok := strings.Cut(string(b), "\n----------\n")
			if !ok {
				t.Fatal("no ---------- separator")
			}
			if !caddytest.CompareAdapt(t, f, caddyfile, "caddyfile", strings.TrimSpace(want)) {
				t.Error("adapted JSON differs from the fixture")
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, directive, want string
	}{
		{"no config", "restlink", "restlink needs the path of its config file"},
		{"empty block", "restlink {\n}", "restlink needs the path of its config file"},
		{"two arguments", "restlink /a.yaml /b.yaml", "wrong argument count"},
		{"matcher", "restlink @api /a.yaml", "restlink takes no matcher (@api)"},
		{"config twice", "restlink /a.yaml {\n\tconfig /b.yaml\n}", "config already specified"},
		{"tenant twice", "restlink {\n\tconfig /a.yaml\n\ttenant a\n\ttenant b\n}", "tenant already specified"},
		{"config without value", "restlink {\n\tconfig\n}", "wrong argument count"},
		{"tenant with two values", "restlink {\n\tconfig /a.yaml\n\ttenant a b\n}", "wrong argument count"},
		{"unknown subdirective", "restlink {\n\tconfig /a.yaml\n\tkey abc\n}", `unrecognized subdirective "key"`},
		{"status without config", "restlink_status", "restlink_status needs the path"},
		{"status with two arguments", "restlink_status /a.yaml /b.yaml", "wrong argument count"},
		{"status with a block", "restlink_status /a.yaml {\n\tx\n}", "restlink_status takes no block"},
		{"guard without config", "restlink_guard", "restlink_guard needs the path"},
		{"guard with two arguments", "restlink_guard /a.yaml /b.yaml", "wrong argument count"},
		{"guard with a block", "restlink_guard /a.yaml {\n\tx\n}", "restlink_guard takes no block"},
		{"webhook without config", "restlink_webhook", "restlink_webhook needs the path"},
		{"webhook with two arguments", "restlink_webhook /a.yaml /b.yaml", "wrong argument count"},
		{"webhook with a block", "restlink_webhook /a.yaml {\n\tx\n}", "restlink_webhook takes no block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := adapt(t, "http://:8080 {\n"+tc.directive+"\n}\n")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestShippedCaddyfile: admin API off, every listener on loopback, and the
// restlink handler with no host matcher in front of it.
func TestShippedCaddyfile(t *testing.T) {
	b, err := os.ReadFile("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := adapt(t, string(b))
	if err != nil {
		t.Fatal(err)
	}
	if admin, _ := cfg["admin"].(map[string]any); admin["disabled"] != true {
		t.Errorf("admin API is not disabled: %v", cfg["admin"])
	}
	servers := cfg["apps"].(map[string]any)["http"].(map[string]any)["servers"].(map[string]any)
	handlers := 0
	for name, s := range servers {
		srv := s.(map[string]any)
		for _, l := range srv["listen"].([]any) {
			host, _, err := net.SplitHostPort(l.(string))
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				t.Errorf("server %s listens on %v, not loopback", name, l)
			}
		}
		for _, r := range srv["routes"].([]any) {
			route := r.(map[string]any)
			for _, h := range route["handle"].([]any) {
				if h.(map[string]any)["handler"] == "restlink" {
					handlers++
					if route["match"] != nil {
						t.Errorf("restlink route has a matcher: %v", route["match"])
					}
				}
			}
		}
	}
	if handlers != 1 {
		t.Errorf("%d restlink handlers, want 1", handlers)
	}
}

// TestDocsSyntaxMatchesDoc: the configuration page's Caddyfile syntax
// blocks are the ones documented above the parsers.
func TestDocsSyntaxMatchesDoc(t *testing.T) {
	readme, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"parseRestlink", "parseRestlinkStatus", "parseRestlinkGuard"} {
		doc := syntaxFromDocComment(t, "caddyfile.go", fn)
		if doc == "" || !strings.Contains(string(readme), "```caddyfile\n"+doc+"```\n") {
			t.Errorf("docs/configuration.md has no ```caddyfile block equal to the syntax above %s:\n%s", fn, doc)
		}
	}
}

// syntaxFromDocComment returns the tab-indented block of a function's doc
// comment, without the comment's own indentation.
func syntaxFromDocComment(t *testing.T, file, fn string) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == fn {
			var block strings.Builder
			for _, line := range strings.Split(fd.Doc.Text(), "\n") {
				if strings.HasPrefix(line, "\t") {
					block.WriteString(strings.TrimPrefix(line, "\t") + "\n")
				}
			}
			return block.String()
		}
	}
	t.Fatalf("no func %s in %s", fn, file)
	return ""
}

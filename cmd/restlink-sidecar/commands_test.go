package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/appreceiver"
	restlink "github.com/23telecom/restlink-sidecar/module"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// TestHelpIsTheSidecars: the binary's help starts with what the sidecar
// is and its own commands, lists them before Caddy's, and names the
// sidecar in usage lines.
func TestHelpIsTheSidecars(t *testing.T) {
	out, err := sidecarCommand("--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	help := string(out)
	if !strings.HasPrefix(help, "restlink-sidecar runs next to apps") {
		t.Errorf("the help does not start with the sidecar:\n%s", help)
	}
	own, caddys := strings.Index(help, "The sidecar's commands:"), strings.Index(help, "Caddy's commands:")
	if own < 0 || caddys < own {
		t.Errorf("the sidecar's commands are not listed first:\n%s", help)
	}
	for _, name := range sidecarCommands {
		if i := strings.Index(help[own:], "\n  "+name+" "); i < 0 || own+i > caddys {
			t.Errorf("%s is not among the sidecar's commands", name)
		}
	}
	if strings.Contains(help, "Caddy is an extensible server platform") || !strings.Contains(help, "restlink-sidecar [command]") {
		t.Errorf("the help is stock Caddy's:\n%s", help)
	}
	out, _ = sidecarCommand("validate-config", "--help").CombinedOutput()
	if !strings.Contains(string(out), "restlink-sidecar validate-config <config.yaml>") {
		t.Errorf("validate-config's usage does not name the sidecar:\n%s", out)
	}
}

// TestUpgradeRefuses: upgrade, add-package and remove-package would
// download a stock Caddy over this build; they refuse, say why, and leave
// the binary as it was.
func TestUpgradeRefuses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"upgrade"}, {"add-package", "github.com/caddy-dns/cloudflare"}, {"remove-package", "x"}} {
		out, err := sidecarCommand(args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "would replace this build") || !strings.Contains(string(out), "xcaddy") {
			t.Errorf("%s: %v\n%s", args[0], err, out)
		}
	}
	after, err := os.Stat(exe)
	if err != nil || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Errorf("the binary changed: %v", err)
	}
}

// TestStatusCommand: restlink-sidecar status prints a running sidecar's
// workspaces with their breakers and keys (by fingerprint, never a key),
// its tenants, store and webhooks as aligned tables, without colour when
// its output is not a terminal; without fraud signals, no quarantines.
func TestStatusCommand(t *testing.T) {
	app := appreceiver.New()
	t.Cleanup(app.Close)
	bb := startWebhookBox(t, app, "policy:\n  default: {max_recipients: 5}\n")
	if status, body := bb.do("POST", "/api/v1/sms/send", `{"to":["+447700900123"],"message":"hi","sender_id":"MyApp"}`, "X-Tenant: acme"); status != 200 {
		t.Fatalf("a send: %d %s", status, body)
	}
	out, err := sidecarCommand("status", "--url", bb.ops+"/status").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"WORKSPACE", "main (main)", "closed", restlink.Fingerprint(goodKey) + "(active", "TENANT", "acme", "enforce",
		"store: memory", "WEBHOOKS", "taking events"} {
		if !strings.Contains(text, want) {
			t.Errorf("the status view lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b[") || strings.Contains(text, goodKey) {
		t.Errorf("colour or a key in a non-terminal view:\n%s", text)
	}
	if strings.Contains(text, "quarantines") || strings.Contains(text, "DELIVERY RATIO") {
		t.Errorf("fraud signals in the view of a sidecar without anomaly:\n%s", text)
	}
	if out, err := sidecarCommand("status", "--url", "http://127.0.0.1:1/status").CombinedOutput(); err == nil {
		t.Errorf("status of nothing succeeded:\n%s", out)
	}
}

// TestStatusCommandShowsSignals: with fraud signals, the status view says
// when nothing is quarantined; once acme (enforce) and beta (shadow) pumped
// a French range, it has their quarantines and each tenant × country's
// signals as aligned tables, a threshold not measured yet as "-", and
// never a phone number.
func TestStatusCommandShowsSignals(t *testing.T) {
	fake := newMoneyFake(t, restlinktest.Options{})
	mb := startSignalBox(t, fake, pumpingPolicy, "", map[string]string{"trusted.txt": trustedFR + "\n"})
	status := func() string {
		t.Helper()
		out, err := sidecarCommand("status", "--url", mb.ops+"/status").CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return string(out)
	}
	if text := status(); !regexpLine(text, `quarantines: none in force$`) || strings.Contains(text, "DELIVERY RATIO") {
		t.Errorf("before any send, want no quarantine and no readings:\n%s", text)
	}
	pump(t, mb, "acme", 0, 10, "hi")
	pump(t, mb, "beta", 20, 10, "hi")
	var text string
	eventually(t, 10*time.Second, "both quarantines in the status view", func() bool {
		text = status()
		return strings.Contains(text, "quarantines: 2 in force")
	})
	const stamp = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`
	for _, line := range []string{
		`TENANT +COUNTRY +SIGNAL +MODE +SINCE +UNTIL$`,
		`acme +FR +delivery_ratio +enforce +` + stamp + ` +` + stamp + `$`,
		`beta +FR +delivery_ratio +shadow +` + stamp + ` +` + stamp + `$`,
		`signals: 2 tenant × country reading\(s\), as last evaluated$`,
		`TENANT +COUNTRY +DELIVERY RATIO +REPORTS +VOLUME +THRESHOLD$`,
		`acme +FR +0\.00 +\d+ +\d+ +-$`, // no volume baseline yet
		`beta +FR +0\.00 +\d+ +\d+ +-$`,
	} {
		if !regexpLine(text, line) {
			t.Errorf("the status view has no line %s:\n%s", line, text)
		}
	}
	for _, number := range []string{"61234", "698765432"} {
		if strings.Contains(withoutFractions(text), number) {
			t.Errorf("the status view holds %q, part of a phone number:\n%s", number, text)
		}
	}
}

// TestPolicyTablesBuiltOnFirstUse: the send policy's numbering-plan tables
// (calling codes, trunk prefixes: about 550 KB and 2 ms) are built when a
// policy first needs them, not when the binary starts. The numbering plan
// library's own metadata is loaded by its init, which the sidecar cannot
// defer.
func TestPolicyTablesBuiltOnFirstUse(t *testing.T) {
	cmd := sidecarCommand("version")
	cmd.Env = append(cmd.Env, "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`init github.com/23telecom/restlink-sidecar/module/policy @\S+ ms, \S+ ms clock, (\d+) bytes`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no init trace of module/policy in:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n > 64<<10 {
		t.Errorf("module/policy allocates %d bytes when the binary starts, want under 64 KiB", n)
	}
}

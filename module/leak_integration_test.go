package restlink_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/23telecom/restlink-sidecar/internal/appreceiver"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// runCommand runs a registered sidecar subcommand as the binary would, and
// returns what it printed (stdout and stderr) and its error.
func runCommand(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	c, ok := caddycmd.Commands()[name]
	if !ok {
		t.Fatalf("no %s command", name)
	}
	cmd := &cobra.Command{Use: name}
	c.CobraFunc(cmd)
	var out strings.Builder
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestNoKeyLeaks runs every kind of scenario at debug level — successes,
// failovers, revoked keys, upstream failures, timeouts, resets, redirects,
// an open breaker, rotations, bad reloads, the commands — and then searches
// everything the sidecar produced for each key and every 8-character piece
// of it: Caddy's log (debug), the access log, every answer's status line,
// headers and body, the metrics and status output, and command output.
func TestNoKeyLeaks(t *testing.T) {
	const (
		literalKey = "rl_live_LITERALliteralLIT05"
		appKey     = "rl_live_APPappAPPappAPPapp06" // an app still sending its own key
		keyMainNew = "rl_live_MAINrotatedMAINrot07"
		keySigned  = "sk_prod_SIGNEDsignedSIGNED08"
		secretOK   = "SECRETsigningSECRETsigning09"
		secretBad  = "WRONGsecretWRONGsecretWRO10"
		hookOld    = "HOOKoldHOOKoldHOOKoldHOOK11" // webhook secrets: main's, its successor, one only an attacker has
		hookNew    = "HOOKnewHOOKnewHOOKnewHOOK12"
		hookForged = "FORGEDforgedFORGEDforged13"
		hookValue  = "HOOKvalueHOOKvalueHOOKva14" // a literal webhook secret of workspace signed
		alertToken = "ALERTtokenALERTtokenALER15" // in alerts.url's query: a receiver's credential
	)
	secrets := []string{keyMain, keyTestA, keyTestB, literalKey, appKey, keyMainNew, keySigned, secretOK, secretBad,
		hookOld, hookNew, hookForged, hookValue, alertToken}
	app := appreceiver.New()
	defer app.Close()

	yaml := strings.Replace(standardYAML, "timeout: 2s", "timeout: 500ms", 1)
	yaml = strings.Replace(yaml, "verify: false", "verify: true", 1)
	yaml = strings.Replace(yaml, "tenants:\n", "  literal:\n    id: 30\n    keys:\n      - value: \""+literalKey+"\"\n"+
		"  signed:\n    id: 31\n    keys:\n      - file: {{dir}}/signed.key\n        secret: {file: {{dir}}/signed.secret}\n"+
		"tenants:\n  initech: literal\n  signer: signed\n", 1)
	yaml = strings.Replace(yaml, "    main: true\n", "    main: true\n    webhook_secrets: [{file: {{dir}}/main.webhook}, {file: {{dir}}/main.webhook2}]\n", 1)
	yaml = strings.Replace(yaml, "        secret: {file: {{dir}}/signed.secret}\n", "        secret: {file: {{dir}}/signed.secret}\n    webhook_secrets: [{value: "+hookValue+"}]\n", 1)
	yaml += "webhooks:\n  spool_dir: {{dir}}/spool\n  deliver_to: " + app.URL + "\n"
	// Budgets, whose alerts go to a receiver that never answers, with a
	// token in its URL.
	yaml += "policy:\n  default:\n    budget: {daily: 0.01}\nledger:\n  dir: {{dir}}/ledger\n  currency: EUR\npricing:\n  unknown_rate: 0.0085\n" +
		"alerts:\n  url: http://127.0.0.1:1/alerts?token=" + alertToken + "\n"
	workspaces := append(fixtureWorkspaces(), restlinktest.Workspace{ID: 30, Name: "literal", Keys: []string{literalKey}},
		restlinktest.Workspace{ID: 31, Name: "signed", APIKeys: []restlinktest.Key{{Value: keySigned, Secret: secretOK}}})
	keyFiles := map[string]string{"main.key": keyMain + "\n", "test-space.key": keyTestA, "test-space.previous.key": keyTestB,
		"signed.key": keySigned, "signed.secret": secretOK, "main.webhook": hookOld, "main.webhook2": hookOld}
	accessLog := `log {
		output file {{dir}}/access.log
		format filter {
			wrap json
			fields {
` + documentedLogFilter(t) + `
			}
		}
	}
	`
	sc := startSidecar(t, setup{yaml: yaml, workspaces: workspaces, keys: keyFiles, site: accessLog + "restlink {{dir}}/config.yaml",
		extraSites: opsSite + strings.Replace(hookSite, "\trestlink_webhook", "\t"+accessLog+"restlink_webhook", 1)})

	var seen strings.Builder // every answer, whole
	record := func(a answer, err error) {
		fmt.Fprintf(&seen, "%d %v %s %v\n", a.status, a.header, a.body, err)
	}
	send := func(headers ...string) { record(sc.try(http.MethodPost, "/api/v1/sms/send", smsBody, headers...)) }

	for _, tenant := range []string{"acme", "globex", "initech", "signer", "nobody"} {
		send("X-Tenant: "+tenant, "X-API-Key: "+appKey, "Authorization: Bearer "+appKey, "Cookie: k="+appKey)
	}
	record(sc.try(http.MethodGet, "/t/acme/api/v1/user/workspaces", ""))
	sc.fake.RevokeKey(keyTestA)
	send("X-Tenant: acme") // failover to B
	sc.fake.RevokeKey(keyMain)
	send("X-Tenant: globex") // every key refused
	sc.fake.Inject(restlinktest.Fault{WorkspaceID: 30, Status: 502})
	for range 4 {
		send("X-Tenant: initech") // opens the breaker
	}
	for _, f := range []restlinktest.Fault{
		{WorkspaceID: 18, Delay: time.Second, Times: 1},
		{WorkspaceID: 18, ResetAfterHeaders: true, Times: 1},
		{WorkspaceID: 18, CloseAfterRead: true, Times: 1},
		{WorkspaceID: 18, RedirectTo: "http://127.0.0.1:1/", Times: 1},
		{WorkspaceID: 18, EchoKeyIn: "X-Api-Key", Times: 1},
	} {
		sc.fake.Inject(f)
		send("X-Tenant: acme")
	}

	// A signing secret rotated alone, to one that does not match: a
	// mismatched pair, diagnosed (fingerprints only) while the old pair
	// serves; then a signed key whose secret is missing.
	sc.write("signed.secret", secretBad)
	eventually(t, 5*time.Second, "the mismatched pair to be diagnosed", func() bool { return strings.Contains(sc.logs(), "mismatched pair") })
	send("X-Tenant: signer")

	// Rotation, a vanished key file, and bad reloads quoting keys.
	sc.fake.AddKey(keyMainNew, 16)
	sc.write("main.key", keyMainNew)
	os.Remove(filepath.Join(sc.dir, "test-space.previous.key"))
	time.Sleep(400 * time.Millisecond)
	send("X-Tenant: globex")
	good := sc.expand(yaml)
	for _, bad := range []string{
		good + "  broken: [\"" + literalKey + "\"\n",
		strings.Replace(good, "id: 16", "id: "+keyMain, 1),
		strings.Replace(good, "      - value: \""+literalKey+"\"", "      - value: \""+literalKey+"\"\n        file: /x", 1),
	} {
		sc.write("config.yaml", bad)
		time.Sleep(400 * time.Millisecond)
		out, err := runCommand(t, "validate-config", filepath.Join(sc.dir, "config.yaml"))
		fmt.Fprintln(&seen, out, err)
	}
	sc.write("config.yaml", good)
	time.Sleep(400 * time.Millisecond)
	for _, name := range []string{"validate-config", "keys"} {
		out, err := runCommand(t, name, filepath.Join(sc.dir, "config.yaml"))
		fmt.Fprintln(&seen, out, err)
	}
	// Webhooks: good, forged and unsigned ones; the secret rotated with
	// overlap, then a secret file that vanishes; a delivery the app refuses;
	// the dead-letter commands.
	n := 0
	hooks := func(secret string) {
		for _, tamper := range []restlinktest.Tamper{0, restlinktest.TamperSignature, restlinktest.TamperUnsigned, restlinktest.TamperStale} {
			sc.fake.SetWebhooks(16, restlinktest.WebhookSettings{DeliveryURL: hookURL + "/hooks/main/delivery", SigningSecret: secret})
			d, err := sc.fake.SendTamperedWebhook(context.Background(), 16, restlinktest.EventDelivery, map[string]string{"message_id": fmt.Sprint("api_", n), "status": "DELIVRD"}, tamper)
			n++
			fmt.Fprintln(&seen, d, err)
		}
	}
	app.SetStatus(http.StatusInternalServerError)
	hooks(hookOld)
	hooks(hookForged)
	sc.write("main.webhook2", hookNew)
	eventually(t, 5*time.Second, "the new webhook secret to load", func() bool { return strings.Contains(sc.logs(), "workspace webhook secrets changed") })
	hooks(hookNew)
	os.Remove(filepath.Join(sc.dir, "main.webhook"))
	time.Sleep(400 * time.Millisecond)
	hooks(hookOld)
	for _, sub := range []string{"list", "replay"} {
		out, err := runCommand(t, "webhooks", sub, filepath.Join(sc.dir, "config.yaml"))
		fmt.Fprintln(&seen, out, err)
	}
	out, err := runCommand(t, "usage", filepath.Join(sc.dir, "config.yaml"), "--format", "json")
	fmt.Fprintln(&seen, out, err)
	record(sc.try(http.MethodGet, "/status", "")) // through the proxy site: a sidecar error
	metricsOut := sc.doAt(opsURL, http.MethodGet, "/metrics", "")
	statusOut := sc.doAt(opsURL, http.MethodGet, "/status", "")

	access, _ := os.ReadFile(filepath.Join(sc.dir, "access.log"))
	sources := map[string]string{
		"caddy log (debug)": sc.logs(),
		"access log":        string(access),
		"answers":           seen.String(),
		"metrics":           metricsOut.body,
		"status":            statusOut.body,
	}
	if !strings.Contains(sources["caddy log (debug)"], `"level":"debug"`) || len(access) == 0 || !strings.Contains(sources["status"], `"fingerprint"`) ||
		!strings.Contains(sources["caddy log (debug)"], "webhook received") || !strings.Contains(string(access), "/hooks/main/delivery") ||
		!strings.Contains(sources["metrics"], "restlink_webhooks_refused_total") || !strings.Contains(sources["caddy log (debug)"], `"alert":"budget_`) ||
		!strings.Contains(sources["metrics"], "\nrestlink_alerts_pending ") || strings.Contains(sources["metrics"], "\nrestlink_alerts_pending 0\n") {
		t.Fatal("the scenario did not produce debug logs, access logs, status output and undelivered alerts to search")
	}
	for name, text := range sources {
		for _, secret := range secrets {
			for i := 0; i+8 <= len(secret); i++ {
				// A key's kind prefix is public: restlink documents it.
				if piece := secret[i : i+8]; piece != "sk_prod_" && piece != "sk_test_" && strings.Contains(text, piece) {
					at := strings.Index(text, piece)
					t.Errorf("%s contains %q, a piece of a key: …%s…", name, piece, text[max(0, at-80):min(len(text), at+80)])
					break
				}
			}
		}
	}
	// The upstream did receive the keys: the search would have found them.
	if reqs := sc.fake.Requests(); len(reqs) == 0 || !strings.Contains(fmt.Sprint(reqs[0].Header), reqs[0].Key[:8]) {
		t.Error("the upstream's record should hold the key it received")
	}
}

// documentedLogFilter returns the fields of the access-log filter that
// docs/security.md recommends, so that the test checks the filter the docs
// give.
func documentedLogFilter(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "\t\tfields {\n")
	fields, _, ok2 := strings.Cut(after, "\t\t}\n")
	if !ok || !ok2 || !strings.Contains(fields, "X-Api-Key delete") {
		t.Fatal("docs/security.md has no access-log filter with a fields block")
	}
	return fields
}

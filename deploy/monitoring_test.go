package deploy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/23telecom/restlink-sidecar/internal/monitoring"
)

// The sidecar's black-box tests (cmd/restlink-sidecar) check that every
// metric the rules and the dashboard use is one a running sidecar exports;
// these check the files themselves.

var update = flag.Bool("update", false, "rewrite prometheus/prometheusrule.yaml from the rule file")

// load reads the rules, their tests and the dashboard.
func load(t *testing.T) (*monitoring.Rules, *monitoring.RuleTests, *monitoring.Dashboard) {
	t.Helper()
	rules, tests, dash, err := monitoring.Load("..")
	if err != nil {
		t.Fatal(err)
	}
	return rules, tests, dash
}

// promtool runs promtool in dir and fails the test if it fails. It is
// never skipped: make test installs it (Debian's prometheus package).
func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool is not installed: run make test, which installs Debian's prometheus package, or apt-get install prometheus")
	}
	cmd := exec.Command("promtool", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestRulesPassPromtool: the rule file is valid and its unit tests pass.
func TestRulesPassPromtool(t *testing.T) {
	promtool(t, "prometheus", "check", "rules", filepath.Base(monitoring.RulesFile))
	promtool(t, "prometheus", "test", "rules", filepath.Base(monitoring.RuleTestsFile))
}

// TestEveryAlertTestedBothWays: each alert has a severity, its annotations
// and a unit test where it fires, and one where it stays quiet on series
// of every metric it reads (not on an empty input, where anything is
// quiet). Tests name only alerts that exist: promtool would pass a test
// of a misspelt alert that expects silence.
func TestEveryAlertTestedBothWays(t *testing.T) {
	rules, tests, _ := load(t)
	if !slices.Equal(tests.RuleFiles, []string{filepath.Base(monitoring.RulesFile)}) {
		t.Errorf("the tests load %v, want the rule file only", tests.RuleFiles)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	exprs := map[string]string{}
	for _, a := range rules.Alerts() {
		exprs[a.Alert] = a.Expr
	}
	for _, g := range tests.Tests {
		var input []string
		for _, s := range g.InputSeries {
			input = append(input, s.Series)
		}
		for _, c := range g.AlertRuleTests {
			expr, ok := exprs[c.Alertname]
			if !ok {
				t.Errorf("test %q: no alert %s", g.Name, c.Alertname)
				continue
			}
			if len(c.ExpAlerts) > 0 {
				fires[c.Alertname] = true
				continue
			}
			read := monitoring.MetricNames(input...)
			if missing := slices.DeleteFunc(monitoring.MetricNames(expr), func(m string) bool { return slices.Contains(read, m) }); len(missing) > 0 {
				t.Errorf("test %q expects %s quiet without series of %v", g.Name, c.Alertname, missing)
				continue
			}
			quiet[c.Alertname] = true
		}
	}
	if len(exprs) == 0 {
		t.Fatal("no alerts")
	}
	seen := map[string]bool{}
	for _, a := range rules.Alerts() {
		if seen[a.Alert] {
			t.Errorf("alert %s is defined twice", a.Alert)
		}
		seen[a.Alert] = true
		if !fires[a.Alert] {
			t.Errorf("alert %s has no test where it fires", a.Alert)
		}
		if !quiet[a.Alert] {
			t.Errorf("alert %s has no test where it stays quiet on healthy series", a.Alert)
		}
		if s := a.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("alert %s: severity %q, want critical or warning", a.Alert, s)
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if a.Annotations[k] == "" {
				t.Errorf("alert %s has no %s", a.Alert, k)
			}
		}
	}
}

// docsBase is where runbook links point: the docs on GitHub.
const docsBase = "https://github.com/23telecom/restlink-sidecar/blob/main/docs/"

// TestRunbookLinksResolve: each alert's runbook_url is a heading of a page
// under docs/.
func TestRunbookLinksResolve(t *testing.T) {
	rules, _, _ := load(t)
	for _, a := range rules.Alerts() {
		page, anchor, _ := strings.Cut(strings.TrimPrefix(a.Annotations["runbook_url"], docsBase), "#")
		if !strings.HasPrefix(a.Annotations["runbook_url"], docsBase) || anchor == "" {
			t.Errorf("alert %s: runbook_url %q is not a heading under %s", a.Alert, a.Annotations["runbook_url"], docsBase)
			continue
		}
		b, err := os.ReadFile(filepath.Join("../docs", page))
		if err != nil {
			t.Errorf("alert %s: %v", a.Alert, err)
			continue
		}
		if !slices.Contains(anchors(string(b)), anchor) {
			t.Errorf("alert %s: docs/%s has no heading #%s", a.Alert, page, anchor)
		}
	}
}

// anchors lists the GitHub-style anchors of a markdown page's headings
// (outside code blocks).
func anchors(markdown string) []string {
	var out []string
	fenced := false
	for line := range strings.SplitSeq(markdown, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		var slug strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#"))) {
			switch {
			case r == ' ':
				slug.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				slug.WriteRune(r)
			}
		}
		out = append(out, slug.String())
	}
	return out
}

// grafanaVariable matches a variable in a panel's query: $name or ${name}.
var grafanaVariable = regexp.MustCompile(`\$\{?(\w+)\}?`)

// TestDashboard: the dashboard imports as it is (no __inputs; its data
// source is the variable datasource), its variables are datasource,
// instance, tenant and workspace, every panel has a query, and every
// query is valid PromQL (promtool checks them as recording rules, with
// Grafana's variables replaced).
func TestDashboard(t *testing.T) {
	_, _, dash := load(t)
	if dash.Inputs != nil {
		t.Error("the dashboard has __inputs: it must import without them, its data source is the variable datasource")
	}
	if dash.UID == "" || dash.Title == "" || dash.SchemaVersion < 41 {
		t.Errorf("uid %q, title %q, schemaVersion %d: want a uid, a title and the schema of a current Grafana (41 or later)", dash.UID, dash.Title, dash.SchemaVersion)
	}
	var names []string
	for _, v := range dash.Templating.List {
		names = append(names, v.Name)
		switch {
		case v.Name == "datasource":
			if v.Type != "datasource" || v.QueryText() != "prometheus" {
				t.Errorf("variable datasource: type %q, query %q; want a prometheus data source variable", v.Type, v.QueryText())
			}
		case v.Type != "query" || v.Datasource == nil || v.Datasource.UID != "${datasource}" || !strings.HasPrefix(v.QueryText(), "label_values("):
			t.Errorf("variable %s: want a label_values query on ${datasource}", v.Name)
		}
	}
	slices.Sort(names)
	if want := []string{"datasource", "instance", "tenant", "workspace"}; !slices.Equal(names, want) {
		t.Errorf("variables %v, want %v", names, want)
	}

	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	ids := map[int]bool{}
	panels := dash.AllPanels()
	if len(panels) < 10 {
		t.Fatalf("only %d panels", len(panels))
	}
	for _, p := range panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use ${datasource}", p.Title)
		}
		for _, q := range p.Targets {
			if strings.TrimSpace(q.Expr) == "" || q.Datasource == nil || q.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q, query %s: empty, or not on ${datasource}", p.Title, q.RefID)
				continue
			}
			expr := grafanaVariable.ReplaceAllStringFunc(q.Expr, func(v string) string {
				switch strings.Trim(v, "${}") {
				case "__rate_interval", "__interval":
					return "1m"
				case "__range":
					return "6h"
				}
				return ".*"
			})
			fmt.Fprintf(&rules, "      - record: dashboard:panel_%d_%s\n        expr: %q\n", p.ID, q.RefID, expr)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard.rules.yaml"), []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	promtool(t, dir, "check", "rules", "dashboard.rules.yaml")
}

// prometheusRuleFile is the PrometheusRule next to the rule file.
const prometheusRuleFile = "prometheus/prometheusrule.yaml"

// prometheusRule wraps the rule file's groups in a PrometheusRule, for the
// Prometheus Operator: the file's lines from `groups:` on, under spec.
func prometheusRule(rules []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`# The alert rules of restlink-sidecar.rules.yaml as a PrometheusRule, for the
# Prometheus Operator. Generated: edit restlink-sidecar.rules.yaml, then run
#   go test ./deploy -run TestPrometheusRule -update
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: restlink-sidecar
  labels:
    # Your Prometheus selects rules by label (its ruleSelector): set the
    # ones it expects, e.g. release: <release> with kube-prometheus-stack.
    app.kubernetes.io/name: restlink-sidecar
spec:
`)
	_, groups, _ := bytes.Cut(rules, []byte("\ngroups:\n"))
	for line := range strings.Lines("groups:\n" + string(groups)) {
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.Bytes()
}

// TestPrometheusRule: prometheusrule.yaml holds exactly the rule file's
// groups.
func TestPrometheusRule(t *testing.T) {
	rules, err := os.ReadFile(strings.TrimPrefix(monitoring.RulesFile, "deploy/"))
	if err != nil {
		t.Fatal(err)
	}
	want := prometheusRule(rules)
	if *update {
		if err := os.WriteFile(prometheusRuleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(prometheusRuleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not generated from the rule file: run go test ./deploy -run TestPrometheusRule -update", prometheusRuleFile)
	}
	var plain struct {
		Groups any `yaml:"groups"`
	}
	var wrapped struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			Groups any `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(rules, &plain); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(got, &wrapped); err != nil {
		t.Fatal(err)
	}
	if wrapped.APIVersion != "monitoring.coreos.com/v1" || wrapped.Kind != "PrometheusRule" {
		t.Errorf("%s: %s %s, want a monitoring.coreos.com/v1 PrometheusRule", prometheusRuleFile, wrapped.APIVersion, wrapped.Kind)
	}
	if plain.Groups == nil || !reflect.DeepEqual(plain.Groups, wrapped.Spec.Groups) {
		t.Errorf("%s: its spec.groups differ from the rule file's groups", prometheusRuleFile)
	}
}

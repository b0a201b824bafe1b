package restlink

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/23telecom/restlink-sidecar/internal/metric"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// liveConfigFromYAML is a live config serving a snapshot of yaml (literal
// keys, no upstream), for tests that need no server.
func liveConfigFromYAML(t *testing.T, yaml string) *liveConfig {
	t.Helper()
	lc := &liveConfig{stats: new(configStats), memory: store.NewMemory(store.MemoryOptions{})}
	lc.current.Store(snapshotOf(t, lc, yaml, nil))
	return lc
}

// snapshotOf builds a snapshot of yaml for lc, following prev.
func snapshotOf(t *testing.T, lc *liveConfig, yaml string, prev *snapshot) *snapshot {
	t.Helper()
	pl, err := parseConfig([]byte(yaml), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	return buildSnapshot(pl, [32]byte{}, loadKeys(pl.workspaces, pl.Rotation.Verify, nil, nil, nil, time.Now()), new(webhookSecretLoad), nil, nil, prev, liveState{stats: lc.stats}, time.Now())
}

// requestSeries gathers reg and returns requests_total by workspace, 2xx.
func requestSeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "restlink_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["class"] == "2xx" {
				got[labels["workspace"]] = m.GetCounter().GetValue()
			}
		}
	}
	return got
}

// TestMetricsBelongToTheirConfig: two config files in one Caddy config
// both name a workspace "main"; their counts are summed, and when one file
// drops "main", the other's counts are still exported. Counters survive a
// reload of their own file.
func TestMetricsBelongToTheirConfig(t *testing.T) {
	const both = "workspaces:\n  main:\n    id: 1\n    keys: [{value: k1}]\n  other:\n    id: 2\n    keys: [{value: k2}]\n"
	const onlyMain = "workspaces:\n  main:\n    id: 3\n    keys: [{value: k3}]\n"
	a, b := liveConfigFromYAML(t, both), liveConfigFromYAML(t, onlyMain)
	reg := prometheus.NewPedanticRegistry()
	for _, lc := range []*liveConfig{a, b, a} { // a twice: a second handler of the same file
		if err := registerMetrics(reg, lc); err != nil {
			t.Fatal(err)
		}
	}
	a.current.Load().workspace("main").counters().countRequest(200)
	a.current.Load().workspace("other").counters().countRequest(204)
	b.current.Load().workspace("main").counters().countRequest(200)
	b.current.Load().workspace("main").counters().countRequest(201)
	if got := requestSeries(t, reg); got["main"] != 3 || got["other"] != 1 {
		t.Fatalf("summed series = %v, want main 3, other 1", got)
	}

	// a reloads without main; b's main keeps being exported, and a's other
	// keeps its count across the reload.
	a.current.Store(snapshotOf(t, a, "workspaces:\n  other:\n    id: 2\n    keys: [{value: k2}]\n", a.current.Load()))
	if got := requestSeries(t, reg); got["main"] != 2 || got["other"] != 1 {
		t.Errorf("after a dropped main: %v, want main 2 (b's), other 1", got)
	}
}

// TestMetricsTableNamesEveryMetric: docs/operations.md's metrics table
// lists every metric the collector describes.
func TestMetricsTableNamesEveryMetric(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	names := metric.Names(new(collector))
	for _, name := range names {
		if !strings.Contains(string(doc), "| `"+name+"`") && !strings.Contains(string(doc), ", `"+name+"`") {
			t.Errorf("docs/operations.md's metrics table does not name %s", name)
		}
	}
	if len(names) < 20 {
		t.Fatalf("the collector describes only %d metrics", len(names))
	}
}

// TestPolicyRulesAreCounted: every rule label the policy engine can
// refuse with (its Rule constants) is counted in
// restlink_policy_decisions_total, and docs/policy.md lists it there.
func TestPolicyRulesAreCounted(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "policy/refusal.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if strings.HasPrefix(name.Name, "Rule") {
					rules = append(rules, strings.Trim(vs.Values[i].(*ast.BasicLit).Value, `"`))
				}
			}
		}
	}
	if len(rules) < 10 {
		t.Fatalf("found %d Rule constants in policy/refusal.go: %q", len(rules), rules)
	}
	doc, err := os.ReadFile("../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, watch, _ := strings.Cut(string(doc), "- `restlink_policy_decisions_total")
	watch, _, _ = strings.Cut(watch, "\n- ")
	for _, rule := range rules {
		if !slices.Contains(policyRules[:], rule) {
			t.Errorf("policy rule %q is not in policyRules: its refusals are not counted", rule)
		}
		if !strings.Contains(watch, "`"+rule+"`") {
			t.Errorf("docs/policy.md does not list the rule %q under restlink_policy_decisions_total", rule)
		}
	}
}

// TestKeyFileTimeMetric: the time of a workspace's key file is exported in
// Unix seconds, 0 for a file dated the epoch (as some reproducible image
// builds date theirs), and not at all for a key from a literal value.
func TestKeyFileTimeMetric(t *testing.T) {
	dir := t.TempDir()
	files := map[string]time.Time{"dated": time.Unix(1790000000, 500), "epoch": time.Unix(0, 0)}
	yaml := "workspaces:\n  literal:\n    id: 3\n    keys: [{value: k3}]\n"
	for i, name := range []string{"dated", "epoch"} {
		path := filepath.Join(dir, name+".key")
		if err := os.WriteFile(path, []byte("key-"+name), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, files[name], files[name]); err != nil {
			t.Fatal(err)
		}
		yaml += fmt.Sprintf("  %s:\n    id: %d\n    keys: [{file: %s}]\n", name, i+1, path)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := registerMetrics(reg, liveConfigFromYAML(t, yaml)); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() == "restlink_key_file_modified_timestamp_seconds" {
			for _, m := range f.GetMetric() {
				got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	if want := map[string]float64{"dated": 1790000000, "epoch": 0}; !maps.Equal(got, want) {
		t.Errorf("key file times %v, want %v", got, want)
	}
}

// TestIncidentMetrics: a workspace's incident counters (see
// workspaceStats), made by its first trouble, are exported with the
// counters of every request; a workspace without trouble shows zeros.
func TestIncidentMetrics(t *testing.T) {
	lc := liveConfigFromYAML(t, "workspaces:\n  main:\n    id: 1\n    keys: [{value: k1}]\n  quiet:\n    id: 2\n    keys: [{value: k2}]\n")
	reg := prometheus.NewPedanticRegistry()
	if err := registerMetrics(reg, lc); err != nil {
		t.Fatal(err)
	}
	snap := lc.current.Load()
	snap.workspace("quiet").counters().countRequest(200)
	main := snap.workspace("main").counters()
	main.trouble().keyFailovers.Add(1)
	main.trouble().keyLoadFailures.Add(1)
	main.trouble().breakerChanges[gobreaker.StateOpen].Add(1)
	main.countUpstreamFailure(failTimeout)
	main.countDemotion("API_KEY_EXPIRED")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	for series, want := range map[string]float64{
		"restlink_key_failovers_total main":                 1,
		"restlink_key_load_failures_total main":             1,
		"restlink_breaker_transitions_total open main":      1,
		"restlink_upstream_failures_total timeout main":     1,
		"restlink_key_demotions_total API_KEY_EXPIRED main": 1,
		"restlink_key_failovers_total quiet":                0,
		"restlink_upstream_failures_total timeout quiet":    0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (exported: %v), want %v", series, v, ok, want)
		}
	}
}

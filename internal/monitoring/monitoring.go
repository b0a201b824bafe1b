// Package monitoring reads what deploy/ ships for monitoring the sidecar:
// the Prometheus alert rules, their unit tests (promtool's format) and the
// Grafana dashboard, and finds the metric names their queries use.
//
// The deploy package's tests check the files' structure (every alert
// tested both ways, every panel with a query); the sidecar's black-box
// tests check that every metric they use is one a running sidecar
// exports. Both read the files through this package, so that the two
// agree on what a query is.
package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"go.yaml.in/yaml/v3"
)

// The shipped files, relative to the repository's root.
const (
	RulesFile     = "deploy/prometheus/restlink-sidecar.rules.yaml"
	RuleTestsFile = "deploy/prometheus/restlink-sidecar.rules_test.yaml"
	DashboardFile = "deploy/grafana/restlink-sidecar.json"
)

// Rules is a Prometheus rule file.
type Rules struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is a group of rules.
type RuleGroup struct {
	Name  string `yaml:"name"`
	Rules []Rule `yaml:"rules"`
}

// Rule is an alerting rule (Alert set) or a recording rule (Record set).
type Rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// Alerts lists the alerting rules, in file order.
func (r *Rules) Alerts() []Rule {
	var out []Rule
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			if rule.Alert != "" {
				out = append(out, rule)
			}
		}
	}
	return out
}

// Exprs lists every rule's expression.
func (r *Rules) Exprs() []string {
	var out []string
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			out = append(out, rule.Expr)
		}
	}
	return out
}

// RuleTests is a unit test file of `promtool test rules`.
type RuleTests struct {
	RuleFiles          []string        `yaml:"rule_files"`
	EvaluationInterval string          `yaml:"evaluation_interval"`
	Tests              []RuleTestGroup `yaml:"tests"`
}

// RuleTestGroup is one test: input series and what to expect of them.
type RuleTestGroup struct {
	Name        string `yaml:"name"`
	Interval    string `yaml:"interval"`
	InputSeries []struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	} `yaml:"input_series"`
	AlertRuleTests []AlertRuleTest `yaml:"alert_rule_test"`
}

// AlertRuleTest expects an alert's firing instances at one time: none
// when ExpAlerts is empty.
type AlertRuleTest struct {
	EvalTime  string `yaml:"eval_time"`
	Alertname string `yaml:"alertname"`
	ExpAlerts []struct {
		ExpLabels      map[string]string `yaml:"exp_labels"`
		ExpAnnotations map[string]string `yaml:"exp_annotations"`
	} `yaml:"exp_alerts"`
}

// Dashboard is the part of a Grafana dashboard's JSON model these checks
// read.
type Dashboard struct {
	Inputs        []json.RawMessage `json:"__inputs"`
	UID           string            `json:"uid"`
	Title         string            `json:"title"`
	SchemaVersion int               `json:"schemaVersion"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Panels []Panel `json:"panels"`
}

// Datasource names a panel's, a query's or a variable's data source.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel is a panel, or a row holding panels (collapsed rows hold theirs).
type Panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *Datasource `json:"datasource"`
	Targets    []Target    `json:"targets"`
	Panels     []Panel     `json:"panels"`
}

// Target is a panel's query.
type Target struct {
	RefID      string      `json:"refId"`
	Expr       string      `json:"expr"`
	Datasource *Datasource `json:"datasource"`
}

// Variable is a template variable. A query variable's Query is its
// query's text, or an object holding it under "query".
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *Datasource     `json:"datasource"`
}

// QueryText is the query of a query variable.
func (v Variable) QueryText() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var q struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &q)
	return q.Query
}

// AllPanels lists every panel that is not a row, rows' own panels
// included, in order.
func (d *Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(panels []Panel) {
		for _, p := range panels {
			if p.Type != "row" {
				out = append(out, p)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// Exprs lists every panel's queries and every query variable's.
func (d *Dashboard) Exprs() []string {
	var out []string
	for _, p := range d.AllPanels() {
		for _, t := range p.Targets {
			out = append(out, t.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			out = append(out, v.QueryText(), v.Definition)
		}
	}
	return out
}

// metricName matches the sidecar's metric names in a query.
var metricName = regexp.MustCompile(`\brestlink_[a-z_]+`)

// MetricNames lists the sidecar's metric names the queries use, sorted,
// each once. A histogram's series keep their suffix (_bucket, _sum,
// _count): the caller knows which names are histograms.
func MetricNames(queries ...string) []string {
	var out []string
	for _, q := range queries {
		out = append(out, metricName.FindAllString(q, -1)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Load reads the rules, their tests and the dashboard from the
// repository whose root is root.
func Load(root string) (*Rules, *RuleTests, *Dashboard, error) {
	rules, tests, dash := new(Rules), new(RuleTests), new(Dashboard)
	for _, f := range []struct {
		path string
		into any
		yaml bool
	}{{RulesFile, rules, true}, {RuleTestsFile, tests, true}, {DashboardFile, dash, false}} {
		b, err := os.ReadFile(filepath.Join(root, f.path))
		if err != nil {
			return nil, nil, nil, err
		}
		if f.yaml {
			err = yaml.Unmarshal(b, f.into)
		} else {
			err = json.Unmarshal(b, f.into)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading %s: %w", f.path, err)
		}
	}
	return rules, tests, dash, nil
}

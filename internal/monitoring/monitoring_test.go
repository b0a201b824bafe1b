package monitoring

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestMetricNames(t *testing.T) {
	got := MetricNames(
		`sum by (workspace) (rate(restlink_requests_total{class="5xx"}[5m])) / sum(rate(restlink_requests_total[5m]))`,
		`histogram_quantile(0.95, sum by (le) (rate(restlink_upstream_duration_seconds_bucket[5m])))`,
		`label_values(restlink_sms_recipients_total{instance=~"$instance"}, tenant)`,
		`up{job="x_restlink_y"}`,
	)
	want := []string{"restlink_requests_total", "restlink_sms_recipients_total", "restlink_upstream_duration_seconds_bucket"}
	if !slices.Equal(got, want) {
		t.Errorf("MetricNames = %q, want %q", got, want)
	}
}

func TestDashboardExprs(t *testing.T) {
	var d Dashboard
	err := json.Unmarshal([]byte(`{
	  "templating": {"list": [
	    {"name": "datasource", "type": "datasource", "query": "prometheus"},
	    {"name": "a", "type": "query", "query": "label_values(restlink_a_total, a)"},
	    {"name": "b", "type": "query", "definition": "label_values(restlink_b_total, b)",
	     "query": {"qryType": 1, "query": "label_values(restlink_b_total, b)", "refId": "B"}}
	  ]},
	  "panels": [
	    {"id": 1, "type": "row", "panels": []},
	    {"id": 2, "type": "timeseries", "targets": [{"refId": "A", "expr": "restlink_c_total"}]},
	    {"id": 3, "type": "row", "collapsed": true, "panels": [
	      {"id": 4, "type": "stat", "targets": [{"refId": "A", "expr": "restlink_d_total"}]}
	    ]}
	  ]}`), &d)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, p := range d.AllPanels() {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, []int{2, 4}) {
		t.Errorf("AllPanels: ids %v, want [2 4]", ids)
	}
	got := MetricNames(d.Exprs()...)
	if want := []string{"restlink_a_total", "restlink_b_total", "restlink_c_total", "restlink_d_total"}; !slices.Equal(got, want) {
		t.Errorf("metrics of Exprs = %q, want %q", got, want)
	}
}

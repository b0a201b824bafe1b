package policy

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAnomalyDefaults(t *testing.T) {
	pol, err := Compile(Config{Default: &RulesConfig{Anomaly: &AnomalyConfig{}}, Tenants: map[string]RulesConfig{
		"fast": {Mode: "enforce", Anomaly: &AnomalyConfig{Mode: "enforce", Window: 5 * time.Minute}},
		"calm": {Mode: "shadow", Anomaly: &AnomalyConfig{Mode: "enforce"}},
	}}, []string{"fast", "calm"})
	if err != nil {
		t.Fatal(err)
	}
	d := pol.For("other").Anomaly()
	if d.Enforce || d.Window != time.Hour || d.RatioBelow != 0.3 || d.MinReports != 50 || d.Sigma != 6 || d.MinSends != 100 ||
		d.Baseline != 7*24*time.Hour || d.QuarantineFor != time.Hour {
		t.Errorf("defaults: %+v", d)
	}
	// A 5-minute window fits 168 windows of the 7-day default at most.
	if f := pol.For("fast").Anomaly(); f.Baseline != 168*5*time.Minute || !pol.For("fast").QuarantineRefuses() {
		t.Errorf("fast: baseline %v, refuses %v", f.Baseline, pol.For("fast").QuarantineRefuses())
	}
	if pol.For("calm").QuarantineRefuses() {
		t.Error("a tenant in shadow mode refuses on a quarantine")
	}
	if !pol.Watched() {
		t.Error("a policy with anomaly is not watched")
	}
}

func TestAnomalyErrors(t *testing.T) {
	bad := -0.1
	one := 1.0
	zero := int64(0)
	neg := -1.0
	_, err := Compile(Config{Default: &RulesConfig{
		Anomaly: &AnomalyConfig{Mode: "block", Window: 500 * time.Millisecond, DeliveryRatioBelow: &bad, MinReports: &zero,
			Volume: &VolumeConfig{Sigma: &neg, MinSends: &zero, Baseline: 2 * time.Hour}, QuarantineFor: time.Millisecond},
		TrustedNumbers: &TrustedNumbersConfig{},
	}, Tenants: map[string]RulesConfig{"acme": {Anomaly: &AnomalyConfig{DeliveryRatioBelow: &one, Volume: &VolumeConfig{Baseline: 169 * time.Hour}}}}},
		[]string{"acme"})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`policy.default.anomaly.mode: "block" is not a mode`,
		"policy.default.anomaly.window: 500ms is too short",
		"policy.default.anomaly.delivery_ratio_below: -0.1 is out of range",
		"policy.default.anomaly.min_reports: 0 is out of range",
		"policy.default.anomaly.volume.sigma: -1 is out of range",
		"policy.default.anomaly.volume.min_sends: 0 is out of range",
		"policy.default.anomaly.volume.baseline: 2h must be a whole number of windows (1h), from 3 to 168",
		"policy.default.anomaly.quarantine_for: 1ms is too short",
		"policy.default.trusted_numbers.file: is required",
		"policy.tenants.acme.anomaly.delivery_ratio_below: 1 is out of range",
		"policy.tenants.acme.anomaly.volume.baseline: 169h must be a whole number of windows",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestQuarantineRefusal(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	r := QuarantineRefusal("ZZ", "volume", now.Add(90*time.Second+time.Millisecond), now)
	if r.Status != 403 || r.Code != CodeDestinationQuarantined || r.Rule != RuleQuarantine || r.RetryAfter != 91*time.Second ||
		!strings.Contains(r.Description, "numbers in no country") || !strings.Contains(r.Description, "volume") {
		t.Errorf("%+v", r)
	}
}

// TestAnomalyDefaultsDocumented: the anomaly block that docs/policy.md
// says holds the defaults does.
func TestAnomalyDefaultsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "## Fraud signals and quarantine")
	for _, want := range []string{
		"window: " + formatDuration(DefaultAnomalyWindow),
		"delivery_ratio_below: " + strconv.FormatFloat(DefaultRatioBelow, 'f', -1, 64),
		"min_reports: " + strconv.Itoa(DefaultMinReports),
		fmt.Sprintf("volume: {sigma: %v, min_sends: %d, baseline: 7d}", DefaultVolumeSigma, DefaultVolumeMinSends),
		"quarantine_for: " + formatDuration(DefaultQuarantineFor),
		"mode: shadow                 # shadow (default)",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("docs/policy.md's anomaly block lacks the default %q", want)
		}
	}
	if DefaultVolumeBaseline != 7*24*time.Hour {
		t.Error("the documented baseline is 7d")
	}
}

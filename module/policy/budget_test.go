package policy

import (
	"strings"
	"testing"

	"github.com/23telecom/restlink-sidecar/module/money"
)

func TestCompileBudget(t *testing.T) {
	c := Config{
		Default: &RulesConfig{Budget: &BudgetConfig{Daily: 50.00, Monthly: "1000", SoftAt: ptr(0.9)}},
		Tenants: map[string]RulesConfig{
			"acme":  {Budget: &BudgetConfig{Monthly: 200}}, // replaces the default's whole
			"other": {Countries: []string{"GB"}},           // inherits it
		},
	}
	p, err := Compile(c, definedTenants)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if !p.Budgeted() {
		t.Error("Budgeted() = false with budgets set")
	}
	acme := p.For("acme").Budget()
	if len(acme.Limits) != 1 || acme.Limits[0] != (BudgetLimit{Period: PeriodMonthly, Max: 200_000_000}) || acme.SoftAt != DefaultSoftAt {
		t.Errorf("acme budget = %+v, want only monthly 200 with the default soft_at", acme)
	}
	other := p.For("other").Budget()
	want := []BudgetLimit{{PeriodDaily, 50_000_000}, {PeriodMonthly, 1_000_000_000}}
	if len(other.Limits) != 2 || other.Limits[0] != want[0] || other.Limits[1] != want[1] || other.SoftAt != 900_000 {
		t.Errorf("inherited budget = %+v, want %v at soft_at 0.9", other, want)
	}
	if got := other.Soft(50_000_000); got != 45_000_000 {
		t.Errorf("Soft(50) = %v, want 45", got)
	}
}

func TestSoftRoundsDownWithoutOverflow(t *testing.T) {
	b := &Budget{SoftAt: 999_999}
	max := money.Amount(1<<63 - 1)
	if got := b.Soft(max); got >= max || got <= 0 {
		t.Errorf("Soft(max int64) = %d: overflowed", got)
	}
	b.SoftAt = 333_333
	if got := b.Soft(10); got != 3 { // 3.33333 micro-units, rounded down
		t.Errorf("Soft(10 micros at 0.333333) = %d, want 3", got)
	}
}

func TestCompileBudgetProblems(t *testing.T) {
	for _, tt := range []struct {
		name   string
		budget BudgetConfig
		want   string
	}{
		{"empty", BudgetConfig{}, "policy.default.budget: set daily, monthly or both"},
		{"negative", BudgetConfig{Daily: -1}, "policy.default.budget.daily:"},
		{"too precise", BudgetConfig{Monthly: "0.0000001"}, "policy.default.budget.monthly:"},
		{"not a number", BudgetConfig{Daily: true}, "policy.default.budget.daily:"},
		{"too large to count exactly", BudgetConfig{Monthly: "9007199255"}, "policy.default.budget.monthly: 9007199255.00 is over the largest budget"},
		{"soft_at of 1", BudgetConfig{Daily: 5, SoftAt: ptr(1.0)}, "policy.default.budget.soft_at: must be a fraction above 0 and below 1"},
		{"soft_at of 0", BudgetConfig{Daily: 5, SoftAt: ptr(0.0)}, "policy.default.budget.soft_at:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(Config{Default: &RulesConfig{Budget: &tt.budget}}, definedTenants)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

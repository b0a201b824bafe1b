package policy

import (
	"math/bits"

	"github.com/23telecom/restlink-sidecar/module/money"
)

// Budget periods, as in BudgetLimit.Period, 402 answers, alerts and
// metrics.
const (
	PeriodDaily   = "daily"
	PeriodMonthly = "monthly"
)

// MaxBudget is the largest budget: the store counts spend exactly up to
// 2^53-1 micro-units (about 9 billion units of the currency).
const MaxBudget = money.Amount(1<<53 - 1)

// DefaultSoftAt is the fraction of a budget at which a budget_soft alert
// is raised when soft_at is absent, in millionths (0.8).
const DefaultSoftAt = 800_000

// Budget is a tenant's compiled budget: what it may spend per period, in
// micro-units of the account's currency.
type Budget struct {
	// Limits are the budgets set, daily first.
	Limits []BudgetLimit
	// SoftAt is the fraction of a budget at which to alert, in
	// millionths: 800000 is 0.8.
	SoftAt int64
}

// BudgetLimit is the budget of one period.
type BudgetLimit struct {
	// Period is PeriodDaily or PeriodMonthly.
	Period string
	// Max is the most that may be spent in one period.
	Max money.Amount
}

// Soft returns the spend at which a budget_soft alert is raised: max
// times SoftAt, rounded down to a micro-unit.
func (b *Budget) Soft(max money.Amount) money.Amount {
	hi, lo := bits.Mul64(uint64(max), uint64(b.SoftAt))
	q, _ := bits.Div64(hi, lo, 1_000_000) // max < 2^63 and SoftAt < 10^6: no overflow
	return money.Amount(q)
}

// BudgetKey names the store counter of a tenant's budget in one kind of
// period (PeriodDaily or PeriodMonthly); the store period names the day or
// month itself. subject is the tenant, as in Limits.
func BudgetKey(period, subject string) string { return "budget/" + period + ":" + subject }

// Budget returns the tenant's budget; nil: none.
func (r *Rules) Budget() *Budget { return r.budget }

// compileBudget checks and compiles a budget entry.
func compileBudget(c BudgetConfig, field string, p *problems) *Budget {
	b := &Budget{SoftAt: DefaultSoftAt}
	for _, period := range []struct {
		name, key string
		value     any
	}{{PeriodDaily, "daily", c.Daily}, {PeriodMonthly, "monthly", c.Monthly}} {
		if period.value == nil {
			continue
		}
		max, err := money.FromConfig(period.value)
		if err != nil {
			p.add(field+"."+period.key, "%v", err)
			continue
		}
		if max > MaxBudget {
			p.add(field+"."+period.key, "%s is over the largest budget the store keeps exactly, %s", max, MaxBudget)
			continue
		}
		b.Limits = append(b.Limits, BudgetLimit{Period: period.name, Max: max})
	}
	if c.SoftAt != nil {
		frac, err := money.FromConfig(*c.SoftAt)
		if err != nil || frac <= 0 || frac >= 1_000_000 {
			p.add(field+".soft_at", "must be a fraction above 0 and below 1, such as 0.8")
		} else {
			b.SoftAt = int64(frac)
		}
	}
	if len(b.Limits) == 0 {
		p.add(field, "set daily, monthly or both (remove budget for none)")
	}
	return b
}

// Budgeted reports whether any tenant has a budget.
func (p *Policy) Budgeted() bool { return p.anyRules(func(r *Rules) bool { return r.budget != nil }) }

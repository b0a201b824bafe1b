package restlink

import (
	"context"
	"time"

	"github.com/23telecom/restlink-sidecar/module/money"
	"github.com/23telecom/restlink-sidecar/module/policy"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// BudgetStatus is a tenant's budget of one period and its spend now:
// charges, reservations of sends in flight or of unknown outcome, and
// delivery reports' adjustments.
type BudgetStatus struct {
	Period    string       `json:"period"` // daily or monthly
	Budget    money.Amount `json:"budget"`
	Spent     money.Amount `json:"spent"`
	Remaining money.Amount `json:"remaining"` // never below 0
	Currency  string       `json:"currency"`
	ResetsAt  time.Time    `json:"resets_at"`
}

// MoneyStatus is the ledger's state in the status document.
type MoneyStatus struct {
	Ledger   string `json:"ledger"` // its directory
	Currency string `json:"currency"`
	Timezone string `json:"timezone"`
	// Error is why the ledger stopped writing: recorded sends are then
	// refused with 503 LEDGER_UNAVAILABLE until the sidecar restarts.
	Error string `json:"error,omitempty"`
	// AlertsPending are alerts not yet taken by the alert receiver.
	AlertsPending int `json:"alerts_pending"`
}

// PricingStatus is what the sidecar knows of a workspace's prices and
// the balance its key sees.
type PricingStatus struct {
	Entries  int        `json:"entries"`            // rates in the last good price table
	ReadAt   *time.Time `json:"read_at,omitempty"`  // when it was read; absent: never
	Problem  string     `json:"problem,omitempty"`  // why the last read did not replace it
	Balance  *string    `json:"balance,omitempty"`  // absent: unknown
	Currency string     `json:"currency,omitempty"` // as restlink reports it
	// CreditBlocked: restlink refuses sends until the account is topped up.
	CreditBlocked bool `json:"credit_blocked,omitempty"`
	// BalanceUnavailable: restlink's balance cache is degraded; the
	// balance shown is the last one read.
	BalanceUnavailable bool   `json:"balance_unavailable,omitempty"`
	BalanceProblem     string `json:"balance_problem,omitempty"`
}

// moneyStatus describes a snapshot's ledger; nil without one.
func moneyStatus(snap *snapshot) *MoneyStatus {
	acc := snap.accounts
	if acc == nil {
		return nil
	}
	ms := &MoneyStatus{Ledger: acc.plan.dir, Currency: acc.plan.currency, Timezone: acc.plan.tz.String()}
	if err := acc.ledger.Err(); err != nil {
		ms.Error = err.Error()
	}
	if acc.outbox != nil {
		ms.AlertsPending = acc.outbox.Stats().Pending
	}
	return ms
}

// pricingStatus describes a workspace's prices; nil without a ledger.
func pricingStatus(snap *snapshot, ws *workspace) *PricingStatus {
	if snap.accounts == nil {
		return nil
	}
	ps := &PricingStatus{}
	wp := snap.prices.get(ws.name)
	if wp == nil {
		ps.Problem = "not read yet"
		return ps
	}
	ps.Problem = wp.tableErr
	if wp.table != nil {
		ps.Entries = wp.table.Len()
		at := wp.tableAt
		ps.ReadAt = &at
	}
	ps.BalanceProblem = wp.balanceErr
	if b := wp.balance; b != nil {
		amount := b.Amount.String()
		ps.Balance, ps.Currency, ps.CreditBlocked, ps.BalanceUnavailable = &amount, b.Currency, b.CreditBlocked, b.Unavailable
	}
	return ps
}

// budgetUsage reads a tenant's budgets and their spend now from the store.
func budgetUsage(ctx context.Context, snap *snapshot, subject string, b *policy.Budget, now time.Time) ([]BudgetStatus, error) {
	if b == nil || snap.accounts == nil {
		return nil, nil
	}
	day, month := budgetPeriods(now, snap.accounts.plan.tz)
	limits := make([]store.Limit, len(b.Limits))
	for i, bl := range b.Limits {
		p := day
		if bl.Period == policy.PeriodMonthly {
			p = month
		}
		limits[i] = store.Limit{Key: policy.BudgetKey(bl.Period, subject), Max: int64(bl.Max), Period: p}
	}
	used, err := snap.store.Usage(ctx, subject, limits, now)
	if err != nil {
		return nil, err
	}
	out := make([]BudgetStatus, len(limits))
	for i, bl := range b.Limits {
		out[i] = BudgetStatus{Period: bl.Period, Budget: bl.Max, Spent: money.Amount(used[i]),
			Remaining: max(0, bl.Max-money.Amount(used[i])), Currency: snap.accounts.plan.currency, ResetsAt: limits[i].Period.Ends.UTC()}
	}
	return out, nil
}

package restlink

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/23telecom/restlink-sidecar/internal/metric"
)

// The money metrics' descriptions. Amounts are in units of the currency
// (a scrape's float64 reports them; the ledger sums them exactly).
var (
	descSpendCharged      = metric.NewDesc("spend_charged_total", "What restlink charged (summary.total_cost) for the sends this sidecar forwarded, by tenant and currency.", "tenant", "currency")
	descSpendReported     = metric.NewDesc("spend_reported_total", "Actual costs of messages reported by the delivery reports this sidecar reconciled, by tenant and currency.", "tenant", "currency")
	descSpendUnknown      = metric.NewDesc("spend_unknown_outcome_total", "Estimates kept spent for sends whose outcome is unknown (a timeout, a cut connection), by tenant and currency.", "tenant", "currency")
	descBudgetLimit       = metric.NewDesc("budget", "A tenant's budget for the period, by tenant, period (daily, monthly) and currency.", "tenant", "period", "currency")
	descBudgetRemaining   = metric.NewDesc("budget_remaining", "What a tenant may still spend in the current period (never below 0), by tenant, period and currency; read from the store at scrape time.", "tenant", "period", "currency")
	descBudgetAlerts      = metric.NewDesc("budget_alerts_total", "Spend alerts this sidecar raised (each once per tenant, period and threshold across the fleet), by tenant, period and type (budget_soft, budget_exhausted).", "tenant", "period", "type")
	descReconciliations   = metric.NewDesc("reconciliations_total", "Delivery reports taken into the ledger, by outcome: reconciled, unknown_message (no sidecar attributed it), failed.", "outcome")
	descPriceTableAge     = metric.NewDesc("price_table_age_seconds", "Seconds since each workspace's price table was last read successfully; absent: never.", "workspace")
	descPriceTableEntries = metric.NewDesc("price_table_entries", "Rates in each workspace's last good price table.", "workspace")
	descBalance           = metric.NewDesc("balance", "The account balance each workspace's key sees (GET /user/balance), by workspace and currency; absent while unknown.", "workspace", "currency")
	descCreditBlocked     = metric.NewDesc("balance_credit_blocked", "1 while restlink says the account's credit is blocked (balance 0 or less: sends refused), by workspace.", "workspace")
	descBalanceDegraded   = metric.NewDesc("balance_unavailable", "1 while restlink's balance answer is degraded (unavailable: true): the balance shown is the last good one, by workspace.", "workspace")
	descLedgerUp          = metric.NewDesc("ledger_writable", "1 while the ledger writes; 0 after a write failed: recorded sends are refused with 503 LEDGER_UNAVAILABLE.")
	descAlertsPending     = metric.NewDesc("alerts_pending", "Spend alerts waiting for the alert receiver (alerts.url) to take them.")
	descAlertAttempts     = metric.NewDesc("alert_deliveries_total", "Attempts to deliver spend alerts, by result: delivered, failed (retried with backoff).", "result")
)

// moneyDescs are the descriptions above, for Describe.
var moneyDescs = []*prometheus.Desc{descSpendCharged, descSpendReported, descSpendUnknown, descBudgetLimit, descBudgetRemaining,
	descBudgetAlerts, descReconciliations, descPriceTableAge, descPriceTableEntries, descBalance, descCreditBlocked,
	descBalanceDegraded, descLedgerUp, descAlertsPending, descAlertAttempts}

// scrapeBudgetTimeout bounds the store reads of one scrape's budgets.
const scrapeBudgetTimeout = 2 * time.Second

// emitMoney sends the money metrics of a snapshot.
func emitMoney(ch chan<- prometheus.Metric, snap *snapshot, now time.Time) {
	acc := snap.accounts
	if acc == nil {
		return
	}
	cur := acc.plan.currency
	up := 1.0
	if acc.ledger.Err() != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descLedgerUp, prometheus.GaugeValue, up)
	if acc.outbox != nil {
		st := acc.outbox.Stats()
		ch <- prometheus.MustNewConstMetric(descAlertsPending, prometheus.GaugeValue, float64(st.Pending))
		ch <- prometheus.MustNewConstMetric(descAlertAttempts, prometheus.CounterValue, float64(st.Delivered), "delivered")
		ch <- prometheus.MustNewConstMetric(descAlertAttempts, prometheus.CounterValue, float64(st.Failures), "failed")
	}
	for i, outcome := range reconcileOutcomes {
		ch <- prometheus.MustNewConstMetric(descReconciliations, prometheus.CounterValue, float64(acc.stats.reconciles[i].Load()), outcome)
	}
	acc.stats.mu.Lock()
	for _, tenant := range slices.Sorted(maps.Keys(acc.stats.tenants)) {
		t := acc.stats.tenants[tenant]
		ch <- prometheus.MustNewConstMetric(descSpendCharged, prometheus.CounterValue, units(t.charged), tenant, cur)
		ch <- prometheus.MustNewConstMetric(descSpendReported, prometheus.CounterValue, units(t.reported), tenant, cur)
		ch <- prometheus.MustNewConstMetric(descSpendUnknown, prometheus.CounterValue, units(t.unknown), tenant, cur)
	}
	for k, n := range acc.stats.alerts {
		ch <- prometheus.MustNewConstMetric(descBudgetAlerts, prometheus.CounterValue, float64(n), k.tenant, k.period, k.typ)
	}
	acc.stats.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), scrapeBudgetTimeout)
	defer cancel()
	for subject := range snap.tenantStats {
		tenant := subject
		if subject[0] == '@' {
			tenant = ""
		}
		budgets, err := budgetUsage(ctx, snap, subject, snap.policy.For(tenant).Budget(), now)
		if err != nil {
			continue // the store is down: its outage has metrics of its own
		}
		for _, b := range budgets {
			ch <- prometheus.MustNewConstMetric(descBudgetLimit, prometheus.GaugeValue, units(int64(b.Budget)), subject, b.Period, cur)
			ch <- prometheus.MustNewConstMetric(descBudgetRemaining, prometheus.GaugeValue, units(int64(b.Remaining)), subject, b.Period, cur)
		}
	}
	for _, ws := range snap.workspaces {
		wp := snap.prices.get(ws.name)
		if wp == nil {
			continue
		}
		if wp.table != nil {
			ch <- prometheus.MustNewConstMetric(descPriceTableAge, prometheus.GaugeValue, now.Sub(wp.tableAt).Seconds(), ws.name)
			ch <- prometheus.MustNewConstMetric(descPriceTableEntries, prometheus.GaugeValue, float64(wp.table.Len()), ws.name)
		}
		if b := wp.balance; b != nil {
			ch <- prometheus.MustNewConstMetric(descBalance, prometheus.GaugeValue, units(int64(b.Amount)), ws.name, b.Currency)
			ch <- prometheus.MustNewConstMetric(descCreditBlocked, prometheus.GaugeValue, flag(b.CreditBlocked), ws.name)
			ch <- prometheus.MustNewConstMetric(descBalanceDegraded, prometheus.GaugeValue, flag(b.Unavailable), ws.name)
		}
	}
}

// units converts micro-units to units of the currency, for a metric.
func units(micros int64) float64 { return float64(micros) / 1e6 }

// flag is 1 for true.
func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

package restlink

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/ledger"
	"github.com/23telecom/restlink-sidecar/module/money"
	"github.com/23telecom/restlink-sidecar/module/policy"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// deliveryReport is what reconciliation reads of a delivery event.
type deliveryReport struct {
	MessageID string      `json:"message_id"`
	Status    string      `json:"status"`
	Cost      json.Number `json:"cost"` // read exactly, from its text
}

// ReconcileDelivery takes the body of a delivery report (a "delivery"
// webhook, already verified and safely stored by the caller) into the
// ledger: the reported cost of a message this fleet sent replaces what
// the message counted for until now (its share of its send's
// total_cost, or an earlier report's cost), and its tenant's spend moves
// by the difference. A report for a message no sidecar attributed is
// counted and otherwise ignored, and so is one received for another
// workspace than the message was sent through (workspace: the webhook
// site's). It never fails the caller: problems are logged and counted.
// Without a ledger it does nothing.
func (l Live) ReconcileDelivery(ctx context.Context, workspace string, body []byte) {
	snap := l.lc.current.Load()
	acc := snap.accounts
	if acc == nil {
		return
	}
	log := l.lc.logger.Load()
	var rep deliveryReport
	if err := json.Unmarshal(body, &rep); err != nil || rep.MessageID == "" {
		acc.stats.countReconcile(reconcileFailed)
		log.Warn("a delivery report without a message_id could not be reconciled")
		return
	}
	switch rep.Status {
	case "DELIVRD", "UNDELIV", "REJECTD", "EXPIRED", "UNKNOWN":
	default:
		acc.stats.countReconcile(reconcileFailed)
		log.Warn("a delivery report without a final status could not be reconciled (is status among the workspace's delivery_fields?)",
			zap.String("message_id", rep.MessageID))
		return
	}
	cost, err := money.Parse(rep.Cost.String())
	if err != nil || cost < 0 {
		acc.stats.countReconcile(reconcileFailed)
		log.Warn("a delivery report's cost is not an exact amount; the message keeps its share of its send's charge",
			zap.String("message_id", rep.MessageID))
		return
	}
	data, previous, found, err := snap.store.Reconcile(ctx, rep.MessageID, int64(cost))
	switch {
	case err != nil:
		acc.stats.countReconcile(reconcileFailed)
		if !errors.Is(err, store.ErrUnavailable) {
			log.Error("the store could not reconcile a delivery report", zap.String("message_id", rep.MessageID), zap.Error(err))
		}
		return
	case !found:
		acc.stats.countReconcile(unknownMessage)
		return
	}
	// restore gives the message back the cost it had: the report is
	// not taken, and its retry or replay may be.
	restore := func() { _, _, _, _ = snap.store.Reconcile(context.WithoutCancel(ctx), rep.MessageID, previous) }
	var att attribution
	if err := json.Unmarshal(data, &att); err != nil {
		acc.stats.countReconcile(reconcileFailed)
		log.Error("the store holds an attribution this sidecar cannot read", zap.String("message_id", rep.MessageID), zap.Error(err))
		return
	}
	if att.Workspace != workspace {
		restore()
		acc.stats.countReconcile(unknownMessage)
		log.Warn("a delivery report arrived for another workspace than its message was sent through; it is not reconciled",
			zap.String("message_id", rep.MessageID), zap.String("received_for", workspace), zap.String("sent_through", att.Workspace))
		return
	}
	delta := int64(cost) - previous
	duplicate, err := acc.ledger.Adjust(ledger.Adjustment{MessageID: rep.MessageID, Status: rep.Status, CostMicros: int64(cost),
		DeltaMicros: delta, Tenant: att.Tenant, Workspace: att.Workspace, Country: att.Country, Day: att.Day, Currency: att.Currency})
	if err != nil {
		restore()
		acc.stats.countReconcile(reconcileFailed)
		log.Error("the ledger could not record a delivery report; the message keeps the cost it had", zap.String("message_id", rep.MessageID), zap.Error(err))
		return
	}
	if !duplicate {
		acc.stats.reported(att.Tenant, int64(cost))
		l.lc.signals.report(ctx, snap, att.Tenant, att.Country, rep.Status, time.Now())
	}
	acc.stats.countReconcile(reconciled)
	if delta != 0 {
		l.moveBudgets(ctx, snap, acc, att, delta)
	}
}

// moveBudgets moves a tenant's budget counters of the day and month a
// message counts in by delta, and raises the alerts that takes them to.
func (l Live) moveBudgets(ctx context.Context, snap *snapshot, acc *accounts, att attribution, delta int64) {
	day, month, ok := periodsOfDay(att.Day, acc.plan.tz)
	if !ok {
		return
	}
	adj := []store.Adjustment{
		{Key: policy.BudgetKey(policy.PeriodDaily, att.Tenant), Period: day, Delta: delta},
		{Key: policy.BudgetKey(policy.PeriodMonthly, att.Tenant), Period: month, Delta: delta},
	}
	values, err := snap.store.Adjust(ctx, att.Tenant, adj, time.Now())
	log := l.lc.logger.Load()
	if err != nil {
		if !errors.Is(err, store.ErrUnavailable) {
			log.Error("the store could not move a tenant's budget by a delivery report's cost", zap.String("tenant", att.Tenant), zap.Error(err))
		}
		return
	}
	rules := snap.policy.For(att.Tenant)
	if rules == nil || rules.Budget() == nil {
		return
	}
	budget := rules.Budget()
	for _, b := range budget.Limits {
		i, p := 0, day
		if b.Period == policy.PeriodMonthly {
			i, p = 1, month
		}
		acc.crossed(snap.store, log, att.Tenant, budget, b, p, values[i])
	}
}

package restlink

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/alerts"
	"github.com/23telecom/restlink-sidecar/module/ledger"
	"github.com/23telecom/restlink-sidecar/module/policy"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// attributionTTL is how long the store remembers who sent a message, for
// its delivery report: restlink turns a message with no final report into
// UNDELIV after 3 days, and retries a report for a few minutes.
const attributionTTL = 5 * 24 * time.Hour

// alertsSubdir is the directory in ledger.dir where alerts wait for the
// alert receiver.
const alertsSubdir = "alerts"

// accounts is a live config's money: its ledger, its alert outbox and
// what it counts of both. It outlasts snapshots: a reload reopens it only
// when the ledger or alerts settings change.
type accounts struct {
	plan   *moneyPlan
	ledger *ledger.Ledger
	outbox *alerts.Outbox // nil: alerts.url is not set
	stats  *moneyStats
	closer *sync.Once // closes the ledger and outbox once, whichever copy asks
	// raised remembers the alerts this process has raised (or seen
	// claimed by another sidecar), so that a crossed threshold asks the
	// store once, not on every send.
	raised *raisedAlerts
}

// openAccounts opens the ledger and the alert outbox of a plan, logging
// what the ledger recovered. When seed is not nil (the in-memory store of
// one sidecar), the tenants' budget counters of the current day and month
// are set from the ledger, so that no budget starts again from zero after
// a restart.
func openAccounts(mp *moneyPlan, seed store.Store, log *zap.Logger) (*accounts, error) {
	opts := ledger.Options{Timezone: mp.tz, Retention: mp.retention, SyncEvery: mp.syncEvery}
	if seed != nil {
		opts.RecallMessages = attributionTTL
	}
	l, err := ledger.Open(mp.dir, opts)
	if err != nil {
		return nil, fmt.Errorf("ledger.dir: %w", err)
	}
	a := &accounts{plan: mp, ledger: l, stats: new(moneyStats), raised: new(raisedAlerts), closer: new(sync.Once)}
	rec := l.Recovery()
	for _, p := range rec.Problems {
		log.Warn("the ledger skipped a record it could not read", zap.Error(p))
	}
	if len(rec.Unsettled) > 0 {
		log.Warn("the ledger found sends whose outcome a stop cut off: their estimates stay spent, marked unknown",
			zap.Int("sends", len(rec.Unsettled)))
	}
	if mp.alertsURL != "" {
		if a.outbox, err = alerts.Open(filepath.Join(mp.dir, alertsSubdir), alerts.Options{URL: mp.alertsURL}); err != nil {
			_ = l.Close()
			return nil, fmt.Errorf("alerts: %w", err)
		}
		for _, p := range a.outbox.Recovery().Problems {
			log.Warn("the alert outbox skipped a file it could not read", zap.Error(p))
		}
	}
	if seed != nil {
		if err := a.seed(seed); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

// seed sets the budget counters of st from the ledger's spend, and
// attributes again the messages of the last days, so that their delivery
// reports still reconcile after a restart.
func (a *accounts) seed(st store.Store) error {
	msgs := a.ledger.RecalledMessages()
	atts := make([]store.Attribution, 0, len(msgs))
	for _, m := range msgs {
		data, _ := json.Marshal(attribution{Tenant: m.Tenant, Workspace: m.Workspace, Country: m.Country, Day: m.Day, Currency: m.Currency})
		atts = append(atts, store.Attribution{MessageID: m.ID, Data: data, Cost: m.CostMicros})
	}
	if len(atts) > 0 {
		if err := st.Attribute(context.Background(), atts, attributionTTL); err != nil {
			return fmt.Errorf("restoring the attributions of %d messages from the ledger: %w", len(atts), err)
		}
	}
	spent := a.ledger.Spent()
	now := time.Now()
	day, month := budgetPeriods(now, a.plan.tz)
	for tenant, s := range spent.Tenants {
		adj := []store.Adjustment{
			{Key: policy.BudgetKey(policy.PeriodDaily, tenant), Period: day, Delta: s.DayMicros},
			{Key: policy.BudgetKey(policy.PeriodMonthly, tenant), Period: month, Delta: s.MonthMicros},
		}
		if _, err := st.Adjust(context.Background(), tenant, adj, now); err != nil {
			return fmt.Errorf("restoring the budgets of tenant %s from the ledger: %w", tenant, err)
		}
	}
	return nil
}

// reuse returns the accounts of a reloaded plan that keeps ledger.dir:
// these, with the ledger still open (requests in flight settle with it).
// A changed alerts.url gets a new outbox (alerts pending stay on disk).
// ledger.timezone, ledger.retention and ledger.sync_every are the ledger's own and take
// effect at the next start: the reloaded plan keeps the running ones, and
// a warning says so. It returns nil when the plan has no ledger or
// another directory.
func (a *accounts) reuse(mp *moneyPlan, log *zap.Logger) (*accounts, error) {
	if a == nil || mp == nil || a.plan.dir != mp.dir {
		return nil, nil
	}
	eff := *mp
	if eff.tz.String() != a.plan.tz.String() || eff.retention != a.plan.retention || eff.syncEvery != a.plan.syncEvery {
		log.Warn("ledger.timezone, ledger.retention and ledger.sync_every take effect when the sidecar next starts; the ledger keeps its running ones until then",
			zap.String("timezone", a.plan.tz.String()), zap.Duration("retention", a.plan.retention), zap.Duration("sync_every", a.plan.syncEvery))
		eff.tz, eff.retention, eff.syncEvery = a.plan.tz, a.plan.retention, a.plan.syncEvery
	}
	next := *a
	next.plan = &eff
	if mp.alertsURL != a.plan.alertsURL {
		if a.outbox != nil {
			_ = a.outbox.Close() // what it holds stays on disk, for the new one
		}
		next.outbox = nil
		if mp.alertsURL != "" {
			outbox, err := alerts.Open(filepath.Join(mp.dir, alertsSubdir), alerts.Options{URL: mp.alertsURL})
			if err != nil {
				return nil, fmt.Errorf("alerts: %w", err)
			}
			next.outbox = outbox
		}
	}
	return &next, nil
}

// close closes the outbox and the ledger, which syncs what it holds.
func (a *accounts) close() {
	a.closer.Do(func() {
		if a.outbox != nil {
			_ = a.outbox.Close()
		}
		_ = a.ledger.Close()
	})
}

// budgetPeriods returns the store periods of the day and month of t in
// tz, named as the ledger names them (2026-12-05, 2026-12).
func budgetPeriods(t time.Time, tz *time.Location) (day, month store.Period) {
	local := t.In(tz)
	y, m, d := local.Date()
	dayStart := time.Date(y, m, d, 0, 0, 0, 0, tz)
	monthStart := time.Date(y, m, 1, 0, 0, 0, 0, tz)
	return store.Period{Name: dayStart.Format(time.DateOnly), Ends: dayStart.AddDate(0, 0, 1)},
		store.Period{Name: monthStart.Format("2006-01"), Ends: monthStart.AddDate(0, 1, 0)}
}

// periodsOfDay returns the store periods of a ledger day (2026-12-05) in
// tz: those a message sent that day counts against.
func periodsOfDay(dayName string, tz *time.Location) (day, month store.Period, ok bool) {
	t, err := time.ParseInLocation(time.DateOnly, dayName, tz)
	if err != nil {
		return store.Period{}, store.Period{}, false
	}
	day, month = budgetPeriods(t, tz)
	return day, month, true
}

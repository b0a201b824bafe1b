package restlink

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/alerts"
	"github.com/23telecom/restlink-sidecar/module/money"
	"github.com/23telecom/restlink-sidecar/module/policy"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// Alert types, as in an alert's "type" and the metric's label.
const (
	alertSoft      = alerts.TypeSoft
	alertExhausted = alerts.TypeExhausted
)

// alertClaimTTL is how long a sidecar's claim on raising an alert holds
// before another may raise it: the time to write it to the outbox.
const alertClaimTTL = time.Minute

// raisedAlerts are the alert ids this process raised or found raised by
// another sidecar, until their period ends: a crossed threshold asks the
// store once, not on every send.
type raisedAlerts struct {
	mu  sync.Mutex
	ids map[string]time.Time // id -> when it can be forgotten
}

// has reports whether id is known raised, forgetting expired ids.
func (r *raisedAlerts) has(id string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, until := range r.ids {
		if !now.Before(until) {
			delete(r.ids, k)
		}
	}
	_, ok := r.ids[id]
	return ok
}

// add remembers id until until.
func (r *raisedAlerts) add(id string, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = make(map[string]time.Time)
	}
	r.ids[id] = until
}

// raiseAlerts raises the alerts of the thresholds a send's reservation
// took its tenant's budgets to: values are the counters after the charge,
// as the store's decision gives them (nil: nothing was charged).
func (h *Handler) raiseAlerts(c *sendCost, values []int64) {
	if !c.budgeted() || len(values) < c.first+len(c.budget.Limits) {
		return
	}
	st := h.live.current.Load().store
	for i, b := range c.budget.Limits {
		c.acc.crossed(st, h.logger, c.tenant, c.budget, b, c.period(b.Period), values[c.first+i])
	}
}

// raiseExhausted raises the budget_exhausted alert of a send its budget
// refused once the tenant's spend is past the budget's soft threshold:
// what is left of the budget no longer covers its sends. A large send
// refused early in the period (10 of 50 spent, a send of 45) is only
// refused: the tenant can still send.
func (h *Handler) raiseExhausted(c *sendCost, b policy.BudgetLimit, current int64) {
	if money.Amount(current) < c.budget.Soft(b.Max) {
		return
	}
	c.acc.raise(h.live.current.Load().store, h.logger, alertExhausted, c.tenant, b, c.period(b.Period), current)
}

// crossed raises the alerts of the thresholds spent has reached in a
// budget's period.
func (a *accounts) crossed(st store.Markers, log *zap.Logger, tenant string, budget *policy.Budget, b policy.BudgetLimit, p store.Period, spent int64) {
	if money.Amount(spent) >= budget.Soft(b.Max) {
		a.raise(st, log, alertSoft, tenant, b, p, spent)
	}
	if money.Amount(spent) >= b.Max {
		a.raise(st, log, alertExhausted, tenant, b, p, spent)
	}
}

// raise raises an alert once per tenant, period and threshold across the
// fleet: the sidecar that claims its marker in the shared store writes it
// to the outbox (which delivers it at least once), logs it and counts it.
// The others only remember it. A claim left pending by a sidecar that
// stopped before confirming it lapses, and the next crossing raises it.
func (a *accounts) raise(st store.Markers, log *zap.Logger, typ, tenant string, b policy.BudgetLimit, p store.Period, spent int64) {
	now := time.Now()
	id := alerts.ID(tenant, b.Period, p.Name, typ)
	if a.raised.has(id, now) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	marker := "alert:" + id
	state, err := st.ClaimMarker(ctx, marker, alertClaimTTL)
	switch {
	case err != nil:
		return // the next crossing tries again
	case state == store.MarkerDone:
		a.raised.add(id, p.Ends.Add(24*time.Hour))
		return
	case state == store.MarkerPending:
		return
	}
	alert := alerts.Alert{ID: id, Type: typ, Tenant: tenant, Period: b.Period, Budget: b.Max, Spent: money.Amount(spent),
		Currency: a.plan.currency, At: now.UTC()}
	if a.outbox != nil {
		if err := a.outbox.Add(alert); err != nil {
			log.Error("a spend alert could not be kept for the alert receiver; it is raised again on the next crossing", zap.String("tenant", tenant), zap.Error(err))
			_ = st.ReleaseMarker(ctx, marker)
			return
		}
	}
	ttl := time.Until(p.Ends) + 24*time.Hour
	if err := st.ConfirmMarker(ctx, marker, ttl); err != nil {
		log.Warn("a spend alert was raised, but the store could not remember it: another sidecar may raise it again (receivers de-duplicate on id)", zap.String("id", id), zap.Error(err))
	}
	a.raised.add(id, p.Ends.Add(24*time.Hour))
	a.stats.countAlert(tenant, b.Period, typ)
	msg := "tenant crossed the soft threshold (soft_at) of its " + b.Period + " budget"
	if typ == alertExhausted {
		msg = "tenant reached its " + b.Period + " budget: its sends are refused with 402 BUDGET_EXCEEDED until the period resets"
	}
	log.Warn(msg, zap.String("alert", typ), zap.String("id", id), zap.String("tenant", tenant), zap.String("period", b.Period),
		zap.Stringer("budget", b.Max), zap.Stringer("spent", money.Amount(spent)), zap.String("currency", a.plan.currency),
		zap.Time("resets_at", p.Ends.UTC()))
}

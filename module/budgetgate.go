package restlink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/ledger"
	"github.com/23telecom/restlink-sidecar/module/money"
	"github.com/23telecom/restlink-sidecar/module/policy"
	"github.com/23telecom/restlink-sidecar/module/pricing"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// unpricedCountry is the country of a number the numbering plan places in
// no country, in the ledger and the usage export.
const unpricedCountry = "ZZ"

// sendCost is a send recorded in the ledger: its estimate, and the budget
// limits it is reserved against.
type sendCost struct {
	acc        *accounts
	id         string // the send's id in the ledger
	tenant     string
	workspace  string
	at         time.Time
	estimate   money.Amount
	recipients []ledger.Recipient
	budget     *policy.Budget // nil: the tenant has no budget
	first      int            // index of the first budget limit in the admission's limits
	periods    [2]store.Period
	reserved   bool // the reservation is on disk: it must be settled
}

// budgetRefusal is what a 402 BUDGET_EXCEEDED adds to restlink's error
// shape, as restlink's own 402 INSUFFICIENT_BALANCE adds its figures.
type budgetRefusal struct {
	Budget        money.Amount `json:"budget"`
	Spent         money.Amount `json:"spent"`
	EstimatedCost money.Amount `json:"estimated_cost"`
	Currency      string       `json:"currency"`
	Period        string       `json:"period"`
	ResetsAt      time.Time    `json:"resets_at"`
}

// costSend estimates a send parsed by the policy, for the ledger and the
// tenant's budget. It refuses a budgeted send that cannot be priced
// (503 PRICE_UNKNOWN): a recipient no price table covers while
// pricing.unknown_rate is unset, or an account whose currency is not
// ledger.currency. An unbudgeted send, and one in shadow mode, is
// recorded whatever its price: an unknown rate counts 0 in its estimate.
func costSend(snap *snapshot, sel selection, subject string, rules *policy.Rules, s *policy.Send, now time.Time) (*sendCost, *rejection) {
	acc := snap.accounts
	mp := acc.plan
	c := &sendCost{acc: acc, id: newSendID(), tenant: subject, workspace: sel.ws.name, at: now, budget: rules.Budget(),
		recipients: make([]ledger.Recipient, len(s.Recipients))}
	prices := snap.prices.get(sel.ws.name)
	refuse := c.budget != nil && !rules.Shadow()
	if refuse && prices != nil && prices.balance != nil && prices.balance.Currency != mp.currency {
		return nil, reject(CodePriceUnknown, "restlink reports the account's currency as "+prices.balance.Currency+
			", not "+mp.currency+" (ledger.currency): this tenant's budget cannot be kept, so nothing was sent")
	}
	table := pricesTable(prices)
	for i, rc := range s.Recipients {
		r := ledger.Recipient{Country: rc.Region, Segments: s.Count.Segments}
		if r.Country == "" {
			r.Country = unpricedCountry
		}
		est, ok := table.Estimate(rc.Number[1:], s.Count.Segments, now)
		if !ok && mp.hasUnknown {
			var err error
			est, err = mp.unknownRate.Times(s.Count.Segments)
			ok = err == nil
		}
		if !ok && refuse {
			why := "no price table of workspace " + sel.ws.name + " has a current rate for a recipient in " + r.Country
			if table == nil {
				why = "restlink's price table of workspace " + sel.ws.name + " could not be read yet"
			}
			return nil, reject(CodePriceUnknown, why+", so this send's cost against the tenant's budget is unknown and nothing was sent; set pricing.unknown_rate to assume a rate")
		}
		r.EstimateMicros = int64(est)
		c.recipients[i] = r
		c.estimate += est
	}
	if c.budget != nil {
		c.periods[0], c.periods[1] = budgetPeriods(now, mp.tz)
	}
	return c, nil
}

// pricesTable is the price table of prices; nil: none.
func pricesTable(p *workspacePrices) *pricing.Table {
	if p == nil {
		return nil
	}
	return p.table
}

// appendBudgetLimits appends the budget limits of the send to limits,
// remembering where they start.
func (c *sendCost) appendBudgetLimits(limits []store.Limit) []store.Limit {
	if c == nil || c.budget == nil {
		return limits
	}
	c.first = len(limits)
	for _, b := range c.budget.Limits {
		limits = append(limits, store.Limit{Key: policy.BudgetKey(b.Period, c.tenant), Cost: int64(c.estimate), Max: int64(b.Max), Period: c.period(b.Period)})
	}
	return limits
}

// period is the store period of a budget period kind.
func (c *sendCost) period(kind string) store.Period {
	if kind == policy.PeriodDaily {
		return c.periods[0]
	}
	return c.periods[1]
}

// budgetIndex returns the budget limit at index i of the admission's
// limits; ok is false for a limit of the policy's own.
func (c *sendCost) budgetIndex(i int) (policy.BudgetLimit, bool) {
	if c == nil || c.budget == nil || i < c.first || i-c.first >= len(c.budget.Limits) {
		return policy.BudgetLimit{}, false
	}
	return c.budget.Limits[i-c.first], true
}

// refusal is the 402 BUDGET_EXCEEDED of a send the store refused at
// budget limit b, whose counter held current.
func (c *sendCost) refusal(b policy.BudgetLimit, current int64, now time.Time) *rejection {
	p := c.period(b.Period)
	rj := reject(CodeBudgetExceeded, "this send, estimated at "+c.estimate.String()+" "+c.acc.plan.currency+
		", would take tenant "+c.tenant+" over its "+b.Period+" budget of "+b.Max.String()+" "+c.acc.plan.currency+
		" ("+money.Amount(current).String()+" spent); nothing was sent. The budget resets at "+p.Ends.UTC().Format(time.RFC3339))
	rj.budget = &budgetRefusal{Budget: b.Max, Spent: money.Amount(current), EstimatedCost: c.estimate,
		Currency: c.acc.plan.currency, Period: b.Period, ResetsAt: p.Ends.UTC()}
	rj.retryAfter = max(1, int((p.Ends.Sub(now)+time.Second-1)/time.Second))
	return rj
}

// reserve writes the send's reservation to the ledger and waits for it
// to be on disk: the write-ahead that makes a crash lose no spend.
func (c *sendCost) reserve() error {
	err := c.acc.ledger.Reserve(&ledger.Reservation{ID: c.id, Time: c.at, Tenant: c.tenant, Workspace: c.workspace,
		Currency: c.acc.plan.currency, EstimateMicros: int64(c.estimate), Recipients: c.recipients})
	c.reserved = err == nil
	return err
}

// sendAnswer is what the ledger reads of restlink's answer to a send.
type sendAnswer struct {
	Results []struct {
		DNIS      string `json:"dnis"`
		MessageID string `json:"message_id"`
		Segments  int    `json:"segments"`
		Status    string `json:"status"`
	} `json:"results"`
	Summary struct {
		TotalCost json.Number `json:"total_cost"` // read exactly, from its text
		Currency  string      `json:"currency"`
	} `json:"summary"`
	Currency string `json:"currency"`
	// Sandbox marks a sandbox key's answer: its total_cost is a preview,
	// and restlink bills nothing.
	Sandbox bool `json:"sandbox"`
}

// parseAnswer reads restlink's answer to an accepted send, once for the
// counters and the ledger; nil if it is not JSON.
func parseAnswer(body []byte) *sendAnswer {
	a := new(sendAnswer)
	if json.Unmarshal(body, a) != nil {
		return nil
	}
	return a
}

// charged reads what restlink charged for a send it accepted, and the
// send's messages with their shares of it: split by segments, exactly.
// ok is false when the answer does not say (the estimate then stays
// charged, as for an unknown outcome).
func (c *sendCost) charged(a *sendAnswer, sent []policy.Recipient) (total money.Amount, msgs []ledger.Message, ok bool) {
	if a == nil {
		return 0, nil, false
	}
	total, err := money.Parse(a.Summary.TotalCost.String())
	if err != nil || total < 0 {
		return 0, nil, false
	}
	if a.Sandbox {
		total = 0
	}
	weights := make([]int, 0, len(a.Results))
	for i, r := range a.Results {
		if r.MessageID == "" || r.Status != "" && r.Status != "accepted" {
			continue
		}
		msgs = append(msgs, ledger.Message{ID: r.MessageID, Country: c.countryOf(r.DNIS, i, sent), Segments: r.Segments})
		weights = append(weights, r.Segments)
	}
	if len(msgs) == 0 && total != 0 {
		return 0, nil, false
	}
	for i, share := range money.Split(total, weights) {
		msgs[i].ShareMicros = int64(share)
	}
	return total, msgs, true
}

// countryOf is the country of the recipient restlink answered for as
// dnis at index i of its results: the recipient sent with that number,
// else the one at the same position. Numbers are compared in memory only.
func (c *sendCost) countryOf(dnis string, i int, sent []policy.Recipient) string {
	for j, rc := range sent {
		if rc.Number == dnis && j < len(c.recipients) {
			return c.recipients[j].Country
		}
	}
	if i < len(c.recipients) {
		return c.recipients[i].Country
	}
	return unpricedCountry
}

// costs is the final amount of each of a ticket's charges once a send
// cost total: its budget charges become total, the others stay. limits
// are the admission's: the ticket has a charge for each that cost
// something, in their order.
func (c *sendCost) costs(limits []store.Limit, t *store.Ticket, total money.Amount) []int64 {
	if c.budget == nil || len(t.Charges) == 0 {
		return nil
	}
	costs := make([]int64, len(t.Charges))
	j := 0
	for i, l := range limits {
		if l.Cost <= 0 || j == len(costs) {
			continue
		}
		costs[j] = t.Charges[j].Amount
		if _, ok := c.budgetIndex(i); ok {
			costs[j] = int64(total)
		}
		j++
	}
	return costs
}

// newSendID returns a new random id for a send in the ledger.
func newSendID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand panics rather than return an error
	return "s_" + hex.EncodeToString(b[:])
}

// budgeted reports whether the send is reserved against a budget.
func (c *sendCost) budgeted() bool { return c != nil && c.budget != nil }

// sharedOnly reports whether the store must decide the send alone: a
// budget kept in enforce mode is never divided among sidecars.
func (c *sendCost) sharedOnly(rules *policy.Rules) bool { return c.budgeted() && !rules.Shadow() }

// maxCharge is the most a store counter holds exactly (Redis counts in
// doubles): the Max of a limit whose charge must not be refused.
const maxCharge = 1<<53 - 1

// chargeAnyway returns limits that charge as limits do but refuse
// nothing: those of a send forwarded in shadow mode.
func chargeAnyway(limits []store.Limit) []store.Limit {
	out := slices.Clone(limits)
	for i := range out {
		out[i].Max = maxCharge
	}
	return out
}

// settleCost settles a recorded send with the store and the ledger: a
// send restlink took is charged what it answered (total_cost), and the
// rest of its reservation released; one it certainly did not act on is
// released whole; any other keeps its estimate, marked unknown. The
// messages of a charged send are attributed in the store, for their
// delivery reports.
func (h *Handler) settleCost(g *gate, s *store.Settlement, accepted bool, answer *sendAnswer) {
	c := g.cost
	settlement := ledger.Settlement{ID: c.id, Outcome: ledger.Unknown}
	var msgs []ledger.Message
	switch {
	case s.Refund:
		settlement.Outcome = ledger.Released
	case accepted:
		if total, m, ok := c.charged(answer, g.send.Recipients); ok {
			settlement.Outcome, settlement.ChargedMicros, settlement.Messages = ledger.Charged, int64(total), m
			s.Costs = c.costs(g.limits, g.ticket, total)
			msgs = m
			if c.estimate == 0 && total > 0 {
				defer h.chargeUnestimated(g, total) // a free estimate charged nothing to move
			}
		}
	}
	h.settleTicket(g, *s)
	if err := c.acc.ledger.Settle(settlement); err != nil {
		h.logger.Error("the ledger could not record how a send ended; its estimate stays spent", zap.String("tenant", c.tenant), zap.Error(err))
	}
	c.acc.stats.settled(c, settlement)
	if len(msgs) > 0 {
		h.attribute(g, msgs)
	}
}

// attribution is what the store keeps of a message for its delivery
// report: whose it is and where it counts.
type attribution struct {
	Tenant    string `json:"t"`
	Workspace string `json:"w"`
	Country   string `json:"c"`
	Day       string `json:"d"`
	Currency  string `json:"u"`
}

// attribute remembers in the store who sent each message, and its share
// of the send's charge, so that a delivery report reaching any sidecar of
// the fleet reconciles it.
func (h *Handler) attribute(g *gate, msgs []ledger.Message) {
	c := g.cost
	day, _ := budgetPeriods(c.at, c.acc.plan.tz)
	atts := make([]store.Attribution, len(msgs))
	for i, m := range msgs {
		data, _ := json.Marshal(attribution{Tenant: c.tenant, Workspace: c.workspace, Country: m.Country, Day: day.Name, Currency: c.acc.plan.currency})
		atts[i] = store.Attribution{MessageID: m.ID, Data: data, Cost: m.ShareMicros}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.store.Attribute(ctx, atts, attributionTTL); err != nil {
		c.acc.stats.attributionFailures.Add(uint64(len(atts)))
		if !errors.Is(err, store.ErrUnavailable) {
			h.logger.Error("the store could not remember who sent a send's messages; their delivery reports will not reconcile", zap.String("tenant", c.tenant), zap.Error(err))
		}
	}
}

// chargeUnestimated adds to the tenant's budgets the charge of a send
// estimated at 0 (pricing.unknown_rate: 0), which the admission could
// not charge.
func (h *Handler) chargeUnestimated(g *gate, total money.Amount) {
	c := g.cost
	adj := make([]store.Adjustment, len(c.budget.Limits))
	for i, b := range c.budget.Limits {
		adj[i] = store.Adjustment{Key: policy.BudgetKey(b.Period, c.tenant), Period: c.period(b.Period), Delta: int64(total)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := g.store.Adjust(ctx, c.tenant, adj, time.Now()); err != nil && !errors.Is(err, store.ErrUnavailable) {
		h.logger.Error("the store could not charge a send estimated at 0 to its tenant's budget", zap.String("tenant", c.tenant), zap.Error(err))
	}
}

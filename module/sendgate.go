package restlink

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/money"
	"github.com/23telecom/restlink-sidecar/module/policy"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// gate is what the send policy and idempotency decided about a POST before
// it goes upstream, and what must be settled once its outcome is known.
type gate struct {
	subject  string        // whose counters and records: the tenant, or "@" and the workspace
	cost     *sendCost     // nil: the send is not recorded in a ledger
	limits   []store.Limit // what the store admitted
	store    store.Store   // the store that admitted it, which settles it
	rules    *policy.Rules // nil: no send policy applies
	send     *policy.Send  // the parsed send, when the policy applies
	ticket   *store.Ticket // what the store admitted; nil: nothing to settle
	refusal  *policy.Refusal
	shadowed bool // the refusal was only logged and counted (shadow mode)
	// charges and values hold the ticket's charges and the admission's
	// values when the limits are few (a rate, a daily limit, a recipient
	// and two budgets), so that the store need not allocate them: the
	// gate lives as long as its ticket.
	charges [gateLimits]store.Charge
	values  [gateLimits]int64
}

// gateLimits is how many limits a gate holds the charges and values of.
const gateLimits = 6

// answeredLocally reports a request that the send policy answers itself,
// without the upstream: a send of a tenant whose rules are a dry run.
func answeredLocally(snap *snapshot, r *http.Request, sel selection) bool {
	if !snap.policy.AppliesTo(r.Method, sel.path) {
		return false
	}
	rules := snap.policy.For(sel.tenant)
	return rules != nil && rules.DryRun()
}

// admit runs the send policy and idempotency for a request. It answers the
// request itself (answered) when the policy refuses it, when it is a dry
// run, or when idempotency answers it from a record or refuses it; else
// it returns the gate to settle after forwarding (nil: nothing to settle).
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, snap *snapshot, sel selection, out *outbound, claim *store.IdempotencyClaim, x *exchange) (g *gate, answered bool, rj *rejection) {
	subject := policySubject(sel)
	g = &gate{subject: subject, store: snap.store}
	if snap.policy.AppliesTo(r.Method, out.path) {
		g.rules = snap.policy.For(sel.tenant)
	}
	if g.rules == nil && claim == nil {
		return nil, false, nil
	}
	stats := snap.tenantStats[subject]
	var limits []store.Limit
	now := time.Now()
	if g.rules != nil {
		var refusal *policy.Refusal
		if g.send, refusal = snap.policy.ParseSend(out.body); refusal == nil {
			refusal = g.rules.Check(g.send)
		}
		if refusal != nil {
			if refusal.Rule == policy.RuleBody || !g.rules.Shadow() {
				// A malformed send is refused in shadow mode too: restlink
				// would refuse it alike, at no cost.
				h.logRefusal(g, refusal, false, x)
				stats.countDecision(refusal.Rule, false)
				return nil, false, policyRejection(refusal)
			}
			g.refusal, g.shadowed = refusal, true
			stats.countDecision(refusal.Rule, true)
			h.logRefusal(g, refusal, true, x)
		} else if q := h.live.quarantineRefusal(snap, subject, g.rules, g.send, now); q != nil {
			refuses := g.rules.QuarantineRefuses()
			stats.countDecision(q.Rule, !refuses)
			h.logRefusal(g, q, !refuses, x)
			if refuses {
				return nil, false, policyRejection(q)
			}
			// Shadow: the send is forwarded, and charged like any other.
		}
		limits = g.rules.Limits(subject, g.send)
		if snap.accounts != nil {
			if g.cost, rj = costSend(snap, sel, subject, g.rules, g.send, now); rj != nil {
				return nil, false, rj
			}
			limits = g.cost.appendBudgetLimits(limits)
			// The ledger reads restlink's answer: it must come as JSON,
			// not compressed in an encoding the app asked for.
			delete(out.header, "Accept-Encoding")
		}
		if g.shadowed {
			limits = chargeAnyway(limits) // forwarded whatever the limits say: charged all the same
		}
	}

	a := store.Admission{Scope: subject, Idempotency: claim, Limits: limits, Charge: g.rules == nil || !g.rules.DryRun(),
		SharedOnly: g.cost.sharedOnly(g.rules), Now: now, ChargeBuf: g.charges[:0], ValueBuf: g.values[:0]}
	d, err := g.store.Admit(r.Context(), a)
	if err == nil && d.Verdict == store.Refused && g.rules.Shadow() {
		refusal, _ := h.limitRefusal(g, limits, d, now)
		g.refusal, g.shadowed = refusal, true
		stats.countDecision(refusal.Rule, true)
		h.logRefusal(g, refusal, true, x)
		a.Limits = chargeAnyway(limits) // forwarded anyway: charged all the same
		d, err = g.store.Admit(r.Context(), a)
	}
	if err != nil {
		if !errors.Is(err, store.ErrUnavailable) { // an outage is logged once, with the requests it touched
			h.logger.Error("the store could not decide a send", zap.String("tenant", subject), zap.Error(err))
		}
		return nil, false, storeRejection(claim != nil, g.cost.sharedOnly(g.rules), snap.idempotency.header)
	}
	switch d.Verdict {
	case store.Refused:
		refusal, rj := h.limitRefusal(g, limits, d, now)
		stats.countDecision(refusal.Rule, false)
		h.logRefusal(g, refusal, false, x)
		return nil, false, rj
	case store.Replay:
		writeReplay(w, d.Record)
		x.status, x.replayed = d.Record.Status, true
		return nil, true, nil
	case store.InProgress:
		return nil, false, reject(CodeIdempotencyInProgress, "a request with this "+snap.idempotency.header+" is still in flight; retry once it has an answer")
	case store.KeyReused:
		return nil, false, reject(CodeIdempotencyKeyReused, "this "+snap.idempotency.header+" was used with another request body")
	case store.OutcomeUnknown:
		return nil, false, reject(CodeSendOutcomeUnknown, "the request first sent with this "+snap.idempotency.header+" may or may not have been acted on; it is not sent again. Check its outcome (e.g. GET /api/v1/sms/messages) before sending anew with a new key")
	}
	g.ticket, g.limits = &d.Ticket, a.Limits
	if g.rules != nil && g.rules.DryRun() {
		h.answerDryRun(w, g, x)
		return nil, true, nil
	}
	if g.cost != nil {
		if err := g.cost.reserve(); err != nil {
			h.logger.Error("the ledger could not record a send before it was forwarded; nothing was sent", zap.String("tenant", subject), zap.Error(err))
			h.settleTicket(g, store.Settlement{Refund: true, Outcome: store.Release})
			return nil, false, reject(CodeLedgerUnavailable, "the ledger of spend could not record this send, so it was not sent; the sidecar's log says why")
		}
		h.raiseAlerts(g.cost, d.Values)
	}
	return g, false, nil
}

// answerDryRun answers a send locally, in restlink's response shape, and
// remembers the answer for its idempotency key.
func (h *Handler) answerDryRun(w http.ResponseWriter, g *gate, x *exchange) {
	var estimate money.Amount
	if g.cost != nil {
		estimate = g.cost.estimate
	}
	body := policy.DryRunAnswer(g.send, estimate, time.Now())
	hdr := w.Header()
	delete(hdr, "Server")
	hdr.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	x.status, x.dryRun = http.StatusOK, true
	answer := &sharedAnswer{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: body}
	h.settleTicket(g, store.Settlement{Outcome: store.Completed, Record: record(answer)})
}

// storeRejection is the sidecar error for a POST the store could not
// decide; idempotent tells whether it carries an idempotency key (named
// header), budgeted whether the tenant has a budget.
func storeRejection(idempotent, budgeted bool, header string) *rejection {
	description := "the store of send limits could not be reached; nothing was sent. Retry after the time in Retry-After"
	switch {
	case budgeted:
		description = "the shared store of budgets could not be reached; a budget is never divided among sidecars, so nothing was sent. Retry after the time in Retry-After"
	case idempotent:
		description = "the store of idempotency records could not be reached; without it this sidecar cannot tell whether a request with this " +
			header + " was already sent, so nothing was sent. Retry after the time in Retry-After"
	}
	rj := reject(CodeStoreUnavailable, description)
	rj.retryAfter = 1
	return rj
}

// limitRefusal turns a store refusal into the refusal to log and count
// and the answer to the send: a budget's 402, or the policy's 429.
func (h *Handler) limitRefusal(g *gate, limits []store.Limit, d store.Decision, now time.Time) (*policy.Refusal, *rejection) {
	if b, ok := g.cost.budgetIndex(d.Refused); ok {
		rj := g.cost.refusal(b, d.Current, now)
		h.raiseExhausted(g.cost, b, d.Current)
		return &policy.Refusal{Status: http.StatusPaymentRequired, Code: policy.CodeBudgetExceeded, Description: rj.description,
			Rule: policy.RuleBudget, RetryAfter: time.Duration(rj.retryAfter) * time.Second}, rj
	}
	ref := g.rules.LimitRefusal(limits, d.Refused, d.Current, d.RetryAfter)
	return ref, policyRejection(ref)
}

// policyRejection is the sidecar error for a policy refusal.
func policyRejection(ref *policy.Refusal) *rejection {
	rj := reject(ErrorCode(ref.Code), ref.Description)
	if ref.RetryAfter > 0 {
		rj.retryAfter = max(1, int(math.Ceil(ref.RetryAfter.Seconds())))
	}
	return rj
}

// settle records what became of an admitted POST: limits are kept or
// refunded, and its idempotency record completed (with the answer),
// marked unknown or released. Charges are kept, and retries refused,
// unless the upstream certainly did not act on the request.
func (h *Handler) settle(g *gate, cw *capturingWriter, rj *rejection, x *exchange) {
	answer := cw.answer()
	var s store.Settlement
	var parsed *sendAnswer // restlink's answer, read once
	accepted := false      // restlink answered 2xx: the send was taken
	switch {
	case rj != nil && (x.failure == failLost || x.failure == failTimeout):
		s = store.Settlement{Outcome: store.Unknown} // sent, no answer
	case rj != nil:
		s = store.Settlement{Refund: true, Outcome: store.Release} // never sent, or refused with 401
	case x.failure != "":
		s = store.Settlement{Outcome: store.Unknown} // an answer cut short
	case !actedUpon(x.status, answer):
		s = store.Settlement{Refund: true, Outcome: store.Release}
	case x.status >= 500:
		s = store.Settlement{Outcome: store.Unknown}
	case answer == nil:
		s = store.Settlement{Outcome: store.Release} // too large to remember
		accepted = x.status >= 200 && x.status <= 299
	default:
		s = store.Settlement{Outcome: store.Completed, Record: record(answer)}
		accepted = x.status >= 200 && x.status <= 299
		if g.send != nil && accepted {
			parsed = parseAnswer(answer.body)
			g.countSent(h.live.current.Load().tenantStats[g.subject], parsed)
			if a := g.rules.Anomaly(); a != nil {
				h.live.signals.sent(g.subject, a, g.send, time.Now())
			}
		}
	}
	if g.cost == nil || !g.cost.reserved {
		h.settleTicket(g, s)
		return
	}
	h.settleCost(g, &s, accepted, parsed)
}

// actedUpon reports whether the upstream may have acted on a request it
// answered: restlink refuses a send as a whole (4xx) or fails to queue it
// (500 DB_ERROR) without sending anything.
func actedUpon(status int, answer *sharedAnswer) bool {
	switch {
	case status >= 400 && status <= 499:
		return false
	case status == http.StatusInternalServerError && answer != nil:
		var e struct {
			ErrorCode string `json:"error_code"`
		}
		return json.Unmarshal(answer.body, &e) != nil || e.ErrorCode != "DB_ERROR"
	}
	return true
}

// settleTicket settles with the store, logging a failure other than an
// outage (logged once, with the requests it touched): the charge is then
// kept and the record reads as unknown when its time is up, which never
// sends twice.
func (h *Handler) settleTicket(g *gate, s store.Settlement) {
	if g.ticket == nil {
		return
	}
	// The settlement outlives the app's request: it must happen.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.store.Settle(ctx, *g.ticket, s); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, store.ErrUnavailable) {
		h.logger.Error("the store could not settle a send; its charges are kept and a retry is refused until its record expires",
			zap.String("tenant", g.subject), zap.Error(err))
	}
}

// countSent counts what a send accepted by the upstream carried, and its
// cost as the upstream reported it.
func (g *gate) countSent(stats *tenantStats, a *sendAnswer) {
	if stats == nil {
		return
	}
	stats.recipients.Add(uint64(len(g.send.Recipients)))
	stats.segments.Add(uint64(g.send.Segments))
	if a == nil {
		return
	}
	currency := a.Summary.Currency
	if currency == "" {
		currency = a.Currency
	}
	if currency == "" && g.cost != nil {
		currency = g.cost.acc.plan.currency // the account's, as the ledger names it
	}
	cost, err := money.Parse(a.Summary.TotalCost.String())
	if err != nil {
		cost = 0 // absent, or finer than a micro-unit: not counted
	}
	stats.addCost(cost, currency)
}

// logRefusal logs a send the policy refused (or, in shadow mode, would
// have refused), with the rule and counts, never a phone number: the
// recipients' countries only.
func (h *Handler) logRefusal(g *gate, ref *policy.Refusal, shadow bool, x *exchange) {
	x.policyRule = ref.Rule
	msg := "send refused by policy"
	if shadow {
		msg = "send would be refused by policy (shadow mode: forwarded)"
	}
	fields := []zap.Field{zap.String("tenant", g.subject), zap.String("rule", ref.Rule), zap.String("error_code", ref.Code),
		zap.String("reason", ref.Description)}
	if g.send != nil {
		var countries []string
		for _, rc := range g.send.Recipients {
			region := rc.Region
			if region == "" {
				region = "none"
			}
			if !slices.Contains(countries, region) {
				countries = append(countries, region)
			}
		}
		fields = append(fields, zap.Int("recipients", len(g.send.Recipients)), zap.Int("segments", g.send.Segments),
			zap.Strings("countries", countries))
	}
	if ref.RetryAfter > 0 {
		fields = append(fields, zap.Duration("retry_after", ref.RetryAfter))
	}
	h.logger.Warn(msg, fields...)
}

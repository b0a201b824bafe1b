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
	store    store.Store   // the store that admitted it, which settles it
	rules    *policy.Rules // nil: no send policy applies
	send     *policy.Send  // the parsed send, when the policy applies
	ticket   *store.Ticket // what the store admitted; nil: nothing to settle
	refusal  *policy.Refusal
	shadowed bool // the refusal was only logged and counted (shadow mode)
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
		} else {
			limits = g.rules.Limits(subject, g.send)
		}
	}

	a := store.Admission{Scope: subject, Idempotency: claim, Limits: limits, Charge: g.rules == nil || !g.rules.DryRun(), Now: time.Now()}
	d, err := g.store.Admit(r.Context(), a)
	if err == nil && d.Verdict == store.Refused && g.rules.Shadow() {
		refusal := g.rules.LimitRefusal(limits, d.Refused, d.Current, d.RetryAfter)
		g.refusal, g.shadowed = refusal, true
		stats.countDecision(refusal.Rule, true)
		h.logRefusal(g, refusal, true, x)
		a.Limits = nil // forwarded anyway: idempotency still applies
		d, err = g.store.Admit(r.Context(), a)
	}
	if err != nil {
		if !errors.Is(err, store.ErrUnavailable) { // an outage is logged once, with the requests it touched
			h.logger.Error("the store could not decide a send", zap.String("tenant", subject), zap.Error(err))
		}
		return nil, false, storeRejection(claim != nil, snap.idempotency.header)
	}
	switch d.Verdict {
	case store.Refused:
		refusal := g.rules.LimitRefusal(limits, d.Refused, d.Current, d.RetryAfter)
		stats.countDecision(refusal.Rule, false)
		h.logRefusal(g, refusal, false, x)
		return nil, false, policyRejection(refusal)
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
	g.ticket = &d.Ticket
	if g.rules != nil && g.rules.DryRun() {
		h.answerDryRun(w, g, x)
		return nil, true, nil
	}
	return g, false, nil
}

// answerDryRun answers a send locally, in restlink's response shape, and
// remembers the answer for its idempotency key.
func (h *Handler) answerDryRun(w http.ResponseWriter, g *gate, x *exchange) {
	body := policy.DryRunAnswer(g.send, time.Now())
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
// header).
func storeRejection(idempotent bool, header string) *rejection {
	description := "the store of send limits could not be reached; nothing was sent. Retry after the time in Retry-After"
	if idempotent {
		description = "the store of idempotency records could not be reached; without it this sidecar cannot tell whether a request with this " +
			header + " was already sent, so nothing was sent. Retry after the time in Retry-After"
	}
	rj := reject(CodeStoreUnavailable, description)
	rj.retryAfter = 1
	return rj
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
	default:
		s = store.Settlement{Outcome: store.Completed, Record: record(answer)}
		if g.send != nil && x.status >= 200 && x.status <= 299 {
			g.countSent(h.live.current.Load().tenantStats[g.subject], answer.body)
		}
	}
	h.settleTicket(g, s)
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
func (g *gate) countSent(stats *tenantStats, answer []byte) {
	if stats == nil {
		return
	}
	stats.recipients.Add(uint64(len(g.send.Recipients)))
	stats.segments.Add(uint64(g.send.Segments))
	var a struct {
		Summary struct {
			TotalCost json.Number `json:"total_cost"` // read exactly, from its text
			Currency  string      `json:"currency"`
		} `json:"summary"`
		Currency string `json:"currency"`
	}
	if json.Unmarshal(answer, &a) != nil {
		return
	}
	currency := a.Summary.Currency
	if currency == "" {
		currency = a.Currency
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

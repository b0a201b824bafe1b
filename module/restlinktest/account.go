package restlinktest

import (
	"encoding/json"
	"net/http"
)

// rateLimit counts an authenticated request against its account's limit,
// in fixed one-second windows of the fake's clock. The refusal carries no
// Retry-After: restlink's per-account limiter sends none.
func (f *Fake) rateLimit(c *call) *response {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opts.RateLimit <= 0 {
		return nil
	}
	a := f.accounts[c.account]
	if sec := c.now.Unix(); sec != a.window {
		a.window, a.inWindow = sec, 0
	}
	a.inWindow++
	if a.inWindow > f.opts.RateLimit {
		return refusal(http.StatusTooManyRequests, codeRateLimited, "the account's rate limit was exceeded")
	}
	return nil
}

// balanceTime is the format of the balance's "updated" field.
const balanceTime = "2006.01.02 15:04:05"

// BalanceResponse is the answer of GET /user/balance.
type BalanceResponse struct {
	// Balance is a JSON number with the amount's exact decimal text.
	Balance  json.Number `json:"balance"`
	Currency string      `json:"currency"`
	// Updated is when the balance last changed; absent from a degraded
	// answer.
	Updated string `json:"updated,omitempty"`
	// CreditBlocked is true when the balance is 0 or below: sends are
	// refused until a top-up.
	CreditBlocked bool `json:"credit_blocked,omitempty"`
	// Unavailable is true, with a Reason, when restlink's cache is
	// degraded: the balance of 0 is not the account's.
	Unavailable bool   `json:"unavailable,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// balance serves GET /user/balance for the key's account, unless a fault
// of the account cache answers.
func (f *Fake) balance(c *call) response {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault := f.matchFault(c.r.URL.Path, c.ws, onBalance); fault != nil {
		resp := okResponse(BalanceResponse{Balance: "0", Currency: f.opts.Currency, Unavailable: true, Reason: cacheRefreshFailed})
		resp.header = degradedHeader()
		return resp
	}
	a := f.accounts[c.account]
	return okResponse(BalanceResponse{
		Balance: a.balance.number(), Currency: f.opts.Currency,
		Updated: a.updated.UTC().Format(balanceTime), CreditBlocked: a.balance <= 0,
	})
}

// pricingEntry serves GET /user/pricing/:id, a stub in restlink too.
func (f *Fake) pricingEntry(*call) response {
	return okResponse(struct{}{})
}

// payments serves GET /user/payments: the fake records no payments, so
// it answers the empty list, unless a fault of the account cache answers.
func (f *Fake) payments(c *call) response {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault := f.matchFault(c.r.URL.Path, c.ws, onPayments); fault != nil {
		return fault.accountAnswer()
	}
	return okResponse([]struct{}{})
}

package pricing

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/23telecom/restlink-sidecar/module/money"
)

// Balance is the account's balance, as GET /user/balance answered it.
type Balance struct {
	// Amount is the balance, exact. It means nothing when Unavailable.
	Amount money.Amount
	// Currency is the account's currency, as restlink names it ("EUR").
	Currency string
	// CreditBlocked is restlink's credit_blocked: the balance is 0 or
	// less, and restlink refuses sends until the account is topped up.
	// It is false when Unavailable.
	CreditBlocked bool
	// Unavailable is true when restlink's balance cache is degraded: the
	// answer says nothing of the balance, and is not a zero balance.
	Unavailable bool
	// Reason is restlink's reason for an Unavailable answer, cut to 200
	// bytes.
	Reason string
	// Updated is when restlink last read the balance, in UTC; zero when
	// the answer does not say.
	Updated time.Time
}

// ParseBalance reads the body of a GET /user/balance answer:
// {"balance": 1250.50, "currency": "EUR", "updated": "2026.02.13 10:15:00"},
// with "credit_blocked": true when the balance is 0 or less, or the
// degraded {"balance": 0, "currency": "EUR", "unavailable": true,
// "reason": "…"}, which is a Balance marked Unavailable and not an error.
func ParseBalance(body []byte) (Balance, error) {
	if firstByte(body) != '{' {
		return Balance{}, errors.New("reading the balance: the answer is not a JSON object")
	}
	var a struct {
		Balance       json.RawMessage `json:"balance"`
		Currency      string          `json:"currency"`
		Updated       *string         `json:"updated"`
		CreditBlocked bool            `json:"credit_blocked"`
		Unavailable   bool            `json:"unavailable"`
		Reason        string          `json:"reason"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return Balance{}, fmt.Errorf("reading the balance: %w", err)
	}
	if a.Unavailable {
		return Balance{Currency: a.Currency, Unavailable: true, Reason: shorten(a.Reason)}, nil
	}
	if a.Balance == nil {
		return Balance{}, errors.New("reading the balance: the answer has no balance")
	}
	amount, err := money.Parse(string(a.Balance))
	if err != nil {
		return Balance{}, fmt.Errorf("reading the balance: %w", err)
	}
	if a.Currency == "" {
		return Balance{}, errors.New("reading the balance: the answer names no currency")
	}
	b := Balance{Amount: amount, Currency: a.Currency, CreditBlocked: a.CreditBlocked}
	if a.Updated != nil {
		if b.Updated, err = parseTime(*a.Updated); err != nil {
			return Balance{}, fmt.Errorf("reading the balance's update time: %w", err)
		}
	}
	return b, nil
}

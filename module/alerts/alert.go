package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/23telecom/restlink-sidecar/module/money"
)

// Alert is one alert, as it is POSTed to the alert receiver: a JSON
// object with the names of the tags. A spend alert (TypeSoft,
// TypeExhausted) has the fields id, type, tenant, period, budget, spent,
// currency and at; a signal alert (TypeQuarantine, TypeSignalShadow) has
// id, type, tenant, country, signal, value, threshold, count and at.
type Alert struct {
	// ID names the alert across a fleet: one per tenant, period and
	// threshold (see the function ID), so that receivers de-duplicate on
	// it. 1 to 128 of A-Z, a-z, 0-9, '_' and '-'; ID's ids are 32 hex
	// digits.
	ID string `json:"id"`
	// Type is TypeSoft, TypeExhausted, TypeQuarantine or
	// TypeSignalShadow.
	Type string `json:"type"`
	// Tenant is the tenant whose spend the alert is about. Required.
	Tenant string `json:"tenant"`
	// Period is PeriodDaily or PeriodMonthly: which budget of the tenant.
	Period string `json:"period"`
	// Budget is the tenant's budget for the period, Spent what it had
	// spent when the alert was raised, both written as exact decimals
	// (12_500_000 micro-units as 12.50).
	Budget money.Amount `json:"budget"`
	Spent  money.Amount `json:"spent"`
	// Currency is the account's currency, such as "EUR".
	Currency string `json:"currency"`
	// At is when the threshold was crossed, written in RFC 3339 in UTC.
	// Add sets a zero At to the time of the Add.
	At time.Time `json:"at"`

	// Country (ISO 3166-1 alpha-2, or ZZ) and Signal ("delivery_ratio"
	// or "volume") are what a signal alert is about; Value, Threshold
	// and Count what the signal measured (see the signals package).
	Country   string  `json:"country,omitempty"`
	Signal    string  `json:"signal,omitempty"`
	Value     float64 `json:"value,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	Count     int64   `json:"count,omitempty"`
}

// signalAlert is the JSON of a signal alert.
type signalAlert struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Tenant    string    `json:"tenant"`
	Country   string    `json:"country"`
	Signal    string    `json:"signal"`
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold"`
	Count     int64     `json:"count"`
	At        time.Time `json:"at"`
}

// spendAlert is the JSON of a spend alert.
type spendAlert struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Tenant   string       `json:"tenant"`
	Period   string       `json:"period"`
	Budget   money.Amount `json:"budget"`
	Spent    money.Amount `json:"spent"`
	Currency string       `json:"currency"`
	At       time.Time    `json:"at"`
}

// isSignal reports whether typ is the type of a signal alert.
func isSignal(typ string) bool { return typ == TypeQuarantine || typ == TypeSignalShadow }

// The types of alert.
const (
	// TypeSoft: the tenant's spend in the period reached its soft
	// threshold, a share of the budget.
	TypeSoft = "budget_soft"
	// TypeExhausted: the tenant's spend in the period reached its budget.
	TypeExhausted = "budget_exhausted"
	// TypeQuarantine: a signal fired and the tenant's sends to the
	// country are refused for a while.
	TypeQuarantine = "quarantine"
	// TypeSignalShadow: a signal fired in shadow mode; nothing is
	// refused.
	TypeSignalShadow = "signal_shadow"
)

// The periods an alert is about.
const (
	PeriodDaily   = "daily"
	PeriodMonthly = "monthly"
)

// maxIDLen is the longest id an alert may have.
const maxIDLen = 128

// maxBody bounds an alert's JSON: Add refuses a larger alert, and Open
// does not read a larger file as one.
const maxBody = 64 << 10

// ErrInvalid is the error of an alert that Add refuses, or that a file
// Open finds holds: an id that cannot name a file, an unknown type or
// period, no tenant.
var ErrInvalid = errors.New("invalid alert")

// check returns an error wrapping ErrInvalid if a cannot be added.
func (a *Alert) check() error {
	if err := checkID(a.ID); err != nil {
		return err
	}
	if a.Tenant == "" {
		return fmt.Errorf("%w: no tenant", ErrInvalid)
	}
	if isSignal(a.Type) {
		if a.Country == "" || a.Signal == "" {
			return fmt.Errorf("%w: a signal alert needs a country and a signal", ErrInvalid)
		}
		return nil
	}
	if a.Type != TypeSoft && a.Type != TypeExhausted {
		return fmt.Errorf("%w: type %q is not %q, %q, %q or %q", ErrInvalid, a.Type, TypeSoft, TypeExhausted, TypeQuarantine, TypeSignalShadow)
	}
	if a.Period != PeriodDaily && a.Period != PeriodMonthly {
		return fmt.Errorf("%w: period %q is not %q or %q", ErrInvalid, a.Period, PeriodDaily, PeriodMonthly)
	}
	return nil
}

// checkID returns an error wrapping ErrInvalid unless id is 1 to
// maxIDLen of A-Z, a-z, 0-9, '_' and '-': a name that is safe as a part
// of a file name on every system (no separator, no dot, no "..").
func checkID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: no id", ErrInvalid)
	case len(id) > maxIDLen:
		return fmt.Errorf("%w: id of %d bytes is longer than %d", ErrInvalid, len(id), maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: id %q has a character other than A-Z, a-z, 0-9, '_' and '-'", ErrInvalid, id)
		}
	}
	return nil
}

// encode returns the JSON body of a, with At in UTC. It is written once,
// at Add, and every attempt posts these very bytes.
func (a Alert) encode() ([]byte, error) {
	var wire any = spendAlert{ID: a.ID, Type: a.Type, Tenant: a.Tenant, Period: a.Period, Budget: a.Budget, Spent: a.Spent, Currency: a.Currency, At: a.At.UTC()}
	if isSignal(a.Type) {
		wire = signalAlert{ID: a.ID, Type: a.Type, Tenant: a.Tenant, Country: a.Country, Signal: a.Signal, Value: a.Value,
			Threshold: a.Threshold, Count: a.Count, At: a.At.UTC()}
	}
	body, err := json.Marshal(wire)
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: %d bytes of JSON, more than %d", ErrInvalid, len(body), maxBody)
	}
	return body, nil
}

// wireAlert is an Alert as decode reads it: money.Amount has no
// UnmarshalJSON, so amounts are read as the text of their numbers and
// parsed exactly.
type wireAlert struct {
	ID       string      `json:"id"`
	Type     string      `json:"type"`
	Tenant   string      `json:"tenant"`
	Period   string      `json:"period"`
	Budget   json.Number `json:"budget"`
	Spent    json.Number `json:"spent"`
	Currency string      `json:"currency"`
	At       time.Time   `json:"at"`

	Country   string  `json:"country"`
	Signal    string  `json:"signal"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Count     int64   `json:"count"`
}

// decode reads an alert from the body encode wrote, and checks it as Add
// does. Fields it does not know are ignored, so that a body a later
// version wrote still reads.
func decode(body []byte) (Alert, error) {
	var w wireAlert
	if err := json.Unmarshal(body, &w); err != nil {
		return Alert{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if isSignal(w.Type) {
		a := Alert{ID: w.ID, Type: w.Type, Tenant: w.Tenant, Country: w.Country, Signal: w.Signal, Value: w.Value,
			Threshold: w.Threshold, Count: w.Count, At: w.At}
		return a, a.check()
	}
	budget, err := money.Parse(w.Budget.String())
	if err != nil {
		return Alert{}, fmt.Errorf("%w: budget: %w", ErrInvalid, err)
	}
	spent, err := money.Parse(w.Spent.String())
	if err != nil {
		return Alert{}, fmt.Errorf("%w: spent: %w", ErrInvalid, err)
	}
	a := Alert{
		ID: w.ID, Type: w.Type, Tenant: w.Tenant, Period: w.Period,
		Budget: budget, Spent: spent, Currency: w.Currency, At: w.At,
	}
	if err := a.check(); err != nil {
		return Alert{}, err
	}
	return a, nil
}

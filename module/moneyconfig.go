package restlink

import (
	"errors"
	"net/url"
	"time"

	"github.com/23telecom/restlink-sidecar/module/ledger"
	"github.com/23telecom/restlink-sidecar/module/money"
)

// Defaults of the ledger and pricing sections.
const (
	defaultLedgerRetention = 400 * 24 * time.Hour
	defaultPricingRefresh  = time.Hour
	minPricingRefresh      = time.Minute
)

// moneyPlan is the ledger, pricing and alerts sections compiled. A nil
// *moneyPlan means no ledger: sends are neither recorded nor budgeted.
type moneyPlan struct {
	dir         string
	retention   time.Duration
	currency    string
	tz          *time.Location
	syncEvery   time.Duration // ledger.Options.SyncEvery
	refresh     time.Duration
	unknownRate money.Amount
	hasUnknown  bool   // unknownRate is set
	alertsURL   string // "": alerts are logged and counted only
}

// compileMoney checks the ledger, pricing and alerts sections. budgeted
// tells whether any tenant has a budget, watched whether any has fraud
// signals.
func compileMoney(c *Config, budgeted, watched bool, p *problems) *moneyPlan {
	l := c.Ledger
	if l.Dir == "" {
		if budgeted {
			p.add("ledger.dir", "is required once a budget is set: budgets are kept in the ledger")
		}
		if watched {
			p.add("ledger.dir", "is required once policy sets anomaly: delivery reports are attributed to tenants through the ledger, and quarantines kept there")
		}
		if l.Currency != "" {
			p.add("ledger.dir", "is required with ledger.currency")
		}
		if c.Alerts.URL != "" {
			p.add("alerts.url", "needs ledger.dir, where alerts are kept until delivered")
		}
		return nil
	}
	mp := &moneyPlan{dir: l.Dir, retention: l.Retention, currency: l.Currency, tz: time.UTC, syncEvery: l.SyncEvery, refresh: c.Pricing.Refresh, alertsURL: c.Alerts.URL}
	if l.SyncEvery < 0 || l.SyncEvery > ledger.MaxSyncEvery {
		p.add("ledger.sync_every", "must be from 0s (sync each reservation) to 1s")
	}
	if !isCurrencyCode(l.Currency) {
		p.add("ledger.currency", "must be the account's currency as restlink names it: three upper-case letters, such as EUR")
	}
	switch {
	case mp.retention == 0:
		mp.retention = defaultLedgerRetention
	case mp.retention < ledger.MinRetention:
		p.add("ledger.retention", "must be at least 32d: budgets and reports of a month need a month of records")
	}
	if l.Timezone != "" && l.Timezone != "UTC" {
		tz, err := time.LoadLocation(l.Timezone)
		if err != nil {
			p.add("ledger.timezone", "%q is not an IANA timezone name, such as UTC or Europe/Paris", l.Timezone)
		} else {
			mp.tz = tz
		}
	}
	switch {
	case mp.refresh == 0:
		mp.refresh = defaultPricingRefresh
	case mp.refresh < minPricingRefresh:
		p.add("pricing.refresh", "must be at least 1m: restlink advises polling balances every few minutes at most")
	}
	if r := c.Pricing.UnknownRate; r != nil && r != "" {
		rate, err := money.FromConfig(r)
		if err != nil {
			p.add("pricing.unknown_rate", "%v", err)
		}
		mp.unknownRate, mp.hasUnknown = rate, true
	}
	if c.Alerts.URL != "" {
		if _, err := checkAlertsURL(c.Alerts.URL); err != nil {
			p.add("alerts.url", "%v", err)
		}
	}
	return mp
}

// isCurrencyCode reports whether s is three upper-case ASCII letters.
func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// checkAlertsURL checks alerts.url without ever quoting it: it may carry
// a token.
func checkAlertsURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("must be an http or https URL")
	case u.Host == "":
		return nil, errors.New("has no host")
	}
	return u, nil
}

package restlink

import (
	"strings"
	"testing"
	"time"
)

func TestCompileMoney(t *testing.T) {
	base := func(extra string) string {
		return "upstream: {url: https://restlink.example}\nworkspaces:\n  main: {id: 16, main: true, keys: [{value: k}]}\ntenants: {acme: main}\n" + extra
	}
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"a budget without a ledger", "policy:\n  default: {budget: {daily: 5}}\n", "ledger.dir: is required once a budget is set"},
		{"a currency without a ledger", "ledger: {currency: EUR}\n", "ledger.dir: is required with ledger.currency"},
		{"alerts without a ledger", "alerts: {url: https://a.example/x}\n", "alerts.url: needs ledger.dir"},
		{"no currency", "ledger: {dir: /tmp/l}\n", "ledger.currency: must be the account's currency"},
		{"a lower-case currency", "ledger: {dir: /tmp/l, currency: eur}\n", "ledger.currency:"},
		{"a short retention", "ledger: {dir: /tmp/l, currency: EUR, retention: 30d}\n", "ledger.retention: must be at least 32d"},
		{"an unknown timezone", "ledger: {dir: /tmp/l, currency: EUR, timezone: Mars/Olympus}\n", "ledger.timezone: \"Mars/Olympus\" is not an IANA timezone"},
		{"a fast refresh", "ledger: {dir: /tmp/l, currency: EUR}\npricing: {refresh: 10s}\n", "pricing.refresh: must be at least 1m"},
		{"an inexact unknown rate", "ledger: {dir: /tmp/l, currency: EUR}\npricing: {unknown_rate: \"0.0000001\"}\n", "pricing.unknown_rate:"},
		{"an alerts URL that is not http", "ledger: {dir: /tmp/l, currency: EUR}\nalerts: {url: \"ftp://secret-token@a.example/\"}\n", "alerts.url: must be an http or https URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig([]byte(base(tt.yaml)), noEnv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-token") {
				t.Errorf("the error quotes alerts.url: %v", err)
			}
		})
	}

	pl, err := parseConfig([]byte(base("ledger: {dir: /tmp/l, currency: EUR, timezone: Europe/Paris}\npricing: {unknown_rate: 0.25}\n")), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	mp := pl.money
	if mp.retention != 400*24*time.Hour || mp.refresh != time.Hour || mp.tz.String() != "Europe/Paris" || !mp.hasUnknown || mp.unknownRate != 250_000 {
		t.Errorf("compiled %+v", mp)
	}
}

func TestBudgetPeriods(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	// 23:30 UTC on 31 December is already 1 January in Paris.
	day, month := budgetPeriods(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), paris)
	if day.Name != "2027-01-01" || month.Name != "2027-01" {
		t.Errorf("periods %s, %s; want 2027-01-01 and 2027-01", day.Name, month.Name)
	}
	if want := time.Date(2027, 1, 1, 23, 0, 0, 0, time.UTC); !day.Ends.Equal(want) {
		t.Errorf("the day ends at %v, want %v (midnight in Paris)", day.Ends.UTC(), want)
	}
	if want := time.Date(2027, 1, 31, 23, 0, 0, 0, time.UTC); !month.Ends.Equal(want) {
		t.Errorf("the month ends at %v, want %v", month.Ends.UTC(), want)
	}
	d2, m2, ok := periodsOfDay("2027-01-01", paris)
	if !ok || d2 != day || m2.Name != month.Name || !m2.Ends.Equal(month.Ends) {
		t.Errorf("periodsOfDay = %v %v %v", d2, m2, ok)
	}
}

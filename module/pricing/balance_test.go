package pricing

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/money"
)

func TestParseBalance(t *testing.T) {
	updated := time.Date(2026, 2, 13, 10, 15, 0, 0, time.UTC)
	tests := []struct {
		name string
		body string
		want Balance
		err  string // a part of the error; "" for none
	}{
		{
			name: "documented",
			body: `{"balance": 1250.50, "currency": "EUR", "updated": "2026.02.13 10:15:00"}`,
			want: Balance{Amount: 1_250_500_000, Currency: "EUR", Updated: updated},
		},
		{
			name: "credit blocked",
			body: `{"balance": 0, "currency": "EUR", "updated": "2026.02.13 10:15:00", "credit_blocked": true}`,
			want: Balance{Amount: 0, Currency: "EUR", CreditBlocked: true, Updated: updated},
		},
		{
			name: "negative",
			body: `{"balance": -3.25, "currency": "EUR", "updated": "2026.02.13 10:15:00", "credit_blocked": true}`,
			want: Balance{Amount: -3_250_000, Currency: "EUR", CreditBlocked: true, Updated: updated},
		},
		{
			name: "exact micro-units",
			body: `{"balance": 0.000001, "currency": "GBP"}`,
			want: Balance{Amount: 1, Currency: "GBP"},
		},
		{
			name: "degraded",
			body: `{"balance": 0, "currency": "EUR", "unavailable": true, "reason": "cache_miss_refresh_failed"}`,
			want: Balance{Currency: "EUR", Unavailable: true, Reason: "cache_miss_refresh_failed"},
		},
		{
			name: "degraded is not credit blocked",
			body: `{"balance": 0, "currency": "EUR", "unavailable": true, "credit_blocked": true}`,
			want: Balance{Currency: "EUR", Unavailable: true},
		},
		{
			name: "degraded, long reason",
			body: `{"balance": 0, "unavailable": true, "reason": "` + strings.Repeat("x", 500) + `"}`,
			want: Balance{Unavailable: true, Reason: strings.Repeat("x", 200) + "…"},
		},
		{name: "inexact", body: `{"balance": 0.0000001, "currency": "EUR"}`, err: "decimal places"},
		{name: "string balance", body: `{"balance": "12", "currency": "EUR"}`, err: "not a number"},
		{name: "null balance", body: `{"balance": null, "currency": "EUR"}`, err: "not a number"},
		{name: "no balance", body: `{"currency": "EUR"}`, err: "no balance"},
		{name: "no currency", body: `{"balance": 12}`, err: "no currency"},
		{name: "bad update time", body: `{"balance": 12, "currency": "EUR", "updated": "2026-02-13T10:15:00Z"}`, err: "update time"},
		{name: "not an object", body: `[]`, err: "not a JSON object"},
		{name: "empty", body: ``, err: "not a JSON object"},
		{name: "not JSON", body: `{"balance": 12`, err: "reading the balance"},
		{name: "wrong type", body: `{"balance": 12, "currency": 978}`, err: "reading the balance"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBalance([]byte(tc.body))
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("ParseBalance = %+v, %v: want an error with %q", got, err, tc.err)
			case got != tc.want:
				t.Errorf("ParseBalance = %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := ParseBalance([]byte(`{"balance": 1e13, "currency": "EUR"}`)); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("ParseBalance of 1e13 = %v, want money.ErrOverflow", err)
	}
}

// FuzzParseBalance: ParseBalance never panics, and a balance it reads is
// either unavailable or an exact amount in a named currency.
func FuzzParseBalance(f *testing.F) {
	for _, s := range []string{
		`{"balance": 1250.50, "currency": "EUR", "updated": "2026.02.13 10:15:00"}`,
		`{"balance": 0, "currency": "EUR", "updated": "2026.02.13 10:15:00", "credit_blocked": true}`,
		`{"balance": 0, "currency": "EUR", "unavailable": true, "reason": "cache_disabled"}`,
		`{"balance": 1e-7, "currency": "EUR"}`, `[]`, ``, `{"balance": null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseBalance(body)
		switch {
		case err != nil:
			if b != (Balance{}) {
				t.Fatalf("ParseBalance = %+v with the error %v", b, err)
			}
		case b.Unavailable:
			if b.Amount != 0 || b.CreditBlocked || !b.Updated.IsZero() {
				t.Fatalf("an unavailable balance says something: %+v", b)
			}
		case b.Currency == "":
			t.Fatalf("a balance with no currency: %+v", b)
		default:
			if back, err := money.Parse(b.Amount.String()); err != nil || back != b.Amount {
				t.Fatalf("the amount %s does not read back: %v", b.Amount, err)
			}
		}
	})
}

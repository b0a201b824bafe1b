package alerts

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/money"
)

// testAlert returns a valid alert of tenant with the id ID computes.
func testAlert(tenant string) Alert {
	return Alert{
		ID:       ID(tenant, PeriodMonthly, "2026-12", TypeSoft),
		Type:     TypeSoft,
		Tenant:   tenant,
		Period:   PeriodMonthly,
		Budget:   money.Amount(12_500_000), // 12.5
		Spent:    money.Amount(10_000_085), // 10.000085
		Currency: "EUR",
		At:       time.Date(2026, 12, 5, 12, 30, 0, 0, time.UTC),
	}
}

// TestCheck: what Add refuses, with the reason.
func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Alert)
		err    string // a part of the error; "" for none
	}{
		{"valid", func(*Alert) {}, ""},
		{"exhausted daily", func(a *Alert) { a.Type, a.Period = TypeExhausted, PeriodDaily }, ""},
		{"id of 128", func(a *Alert) { a.ID = strings.Repeat("a", 128) }, ""},
		{"id with every allowed class", func(a *Alert) { a.ID = "Az09_-" }, ""},
		{"no id", func(a *Alert) { a.ID = "" }, "no id"},
		{"id of 129", func(a *Alert) { a.ID = strings.Repeat("a", 129) }, "id of 129 bytes is longer than 128"},
		{"id with a dot", func(a *Alert) { a.ID = "a.b" }, `id "a.b" has a character`},
		{"id dot dot", func(a *Alert) { a.ID = ".." }, "has a character"},
		{"id with a slash", func(a *Alert) { a.ID = "a/b" }, "has a character"},
		{"id with a backslash", func(a *Alert) { a.ID = `a\b` }, "has a character"},
		{"id with a space", func(a *Alert) { a.ID = "a b" }, "has a character"},
		{"id with NUL", func(a *Alert) { a.ID = "a\x00" }, "has a character"},
		{"id not ASCII", func(a *Alert) { a.ID = "é" }, "has a character"},
		{"unknown type", func(a *Alert) { a.Type = "budget" }, `type "budget" is not`},
		{"no type", func(a *Alert) { a.Type = "" }, `type "" is not`},
		{"unknown period", func(a *Alert) { a.Period = "weekly" }, `period "weekly" is not`},
		{"no tenant", func(a *Alert) { a.Tenant = "" }, "no tenant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := testAlert("acme")
			tc.change(&a)
			err := a.check()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("check = %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("check = %v, want an error with %q", err, tc.err)
			case err != nil && !errors.Is(err, ErrInvalid):
				t.Errorf("check = %v, not ErrInvalid", err)
			}
		})
	}
}

// TestEncode: the body has the documented names, amounts as exact
// decimals and the time in UTC.
func TestEncode(t *testing.T) {
	a := testAlert("acme")
	a.At = time.Date(2026, 12, 5, 13, 30, 0, 0, time.FixedZone("CET", 3600))
	body, err := a.encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"` + a.ID + `","type":"budget_soft","tenant":"acme","period":"monthly",` +
		`"budget":12.50,"spent":10.000085,"currency":"EUR","at":"2026-12-05T12:30:00Z"}`
	if string(body) != want {
		t.Errorf("encode =\n%s\nwant\n%s", body, want)
	}
}

// TestDecode: decode reads back what encode wrote, to the micro-unit,
// and refuses what is not an alert.
func TestDecode(t *testing.T) {
	a := testAlert("acme")
	a.Budget, a.Spent = 1, 9_223_372_036_854_775_807
	body, err := a.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if got != a {
		t.Errorf("decode(encode(a)) = %+v, want %+v", got, a)
	}

	bad := []struct{ name, body, err string }{
		{"not JSON", `{"id":`, "unexpected end"},
		{"empty", ``, "unexpected end"},
		{"array", `[]`, "cannot unmarshal array"},
		{"no budget", `{"id":"a","type":"budget_soft","tenant":"t","period":"daily","spent":1,"at":"2026-12-05T12:30:00Z"}`, "budget"},
		{"inexact spent", `{"id":"a","type":"budget_soft","tenant":"t","period":"daily","budget":1,"spent":0.0000001,"at":"2026-12-05T12:30:00Z"}`, "spent"},
		{"bad id", `{"id":"../x","type":"budget_soft","tenant":"t","period":"daily","budget":1,"spent":1,"at":"2026-12-05T12:30:00Z"}`, "has a character"},
		{"bad time", `{"id":"a","type":"budget_soft","tenant":"t","period":"daily","budget":1,"spent":1,"at":"yesterday"}`, "parsing time"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode([]byte(tc.body))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("decode(%s) = %v, want ErrInvalid with %q", tc.body, err, tc.err)
			}
		})
	}
}

// FuzzDecode: decode never panics, and an alert it accepts encodes to a
// body that decodes to the same alert.
func FuzzDecode(f *testing.F) {
	body, _ := testAlert("acme").encode()
	f.Add(body)
	f.Add([]byte(`{"id":"a","type":"budget_exhausted","tenant":"t","period":"daily","budget":1e3,"spent":-0.5,"at":"2026-12-05T12:30:00+01:00","extra":[1]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := decode(body)
		if err != nil {
			return
		}
		again, err := a.encode()
		if err != nil {
			if len(body) <= maxBody/2 {
				t.Fatalf("encode of a decoded alert: %v", err)
			}
			return
		}
		b, err := decode(again)
		if err != nil {
			t.Fatalf("decode(%s) = %v, after decoding %q", again, err, body)
		}
		if !b.At.Equal(a.At) {
			t.Fatalf("at %v became %v", a.At, b.At)
		}
		b.At = a.At
		if b != a {
			t.Fatalf("decode(encode(%+v)) = %+v", a, b)
		}
	})
}

// TestSignalAlert: a signal alert is written with exactly the fields of
// its shape, and reads back.
func TestSignalAlert(t *testing.T) {
	a := Alert{ID: "0123456789abcdef0123456789abcdef", Type: TypeQuarantine, Tenant: "acme", Country: "GB", Signal: "delivery_ratio",
		Value: 0.12, Threshold: 0.3, Count: 50, At: time.Date(2026, 12, 5, 12, 30, 0, 0, time.UTC)}
	body, err := a.encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"0123456789abcdef0123456789abcdef","type":"quarantine","tenant":"acme","country":"GB","signal":"delivery_ratio","value":0.12,"threshold":0.3,"count":50,"at":"2026-12-05T12:30:00Z"}`
	if string(body) != want {
		t.Errorf("encoded\n%s\nwant\n%s", body, want)
	}
	back, err := decode(body)
	if err != nil || back != a {
		t.Errorf("decoded %+v, %v; want %+v", back, err, a)
	}
	spend, _ := testAlert("acme").encode()
	if strings.Contains(string(spend), "country") || strings.Contains(string(spend), "signal") {
		t.Errorf("a spend alert carries signal fields: %s", spend)
	}
	a.Country = ""
	if err := a.check(); err == nil {
		t.Error("a signal alert without a country was accepted")
	}
}

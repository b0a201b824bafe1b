package pricing

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/money"
)

// current and past are the dates of a current rate and of one that ended.
const (
	current = `"rate_start_date": "2025.01.01 00:00:00", "rate_end_date": "2100.01.01 00:00:00"`
	past    = `"rate_start_date": "2024.01.01 00:00:00", "rate_end_date": "2025.01.01 00:00:00"`
)

// documented is an entry with every field GET /user/pricing documents.
const documented = `{"mcc": "234", "mnc": "15", "mccmnc": "23415", "dialcode": "44", "country": "United Kingdom",
	"network": "Vodafone", "rate": 0.0085, "prev_rate": 0.008, ` + current + `, "change_type": "Increase"}`

// at is when the tests look rates up.
var at = time.Date(2026, 2, 13, 10, 15, 0, 0, time.UTC)

func TestParseTable(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		entries  int
		skipped  int
		err      error  // a sentinel; nil for none
		errText  string // a part of the error; "" for none
		lookup   string // digits to look up; "" for none
		wantRate money.Amount
	}{
		{name: "documented entry", body: "[" + documented + "]", entries: 1, lookup: "447924123456", wantRate: 8_500},
		{name: "dialcode as a number", body: `[{"dialcode": 44, "rate": 0.01, ` + current + `}]`, entries: 1, lookup: "447924123456", wantRate: 10_000},
		{name: "rate as a string", body: `[{"dialcode": "1", "rate": "0.0075", ` + current + `}]`, entries: 1, lookup: "12025550123", wantRate: 7_500},
		{name: "rate exact beyond a float", body: `[{"dialcode": "1", "rate": 0.123457, ` + current + `}]`, entries: 1, lookup: "1", wantRate: 123_457},
		{name: "free route", body: `[{"dialcode": "1", "rate": 0, ` + current + `}]`, entries: 1, lookup: "1", wantRate: 0},
		{name: "no dates: always current", body: `[{"dialcode": "1", "rate": 0.01}]`, entries: 1, lookup: "1", wantRate: 10_000},
		{name: "null dates: always current", body: `[{"dialcode": "1", "rate": 0.01, "rate_start_date": null, "rate_end_date": null}]`, entries: 1, lookup: "1", wantRate: 10_000},
		{name: "country not read", body: `[{"dialcode": "44", "country": {"odd": ["shape"]}, "rate": 0.02, ` + current + `}]`, entries: 1, lookup: "44", wantRate: 20_000},
		{name: "white space around", body: " \n[" + documented + "]\r\n", entries: 1, lookup: "44", wantRate: 8_500},
		{
			name: "bad entries skipped and counted",
			body: `[` + documented + `,
				{"dialcode": "44a", "rate": 0.5, ` + current + `},
				{"dialcode": "", "rate": 0.5, ` + current + `},
				{"dialcode": "+44", "rate": 0.5, ` + current + `},
				{"dialcode": "٤٤", "rate": 0.5, ` + current + `},
				{"dialcode": null, "rate": 0.5, ` + current + `},
				{"dialcode": 4.4, "rate": 0.5, ` + current + `},
				{"dialcode": -44, "rate": 0.5, ` + current + `},
				{"rate": 0.5, ` + current + `},
				{"dialcode": "44", "rate": 0.00000001, ` + current + `},
				{"dialcode": "44", "rate": -0.5, ` + current + `},
				{"dialcode": "44", "rate": "abc", ` + current + `},
				{"dialcode": "44", "rate": null, ` + current + `},
				{"dialcode": "44", ` + current + `},
				{"dialcode": "44", "rate": 1e400, ` + current + `},
				{"dialcode": "44", "rate": 0.5, "rate_start_date": "2025-01-01T00:00:00Z"},
				{"dialcode": "44", "rate": 0.5, "rate_end_date": ""},
				{"dialcode": "44", "rate": 0.5, "rate_end_date": 2100},
				{"dialcode": ["44"], "rate": 0.5},
				"not an object", 7, null, []]`,
			entries: 1, skipped: 22, lookup: "447924123456", wantRate: 8_500,
		},

		{name: "empty list", body: `[]`, err: ErrDegraded},
		{name: "empty list with space", body: " [ \n ] ", err: ErrDegraded},
		{name: "setup answer", body: `{"status": false, "error": "Account is in setup process", "code": 1}`, err: ErrNotReady, errText: `"Account is in setup process"`},
		{name: "setup answer, other words", body: `{"status": false, "error": "Konto wird eingerichtet"}`, err: ErrNotReady},
		{name: "setup answer, long text", body: `{"status": false, "error": "` + strings.Repeat("é", 300) + `"}`, err: ErrNotReady, errText: "…"},
		{name: "stub object", body: `{}`, errText: "not the list of prices"},
		{name: "status true object", body: `{"status": true}`, errText: "not the list of prices"},
		{name: "every entry skipped", body: `[{"dialcode": "x", "rate": 1}, {"dialcode": "1", "rate": "y"}]`, errText: "none of its 2 entries"},
		{name: "not JSON", body: `[{"dialcode": "1", "rate": 1}`, errText: "reading the price table"},
		{name: "trailing data", body: `[] []`, errText: "reading the price table"},
		{name: "bad object", body: `{"status": false`, errText: "reading the price table"},
		{name: "a number", body: `5`, errText: "not a JSON array"},
		{name: "empty body", body: ``, errText: "not a JSON array"},
		{name: "HTML", body: `<html>busy</html>`, errText: "not a JSON array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table, err := ParseTable([]byte(tc.body))
			if tc.err != nil || tc.errText != "" {
				if err == nil || table != nil {
					t.Fatalf("ParseTable = %v, %v: want an error", table, err)
				}
				if tc.err != nil && !errors.Is(err, tc.err) {
					t.Errorf("ParseTable = %v, want %v", err, tc.err)
				}
				if tc.err == nil && (errors.Is(err, ErrDegraded) || errors.Is(err, ErrNotReady)) {
					t.Errorf("ParseTable = %v: want neither sentinel", err)
				}
				if !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("ParseTable = %v: want %q in it", err, tc.errText)
				}
				if len(err.Error()) > 300 {
					t.Errorf("the error is %d bytes long", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if table.Len() != tc.entries || table.Skipped != tc.skipped {
				t.Errorf("Len, Skipped = %d, %d: want %d, %d", table.Len(), table.Skipped, tc.entries, tc.skipped)
			}
			if r, ok := table.Rate(tc.lookup, at); !ok || r != tc.wantRate {
				t.Errorf("Rate(%s) = %s, %v: want %s", tc.lookup, r, ok, tc.wantRate)
			}
		})
	}
}

// FuzzParseTable: ParseTable never panics; a table it returns accounts
// for every entry of the answer, kept or skipped, and its rates can be
// looked up.
func FuzzParseTable(f *testing.F) {
	for _, s := range []string{
		"[" + documented + "]", `[]`, `{"status": false, "error": "Account is in setup process"}`, `{}`,
		`[{"dialcode": 44, "rate": "0.01"}, {"dialcode": "4477", "rate": 1e-3, ` + past + `}]`,
		`[{"dialcode": "1", "rate": 0.00000001}, null, 5]`, `[{"dialcode": "1", "rate": 1, "rate_end_date": "2100.13.01 00:00:00"}]`,
	} {
		f.Add([]byte(s), "447924123456")
	}
	f.Fuzz(func(t *testing.T, body []byte, digits string) {
		table, err := ParseTable(body)
		if (table == nil) == (err == nil) {
			t.Fatalf("ParseTable = %v, %v: want exactly one", table, err)
		}
		if err != nil {
			if table.Len() != 0 {
				t.Fatal("a nil table has entries")
			}
			if _, ok := table.Rate(digits, at); ok {
				t.Fatal("a nil table has a rate")
			}
			return
		}
		var entries []json.RawMessage
		if err := json.Unmarshal(body, &entries); err != nil {
			t.Fatalf("ParseTable took what encoding/json refuses: %v", err)
		}
		if table.Len() < 1 || table.Len()+table.Skipped != len(entries) {
			t.Fatalf("Len %d + Skipped %d != %d entries", table.Len(), table.Skipped, len(entries))
		}
		if r, ok := table.Rate(digits, at); ok && r < 0 {
			t.Fatalf("Rate(%q) = %s", digits, r)
		}
	})
}

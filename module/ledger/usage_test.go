package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fleet writes the ledgers of two sidecars, A and B, with sends on 4 and
// 5 December in both, and delivery reports that landed on either: some
// for the other sidecar's messages, one received by both, one for a
// message of neither.
func fleet(t *testing.T) (a, b string) {
	t.Helper()
	a, b = t.TempDir(), t.TempDir()
	dec4 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	dec5 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	ca, cb := newFakeClock(), newFakeClock()
	ca.Set(dec4)
	cb.Set(dec4)
	la := openLedger(t, a, ca, Options{})
	lb := openLedger(t, b, cb, Options{})

	// A, 4 December: acme to GB (2 segments) and FR, charged 30,000.
	mustReserve(t, la, &Reservation{ID: "a1", Tenant: "acme", Workspace: "main", Currency: "EUR", EstimateMicros: 35_000,
		Recipients: []Recipient{{Country: "GB", Segments: 2, EstimateMicros: 20_000}, {Country: "FR", Segments: 1, EstimateMicros: 15_000}}})
	mustSettle(t, la, Settlement{ID: "a1", Outcome: Charged, ChargedMicros: 30_000, Messages: []Message{
		{ID: "a1-m0", Country: "GB", Segments: 2, ShareMicros: 18_000},
		{ID: "a1-m1", Country: "FR", Segments: 1, ShareMicros: 12_000},
	}})
	// B, 4 December: acme to a number in no country, charged 7,000.
	mustReserve(t, lb, &Reservation{ID: "b1", Tenant: "acme", Workspace: "main", Currency: "EUR", EstimateMicros: 7_000,
		Recipients: []Recipient{{Country: "ZZ", Segments: 1, EstimateMicros: 7_000}}})
	mustSettle(t, lb, Settlement{ID: "b1", Outcome: Charged, ChargedMicros: 7_000, Messages: []Message{
		{ID: "b1-m0", Country: "ZZ", Segments: 1, ShareMicros: 7_000},
	}})

	ca.Set(dec5)
	cb.Set(dec5)
	// A, 5 December: beta's send released, acme's in flight.
	mustReserve(t, la, &Reservation{ID: "a2", Tenant: "beta", Workspace: "alt", Currency: "EUR", EstimateMicros: 5_000,
		Recipients: []Recipient{{Country: "DE", Segments: 1, EstimateMicros: 5_000}}})
	mustSettle(t, la, Settlement{ID: "a2", Outcome: Released})
	mustReserve(t, la, send("a3", "acme", 10_000))
	// B, 5 December: acme through another workspace, charged 27,000,
	// no report yet.
	mustReserve(t, lb, &Reservation{ID: "b2", Tenant: "acme", Workspace: "other", Currency: "EUR", EstimateMicros: 30_000,
		Recipients: []Recipient{{Country: "GB", Segments: 3, EstimateMicros: 30_000}}})
	mustSettle(t, lb, Settlement{ID: "b2", Outcome: Charged, ChargedMicros: 27_000, Messages: []Message{
		{ID: "b2-m0", Country: "GB", Segments: 3, ShareMicros: 27_000},
	}})

	// Reports: a1-m0 delivered, received by both sidecars; a1-m1
	// UNKNOWN, then EXPIRED; b1-m0 undelivered, received by A; x9-m0,
	// of a send in neither ledger, received by B.
	mustAdjust(t, la, report("a1-m0", "acme", "2026-12-04", "DELIVRD", 18_500, 500))
	mustAdjust(t, lb, report("a1-m0", "acme", "2026-12-04", "DELIVRD", 18_500, 500))
	fr := report("a1-m1", "acme", "2026-12-04", "UNKNOWN", 12_000, 0)
	fr.Country = "FR"
	mustAdjust(t, lb, fr)
	ca.Advance(time.Minute)
	fr.Status, fr.CostMicros, fr.DeltaMicros = "EXPIRED", 0, -12_000
	mustAdjust(t, la, fr)
	zz := report("b1-m0", "acme", "2026-12-04", "UNDELIV", 0, -7_000)
	zz.Country = "ZZ"
	mustAdjust(t, la, zz)
	x9 := report("x9-m0", "gamma", "2026-12-05", "DELIVRD", 3_000, 0)
	x9.Country = "US"
	mustAdjust(t, lb, x9)

	mustClose(t, la)
	mustClose(t, lb)
	return a, b
}

func TestUsageMergesLedgers(t *testing.T) {
	a, b := fleet(t)
	tests := []struct {
		name string
		q    Query
		want []Row
	}{
		{
			name: "by tenant",
			q:    Query{By: []string{KeyTenant}},
			want: []Row{
				{Tenant: "acme", Sends: 4, Recipients: 5, Segments: 8, EstimatedMicros: 82_000, ChargedMicros: 64_000, DeliveredCostMicros: 18_500, Delivered: 1, Undelivered: 2, Pending: 1, Currency: "EUR"},
				{Tenant: "beta", Sends: 1, Recipients: 1, Segments: 1, EstimatedMicros: 5_000, Currency: "EUR"},
				{Tenant: "gamma", DeliveredCostMicros: 3_000, Delivered: 1, Currency: "EUR"},
			},
		},
		{
			name: "by tenant, day and country",
			q:    Query{By: []string{KeyTenant, KeyDay, KeyCountry}},
			want: []Row{
				{Tenant: "acme", Day: "2026-12-04", Country: "FR", Sends: 1, Recipients: 1, Segments: 1, EstimatedMicros: 15_000, ChargedMicros: 12_000, Undelivered: 1, Currency: "EUR"},
				{Tenant: "acme", Day: "2026-12-04", Country: "GB", Sends: 1, Recipients: 1, Segments: 2, EstimatedMicros: 20_000, ChargedMicros: 18_000, DeliveredCostMicros: 18_500, Delivered: 1, Currency: "EUR"},
				{Tenant: "acme", Day: "2026-12-04", Country: "ZZ", Sends: 1, Recipients: 1, Segments: 1, EstimatedMicros: 7_000, ChargedMicros: 7_000, Undelivered: 1, Currency: "EUR"},
				{Tenant: "acme", Day: "2026-12-05", Country: "GB", Sends: 2, Recipients: 2, Segments: 4, EstimatedMicros: 40_000, ChargedMicros: 27_000, Pending: 1, Currency: "EUR"},
				{Tenant: "beta", Day: "2026-12-05", Country: "DE", Sends: 1, Recipients: 1, Segments: 1, EstimatedMicros: 5_000, Currency: "EUR"},
				{Tenant: "gamma", Day: "2026-12-05", Country: "US", DeliveredCostMicros: 3_000, Delivered: 1, Currency: "EUR"},
			},
		},
		{
			name: "5 December by workspace then tenant",
			q:    Query{From: "2026-12-05", To: "2026-12-05", By: []string{KeyWorkspace, KeyTenant}},
			want: []Row{
				{Workspace: "alt", Tenant: "beta", Sends: 1, Recipients: 1, Segments: 1, EstimatedMicros: 5_000, Currency: "EUR"},
				{Workspace: "main", Tenant: "acme", Sends: 1, Recipients: 1, Segments: 1, EstimatedMicros: 10_000, Currency: "EUR"},
				{Workspace: "main", Tenant: "gamma", DeliveredCostMicros: 3_000, Delivered: 1, Currency: "EUR"},
				{Workspace: "other", Tenant: "acme", Sends: 1, Recipients: 1, Segments: 3, EstimatedMicros: 30_000, ChargedMicros: 27_000, Pending: 1, Currency: "EUR"},
			},
		},
		{
			name: "4 December, totals",
			q:    Query{To: "2026-12-04"},
			want: []Row{
				{Sends: 2, Recipients: 3, Segments: 4, EstimatedMicros: 42_000, ChargedMicros: 37_000, DeliveredCostMicros: 18_500, Delivered: 1, Undelivered: 2, Currency: "EUR"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, dirs := range [][]string{{a, b}, {b, a}, {a, b, a}} {
				rows, err := Usage(dirs, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(rows, tc.want) {
					t.Fatalf("Usage(%d ledgers):\n got %+v\nwant %+v", len(dirs), rows, tc.want)
				}
			}
		})
	}
}

// TestUsageTotalsAreExact: whatever the grouping, the charged column
// sums to what restlink charged, to the micro-unit.
func TestUsageTotalsAreExact(t *testing.T) {
	a, b := fleet(t)
	var want int64
	for _, dir := range []string{a, b} {
		for _, rec := range records(t, dir) {
			if s, ok := rec.(*Settlement); ok {
				want += s.ChargedMicros
			}
		}
	}
	for _, by := range [][]string{nil, {KeyTenant}, {KeyCountry}, {KeyTenant, KeyDay, KeyCountry, KeyWorkspace}} {
		rows, err := Usage([]string{a, b}, Query{By: by})
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for _, r := range rows {
			got += r.ChargedMicros
		}
		if got != want {
			t.Errorf("by %v: charged sums to %d, restlink charged %d", by, got, want)
		}
	}
}

// TestUsageWhileTheSidecarRuns: Usage reads a ledger its sidecar has
// open, and skips a last line still being written.
func TestUsageWhileTheSidecarRuns(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("s1", "acme", 1_000))
	rows, err := Usage([]string{dir}, Query{By: []string{KeyTenant}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Sends != 1 {
		t.Fatalf("rows = %+v", rows)
	}
	mustClose(t, l)
	appendTo(t, segmentPath(dir, "2026-12-05"), `{"type":"reserve","id":"s2",`)
	rows, err = Usage([]string{dir}, Query{By: []string{KeyTenant}})
	if err != nil || len(rows) != 1 || rows[0].Sends != 1 {
		t.Fatalf("with a line being written: %+v, %v", rows, err)
	}
}

// TestUsageReportsBadLines: a corrupt line is named in the error, with
// the rows of the others; a ledger that cannot be read fails.
func TestUsageReportsBadLines(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("s1", "acme", 1_000))
	mustClose(t, l)
	path := segmentPath(dir, "2026-12-05")
	appendTo(t, path, "not json\n")
	rows, err := Usage([]string{dir}, Query{})
	var le *LineError
	if !errors.As(err, &le) || le.File != path || le.Line != 2 {
		t.Fatalf("Usage: %v, want a *LineError for %s:2", err, path)
	}
	if len(rows) != 1 || rows[0].Sends != 1 {
		t.Fatalf("rows = %+v", rows)
	}

	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := Usage([]string{dir, missing}, Query{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Usage of a missing ledger: %v", err)
	}
}

func TestUsageRefusesQueries(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    Query
		want string
	}{
		{"unknown key", Query{By: []string{"recipient"}}, `cannot group by "recipient"`},
		{"key twice", Query{By: []string{KeyTenant, KeyTenant}}, `"tenant" is given twice`},
		{"bad day", Query{From: "2026-12-5"}, `from "2026-12-5" is not a day`},
		{"backwards", Query{From: "2026-12-05", To: "2026-12-04"}, "to 2026-12-04 is before from 2026-12-05"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Usage([]string{t.TempDir()}, tc.q); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Usage: %v, want %q", err, tc.want)
			}
		})
	}
}

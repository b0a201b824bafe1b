package pricing

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/money"
)

// ratesTable is a table whose entries overlap by prefix, with rates that
// are current, past and future at the time at.
const ratesTable = `[
	{"dialcode": "1", "rate": 0.0075, ` + current + `},
	{"dialcode": "1809", "rate": 0.05, ` + current + `},
	{"dialcode": "44", "rate": 0.03, ` + current + `},
	{"dialcode": "447", "rate": 0.04, ` + current + `},
	{"dialcode": "447", "rate": 0.045, ` + current + `},
	{"dialcode": "447", "rate": 0.9, ` + past + `},
	{"dialcode": "4479", "rate": 0.035, ` + current + `},
	{"dialcode": "44792412", "rate": 2.5, "rate_start_date": "2026.02.14 00:00:00", "rate_end_date": "2100.01.01 00:00:00"},
	{"dialcode": "49", "rate": 0.07, "rate_start_date": "2026.02.13 10:15:00", "rate_end_date": "2100.01.01 00:00:00"},
	{"dialcode": "33", "rate": 0.06, "rate_start_date": "2025.01.01 00:00:00", "rate_end_date": "2026.02.13 10:15:00"},
	{"dialcode": "33", "rate": 0.02, "rate_start_date": "2025.01.01 00:00:00", "rate_end_date": "2026.02.13 10:15:01"},
	{"dialcode": "882", "rate": 1, ` + past + `}
]`

func TestRate(t *testing.T) {
	table, err := ParseTable([]byte(ratesTable))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		digits string
		now    time.Time
		want   money.Amount
		ok     bool
	}{
		{"one prefix", "12025550123", at, 7_500, true},
		{"longer prefix higher", "18095550123", at, 50_000, true},
		{"highest of all that apply", "447924123456", at, 45_000, true},
		{"shorter prefix when no longer one", "442071234567", at, 30_000, true},
		{"a rate not yet current", "447924129999", at, 45_000, true},
		{"the same rate once current", "447924129999", time.Date(2026, 2, 14, 0, 0, 0, 0, time.UTC), 2_500_000, true},
		{"a past rate not current", "8821234", at, 0, false},
		{"current from its start", "4915112345678", at, 70_000, true},
		{"not before its start", "4915112345678", at.Add(-time.Nanosecond), 0, false},
		{"not at its end", "33612345678", at, 20_000, true},
		{"until just before its end", "33612345678", at.Add(-time.Nanosecond), 60_000, true},
		{"at in another zone", "33612345678", at.In(time.FixedZone("CET", 3600)), 20_000, true},
		{"no entry applies", "861234567890", at, 0, false},
		{"number shorter than the dialcode", "180", at, 7_500, true},
		{"a '+' is not a digit", "+447924123456", at, 0, false},
		{"empty", "", at, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := table.Rate(tc.digits, tc.now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Rate(%q, %v) = %s, %v: want %s, %v", tc.digits, tc.now, got, ok, tc.want, tc.ok)
			}
		})
	}
	var none *Table
	if r, ok := none.Rate("447924123456", at); ok || r != 0 {
		t.Errorf("a nil table's Rate = %s, %v", r, ok)
	}
}

func TestEstimate(t *testing.T) {
	table, err := ParseTable([]byte(ratesTable))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		digits   string
		segments int
		want     money.Amount
		ok       bool
	}{
		{"one segment", "447924123456", 1, 45_000, true},
		{"per segment", "447924123456", 3, 135_000, true},
		{"no segments", "447924123456", 0, 0, true},
		{"negative segments", "447924123456", -1, 0, false},
		{"no rate", "861234567890", 2, 0, false},
		{"overflow", "447924123456", math.MaxInt, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := table.Estimate(tc.digits, tc.segments, at)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Estimate(%q, %d) = %s, %v: want %s, %v", tc.digits, tc.segments, got, ok, tc.want, tc.ok)
			}
		})
	}
	var none *Table
	if _, ok := none.Estimate("447924123456", 1, at); ok {
		t.Error("a nil table gives an estimate")
	}
}

// TestRateAllocatesNothing: a lookup in a table of restlink's size
// allocates nothing, whatever the number.
func TestRateAllocatesNothing(t *testing.T) {
	table, numbers := bigTable(t)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		table.Rate(numbers[i%len(numbers)], at)
		i++
	})
	if allocs != 0 {
		t.Errorf("Rate allocates %v times per lookup", allocs)
	}
}

// BenchmarkRate looks up recipients' rates in a table of about 2,000
// entries: one map lookup per digit, no allocation.
func BenchmarkRate(b *testing.B) {
	table, numbers := bigTable(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		table.Rate(numbers[i%len(numbers)], at)
		i++
	}
}

// bigTable returns a price table of about 2,000 entries shaped like
// restlink's, one per network of about 230 countries, some networks with
// a longer dialcode than their country's, and numbers to look up in it,
// most of which have a rate.
func bigTable(tb testing.TB) (*Table, []string) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(23, 8))
	var entries []string
	var numbers []string
	seen := map[string]bool{}
	for len(seen) < 230 {
		country := fmt.Sprint(1 + rng.IntN(999))
		if seen[country] {
			continue
		}
		seen[country] = true
		for network := range 9 {
			dialcode := country
			if network > 0 && rng.IntN(2) == 0 {
				dialcode += fmt.Sprint(rng.IntN(10_000))
			}
			dates := current
			if rng.IntN(5) == 0 {
				dates = past
			}
			entries = append(entries, fmt.Sprintf(`{"mcc": "%d", "mnc": "%02d", "dialcode": %q, "country": "C%s", "network": "N%d", "rate": %d.%04d, %s, "change_type": "Same"}`,
				200+len(seen), network, dialcode, country, network, rng.IntN(2), rng.IntN(10_000), dates))
			numbers = append(numbers, dialcode+strings.Repeat("7", 14-len(dialcode)))
		}
	}
	table, err := ParseTable([]byte("[" + strings.Join(entries, ",\n") + "]"))
	if err != nil {
		tb.Fatal(err)
	}
	if table.Len() < 2_000 || table.Skipped != 0 {
		tb.Fatalf("the table has %d entries, %d skipped", table.Len(), table.Skipped)
	}
	return table, append(numbers, "0000000000", "99999999999999")
}

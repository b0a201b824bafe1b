package ledger

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSettleMovesSpend: a reservation spends its estimate at once, and
// its settlement replaces it with the charge, takes it back, or keeps it.
// A restart rebuilds the same spend.
func TestSettleMovesSpend(t *testing.T) {
	tests := []struct {
		name   string
		settle Settlement
		want   int64
	}{
		{"charged less than the estimate", charged("s1", 30_000, 20_000), 50_000},
		{"charged more than the estimate", charged("s1", 70_000, 60_000), 130_000},
		{"charged nothing", Settlement{ID: "s1", Outcome: Charged}, 0},
		{"released", Settlement{ID: "s1", Outcome: Released}, 0},
		{"unknown", Settlement{ID: "s1", Outcome: Unknown}, 100_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, clock := t.TempDir(), newFakeClock()
			l := openLedger(t, dir, clock, Options{})
			r := mustReserve(t, l, send("s1", "acme", 60_000, 40_000))
			if r.Day != "2026-12-05" || r.Month != "2026-12" || !r.Time.Equal(clock.Now()) {
				t.Fatalf("Reserve set time %s, day %q, month %q", r.Time, r.Day, r.Month)
			}
			checkSpent(t, l, "acme", 100_000, 100_000)
			mustSettle(t, l, tc.settle)
			checkSpent(t, l, "acme", tc.want, tc.want)
			mustClose(t, l)

			l = openLedger(t, dir, clock, Options{})
			checkSpent(t, l, "acme", tc.want, tc.want)
			if rec := l.Recovery(); rec.Records != 2 || len(rec.Unsettled) != 0 || len(rec.Problems) != 0 {
				t.Fatalf("Recovery = %+v, want 2 records and nothing else", rec)
			}
		})
	}
}

func TestWritesRefuse(t *testing.T) {
	l := openLedger(t, t.TempDir(), newFakeClock(), Options{})
	mustReserve(t, l, send("s1", "acme", 10_000))

	if err := l.Reserve(send("s1", "acme", 5_000)); !errors.Is(err, ErrReserved) {
		t.Errorf("Reserve of an id not yet settled: %v, want ErrReserved", err)
	}
	bad := send("s2", "acme", 5_000)
	bad.EstimateMicros = 4_000
	if err := l.Reserve(bad); err == nil || !strings.Contains(err.Error(), `reserving send "s2": estimate_micros 4000 is not the sum`) {
		t.Errorf("Reserve of an inconsistent estimate: %v", err)
	}
	if err := l.Settle(charged("s9", 1_000)); !errors.Is(err, ErrNotReserved) {
		t.Errorf("Settle of an id never reserved: %v, want ErrNotReserved", err)
	}
	if err := l.Settle(Settlement{ID: "s1", Outcome: Released, ChargedMicros: 1}); err == nil || !strings.Contains(err.Error(), "no charge and no messages") {
		t.Errorf("Settle of a release with a charge: %v", err)
	}
	mustSettle(t, l, charged("s1", 9_000))
	if err := l.Settle(charged("s1", 9_000)); !errors.Is(err, ErrNotReserved) {
		t.Errorf("a second Settle: %v, want ErrNotReserved", err)
	}
	if _, err := l.Adjust(report("m1", "acme", "2026-12-05", "SENT", 0, 0)); err == nil || !strings.Contains(err.Error(), `status "SENT"`) {
		t.Errorf("Adjust of an unknown status: %v", err)
	}
	checkSpent(t, l, "acme", 9_000, 9_000)
	mustClose(t, l)

	if err := l.Reserve(send("s3", "acme", 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Reserve after Close: %v, want ErrClosed", err)
	}
	if _, err := l.Adjust(report("m1", "acme", "2026-12-05", "DELIVRD", 0, 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Adjust after Close: %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// TestAdjustCountsAReportOnce: a second report for the same message and
// status is a duplicate, before and after a restart, until the duplicate
// window has passed; another status of the same message is not.
func TestAdjustCountsAReportOnce(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("s1", "acme", 10_000))
	mustSettle(t, l, charged("s1", 10_000))
	undeliv := report("s1-m0", "acme", "2026-12-05", "UNDELIV", 0, -10_000)
	mustAdjust(t, l, undeliv)
	checkSpent(t, l, "acme", 0, 0)

	for _, reopen := range []bool{false, true} {
		if reopen {
			mustClose(t, l)
			l = openLedger(t, dir, clock, Options{})
		}
		dup, err := l.Adjust(undeliv)
		if err != nil || !dup {
			t.Fatalf("the same report again (reopened %t): duplicate %t, %v", reopen, dup, err)
		}
		checkSpent(t, l, "acme", 0, 0)
	}
	mustAdjust(t, l, report("s1-m0", "acme", "2026-12-05", "DELIVRD", 8_000, 8_000))
	checkSpent(t, l, "acme", 8_000, 8_000)
	mustClose(t, l) // Adjust does not wait for its write
	if n := len(records(t, dir)); n != 4 {
		t.Fatalf("%d records on disk, want 4 (reserve, settle, two adjustments, no duplicate)", n)
	}

	// Nine days on, the window has passed: the report is taken again.
	clock.Advance(DefaultDuplicateWindow + 24*time.Hour)
	l = openLedger(t, dir, clock, Options{})
	mustAdjust(t, l, undeliv)
	mustClose(t, l)
	l = openLedger(t, dir, clock, Options{})
	if dup, err := l.Adjust(undeliv); err != nil || !dup {
		t.Fatalf("the report taken again, after a restart: duplicate %t, %v", dup, err)
	}
}

// TestReplayRebuildsSpend: after a restart, each tenant's spend of the
// day and month is what the running ledger held, with charges,
// adjustments and unknown outcomes of several days and tenants.
func TestReplayRebuildsSpend(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	clock.Set(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	l := openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("d3-1", "acme", 100_000))
	mustSettle(t, l, charged("d3-1", 90_000))
	mustReserve(t, l, send("d3-2", "beta", 7_000))
	mustSettle(t, l, Settlement{ID: "d3-2", Outcome: Unknown})

	clock.Set(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	mustAdjust(t, l, report("d3-1-m0", "acme", "2026-12-03", "UNDELIV", 0, -90_000))
	mustReserve(t, l, send("d5-1", "acme", 20_000, 30_000))
	mustSettle(t, l, charged("d5-1", 25_000, 25_000))
	mustReserve(t, l, send("d5-2", "beta", 1_000))
	mustSettle(t, l, Settlement{ID: "d5-2", Outcome: Released})
	mustReserve(t, l, send("d5-3", "acme", 4_000)) // in flight

	want := Spending{Day: "2026-12-05", Month: "2026-12", Tenants: map[string]Spend{
		"acme": {DayMicros: 54_000, MonthMicros: 54_000},
		"beta": {DayMicros: 0, MonthMicros: 7_000},
	}}
	if got := l.Spent(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Spent = %+v, want %+v", got, want)
	}
	mustClose(t, l)
	l = openLedger(t, dir, clock, Options{})
	if got := l.Spent(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a restart, Spent = %+v, want %+v", got, want)
	}
	if rec := l.Recovery(); rec.Segments != 2 || rec.Records != 10 || !reflect.DeepEqual(rec.Unsettled, []string{"d5-3"}) {
		t.Fatalf("Recovery = %+v", rec)
	}
}

// TestOpenSettlesUnsettled: a reservation no settlement followed (the
// process died) stays spent and is settled as unknown, once.
func TestOpenSettlesUnsettled(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("s2", "acme", 2_000))
	mustReserve(t, l, send("s1", "acme", 1_000))
	mustReserve(t, l, send("s3", "acme", 3_000))
	mustSettle(t, l, charged("s3", 2_500))
	mustClose(t, l)

	l = openLedger(t, dir, clock, Options{})
	if got := l.Recovery().Unsettled; !reflect.DeepEqual(got, []string{"s1", "s2"}) {
		t.Fatalf("Unsettled = %v, want [s1 s2]", got)
	}
	checkSpent(t, l, "acme", 5_500, 5_500)
	recs := records(t, dir)
	for i, id := range []string{"s1", "s2"} {
		s, ok := recs[len(recs)-2+i].(*Settlement)
		if !ok || s.ID != id || s.Outcome != Unknown || s.Time.IsZero() {
			t.Fatalf("record %d = %+v, want s%d settled as unknown", len(recs)-2+i, recs[len(recs)-2+i], i+1)
		}
	}
	if err := l.Settle(charged("s1", 1_000)); !errors.Is(err, ErrNotReserved) {
		t.Fatalf("Settle of a send Open settled: %v, want ErrNotReserved", err)
	}
	mustClose(t, l)

	l = openLedger(t, dir, clock, Options{})
	if got := l.Recovery().Unsettled; len(got) != 0 {
		t.Fatalf("a second Open found %v unsettled", got)
	}
	checkSpent(t, l, "acme", 5_500, 5_500)
}

// TestTornLastLine: the incomplete last line a crash leaves is reported,
// cut off, and the next record starts on a line of its own.
func TestTornLastLine(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("s1", "acme", 1_000))
	mustClose(t, l)
	path := segmentPath(dir, "2026-12-05")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	torn := `{"type":"reserve","id":"s2","time":"2026-12-05T12:00:00Z","tenant":"ac`
	appendTo(t, path, torn)

	l = openLedger(t, dir, clock, Options{})
	rec := l.Recovery()
	if len(rec.Problems) != 1 || !errors.Is(rec.Problems[0], ErrTornLine) {
		t.Fatalf("Problems = %v, want the torn line", rec.Problems)
	}
	var le *LineError
	if !errors.As(rec.Problems[0], &le) || le.File != path || le.Line != 2 {
		t.Fatalf("problem %v does not name %s:2", rec.Problems[0], path)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The torn line is gone; s1's unknown settlement follows it.
	if !strings.HasPrefix(string(after), string(before)) || strings.Contains(string(after), `"tenant":"ac"`) || strings.Contains(string(after), torn) {
		t.Fatalf("segment after Open:\n%s", after)
	}
	checkSpent(t, l, "acme", 1_000, 1_000)
	mustReserve(t, l, send("s2", "acme", 2_000))
	mustClose(t, l)

	l = openLedger(t, dir, clock, Options{})
	if rec := l.Recovery(); len(rec.Problems) != 0 || rec.Records != 3 {
		t.Fatalf("Recovery = %+v, want 3 records and no problems", rec)
	}
	checkSpent(t, l, "acme", 3_000, 3_000)
}

// TestCorruptLineInTheMiddle: a line that cannot be used is reported, and
// the lines after it still count.
func TestCorruptLineInTheMiddle(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("s1", "acme", 1_000))
	mustClose(t, l)
	path := segmentPath(dir, "2026-12-05")
	appendTo(t, path, "\x00\x00\x00garbage\n"+`{"type":"reserve","id":"s2"}`+"\n"+strings.Repeat("x", maxLine+10)+"\n")

	l = openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("s3", "acme", 3_000))
	mustSettle(t, l, charged("s3", 3_000))
	mustClose(t, l)

	l = openLedger(t, dir, clock, Options{})
	rec := l.Recovery()
	if len(rec.Problems) != 3 || rec.Records != 4 {
		t.Fatalf("Recovery = %+v, want 4 records and 3 problems", rec)
	}
	for i, want := range []string{path + ":2: invalid character", path + ":3: reserve record: time is missing", path + ":4: " + ErrLongLine.Error()} {
		if got := rec.Problems[i].Error(); !strings.HasPrefix(got, want) {
			t.Errorf("problem %d = %q, want %q…", i, got, want)
		}
	}
	checkSpent(t, l, "acme", 4_000, 4_000)
}

func TestOneWriterPerDirectory(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	l := openLedger(t, dir, clock, Options{})
	start := time.Now()
	_, err := Open(dir, Options{OpenTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("a second Open: %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Fatalf("a second Open gave up after %s, before its timeout", waited)
	}
	mustClose(t, l)
	openLedger(t, dir, clock, Options{})
}

// TestPeriodsRollOver: a new day and a new month start from zero, and an
// adjustment counts against the day of its message, not the day it
// arrives.
func TestPeriodsRollOver(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	clock.Set(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC))
	l := openLedger(t, dir, clock, Options{})
	mustReserve(t, l, send("s1", "acme", 10_000))
	mustSettle(t, l, charged("s1", 10_000))
	checkSpent(t, l, "acme", 10_000, 10_000)

	clock.Advance(2 * time.Hour)
	mustAdjust(t, l, report("s1-m0", "acme", "2026-12-31", "UNDELIV", 0, -10_000))
	if got := l.Spent(); got.Day != "2027-01-01" || got.Month != "2027-01" || len(got.Tenants) != 0 {
		t.Fatalf("on 1 January, Spent = %+v, want nobody", got)
	}
	mustReserve(t, l, send("s2", "acme", 3_000))
	checkSpent(t, l, "acme", 3_000, 3_000)
	clock.Advance(24 * time.Hour)
	checkSpent(t, l, "acme", 0, 3_000)
	mustClose(t, l)

	// December's spend, with its adjustment, is still in its segments.
	l = openLedger(t, dir, clock, Options{})
	checkSpent(t, l, "acme", 0, 3_000)
	clock.Set(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC))
	mustClose(t, l)
	l = openLedger(t, dir, clock, Options{})
	checkSpent(t, l, "acme", 0, 0)
}

// TestTimezone: days, months and segment names follow the ledger's
// timezone.
func TestTimezone(t *testing.T) {
	dir, clock := t.TempDir(), newFakeClock()
	clock.Set(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)) // 30 November, 22:00 in UTC-5
	tz := time.FixedZone("UTC-5", -5*3600)
	l := openLedger(t, dir, clock, Options{Timezone: tz})
	r := mustReserve(t, l, send("s1", "acme", 1_000))
	if r.Day != "2026-11-30" || r.Month != "2026-11" || r.Time.Location() != time.UTC {
		t.Fatalf("Reserve dated the send %s, %s, %s", r.Time, r.Day, r.Month)
	}
	if got := l.Spent(); got.Day != "2026-11-30" || got.Tenants["acme"].MonthMicros != 1_000 {
		t.Fatalf("Spent = %+v", got)
	}
	mustClose(t, l)
	if _, err := os.Stat(segmentPath(dir, "2026-11-30")); err != nil {
		t.Fatalf("segment of 30 November: %v", err)
	}
}

func TestOpenRefusesOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"retention shorter than a month", Options{Retention: 30 * 24 * time.Hour}, "retention 720h0m0s is shorter than 768h0m0s"},
		{"duplicate window too long", Options{DuplicateWindow: 40 * 24 * time.Hour}, "duplicate window 960h0m0s is longer than 744h0m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Open(t.TempDir(), tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRecalledMessages: Open recalls the messages of the charged sends of
// the last days, with their latest reported cost, and only when asked.
func TestRecalledMessages(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &Reservation{ID: "s1", Tenant: "acme", Workspace: "main", Currency: "EUR", EstimateMicros: 100,
		Recipients: []Recipient{{Country: "GB", Segments: 1, EstimateMicros: 50}, {Country: "FR", Segments: 1, EstimateMicros: 50}}}
	if err := l.Reserve(r); err != nil {
		t.Fatal(err)
	}
	if err := l.Settle(Settlement{ID: "s1", Outcome: Charged, ChargedMicros: 90, Messages: []Message{
		{ID: "m1", Country: "GB", Segments: 1, ShareMicros: 45}, {ID: "m2", Country: "FR", Segments: 1, ShareMicros: 45}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Adjust(Adjustment{MessageID: "m2", Status: "UNDELIV", CostMicros: 0, DeltaMicros: -45,
		Tenant: "acme", Workspace: "main", Country: "FR", Day: r.Day, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	plain, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := plain.RecalledMessages(); len(got) != 0 {
		t.Errorf("recalled %v without RecallMessages", got)
	}
	plain.Close()
	l, err = Open(dir, Options{RecallMessages: 5 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := map[string]MessageCost{}
	for _, m := range l.RecalledMessages() {
		got[m.ID] = m
	}
	want := map[string]MessageCost{
		"m1": {ID: "m1", Tenant: "acme", Workspace: "main", Country: "GB", Day: r.Day, Currency: "EUR", CostMicros: 45},
		"m2": {ID: "m2", Tenant: "acme", Workspace: "main", Country: "FR", Day: r.Day, Currency: "EUR", CostMicros: 0},
	}
	if len(got) != 2 || got["m1"] != want["m1"] || got["m2"] != want["m2"] {
		t.Errorf("recalled %v, want %v", got, want)
	}
}

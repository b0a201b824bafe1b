package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for a ledger.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// newFakeClock starts at noon UTC on 5 December 2026.
func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// openLedger opens a ledger in dir on clock and closes it when the test
// ends (a second Close is harmless).
func openLedger(t testing.TB, dir string, clock *fakeClock, opts Options) *Ledger {
	t.Helper()
	opts.Now = clock.Now
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// mustClose closes l and fails the test if that fails.
func mustClose(t testing.TB, l *Ledger) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// send returns a reservation of tenant's through workspace "main" in EUR,
// one recipient per estimate, in GB.
func send(id, tenant string, estimates ...int64) *Reservation {
	r := &Reservation{ID: id, Tenant: tenant, Workspace: "main", Currency: "EUR"}
	for _, e := range estimates {
		r.Recipients = append(r.Recipients, Recipient{Country: "GB", Segments: 1, EstimateMicros: e})
		r.EstimateMicros += e
	}
	return r
}

// mustReserve reserves r and fails the test if that fails.
func mustReserve(t testing.TB, l *Ledger, r *Reservation) *Reservation {
	t.Helper()
	if err := l.Reserve(r); err != nil {
		t.Fatalf("Reserve(%s): %v", r.ID, err)
	}
	return r
}

// charged settles send id as charged, one message per share, in GB, with
// message ids <id>-m<i>.
func charged(id string, shares ...int64) Settlement {
	s := Settlement{ID: id, Outcome: Charged}
	for i, share := range shares {
		s.Messages = append(s.Messages, Message{ID: fmt.Sprintf("%s-m%d", id, i), Country: "GB", Segments: 1, ShareMicros: share})
		s.ChargedMicros += share
	}
	return s
}

// mustSettle settles s and fails the test if that fails.
func mustSettle(t testing.TB, l *Ledger, s Settlement) {
	t.Helper()
	if err := l.Settle(s); err != nil {
		t.Fatalf("Settle(%s): %v", s.ID, err)
	}
}

// report returns an adjustment of tenant's message in GB, through
// workspace "main", dated day.
func report(messageID, tenant, day, status string, cost, delta int64) Adjustment {
	return Adjustment{
		MessageID: messageID, Status: status, CostMicros: cost, DeltaMicros: delta,
		Tenant: tenant, Workspace: "main", Country: "GB", Day: day, Currency: "EUR",
	}
}

// mustAdjust adjusts a and fails the test if that fails or a is a
// duplicate.
func mustAdjust(t testing.TB, l *Ledger, a Adjustment) {
	t.Helper()
	dup, err := l.Adjust(a)
	if err != nil {
		t.Fatalf("Adjust(%s %s): %v", a.MessageID, a.Status, err)
	}
	if dup {
		t.Fatalf("Adjust(%s %s): reported as a duplicate", a.MessageID, a.Status)
	}
}

// checkSpent fails the test unless tenant's spend is day and month.
func checkSpent(t testing.TB, l *Ledger, tenant string, day, month int64) {
	t.Helper()
	got := l.Spent().Tenants[tenant]
	if got.DayMicros != day || got.MonthMicros != month {
		t.Fatalf("Spent[%s] = day %d, month %d; want day %d, month %d", tenant, got.DayMicros, got.MonthMicros, day, month)
	}
}

// records parses every complete line of dir's segments, oldest first,
// failing the test on a line that does not parse.
func records(t testing.TB, dir string) []any {
	t.Helper()
	days, err := segmentDays(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for _, day := range days {
		path := segmentPath(dir, day)
		_, _, err := scanSegment(path, func(n int, line []byte) {
			rec, err := parseLine(line)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			out = append(out, rec)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// appendTo appends data to the file at path.
func appendTo(t testing.TB, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

// encodeLine writes v, a reserveLine, settleLine or adjustLine, as
// Reserve, Settle and Adjust do, and holds the encoder to encoding/json:
// a line that differs from what json.Marshal makes of v is an error.
func encodeLine(v any) ([]byte, error) {
	var line []byte
	var err error
	switch v := v.(type) {
	case reserveLine:
		line, err = appendReserveLine(nil, &v.Reservation)
	case settleLine:
		line, err = appendSettleLine(nil, &v.Settlement)
	case adjustLine:
		line, err = appendAdjustLine(nil, &v.Adjustment)
	default:
		return nil, fmt.Errorf("not a line: %T", v)
	}
	if err != nil {
		return nil, err
	}
	want, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("the encoder wrote %q, encoding/json refused it: %w", line, err)
	}
	if want = append(want, '\n'); !bytes.Equal(line, want) {
		return nil, fmt.Errorf("the encoder wrote\n%s\nencoding/json\n%s", line, want)
	}
	return line, nil
}

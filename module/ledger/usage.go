package ledger

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// The keys a usage report can be grouped by, which are also the names of
// its first columns.
const (
	KeyTenant    = "tenant"
	KeyDay       = "day"
	KeyCountry   = "country"
	KeyWorkspace = "workspace"
)

// Query selects and groups a usage report.
type Query struct {
	// From and To are the first and last days (YYYY-MM-DD, inclusive)
	// of the sends counted, by the day each send was dated by when it
	// was reserved (in the ledger's timezone then). "" leaves the range
	// open on that side.
	From, To string
	// By lists the keys to group by, each once: KeyTenant, KeyDay,
	// KeyCountry, KeyWorkspace. None gives one row of totals (one per
	// currency).
	By []string
}

// Row is one group of a usage report. Its columns, in order, are the
// query's keys, then Sends to Currency. Amounts are micro-units of
// Currency; rows never mix currencies.
type Row struct {
	// Tenant, Day, Country and Workspace are the group's keys; those the
	// query does not group by are empty. A send's recipients in several
	// countries make it count in each country's row.
	Tenant, Day, Country, Workspace string

	// Sends, Recipients and Segments count the sends reserved, their
	// recipients and the recipients' segments.
	Sends, Recipients, Segments int64
	// EstimatedMicros is the sum of the recipients' estimates, whatever
	// the outcome of their sends.
	EstimatedMicros int64
	// ChargedMicros is what restlink answered at send time: the sum of
	// summary.total_cost over the sends charged, split among countries
	// by the messages' shares. Sends released or of unknown outcome add
	// nothing.
	ChargedMicros int64
	// DeliveredCostMicros is the sum, over the messages with a delivery
	// report, of the cost their latest report gave.
	DeliveredCostMicros int64
	// Delivered, Undelivered and Pending count messages by their latest
	// report: DELIVRD; UNDELIV, REJECTD or EXPIRED; UNKNOWN, or no
	// report yet.
	Delivered, Undelivered, Pending int64
	// Currency is the account's currency (ISO 4217).
	Currency string
}

// Usage reads the ledgers in dirs (one per sidecar of a fleet) and sums
// their sends, charges and delivery reports into rows, as q selects and
// groups them, sorted by the keys in q.By's order, then currency. It
// does not open the ledgers, so it works while their sidecars run, and it
// merges them exactly: a record found twice (the same directory named
// twice) counts once, and a delivery report counts wherever it was
// received. A message's reports count once per status; the latest one
// gives its cost and status.
//
// A directory or segment that cannot be read fails Usage: a report
// missing part of a ledger would bill too little. Lines that cannot be
// used are left out and named in the returned error (each a *LineError),
// along with the rows.
func Usage(dirs []string, q Query) ([]Row, error) {
	if err := q.check(); err != nil {
		return nil, fmt.Errorf("reading usage: %w", err)
	}
	c := newCollector(q)
	var problems []error
	for _, dir := range dirs {
		if err := c.readDir(dir, &problems); err != nil {
			return nil, fmt.Errorf("reading usage from ledger %s: %w", dir, err)
		}
	}
	rows := c.rows()
	if len(problems) > 0 {
		return rows, fmt.Errorf("reading usage: %d lines could not be used: %w", len(problems), errors.Join(problems...))
	}
	return rows, nil
}

// check checks the days and the keys of a query.
func (q *Query) check() error {
	for _, d := range []struct{ what, day string }{{"from", q.From}, {"to", q.To}} {
		if d.day != "" {
			if err := checkDay(d.what, d.day); err != nil {
				return err
			}
		}
	}
	if q.From != "" && q.To != "" && q.To < q.From {
		return fmt.Errorf("to %s is before from %s", q.To, q.From)
	}
	return checkKeys(q.By)
}

// checkKeys accepts grouping keys, each at most once.
func checkKeys(by []string) error {
	for i, k := range by {
		switch k {
		case KeyTenant, KeyDay, KeyCountry, KeyWorkspace:
		default:
			return fmt.Errorf("cannot group by %q (tenant, day, country or workspace)", k)
		}
		if slices.Contains(by[:i], k) {
			return fmt.Errorf("grouping key %q is given twice", k)
		}
	}
	return nil
}

// inRange reports whether day is within the query's days.
func (q *Query) inRange(day string) bool {
	return (q.From == "" || day >= q.From) && (q.To == "" || day <= q.To)
}

// collector gathers the records of one usage report.
type collector struct {
	q       Query
	sends   map[string]*Reservation // the sends in range, by id
	settles map[string]*Settlement  // by send id
	reports map[string]*Adjustment  // the latest report of each message, by message id
}

func newCollector(q Query) *collector {
	return &collector{
		q:       q,
		sends:   make(map[string]*Reservation),
		settles: make(map[string]*Settlement),
		reports: make(map[string]*Adjustment),
	}
}

// readDir gathers the records of one ledger. Segments written before the
// first day of the range hold none of its sends (save a day's margin
// for a timezone changed between runs), and so are not read; every
// later one may hold settlements and reports.
func (c *collector) readDir(dir string, problems *[]error) error {
	days, err := segmentDays(dir)
	if err != nil {
		return err
	}
	for _, day := range days {
		if c.q.From != "" && day < addDays(c.q.From, -1) {
			continue
		}
		path := segmentPath(dir, day)
		// An incomplete last line is one the sidecar is writing.
		_, _, err := scanSegment(path, func(n int, line []byte) {
			if err := c.take(line); err != nil {
				*problems = append(*problems, &LineError{File: path, Line: n, Err: err})
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// take gathers one line.
func (c *collector) take(line []byte) error {
	if line == nil {
		return ErrLongLine
	}
	rec, err := parseLine(line)
	if err != nil {
		return err
	}
	switch rec := rec.(type) {
	case *Reservation:
		if _, dup := c.sends[rec.ID]; !dup && c.q.inRange(rec.Day) {
			c.sends[rec.ID] = rec
		}
	case *Settlement:
		if _, dup := c.settles[rec.ID]; !dup {
			c.settles[rec.ID] = rec
		}
	case *Adjustment:
		if prev := c.reports[rec.MessageID]; prev == nil || later(rec, prev) {
			c.reports[rec.MessageID] = rec
		}
	}
	return nil
}

// later reports whether report a replaces report b of the same message:
// it has another status and was taken later (ties broken by status, so
// that the order ledgers are read in does not matter). A report with
// b's status is a duplicate.
func later(a, b *Adjustment) bool {
	if a.Status == b.Status {
		return false
	}
	if c := a.Time.Compare(b.Time); c != 0 {
		return c > 0
	}
	return a.Status > b.Status
}

// groupKey is a row's keys, those not grouped by left empty.
type groupKey struct{ tenant, day, country, workspace, currency string }

// rows sums what was gathered into rows.
func (c *collector) rows() []Row {
	groups := make(map[groupKey]*Row)
	row := func(tenant, day, country, workspace, currency string) *Row {
		k := groupKey{currency: currency}
		for _, key := range c.q.By {
			switch key {
			case KeyTenant:
				k.tenant = tenant
			case KeyDay:
				k.day = day
			case KeyCountry:
				k.country = country
			case KeyWorkspace:
				k.workspace = workspace
			}
		}
		r := groups[k]
		if r == nil {
			r = &Row{Tenant: k.tenant, Day: k.day, Country: k.country, Workspace: k.workspace, Currency: currency}
			groups[k] = r
		}
		return r
	}
	reported := make(map[string]bool)
	for id, s := range c.sends {
		var counted []*Row
		for _, rc := range s.Recipients {
			r := row(s.Tenant, s.Day, rc.Country, s.Workspace, s.Currency)
			r.Recipients++
			r.Segments += int64(rc.Segments)
			r.EstimatedMicros += rc.EstimateMicros
			if !slices.Contains(counted, r) {
				counted = append(counted, r)
				r.Sends++
			}
		}
		st := c.settles[id]
		if st == nil || st.Outcome != Charged {
			continue
		}
		for _, m := range st.Messages {
			r := row(s.Tenant, s.Day, m.Country, s.Workspace, s.Currency)
			r.ChargedMicros += m.ShareMicros
			if rep := c.reports[m.ID]; rep != nil {
				reported[m.ID] = true
				r.count(rep)
			} else {
				r.Pending++
			}
		}
	}
	// Reports of messages whose sends are not in these ledgers (a
	// crash cut their settlements off) count by their own keys.
	for id, rep := range c.reports {
		if !reported[id] && c.q.inRange(rep.Day) {
			row(rep.Tenant, rep.Day, rep.Country, rep.Workspace, rep.Currency).count(rep)
		}
	}
	out := make([]Row, 0, len(groups))
	for _, r := range groups {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Row) int {
		for _, key := range c.q.By {
			if n := cmp.Compare(a.key(key), b.key(key)); n != 0 {
				return n
			}
		}
		return cmp.Compare(a.Currency, b.Currency)
	})
	return out
}

// count adds a message's latest report to the row.
func (r *Row) count(rep *Adjustment) {
	r.DeliveredCostMicros += rep.CostMicros
	switch rep.Status {
	case statusDelivered:
		r.Delivered++
	case statusUndeliv, statusRejected, statusExpired:
		r.Undelivered++
	default:
		r.Pending++
	}
}

// key returns the row's value of a grouping key.
func (r *Row) key(k string) string {
	switch k {
	case KeyTenant:
		return r.Tenant
	case KeyDay:
		return r.Day
	case KeyCountry:
		return r.Country
	default:
		return r.Workspace
	}
}

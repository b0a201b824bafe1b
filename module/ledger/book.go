package ledger

import (
	"crypto/sha256"
	"fmt"
)

// book is what a ledger holds in memory, built from the segments at Open
// and kept up to date by every write: the reservations not yet settled,
// each tenant's spend per day and month, and the delivery reports taken
// recently. Replay and the writes change it through the same methods, so
// a restart rebuilds exactly what the running ledger held.
type book struct {
	open    map[string]openSend
	spend   map[string]map[string]int64   // tenant → day or month → micro-units
	reports map[string]map[reportKey]bool // day taken → the reports taken that day
	pruned  string                        // the day prune last ran
}

// openSend is what settling a reservation needs to know of it.
type openSend struct {
	tenant    string
	workspace string
	currency  string
	day       string
	estimate  int64
}

// reportKey identifies a delivery report: a message id and status,
// hashed so that the reports of a few days take little memory.
type reportKey [16]byte

func reportKeyOf(messageID, status string) reportKey {
	sum := sha256.Sum256([]byte(messageID + "\x00" + status))
	return reportKey(sum[:16])
}

func newBook() *book {
	return &book{
		open:    make(map[string]openSend),
		spend:   make(map[string]map[string]int64),
		reports: make(map[string]map[reportKey]bool),
	}
}

// canReserve refuses an id that a reservation not yet settled holds.
func (b *book) canReserve(id string) error {
	if _, ok := b.open[id]; ok {
		return fmt.Errorf("send %q: %w", id, ErrReserved)
	}
	return nil
}

// reserve adds a reservation: it is open, and its estimate is spent.
func (b *book) reserve(r *Reservation) {
	b.open[r.ID] = openSend{tenant: r.Tenant, workspace: r.Workspace, currency: r.Currency, day: r.Day, estimate: r.EstimateMicros}
	b.add(r.Tenant, r.Day, r.EstimateMicros)
}

// unreserve takes back a reservation that could not be written.
func (b *book) unreserve(r *Reservation) {
	delete(b.open, r.ID)
	b.add(r.Tenant, r.Day, -r.EstimateMicros)
}

// reserved returns the open reservation with id.
func (b *book) reserved(id string) (openSend, error) {
	o, ok := b.open[id]
	if !ok {
		return o, fmt.Errorf("send %q: %w", id, ErrNotReserved)
	}
	return o, nil
}

// settle closes the open reservation o of s.ID: a charge replaces its
// estimate, a release takes the estimate back, and an unknown outcome
// leaves the estimate spent.
func (b *book) settle(o openSend, s *Settlement) {
	delete(b.open, s.ID)
	switch s.Outcome {
	case Charged:
		b.add(o.tenant, o.day, s.ChargedMicros-o.estimate)
	case Released:
		b.add(o.tenant, o.day, -o.estimate)
	}
}

// taken reports whether a report with key k was taken on a day from
// since on.
func (b *book) taken(k reportKey, since string) bool {
	for day, reports := range b.reports {
		if day >= since && reports[k] {
			return true
		}
	}
	return false
}

// adjust adds an adjustment taken on day takenOn: its report is taken,
// and its delta is spent on the day of its message.
func (b *book) adjust(a *Adjustment, k reportKey, takenOn string) {
	reports := b.reports[takenOn]
	if reports == nil {
		reports = make(map[reportKey]bool)
		b.reports[takenOn] = reports
	}
	reports[k] = true
	b.add(a.Tenant, a.Day, a.DeltaMicros)
}

// add spends micros (takes them back when negative) in tenant's day and
// that day's month.
func (b *book) add(tenant, day string, micros int64) {
	periods := b.spend[tenant]
	if periods == nil {
		periods = make(map[string]int64)
		b.spend[tenant] = periods
	}
	periods[day] += micros
	periods[monthOf(day)] += micros
}

// prune forgets the spend of days before today and of months before
// today's, and the reports taken before reportsSince.
func (b *book) prune(today, reportsSince string) {
	b.pruned = today
	month := monthOf(today)
	for tenant, periods := range b.spend {
		for p := range periods {
			if len(p) == len(dayLayout) && p < today || len(p) == len(monthLayout) && p < month {
				delete(periods, p)
			}
		}
		if len(periods) == 0 {
			delete(b.spend, tenant)
		}
	}
	for day := range b.reports {
		if day < reportsSince {
			delete(b.reports, day)
		}
	}
}

// spent returns tenant's spend in day and month.
func (b *book) spent(tenant, day, month string) (dayMicros, monthMicros int64, ok bool) {
	periods := b.spend[tenant]
	if periods == nil {
		return 0, 0, false
	}
	d, dok := periods[day]
	m, mok := periods[month]
	return d, m, dok || mok
}

package ledger

import "fmt"

// Reserve writes a send's reservation and returns once it is synced to
// disk: forward the send only after a nil error. Concurrent calls share
// an fsync. The estimate is spent at once, in the day and month of
// r.Time (set to now when zero), which Reserve writes into r.Day and
// r.Month; the send's messages are dated by r.Day.
//
// The id must not be held by a reservation not yet settled (ErrReserved).
// Ids are not checked against settled sends: they must be unique, as
// they key the send in the usage export.
func (l *Ledger) Reserve(r *Reservation) error {
	if r.Time.IsZero() {
		r.Time = l.now()
	}
	r.Time = r.Time.UTC()
	r.Day, r.Month = periods(r.Time, l.tz)
	if err := r.check(); err != nil {
		return fmt.Errorf("reserving send %q: %w", r.ID, err)
	}
	line, err := appendReserveLine(make([]byte, 0, lineCap), r)
	if err != nil {
		return fmt.Errorf("reserving send %q: %w", r.ID, err)
	}
	today, _ := periods(l.now(), l.tz)
	l.mu.Lock()
	l.prune(today)
	var b *batch
	err = l.book.canReserve(r.ID)
	if err == nil {
		b, err = l.w.add(line, true)
	}
	if err == nil {
		l.book.reserve(r)
	}
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("reserving send %q: %w", r.ID, err)
	}
	<-b.done
	if b.err != nil {
		l.mu.Lock()
		l.book.unreserve(r)
		l.mu.Unlock()
		return fmt.Errorf("reserving send %q: %w", r.ID, b.err)
	}
	return nil
}

// Settle writes how a reserved send ended, and moves its tenant's spend:
// a charge replaces the estimate, a release takes it back, and an
// unknown outcome keeps it. It returns without waiting for the fsync:
// the record is synced with the next reservation (which it precedes in
// the file) or within 100 ms, and by Close. A crash before that leaves
// the reservation unsettled, which Open settles as Unknown.
func (l *Ledger) Settle(s Settlement) error {
	s.Time = l.now().UTC()
	if err := s.check(); err != nil {
		return fmt.Errorf("settling send %q: %w", s.ID, err)
	}
	line, err := appendSettleLine(make([]byte, 0, lineCap), &s)
	if err != nil {
		return fmt.Errorf("settling send %q: %w", s.ID, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	o, err := l.book.reserved(s.ID)
	if err == nil {
		_, err = l.w.add(line, false)
	}
	if err != nil {
		return fmt.Errorf("settling send %q: %w", s.ID, err)
	}
	l.book.settle(o, &s)
	return nil
}

// Adjust writes a delivery report's adjustment and moves the tenant's
// spend by a.DeltaMicros, in the month of a.Day, unless the ledger took a
// report for the same message and status within its duplicate window:
// then it writes nothing and returns duplicate. It returns without
// waiting for the fsync, as Settle does; a crash before the write loses
// the adjustment, and the message's spend stays what it was.
func (l *Ledger) Adjust(a Adjustment) (duplicate bool, err error) {
	a.Time = l.now().UTC()
	if err := a.check(); err != nil {
		return false, fmt.Errorf("adjusting message %q: %w", a.MessageID, err)
	}
	line, err := appendAdjustLine(make([]byte, 0, lineCap), &a)
	if err != nil {
		return false, fmt.Errorf("adjusting message %q: %w", a.MessageID, err)
	}
	k := reportKeyOf(a.MessageID, a.Status)
	today, _ := periods(a.Time, l.tz)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(today)
	if l.book.taken(k, addDays(today, -l.dupDays)) {
		return true, nil
	}
	if _, err := l.w.add(line, false); err != nil {
		return false, fmt.Errorf("adjusting message %q: %w", a.MessageID, err)
	}
	l.book.adjust(&a, k, today)
	return false, nil
}

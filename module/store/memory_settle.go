package store

import "context"

// Settle refunds the ticket's charges or moves them to their final costs
// if asked, and completes, marks unknown or releases its idempotency
// record if the record is still the one this ticket claimed.
func (m *Memory) Settle(_ context.Context, t Ticket, st Settlement) error {
	if err := validateCosts(&t, &st); err != nil {
		return err
	}
	if t.Idempotency == "" && len(t.Charges) == 0 {
		return nil
	}
	if t.issuer != Store(m) {
		return errForeignTicket
	}
	now := st.Now
	if now.IsZero() {
		now = m.clock()
	}
	s := m.shard(t.Scope)
	s.mu.Lock()
	defer s.mu.Unlock()
	// The record first: keeping its answer takes memory, the one step
	// that can fail, and a failed Settle changes nothing (the record then
	// reads as unknown when its time is up, which never sends twice).
	slot := -1
	if t.Idempotency != "" {
		i := s.records.find(recordTag(m.seed, t.Scope, t.Idempotency), t.Scope, t.Idempotency)
		if i >= 0 && s.records.at(i).owner == t.claim { // else expired, and perhaps claimed anew: not ours to settle
			slot = i
		}
	}
	if slot >= 0 && st.Outcome == Completed {
		if err := s.records.keep(slot, recordOrEmpty(st.Record)); err != nil {
			return err
		}
	}
	if st.Refund {
		for _, c := range t.Charges {
			s.refund(t.Scope, c)
		}
	} else if st.Costs != nil {
		for i, c := range t.Charges {
			s.move(t.Scope, c, st.Costs[i]-c.Amount, now.UnixNano())
		}
	}
	if slot < 0 {
		return nil
	}
	r := s.records.at(slot)
	switch st.Outcome {
	case Release:
		m.unlistRecord(r)
		s.records.remove(slot)
		return nil
	case Completed:
		r.state = recordCompleted
	case Unknown:
		r.state = recordUnknown
	}
	if st.TTL > 0 {
		r.expires = now.UnixNano() + int64(st.TTL)
	}
	return nil
}

// refund takes back one charge, never below zero; a charge whose step,
// day or period counter is over has nothing left to take back. The caller
// holds the lock.
func (s *memoryShard) refund(scope string, c Charge) {
	switch c.kind {
	case kindPeriod:
		if p := s.periods[periodKey{scope, c.Key, c.Field}]; p != nil {
			p.n = max(p.n-c.Amount, 0)
		}
	case kindDay:
		if d := s.days[scopedKey{scope, c.Key}]; d != nil && d.day == c.bucket {
			d.n = max(d.n-c.Amount, 0)
		}
	default:
		if w := s.windows[scopedKey{scope, c.Key}]; w != nil {
			w.sub(c.bucket, c.Amount)
		}
	}
}

// move moves one charge by delta: down as a refund of -delta would, up
// only where the charge still counts (its window step, day or period
// counter is still held at now). The caller holds the lock.
func (s *memoryShard) move(scope string, c Charge, delta, now int64) {
	if delta < 0 {
		c.Amount = -delta
		s.refund(scope, c)
		return
	}
	if delta == 0 {
		return
	}
	switch c.kind {
	case kindPeriod:
		if p := s.periods[periodKey{scope, c.Key, c.Field}]; p != nil && p.expires > now {
			p.n += delta
		}
	case kindDay:
		if d := s.days[scopedKey{scope, c.Key}]; d != nil && d.day == c.bucket {
			d.n += delta
		}
	default:
		if w := s.windows[scopedKey{scope, c.Key}]; w != nil {
			w.addHeld(c.bucket, delta)
		}
	}
}

package store

import (
	"context"
	"time"
)

// Admit decides an admission under the lock of its scope's shard: the
// idempotency record is read, then each limit is checked and charged in
// turn; a refusal (or a dry run) takes back what this admission charged
// before the lock is released, so nothing is ever half done. Charging as
// it checks means a key repeated within one admission (a recipient
// listed twice) is checked with its earlier charges counted.
func (m *Memory) Admit(_ context.Context, a Admission) (Decision, error) {
	if err := validateAdmission(&a); err != nil {
		return Decision{}, err
	}
	d, err := m.admit(&a)
	if d.Ticket.Idempotency != "" {
		m.trimRecords()
	}
	return d, err
}

// admit is Admit under the shard's lock.
func (m *Memory) admit(a *Admission) (Decision, error) {
	now := a.Now.UnixNano()
	s := m.shard(a.Scope)
	s.mu.Lock()
	defer s.mu.Unlock()
	m.sweepIfDue(s, now)

	var tag uint64
	old := -1 // the slot of the key's record, if the table holds one
	if c := a.Idempotency; c != nil {
		tag = recordTag(m.seed, a.Scope, c.Key)
		if old = s.records.find(tag, a.Scope, c.Key); old >= 0 && s.records.at(old).expires > now {
			return s.recordDecision(old, c, now), nil
		}
	}

	var after [8]int64 // the first limits' values after their charges, for Values
	for i := range a.Limits {
		v, retry, refused := s.tryCharge(a.Scope, &a.Limits[i], now)
		if refused {
			s.uncharge(a.Scope, a.Limits[:i], now)
			return Decision{Verdict: Refused, Refused: i, Current: v, RetryAfter: retry}, nil
		}
		if i < len(after) {
			after[i] = v
		}
	}

	t := Ticket{Scope: a.Scope, issuer: m}
	var values []int64
	if a.Charge {
		t.Charges, values = memoryCharges(a, now)
		if n := copy(values, after[:]); len(values) > 1 {
			s.values(a.Scope, a.Limits, now, n, values)
		}
	} else {
		s.uncharge(a.Scope, a.Limits, now)
	}
	if c := a.Idempotency; c != nil {
		if err := m.claimRecord(s, tag, old, a.Scope, c, now, &t); err != nil {
			if a.Charge {
				s.uncharge(a.Scope, a.Limits, now)
			}
			return Decision{}, err
		}
	}
	return Decision{Verdict: Admitted, Ticket: t, Values: values}, nil
}

// claimRecord makes the in-flight record of an admission's idempotency
// claim, tagged tag, in shard s at now, and names it in t; old is the
// slot of the key's expired record that the sweep has not dropped yet, or
// -1. The caller holds the shard's lock.
func (m *Memory) claimRecord(s *memoryShard, tag uint64, old int, scope string, c *IdempotencyClaim, now int64, t *Ticket) error {
	if old >= 0 {
		m.unlistRecord(s.records.at(old))
		s.records.remove(old)
	}
	claim := m.claims.Add(1)
	node, err := m.listRecord(recordRef{tag: tag, claim: claim, shard: s.index})
	if err != nil {
		return err
	}
	r := memoryRecord{node: node, hash: c.BodyHash, state: recordInFlight, owner: claim, started: now, expires: now + int64(c.TTL)}
	if err := s.records.insert(tag, scope, c.Key, r); err != nil {
		m.bound.mu.Lock()
		m.bound.order.remove(node, claim)
		m.bound.mu.Unlock()
		return err
	}
	t.Idempotency, t.claim = c.Key, claim
	return nil
}

// recorded answers an admission from the live record of its idempotency
// key, if there is one, without claiming or charging anything: a
// Fallback's answer while its shared store is down.
func (m *Memory) recorded(a *Admission) (Decision, bool) {
	c := a.Idempotency
	now := a.Now.UnixNano()
	s := m.shard(a.Scope)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.records.find(recordTag(m.seed, a.Scope, c.Key), a.Scope, c.Key)
	if i < 0 || s.records.at(i).expires <= now {
		return Decision{}, false
	}
	return s.recordDecision(i, c, now), true
}

// recordDecision answers a claim from the live record in slot i of the
// shard's table, with a copy of its answer for a replay. The caller holds
// the shard's lock.
func (s *memoryShard) recordDecision(i int, c *IdempotencyClaim, now int64) Decision {
	d := Decision{Verdict: recordVerdict(s.records.at(i), c, now)}
	if d.Verdict == Replay {
		d.Record = s.records.record(i)
	}
	return d
}

// recordVerdict answers a claim from the live record r: a different body
// reuses the key; otherwise the record's state decides.
func recordVerdict(r *memoryRecord, c *IdempotencyClaim, now int64) Verdict {
	switch {
	case r.hash != c.BodyHash:
		return KeyReused
	case r.state == recordCompleted:
		return Replay
	case r.state == recordUnknown:
		return OutcomeUnknown
	case c.InFlightFor > 0 && now-r.started > int64(c.InFlightFor):
		return OutcomeUnknown
	}
	return InProgress
}

// tryCharge adds limit l's Cost to its counter at now if it fits, and
// returns the counter's value after it; otherwise it returns the
// counter's value and how long until the cost could fit, refused. The
// caller holds the lock.
func (s *memoryShard) tryCharge(scope string, l *Limit, now int64) (value int64, retry time.Duration, refused bool) {
	if l.Period.Name != "" {
		return s.tryChargePeriod(scope, l, now)
	}
	k := scopedKey{scope, l.Key}
	if l.Window == 0 {
		day := dayOf(now)
		d := s.days[k]
		var v int64
		if d != nil && d.day == day {
			v = d.n
		}
		if v+l.Cost > l.Max {
			return v, untilMidnight(now), true
		}
		if l.Cost == 0 {
			return v, 0, false
		}
		if d == nil {
			d = &dayCounter{}
			s.days[k] = d
		}
		d.day, d.n = day, v+l.Cost
		return d.n, 0, false
	}
	step := windowStep(l.Window)
	cur := floorDiv(now, step)
	w := s.windows[k]
	var v int64
	var steps []stepCount
	if w != nil && w.step == step {
		v, steps = w.value(cur), w.steps
	}
	if v+l.Cost > l.Max {
		return v, windowRetryAfter(steps, v, l.Cost, l.Max, cur, step, now), true
	}
	if l.Cost == 0 {
		return v, 0, false
	}
	if w == nil {
		w = &windowCounter{step: step}
		s.windows[k] = w
	} else if w.step != step {
		w.step, w.steps = step, w.steps[:0]
	}
	w.add(cur, l.Cost)
	return v + l.Cost, 0, false
}

// uncharge takes back what tryCharge added for limits at now. The caller
// holds the lock.
func (s *memoryShard) uncharge(scope string, limits []Limit, now int64) {
	for i := range limits {
		if l := &limits[i]; l.Cost > 0 {
			s.refund(scope, memoryCharge(l, now))
		}
	}
}

// memoryCharges lists the charges of a's limits at now, for the Ticket,
// and returns room for the limits' values (see chargesAndValues).
func memoryCharges(a *Admission, now int64) ([]Charge, []int64) {
	charges, values := chargesAndValues(a)
	for i := range a.Limits {
		l := &a.Limits[i]
		switch {
		case l.Cost == 0:
		case l.Period.Name != "":
			charges = append(charges, Charge{Key: l.Key, Field: l.Period.Name, Amount: l.Cost, kind: kindPeriod})
		case l.Window == 0:
			charges = append(charges, Charge{Key: l.Key, Amount: l.Cost, bucket: dayOf(now), kind: kindDay})
		default:
			charges = append(charges, Charge{Key: l.Key, Amount: l.Cost, bucket: floorDiv(now, windowStep(l.Window))})
		}
	}
	return charges, values
}

// memoryCharge is the charge of limit l at now.
func memoryCharge(l *Limit, now int64) Charge {
	switch {
	case l.Period.Name != "":
		return Charge{Key: l.Key, Field: l.Period.Name, Amount: l.Cost, kind: kindPeriod}
	case l.Window == 0:
		return Charge{Key: l.Key, Amount: l.Cost, bucket: dayOf(now), kind: kindDay}
	}
	return Charge{Key: l.Key, Amount: l.Cost, bucket: floorDiv(now, windowStep(l.Window))}
}

// values completes the values of limits after an admission charged them
// all, the first n of which hold what tryCharge returned: the others are
// read, and a key charged twice (a recipient listed twice) reads the same
// value at both places, its value after both charges. The caller holds
// the lock.
func (s *memoryShard) values(scope string, limits []Limit, now int64, n int, values []int64) {
	for i := n; i < len(values); i++ {
		values[i] = s.value(scope, &limits[i], now)
	}
	for i := range values {
		for j := i + 1; j < len(values); j++ {
			if sameCounter(&limits[i], &limits[j]) {
				values[i] = values[j]
			}
		}
	}
}

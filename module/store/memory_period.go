package store

import (
	"context"
	"time"
)

// tryChargePeriod is tryCharge for a Period limit: its counter is the
// limit's key in the named period, and it expires a day after the period
// ends. The caller holds the lock.
func (s *memoryShard) tryChargePeriod(scope string, l *Limit, now int64) (value int64, retry time.Duration, refused bool) {
	k := periodKey{scope, l.Key, l.Period.Name}
	p := s.periods[k]
	var v int64
	if p != nil && p.expires > now {
		v = p.n
	}
	if v+l.Cost > l.Max {
		return v, periodRetryAfter(l.Period, now), true
	}
	if l.Cost == 0 {
		return v, 0, false
	}
	if p == nil {
		p = &periodCounter{}
		s.periods[k] = p
	}
	p.n, p.expires = v+l.Cost, periodExpiry(l.Period)
	return p.n, 0, false
}

// periodValue reads a period counter at now. The caller holds the lock.
func (s *memoryShard) periodValue(scope, key, period string, now int64) int64 {
	if p := s.periods[periodKey{scope, key, period}]; p != nil && p.expires > now {
		return p.n
	}
	return 0
}

// Adjust adds each adjustment's Delta to its period counter under the
// lock of the scope's shard, never below zero, and reads the counters
// after all of them.
func (m *Memory) Adjust(_ context.Context, scope string, adjustments []Adjustment, now time.Time) ([]int64, error) {
	if err := validateAdjustments(scope, adjustments); err != nil {
		return nil, err
	}
	n := now.UnixNano()
	s := m.shard(scope)
	s.mu.Lock()
	defer s.mu.Unlock()
	m.sweepIfDue(s, n)
	for i := range adjustments {
		if a := &adjustments[i]; !periodEnded(a.Period, now) {
			s.adjust(scope, a, n)
		}
	}
	out := make([]int64, len(adjustments))
	for i := range adjustments {
		if a := &adjustments[i]; !periodEnded(a.Period, now) {
			out[i] = s.periodValue(scope, a.Key, a.Period.Name, n)
		}
	}
	return out, nil
}

// adjust adds a's Delta to its period counter at now, never below zero;
// a counter that would hold nothing is not made. The caller holds the
// lock.
func (s *memoryShard) adjust(scope string, a *Adjustment, now int64) {
	k := periodKey{scope, a.Key, a.Period.Name}
	p := s.periods[k]
	var v int64
	if p != nil && p.expires > now {
		v = p.n
	}
	v = max(v+a.Delta, 0)
	if p == nil {
		if v == 0 {
			return
		}
		p = &periodCounter{}
		s.periods[k] = p
	}
	p.n, p.expires = v, periodExpiry(a.Period)
}

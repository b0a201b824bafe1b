package store

import (
	"context"
	"time"
)

// Usage reads each limit's counter at now without charging it.
func (m *Memory) Usage(_ context.Context, scope string, limits []Limit, now time.Time) ([]int64, error) {
	if err := validateScope("reading usage", scope); err != nil {
		return nil, err
	}
	if err := validateLimits("reading usage", limits); err != nil {
		return nil, err
	}
	n := now.UnixNano()
	s := m.shard(scope)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, len(limits))
	for i := range limits {
		out[i] = s.value(scope, &limits[i], n)
	}
	return out, nil
}

// value reads limit l's counter at now without charging it. The caller
// holds the lock.
func (s *memoryShard) value(scope string, l *Limit, now int64) int64 {
	if l.Period.Name != "" {
		return s.periodValue(scope, l.Key, l.Period.Name, now)
	}
	k := scopedKey{scope, l.Key}
	if l.Window == 0 {
		if d := s.days[k]; d != nil && d.day == dayOf(now) {
			return d.n
		}
		return 0
	}
	step := windowStep(l.Window)
	if w := s.windows[k]; w != nil && w.step == step {
		return w.value(floorDiv(now, step))
	}
	return 0
}

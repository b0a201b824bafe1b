package store

import (
	"context"
	"errors"
	"time"
)

// Reserve takes a slot in the pacing bucket p.Key (see gcra).
func (m *Memory) Reserve(_ context.Context, p Pace, now time.Time) (time.Duration, bool, time.Duration, error) {
	if p.Interval <= 0 {
		return 0, true, 0, nil
	}
	n := now.UnixNano()
	s := m.shard(p.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	m.sweepIfDue(s, n)
	tat, wait, ok := gcra(s.paces[p.Key], n, int64(p.Interval), max(p.Burst, 1), int64(p.MaxWait))
	if !ok {
		return 0, false, refusedRetryAfter(time.Duration(wait), p.MaxWait), nil
	}
	s.paces[p.Key] = tat
	return time.Duration(wait), true, 0, nil
}

// ClaimSecond claims the earliest free Unix second in [now, now+maxAhead]
// under key; claims older than ttl are forgotten.
func (m *Memory) ClaimSecond(_ context.Context, key string, now time.Time, maxAhead, ttl time.Duration) (int64, bool, error) {
	if err := validateClaimSecond(maxAhead, ttl); err != nil {
		return 0, false, err
	}
	n := now.UnixNano()
	sec := now.Unix()
	ttlSec := ceilSeconds(ttl)
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	m.sweepIfDue(s, n)
	c := s.seconds[key]
	if c == nil {
		c = &secondClaims{}
		s.seconds[key] = c
	}
	c.ttl = ttlSec
	drop := 0
	for drop < len(c.secs) && c.secs[drop] < sec-ttlSec {
		drop++
	}
	c.secs = append(c.secs[:0], c.secs[drop:]...)
	i := 0
	for i < len(c.secs) && c.secs[i] < sec {
		i++
	}
	last := sec + int64(maxAhead/time.Second)
	for cand := sec; cand <= last; cand++ {
		if i < len(c.secs) && c.secs[i] == cand {
			i++
			continue
		}
		c.secs = append(c.secs, 0)
		copy(c.secs[i+1:], c.secs[i:])
		c.secs[i] = cand
		return cand, true, nil
	}
	return 0, false, nil
}

// validateClaimSecond checks ClaimSecond's durations.
func validateClaimSecond(maxAhead, ttl time.Duration) error {
	if maxAhead < 0 {
		return errors.New("claiming signing second: negative max ahead")
	}
	if ttl <= 0 {
		return errors.New("claiming signing second: ttl must be positive")
	}
	return nil
}

// ceilSeconds is d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

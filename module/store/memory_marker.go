package store

import (
	"context"
	"errors"
	"time"
)

// ClaimMarker claims key: absent or expired, it becomes pending for
// pendingTTL and MarkerNew is returned; otherwise its state is.
func (m *Memory) ClaimMarker(_ context.Context, key string, pendingTTL time.Duration) (MarkerState, error) {
	if pendingTTL <= 0 {
		return 0, errors.New("claiming marker: pending ttl must be positive")
	}
	now := m.clock().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	m.sweepClockedIfDue(s, now)
	if mk, ok := s.markers[key]; ok && mk.expires > now {
		if mk.done {
			return MarkerDone, nil
		}
		return MarkerPending, nil
	}
	s.markers[key] = memoryMarker{expires: now + int64(pendingTTL)}
	return MarkerNew, nil
}

// ConfirmMarker makes key done for ttl, whatever it was.
func (m *Memory) ConfirmMarker(_ context.Context, key string, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("confirming marker: ttl must be positive")
	}
	now := m.clock().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markers[key] = memoryMarker{done: true, expires: now + int64(ttl)}
	return nil
}

// ReleaseMarker deletes key if it is pending.
func (m *Memory) ReleaseMarker(_ context.Context, key string) error {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if mk, ok := s.markers[key]; ok && !mk.done {
		delete(s.markers, key)
	}
	return nil
}

package store

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"time"
)

// memoryHold is a hold kept by a Memory store.
type memoryHold struct {
	data  []byte
	until int64 // Unix ms
}

// PlaceHold places a copy of data under the holds' lock. It drops every
// hold that has ended at now, so that the map holds only live ones and
// those not yet looked at since they ended.
func (m *Memory) PlaceHold(_ context.Context, key string, data []byte, now, until time.Time) (bool, error) {
	if err := validatePlaceHold(key, now, until); err != nil {
		return false, err
	}
	ms := now.UnixMilli()
	m.holdsMu.Lock()
	defer m.holdsMu.Unlock()
	m.dropEndedHolds(ms)
	if _, live := m.holds[key]; live {
		return false, nil
	}
	m.holds[key] = memoryHold{data: bytes.Clone(data), until: until.UnixMilli()}
	return true, nil
}

// Holds returns copies of the live holds, and drops those that have
// ended.
func (m *Memory) Holds(_ context.Context, now time.Time) ([]Hold, error) {
	if err := validateHolds(now); err != nil {
		return nil, err
	}
	m.holdsMu.Lock()
	defer m.holdsMu.Unlock()
	m.dropEndedHolds(now.UnixMilli())
	out := make([]Hold, 0, len(m.holds))
	for k, h := range m.holds {
		out = append(out, Hold{Key: k, Data: bytes.Clone(h.data), Until: time.UnixMilli(h.until)})
	}
	slices.SortFunc(out, func(a, b Hold) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// LiftHold deletes key's hold under the holds' lock.
func (m *Memory) LiftHold(_ context.Context, key string, now time.Time) (bool, error) {
	if err := validateLiftHold(key, now); err != nil {
		return false, err
	}
	m.holdsMu.Lock()
	defer m.holdsMu.Unlock()
	h, ok := m.holds[key]
	delete(m.holds, key)
	return ok && h.until > now.UnixMilli(), nil
}

// dropEndedHolds drops the holds that have ended at now (Unix ms). The
// caller holds holdsMu.
func (m *Memory) dropEndedHolds(now int64) {
	for k, h := range m.holds {
		if h.until <= now {
			delete(m.holds, k)
		}
	}
}

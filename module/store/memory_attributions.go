package store

import (
	"bytes"
	"context"
	"time"
)

// defaultMaxAttributions bounds the attributions a Memory store keeps: a
// sidecar sending steadily would otherwise hold days of them (their ttl).
// At about 350 bytes each with a 200-byte record, that is some 90 MB, as
// much as the default bound of idempotency records.
const defaultMaxAttributions = 250_000

// memoryAttribution is an attribution kept by a Memory store.
type memoryAttribution struct {
	data    []byte
	cost    int64
	expires int64  // Unix ns, on the store's clock
	seq     uint64 // the order attributions were made in, within the shard
}

// age is when the attribution expires, and when it was made.
func (a memoryAttribution) age() (expires int64, seq uint64) { return a.expires, a.seq }

// Attribute keeps a copy of each attribution, in the shard of its message
// id, until ttl has passed on the store's clock.
//
// The store keeps at most about 250,000 attributions (defaultMaxAttributions,
// shared evenly by the shards). A shard that is full drops its expired
// attributions and, if that is not enough, its oldest: a sixteenth of its
// share at once, so that the cost of making room is spread over many
// calls. A delivery report for a dropped message is not found.
func (m *Memory) Attribute(_ context.Context, attributions []Attribution, ttl time.Duration) error {
	if err := validateAttributions(attributions, ttl); err != nil {
		return err
	}
	now := m.clock().UnixNano()
	for i := range attributions {
		a := &attributions[i]
		s := m.shard(a.MessageID)
		s.mu.Lock()
		m.sweepClockedIfDue(s, now)
		if _, replaced := s.attributions[a.MessageID]; !replaced {
			makeRoom(s.attributions, m.maxAttributions/memoryShards, now)
		}
		s.attributionSeq++
		s.attributions[a.MessageID] = memoryAttribution{
			data:    bytes.Clone(a.Data),
			cost:    a.Cost,
			expires: now + int64(ttl),
			seq:     s.attributionSeq,
		}
		s.mu.Unlock()
	}
	return nil
}

// Reconcile sets the cost of a live attribution under the lock of its
// shard, and returns a copy of its data and its cost before.
func (m *Memory) Reconcile(_ context.Context, messageID string, cost int64) ([]byte, int64, bool, error) {
	if err := validateReconcile(messageID, cost); err != nil {
		return nil, 0, false, err
	}
	now := m.clock().UnixNano()
	s := m.shard(messageID)
	s.mu.Lock()
	defer s.mu.Unlock()
	m.sweepClockedIfDue(s, now)
	a, ok := s.attributions[messageID]
	if !ok || a.expires <= now {
		delete(s.attributions, messageID) // expired, and not yet swept
		return nil, 0, false, nil
	}
	previous := a.cost
	a.cost = cost
	s.attributions[messageID] = a
	return bytes.Clone(a.data), previous, true, nil
}

package webhook

import (
	"bytes"
	"fmt"

	"go.etcd.io/bbolt"
)

// pruneBatch bounds the dedup entries one pruning transaction deletes, so
// that pruning never holds the write lock long enough to delay Enqueue.
const pruneBatch = 1000

// dedupActive reports whether key was spooled and its window has not yet
// passed at nowN.
func dedupActive(tx *bbolt.Tx, key string, nowN int64) bool {
	v := tx.Bucket(bucketDedup).Get([]byte(key))
	return v != nil && int64(getUint64(v)) > nowN
}

// putDedup records key until expiry, replacing an expired entry (and its
// expiry index entry) not yet pruned.
func putDedup(tx *bbolt.Tx, key string, expiry int64) error {
	dedup := tx.Bucket(bucketDedup)
	index := tx.Bucket(bucketDedupExpiry)
	if old := dedup.Get([]byte(key)); old != nil {
		if err := index.Delete(expiryKey(int64(getUint64(old)), key)); err != nil {
			return err
		}
	}
	if err := dedup.Put([]byte(key), putUint64(uint64(expiry))); err != nil {
		return err
	}
	return index.Put(expiryKey(expiry, key), nil)
}

func expiryKey(expiry int64, key string) []byte {
	k := make([]byte, 8, 8+len(key))
	copy(k, putUint64(uint64(expiry)))
	return append(k, key...)
}

// PruneDedup deletes the de-duplication entries whose window has passed,
// in transactions of at most 1000 entries, and returns how many it
// deleted. The Deliverer calls it periodically; without it the index
// would grow with every event ever received.
func (s *Spool) PruneDedup() (int, error) {
	total := 0
	for {
		n, err := s.pruneDedupOnce(unixNanos(s.now()))
		total += n
		if err != nil {
			return total, fmt.Errorf("pruning webhook dedup index: %w", err)
		}
		if n < pruneBatch {
			return total, nil
		}
	}
}

func (s *Spool) pruneDedupOnce(nowN int64) (int, error) {
	n := 0
	err := s.writes.update(func(tx *bbolt.Tx) error {
		n = 0
		dedup := tx.Bucket(bucketDedup)
		index := tx.Bucket(bucketDedupExpiry)
		// Collect first: deleting under a moving cursor can skip keys.
		var expired [][]byte
		c := index.Cursor()
		for k, _ := c.First(); k != nil && len(expired) < pruneBatch; k, _ = c.Next() {
			if len(k) < 8 || int64(getUint64(k[:8])) > nowN {
				break
			}
			expired = append(expired, bytes.Clone(k))
		}
		for _, k := range expired {
			key := k[8:]
			if v := dedup.Get(key); v != nil && bytes.Equal(v, k[:8]) {
				if err := dedup.Delete(key); err != nil {
					return err
				}
			}
			if err := index.Delete(k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	return n, err
}

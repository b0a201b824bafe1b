package webhook

import (
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// WorkspaceStats describes one workspace's share of the spool.
type WorkspaceStats struct {
	// Pending is the number of events waiting for delivery.
	Pending int
	// OldestPending is when the oldest pending event was received; zero
	// when none is pending. Its age is how far behind the app is.
	OldestPending time.Time
	// DeadLetters is the number of dead-letter files. Files an operator
	// moves or deletes are recounted on the next IngestReplays.
	DeadLetters int
}

// Stats returns the spool's state per workspace: every workspace with
// pending events or dead letters, and workspaces that had events before.
// It reads a counter and one key per workspace, and no files, so it is
// cheap enough for every status request.
func (s *Spool) Stats() (map[string]WorkspaceStats, error) {
	out := make(map[string]WorkspaceStats)
	err := s.db.View(func(tx *bbolt.Tx) error {
		root := tx.Bucket(bucketWorkspaces)
		return root.ForEachBucket(func(name []byte) error {
			ws := root.Bucket(name)
			st := WorkspaceStats{Pending: int(getUint64(ws.Get(keyPending)))}
			if queue := ws.Bucket(bucketQueue); queue != nil {
				if k, _ := queue.Cursor().First(); len(k) >= 8 {
					st.OldestPending = time.Unix(0, int64(getUint64(k[:8]))).UTC()
				}
			}
			out[string(name)] = st
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading webhook spool stats: %w", err)
	}
	s.deadMu.Lock()
	for ws, n := range s.deadCounts {
		if n == 0 {
			continue
		}
		st := out[ws]
		st.DeadLetters = n
		out[ws] = st
	}
	s.deadMu.Unlock()
	return out, nil
}

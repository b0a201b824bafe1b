package webhook

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// The spool's layout in bbolt:
//
//	meta/version                  schema version
//	events/<id>                   record (JSON)
//	workspaces/<name>/pending     number of pending events (uint64)
//	workspaces/<name>/queue/<received><seq> -> <next attempt><id>
//	dedup/<dedup key>             expiry (unix nanoseconds)
//	dedup_expiry/<expiry><dedup key>
//
// The queue is ordered by receipt, so the oldest due event is found
// without sorting, and its first key gives the oldest pending event for
// Stats. The next-attempt time sits in the queue value so that events
// waiting for a retry are skipped without decoding their records.
var (
	bucketMeta        = []byte("meta")
	bucketEvents      = []byte("events")
	bucketWorkspaces  = []byte("workspaces")
	bucketQueue       = []byte("queue")
	bucketDedup       = []byte("dedup")
	bucketDedupExpiry = []byte("dedup_expiry")
	keyVersion        = []byte("version")
	keyPending        = []byte("pending")
)

// spoolVersion is the layout above. A spool written by a newer layout is
// refused rather than misread.
const spoolVersion = 1

// record is an Event as stored in the events bucket.
type record struct {
	ID          string `json:"id"`
	Workspace   string `json:"workspace"`
	WorkspaceID int64  `json:"workspace_id,omitempty"`
	Type        string `json:"type"`
	ContentType string `json:"content_type,omitempty"`
	Received    int64  `json:"received"`
	Attempts    int    `json:"attempts"`
	NextAttempt int64  `json:"next_attempt"`
	LastError   string `json:"last_error,omitempty"`
	DedupKey    string `json:"dedup_key"`
	Seq         uint64 `json:"seq"`
	Body        []byte `json:"body"`
}

func recordOf(ev *Event) *record {
	return &record{
		ID:          ev.ID,
		Workspace:   ev.Workspace,
		WorkspaceID: ev.WorkspaceID,
		Type:        ev.Type,
		ContentType: ev.ContentType,
		Received:    unixNanos(ev.Received),
		Attempts:    ev.Attempts,
		NextAttempt: unixNanos(ev.NextAttempt),
		LastError:   ev.LastError,
		DedupKey:    ev.DedupKey,
		Body:        ev.Body,
	}
}

func (r *record) event() *Event {
	return &Event{
		ID:          r.ID,
		Workspace:   r.Workspace,
		WorkspaceID: r.WorkspaceID,
		Type:        r.Type,
		ContentType: r.ContentType,
		Received:    time.Unix(0, r.Received).UTC(),
		Attempts:    r.Attempts,
		NextAttempt: time.Unix(0, r.NextAttempt).UTC(),
		LastError:   r.LastError,
		DedupKey:    r.DedupKey,
		Body:        r.Body,
	}
}

// decodeRecord copies what it needs: v belongs to bbolt and is valid only
// during the transaction.
func decodeRecord(v []byte) (*record, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decoding spooled event: %w", err)
	}
	return &r, nil
}

// queueKey orders a workspace's queue by receipt; seq breaks ties.
func (r *record) queueKey() []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(r.Received))
	binary.BigEndian.PutUint64(k[8:], r.Seq)
	return k
}

func (r *record) queueValue() []byte {
	v := make([]byte, 8+len(r.ID))
	binary.BigEndian.PutUint64(v, uint64(r.NextAttempt))
	copy(v[8:], r.ID)
	return v
}

// unixNanos maps t to non-negative nanoseconds, so that big-endian keys
// sort in time order.
func unixNanos(t time.Time) int64 {
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return n
}

func putUint64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getUint64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

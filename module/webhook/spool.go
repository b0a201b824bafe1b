package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SpoolOptions tune a Spool. The zero value is ready to use.
type SpoolOptions struct {
	// OpenTimeout bounds the wait for the spool file's lock, held by any
	// other process that has the spool open. Default: 5 s.
	OpenTimeout time.Duration

	// Now is the spool's clock, for tests of the spool alone (the
	// Deliverer schedules with the real clock). Default: time.Now.
	Now func() time.Time
}

// Defaults of SpoolOptions.
const (
	DefaultOpenTimeout = 5 * time.Second
)

// Files and directories of a spool directory.
const (
	spoolFile = "spool.db"
	deadDir   = "dead"
	replayDir = "replay"
	dirMode   = 0o700
	fileMode  = 0o600
)

// maxReasonLength bounds the LastError kept per event.
const maxReasonLength = 512

// ErrNotFound is returned by Complete, Retry and DeadLetter for an event
// that is not pending (already completed, dead-lettered, or unknown).
var ErrNotFound = errors.New("webhook event not pending")

// Spool is a durable queue of webhook events on local disk: a bbolt file,
// spool.db, plus directories of dead letters and replay requests, all
// under one directory. Its methods are safe for concurrent use. Only one
// process can have a spool open at a time; the dead-letter functions
// (DeadLetters, RequestReplay) work on the directory without opening it.
type Spool struct {
	dir    string
	db     *bbolt.DB
	writes *committer // the writes of Enqueue, Complete, Retry, DeadLetter
	now    func() time.Time

	// notify, set by the Deliverer, is called with the workspace of each
	// newly spooled event, so that delivery starts without a poll delay.
	notify atomic.Pointer[func(workspace string)]

	replayMu sync.Mutex // one IngestReplays at a time

	deadMu     sync.Mutex
	deadCounts map[string]int // dead-letter files per workspace
}

// OpenSpool opens the spool in dir, creating dir (mode 0700) and
// dir/spool.db (mode 0600) if needed; an existing dir keeps its mode. It fails after opts.OpenTimeout
// when another process holds the spool. Replay requests waiting in
// dir/replay are ingested before it returns, as far as they can be;
// IngestReplays reports any that could not.
func OpenSpool(dir string, opts SpoolOptions) (*Spool, error) {
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = DefaultOpenTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, d := range []string{dir, filepath.Join(dir, deadDir), filepath.Join(dir, replayDir)} {
		if err := os.MkdirAll(d, dirMode); err != nil {
			return nil, fmt.Errorf("opening webhook spool: %w", err)
		}
	}
	path := filepath.Join(dir, spoolFile)
	// The free-page list is not written on each commit but rebuilt when
	// the file is opened: fewer pages per fsync, the same durability, and
	// an open that reads the whole file (fast at spool sizes).
	db, err := bbolt.Open(path, fileMode, &bbolt.Options{
		Timeout:        opts.OpenTimeout,
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening webhook spool %s: locked by another process after waiting %s: %w", path, opts.OpenTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening webhook spool %s: %w", path, err)
	}
	if err := db.Update(initBuckets); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening webhook spool %s: %w", path, err)
	}
	s := &Spool{dir: dir, db: db, writes: newCommitter(db), now: opts.Now}
	// Also counts the dead letters. Its failures recur on the Deliverer's
	// maintenance runs, which report them.
	_, _ = s.IngestReplays()
	return s, nil
}

func initBuckets(tx *bbolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if v := meta.Get(keyVersion); v != nil {
		if got := getUint64(v); got != spoolVersion {
			return fmt.Errorf("spool layout version %d is not supported (want %d)", got, spoolVersion)
		}
	} else if err := meta.Put(keyVersion, putUint64(spoolVersion)); err != nil {
		return err
	}
	for _, name := range [][]byte{bucketEvents, bucketWorkspaces, bucketDedup, bucketDedupExpiry} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Close commits the writes in progress and closes the spool file. Stop
// the Deliverer using the spool first.
func (s *Spool) Close() error {
	s.writes.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing webhook spool: %w", err)
	}
	return nil
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Enqueue spools ev as a pending event, due now, unless it is a
// duplicate: its dedup key was spooled less than dedupFor ago, or an
// event with its id is still pending. The check and the write are one
// transaction, and Enqueue returns only once that transaction is synced
// to disk: after a nil error, the event survives a crash or power loss.
// Concurrent calls share a transaction and its fsync.
//
// Enqueue fills in ev's DedupKey (when empty), ID, Received (when zero),
// NextAttempt (now), Attempts (0) and LastError (""). dedupFor <= 0
// turns the window off; a pending event with the same id is still a
// duplicate. The window that applies to a key is the one given when the
// key was spooled.
func (s *Spool) Enqueue(ev *Event, dedupFor time.Duration) (duplicate bool, err error) {
	if err := ev.validate(); err != nil {
		return false, fmt.Errorf("spooling webhook event: %w", err)
	}
	now := s.now()
	if ev.DedupKey == "" {
		ev.DedupKey = DedupKey(ev.Workspace, ev.Type, ev.Body)
	}
	ev.ID = EventID(ev.DedupKey)
	if ev.Received.IsZero() {
		ev.Received = now
	}
	ev.Attempts, ev.NextAttempt, ev.LastError = 0, now, ""
	rec := recordOf(ev)
	nowN := unixNanos(now)
	err = s.writes.update(func(tx *bbolt.Tx) error {
		// This function may run more than once: decide afresh.
		duplicate = false
		if dedupFor > 0 && dedupActive(tx, rec.DedupKey, nowN) {
			duplicate = true
			return nil
		}
		if tx.Bucket(bucketEvents).Get([]byte(rec.ID)) != nil {
			duplicate = true
			return nil
		}
		if err := putNew(tx, rec); err != nil {
			return err
		}
		if dedupFor > 0 {
			return putDedup(tx, rec.DedupKey, nowN+int64(dedupFor))
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("spooling webhook event for workspace %q: %w", ev.Workspace, err)
	}
	if !duplicate {
		s.wake(ev.Workspace)
	}
	return duplicate, nil
}

// putNew stores a new pending record: the record, its queue entry and
// the workspace's pending count.
func putNew(tx *bbolt.Tx, rec *record) error {
	ws, err := tx.Bucket(bucketWorkspaces).CreateBucketIfNotExists([]byte(rec.Workspace))
	if err != nil {
		return err
	}
	queue, err := ws.CreateBucketIfNotExists(bucketQueue)
	if err != nil {
		return err
	}
	if rec.Seq, err = queue.NextSequence(); err != nil {
		return err
	}
	if err := putRecord(tx, rec); err != nil {
		return err
	}
	if err := queue.Put(rec.queueKey(), rec.queueValue()); err != nil {
		return err
	}
	return ws.Put(keyPending, putUint64(getUint64(ws.Get(keyPending))+1))
}

func putRecord(tx *bbolt.Tx, rec *record) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketEvents).Put([]byte(rec.ID), v)
}

// getRecord returns the pending record with id, or ErrNotFound.
func getRecord(tx *bbolt.Tx, id string) (*record, error) {
	v := tx.Bucket(bucketEvents).Get([]byte(id))
	if v == nil {
		return nil, ErrNotFound
	}
	return decodeRecord(v)
}

// removeRecord deletes a pending record with its queue entry.
func removeRecord(tx *bbolt.Tx, rec *record) error {
	if err := tx.Bucket(bucketEvents).Delete([]byte(rec.ID)); err != nil {
		return err
	}
	ws := tx.Bucket(bucketWorkspaces).Bucket([]byte(rec.Workspace))
	if ws == nil {
		return nil
	}
	if queue := ws.Bucket(bucketQueue); queue != nil {
		if err := queue.Delete(rec.queueKey()); err != nil {
			return err
		}
	}
	if n := getUint64(ws.Get(keyPending)); n > 0 {
		return ws.Put(keyPending, putUint64(n-1))
	}
	return nil
}

// Due returns up to max pending events of workspace whose next attempt is
// at or before now, oldest received first. Events waiting for a retry
// are skipped, so an event that keeps failing does not hold back the
// ones behind it; each costs a key read, not a decode. The events are
// copies the caller may keep.
func (s *Spool) Due(workspace string, now time.Time, max int) ([]*Event, error) {
	if max <= 0 {
		return nil, nil
	}
	nowN := uint64(unixNanos(now))
	var out []*Event
	err := s.db.View(func(tx *bbolt.Tx) error {
		ws := tx.Bucket(bucketWorkspaces).Bucket([]byte(workspace))
		if ws == nil {
			return nil
		}
		queue := ws.Bucket(bucketQueue)
		if queue == nil {
			return nil
		}
		events := tx.Bucket(bucketEvents)
		c := queue.Cursor()
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			if len(v) < 8 || getUint64(v[:8]) > nowN {
				continue
			}
			raw := events.Get(v[8:])
			if raw == nil {
				continue // cannot happen: queue and events change together
			}
			rec, err := decodeRecord(raw)
			if err != nil {
				return err
			}
			out = append(out, rec.event())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading due webhook events for workspace %q: %w", workspace, err)
	}
	return out, nil
}

// Complete removes a delivered event from the spool.
func (s *Spool) Complete(id string) error {
	err := s.writes.update(func(tx *bbolt.Tx) error {
		rec, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		return removeRecord(tx, rec)
	})
	if err != nil {
		return fmt.Errorf("completing webhook event %s: %w", id, err)
	}
	return nil
}

// Retry records a failed attempt: Attempts goes up by one, the event is
// next due at next, and reason (truncated to 512 bytes) becomes its
// LastError. reason must hold no body or secret.
func (s *Spool) Retry(id string, next time.Time, reason string) error {
	nextN := unixNanos(next)
	reason = truncate(reason, maxReasonLength)
	err := s.writes.update(func(tx *bbolt.Tx) error {
		rec, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		rec.Attempts++
		rec.NextAttempt = nextN
		rec.LastError = reason
		if err := putRecord(tx, rec); err != nil {
			return err
		}
		ws := tx.Bucket(bucketWorkspaces).Bucket([]byte(rec.Workspace))
		if ws == nil || ws.Bucket(bucketQueue) == nil {
			return fmt.Errorf("queue of workspace %q is missing", rec.Workspace)
		}
		return ws.Bucket(bucketQueue).Put(rec.queueKey(), rec.queueValue())
	})
	if err != nil {
		return fmt.Errorf("rescheduling webhook event %s: %w", id, err)
	}
	return nil
}

// wake tells the Deliverer, if any, that workspace has a new event.
func (s *Spool) wake(workspace string) {
	if fn := s.notify.Load(); fn != nil {
		(*fn)(workspace)
	}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

package ledger

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/durable"
)

// How the writer batches and keeps up.
const (
	// syncDelay bounds how long a write nobody waits for (a settlement,
	// an adjustment) may stay unsynced when no reservation comes to
	// sync it, unless Options.SyncEvery says otherwise. It is in the
	// page cache meanwhile, so only a power loss (not a crash of the
	// sidecar) could lose it.
	syncDelay = 100 * time.Millisecond
	// maintainEvery is how often the writer checks whether a new day
	// has begun, to delete expired segments even when nothing is
	// written.
	maintainEvery = time.Hour
)

// writer appends lines to the segment of the current day with group
// commit: one goroutine (run) writes whatever lines were added while it
// was busy with the previous batch, in one write and at most one fsync.
// Concurrent reservations thus share an fsync, and a lone one waits for
// no timer. A batch is synced when some caller waits for it (a
// reservation); lines nobody waits for are written at once and synced
// with the next batch that is, or after syncDelay. Lines reach the file
// in the order they were added, so a synced line makes every line added
// before it durable too.
type writer struct {
	dir       string
	tz        *time.Location
	now       func() time.Time
	retention time.Duration
	// lazy: reservations wait for their write, not its sync, which
	// follows within delay (Options.SyncEvery); delay is syncDelay
	// otherwise.
	lazy  bool
	delay time.Duration

	mu       sync.Mutex
	cur      *batch // the lines added since the last write
	closed   bool
	err      error // the first failure to write or sync: every later write fails with it
	maintErr error // the last failure to delete expired segments, nil once one succeeds

	kick     chan struct{} // capacity 1: a batch is waiting
	done     chan struct{} // closed when run has returned
	closeErr error         // what the last write and sync returned, read after done

	// Owned by run.
	f     *os.File
	day   string // f's day
	dirty bool   // f has writes not yet synced
	kept  string // the day expired segments were last deleted
	spare []byte // the buffer of the batch last written, for reuse

	syncs atomic.Int64 // fsyncs of segments, read by the benchmarks
}

// batch is the lines of one write. Its done is closed once they are
// written, and synced if wait is set; err is set before.
type batch struct {
	buf  []byte
	wait bool
	done chan struct{}
	err  error
}

func newWriter(dir string, tz *time.Location, now func() time.Time, retention time.Duration, kept string, syncEvery time.Duration) *writer {
	w := &writer{
		dir: dir, tz: tz, now: now, retention: retention, kept: kept, lazy: syncEvery > 0, delay: syncDelay,
		cur:  &batch{done: make(chan struct{})},
		kick: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	if w.lazy {
		w.delay = syncEvery
	}
	go w.run()
	return w
}

// add queues line (newline included) for the next write and returns its
// batch. With wait, the batch is synced before its done is closed.
func (w *writer) add(line []byte, wait bool) (*batch, error) {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return nil, w.err
	}
	if w.closed {
		w.mu.Unlock()
		return nil, ErrClosed
	}
	b := w.cur
	b.buf = append(b.buf, line...)
	b.wait = b.wait || (wait && !w.lazy)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
	return b, nil
}

// failure returns the write failure that stopped the writer, and else the
// last failure to delete expired segments.
func (w *writer) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	return w.maintErr
}

// close writes and syncs every line added before it, closes the segment
// and stops the writer. Lines added later are refused with ErrClosed.
func (w *writer) close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
	<-w.done
	return w.closeErr
}

func (w *writer) run() {
	defer close(w.done)
	timer := time.NewTimer(w.delay)
	timer.Stop()
	armed := false
	tick := time.NewTicker(maintainEvery)
	defer tick.Stop()
	for {
		select {
		case <-w.kick:
		case <-timer.C:
			armed = false
			if w.dirty && w.err == nil {
				w.sync() // a failure is kept in w.err
			}
			continue
		case <-tick.C:
			w.maintain()
			continue
		}
		w.mu.Lock()
		b, closing := w.cur, w.closed
		w.cur = &batch{buf: w.spare[:0], done: make(chan struct{})}
		w.mu.Unlock()
		b.wait = b.wait || closing
		b.err = w.write(b)
		w.spare, b.buf = b.buf, nil
		close(b.done)
		switch {
		case closing:
			w.closeErr = b.err
			if w.f != nil {
				if err := w.f.Close(); w.closeErr == nil {
					w.closeErr = err
				}
			}
			return
		case w.dirty && !armed:
			timer.Reset(w.delay)
			armed = true
		case !w.dirty && armed:
			timer.Stop()
			armed = false
		}
	}
}

// write appends a batch to the current day's segment, and syncs it when
// someone waits for it.
func (w *writer) write(b *batch) error {
	if w.err != nil {
		return w.err
	}
	if len(b.buf) > 0 {
		if err := w.openSegment(); err != nil {
			return err
		}
		if _, err := w.f.Write(b.buf); err != nil {
			return w.fail(fmt.Errorf("writing ledger segment %s: %w", w.f.Name(), err))
		}
		w.dirty = true
	}
	if b.wait && w.dirty {
		return w.sync()
	}
	return nil
}

// openSegment makes f the segment of the current day: on a new day, it
// syncs and closes the previous day's, opens (creating) the new one and
// deletes expired segments.
func (w *writer) openSegment() error {
	day, _ := periods(w.now(), w.tz)
	if w.f != nil && day == w.day {
		return nil
	}
	if w.f != nil {
		if w.dirty {
			if err := w.sync(); err != nil {
				return err
			}
		}
		w.f.Close()
		w.f = nil
	}
	path := segmentPath(w.dir, day)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, fileMode)
	created := err == nil
	if errors.Is(err, fs.ErrExist) {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	}
	if err == nil && created {
		err = durable.SyncDir(w.dir)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return w.fail(fmt.Errorf("opening ledger segment %s: %w", path, err))
	}
	w.f, w.day = f, day
	w.maintain()
	return nil
}

// sync syncs the current segment.
func (w *writer) sync() error {
	w.syncs.Add(1)
	if err := w.f.Sync(); err != nil {
		return w.fail(fmt.Errorf("syncing ledger segment %s: %w", w.f.Name(), err))
	}
	w.dirty = false
	return nil
}

// fail stops the writer: after a failed write or fsync, what is on disk
// is unknown (a failed fsync may have dropped the pages it was to
// write), so no later write can be promised durable.
func (w *writer) fail(err error) error {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	err = w.err
	w.mu.Unlock()
	return err
}

// maintain deletes expired segments, once a day.
func (w *writer) maintain() {
	now := w.now()
	today, _ := periods(now, w.tz)
	if w.retention <= 0 || today == w.kept {
		return
	}
	err := removeExpired(w.dir, now, w.tz, w.retention)
	w.mu.Lock()
	w.maintErr = err
	w.mu.Unlock()
	if err == nil {
		w.kept = today
	}
}

// removeExpired deletes the segments of days before the day retention
// ago began.
func removeExpired(dir string, now time.Time, tz *time.Location, retention time.Duration) error {
	cutoff, _ := periods(now.Add(-retention), tz)
	if err := removeSegmentsBefore(dir, cutoff); err != nil {
		return fmt.Errorf("deleting expired ledger segments: %w", err)
	}
	return nil
}

package ledger

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Options tune a Ledger. The zero value is ready to use.
type Options struct {
	// Timezone is where budget days and months begin, and which day
	// names a segment. Default: UTC.
	Timezone *time.Location

	// Retention is how long segments are kept: at Open and then daily,
	// the segments of days before the day Retention ago are deleted.
	// Zero keeps every segment. Otherwise it must be at least
	// MinRetention, so that Open still finds the current month.
	Retention time.Duration

	// DuplicateWindow is how long, in whole days, Adjust recognises a
	// report it already took (the same message id and status), across
	// restarts too. Keep it at least as long as messages are attributed
	// to tenants. Default: 8 days; at most MaxDuplicateWindow.
	DuplicateWindow time.Duration

	// OpenTimeout bounds the wait for the directory's lock, held by any
	// other process that has the ledger open. Default: 5 s.
	OpenTimeout time.Duration

	// RecallMessages makes Open remember the messages of the charged
	// sends it replays from the last RecallMessages of days, with their
	// cost as now recognized, for Messages: what a sidecar that keeps
	// message attributions in memory restores after a restart. Zero:
	// none.
	RecallMessages time.Duration

	// SyncEvery trades durability against a machine crash for an fsync
	// per reservation. Zero (the default): Reserve returns once its line
	// is synced to disk (group-committed with concurrent reservations).
	// Positive: Reserve returns once its line is written to the operating
	// system, which keeps it through a crash of the process, and the
	// lines are synced at most SyncEvery later; a crash of the machine
	// (power loss, kernel panic) may lose the records of the last
	// SyncEvery. At most MaxSyncEvery.
	SyncEvery time.Duration

	// Now is the ledger's clock. Default: time.Now.
	Now func() time.Time
}

// Defaults and bounds of Options.
const (
	DefaultDuplicateWindow = 8 * 24 * time.Hour
	MaxDuplicateWindow     = 31 * 24 * time.Hour
	MinRetention           = 32 * 24 * time.Hour
	DefaultOpenTimeout     = 5 * time.Second
	MaxSyncEvery           = time.Second
)

// lockPoll is how often Open tries the lock again while another process
// holds it.
const lockPoll = 50 * time.Millisecond

// Errors of the ledger's methods, for errors.Is.
var (
	// ErrClosed: the ledger was closed.
	ErrClosed = errors.New("ledger is closed")
	// ErrLocked: another process has the ledger directory open.
	ErrLocked = errors.New("ledger directory is locked by another process")
	// ErrReserved: Reserve was given the id of a send reserved and not
	// yet settled.
	ErrReserved = errors.New("send is already reserved")
	// ErrNotReserved: Settle was given the id of a send that has no open
	// reservation (never reserved, or already settled).
	ErrNotReserved = errors.New("send has no open reservation")
	// ErrTornLine: the last line of a segment was cut off by a crash in
	// the middle of a write. Nobody was told it was written.
	ErrTornLine = errors.New("last line is incomplete (a crash cut off its write)")
	// ErrLongLine: a line is longer than any record can be.
	ErrLongLine = errors.New("line is too long to be a record")
)

// LineError is a line of a segment that could not be used.
type LineError struct {
	// File is the segment's path, Line the line's number from 1.
	File string
	Line int
	Err  error
}

// Error names the file and line.
func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns the reason the line could not be used.
func (e *LineError) Unwrap() error { return e.Err }

// Recovery is what Open found in the segments it replayed.
type Recovery struct {
	// Segments and Records count the segments replayed and the records
	// they held.
	Segments, Records int
	// Unsettled are the ids of the reservations that no settlement
	// followed: a crash cut their sends off. Open settled each as
	// Unknown, so they stay spent.
	Unsettled []string
	// Problems are the lines Open could not use, each a *LineError: a
	// corrupt record, skipped, or the incomplete last line of a segment
	// (ErrTornLine), removed from the file.
	Problems []error
}

// Spend is a tenant's spend in a day and in its month, in micro-units of
// the account's currency: charges, adjustments, and the estimates of
// sends not settled or whose outcome is unknown.
type Spend struct {
	DayMicros   int64
	MonthMicros int64
}

// Spending is every tenant's Spend in the current day and month.
type Spending struct {
	// Day (YYYY-MM-DD) and Month (YYYY-MM) are the current periods, in
	// the ledger's timezone.
	Day, Month string
	// Tenants holds every tenant with a record counting against Month.
	Tenants map[string]Spend
}

// Ledger is the durable record of a sidecar's sends and spend: segments
// of JSON lines in one directory, which this process alone writes. Its
// methods are safe for concurrent use.
type Ledger struct {
	dir       string
	tz        *time.Location
	now       func() time.Time
	dupDays   int
	lock      *os.File
	w         *writer
	recovered Recovery

	// mu guards book, and orders the lines given to w as the changes to
	// book, so that replay makes the same changes in the same order.
	mu   sync.Mutex
	book *book

	closeOnce sync.Once
	closeErr  error

	// recalled are the messages replay recalls (Options.RecallMessages),
	// by id, from the sends of days from recallSince on; nil: none.
	recalled    map[string]MessageCost
	recallSince string
}

// MessageCost is a message of a charged send, as Open recalled it: whose
// it is, where it counts, and its cost as now recognized (its share of
// its send's charge, or its latest delivery report's cost).
type MessageCost struct {
	ID, Tenant, Workspace, Country, Day, Currency string
	CostMicros                                    int64
}

// RecalledMessages returns the messages Open recalled
// (Options.RecallMessages), in no order, and forgets them.
func (l *Ledger) RecalledMessages() []MessageCost {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]MessageCost, 0, len(l.recalled))
	for _, m := range l.recalled {
		out = append(out, m)
	}
	l.recalled = nil
	return out
}

// Open opens the ledger in dir, creating dir (mode 0700) if needed, and
// takes its lock: a second process opening dir waits up to
// opts.OpenTimeout, then fails with ErrLocked. It deletes expired
// segments, then replays the segments of the current month (and of the
// last days the duplicate window covers) to rebuild each tenant's spend
// and the reports taken, and settles as Unknown every reservation no
// settlement followed (see Recovery). Those settlements are synced before
// Open returns.
func Open(dir string, opts Options) (*Ledger, error) {
	if opts.Timezone == nil {
		opts.Timezone = time.UTC
	}
	if opts.DuplicateWindow <= 0 {
		opts.DuplicateWindow = DefaultDuplicateWindow
	}
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = DefaultOpenTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DuplicateWindow > MaxDuplicateWindow {
		return nil, fmt.Errorf("opening ledger %s: duplicate window %s is longer than %s", dir, opts.DuplicateWindow, MaxDuplicateWindow)
	}
	if opts.Retention > 0 && opts.Retention < MinRetention {
		return nil, fmt.Errorf("opening ledger %s: retention %s is shorter than %s", dir, opts.Retention, MinRetention)
	}
	if opts.SyncEvery < 0 || opts.SyncEvery > MaxSyncEvery {
		return nil, fmt.Errorf("opening ledger %s: sync every %s is outside 0 to %s", dir, opts.SyncEvery, MaxSyncEvery)
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("opening ledger: %w", err)
	}
	lock, err := lockDir(dir, opts.OpenTimeout)
	if err != nil {
		return nil, fmt.Errorf("opening ledger %s: %w", dir, err)
	}
	l := &Ledger{
		dir:     dir,
		tz:      opts.Timezone,
		now:     opts.Now,
		dupDays: int((opts.DuplicateWindow + 24*time.Hour - 1) / (24 * time.Hour)),
		lock:    lock,
		book:    newBook(),
	}
	now := l.now()
	today, _ := periods(now, l.tz)
	if opts.RecallMessages > 0 {
		l.recalled = make(map[string]MessageCost)
		l.recallSince = addDays(today, -int((opts.RecallMessages+24*time.Hour-1)/(24*time.Hour)))
	}
	kept := ""
	if opts.Retention > 0 {
		if err := removeExpired(dir, now, l.tz, opts.Retention); err != nil {
			lock.Close()
			return nil, fmt.Errorf("opening ledger %s: %w", dir, err)
		}
		kept = today
	}
	if err := l.replay(l.replayFrom(today)); err != nil {
		lock.Close()
		return nil, fmt.Errorf("opening ledger %s: %w", dir, err)
	}
	l.w = newWriter(dir, l.tz, l.now, opts.Retention, kept, opts.SyncEvery)
	if err := l.settleUnsettled(); err != nil {
		l.Close()
		return nil, fmt.Errorf("opening ledger %s: %w", dir, err)
	}
	return l, nil
}

// lockDir takes the exclusive lock of the ledger in dir, trying until
// timeout.
func lockDir(dir string, timeout time.Duration) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if ok {
			return f, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w (waited %s for %s)", ErrLocked, timeout, path)
		}
		time.Sleep(lockPoll)
	}
}

// replayFrom returns the first day Open replays: the first of the month,
// or earlier to take in yesterday (whose reservations a crash at
// midnight may have left unsettled) and the reports of the duplicate
// window.
func (l *Ledger) replayFrom(today string) string {
	return min(firstOfMonth(today), addDays(today, -1), addDays(today, -l.dupDays))
}

// settleUnsettled settles as Unknown the reservations replay left open,
// and waits until those settlements are synced.
func (l *Ledger) settleUnsettled() error {
	l.mu.Lock()
	ids := make([]string, 0, len(l.book.open))
	for id := range l.book.open {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var last *batch
	for _, id := range ids {
		s := Settlement{ID: id, Time: l.now().UTC(), Outcome: Unknown}
		line, err := appendSettleLine(make([]byte, 0, lineCap), &s)
		if err == nil {
			last, err = l.w.add(line, true)
		}
		if err != nil {
			l.mu.Unlock()
			return fmt.Errorf("settling send %q as unknown: %w", id, err)
		}
		l.book.settle(l.book.open[id], &s)
	}
	l.mu.Unlock()
	l.recovered.Unsettled = ids
	if last == nil {
		return nil
	}
	<-last.done
	if last.err != nil {
		return fmt.Errorf("settling %d sends as unknown: %w", len(ids), last.err)
	}
	return nil
}

// Close writes and syncs every record written before it, and releases
// the directory's lock. Later writes fail with ErrClosed.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		if err := l.w.close(); err != nil {
			l.closeErr = fmt.Errorf("closing ledger %s: %w", l.dir, err)
		}
		l.lock.Close()
	})
	return l.closeErr
}

// Recovery returns what Open found in the segments it replayed.
func (l *Ledger) Recovery() Recovery { return l.recovered }

// Err returns why the ledger stopped writing, nil while it writes: after
// a write or an fsync fails, every later write fails with that error,
// and only reopening the ledger (which replays what the disk holds)
// resumes writing. While it writes, Err returns the last failure to
// delete expired segments, if the last attempt failed.
func (l *Ledger) Err() error { return l.w.failure() }

// Spent returns every tenant's spend in the current day and month, by
// the ledger's clock.
func (l *Ledger) Spent() Spending {
	day, month := periods(l.now(), l.tz)
	out := Spending{Day: day, Month: month, Tenants: make(map[string]Spend)}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(day)
	for tenant := range l.book.spend {
		if d, m, ok := l.book.spent(tenant, day, month); ok {
			out.Tenants[tenant] = Spend{DayMicros: d, MonthMicros: m}
		}
	}
	return out
}

// prune lets the book forget, once a day, what today no longer needs.
// l.mu is held.
func (l *Ledger) prune(today string) {
	if today != l.book.pruned {
		l.book.prune(today, addDays(today, -l.dupDays))
	}
}

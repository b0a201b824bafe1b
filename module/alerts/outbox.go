package alerts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"
)

// RememberDelivered is how long an Outbox remembers, at least, the id of
// an alert it delivered, to ignore an Add of it: longer than any period
// an id names. Ids are forgotten as later alerts are delivered, so that
// memory stays bounded, and not kept across Open: an alert added again
// after a restart is delivered again, and the receiver de-duplicates
// it.
const RememberDelivered = 32 * 24 * time.Hour

// ErrClosed is the error of Add on a closed Outbox.
var ErrClosed = errors.New("alert outbox is closed")

// Outbox delivers spend alerts to the alert receiver at least once: a
// directory of pending alerts, and one goroutine that POSTs them. Its
// methods are safe for concurrent use.
type Outbox struct {
	dir            string
	url            string
	client         *http.Client
	ownClient      bool          // client is the default one, closed by Close
	attemptTimeout time.Duration // bounds an attempt when the client has no Timeout
	minBackoff     time.Duration
	maxBackoff     time.Duration
	now            func() time.Time
	sleep          func(ctx context.Context, d time.Duration) bool
	recovered      Recovery

	// addMu makes Adds one at a time, from the check of an id to its
	// file in the queue: one id is never written twice.
	addMu sync.Mutex

	// mu guards what follows, which Add and the delivering goroutine
	// share.
	mu        sync.Mutex
	queue     []*entry        // pending, in order added; queue[0] is the one being delivered
	pending   map[string]bool // the ids in queue
	delivered map[string]bool // the ids delivered, until forget drops them
	forget    []remembered    // delivered's ids, oldest first
	nextSeq   uint64          // the seq of the next file
	closed    bool
	stats     Stats

	wake   chan struct{} // capacity 1: an alert was added
	cancel context.CancelFunc
	done   chan struct{} // closed when the delivering goroutine returns
	once   sync.Once
}

// remembered is the id of an alert delivered, and when.
type remembered struct {
	id string
	at time.Time
}

// Open opens the outbox in dir, creating dir (mode 0700) if needed. It
// queues the alerts an earlier run left pending, in the order they were
// added, removes stray temporary files, and reports the files it could
// not use in Recovery rather than failing. Then it starts delivering.
// It fails if opts are invalid or dir cannot be created or read; the
// error never quotes opts.URL.
func Open(dir string, opts Options) (*Outbox, error) {
	return open(dir, opts, sleep)
}

// open is Open with the wait between attempts given, for tests.
func open(dir string, opts Options, sleep func(context.Context, time.Duration) bool) (*Outbox, error) {
	ownClient := opts.Client == nil
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("opening alert outbox: %w", err)
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("opening alert outbox: %w", err)
	}
	queue, next, rec, err := load(dir)
	if err != nil {
		return nil, fmt.Errorf("opening alert outbox %s: %w", dir, err)
	}
	o := &Outbox{
		dir:        dir,
		url:        opts.URL,
		client:     opts.Client,
		ownClient:  ownClient,
		minBackoff: opts.MinBackoff,
		maxBackoff: opts.MaxBackoff,
		now:        opts.Now,
		sleep:      sleep,
		recovered:  rec,
		queue:      queue,
		pending:    make(map[string]bool, len(queue)),
		delivered:  make(map[string]bool),
		nextSeq:    next,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
	if opts.Client.Timeout <= 0 {
		o.attemptTimeout = DefaultTimeout
	}
	for _, e := range queue {
		o.pending[e.id] = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	go o.run(ctx)
	return o, nil
}

// Recovery returns what Open found in the directory.
func (o *Outbox) Recovery() Recovery { return o.recovered }

// Add queues an alert for delivery, and returns once it is durable: its
// file is written, synced, and the directory synced, so that it is
// delivered even if the process ends now. An alert with a zero At is
// dated now. Adding the id of an alert pending, or delivered since Open
// (within RememberDelivered), changes nothing and returns nil. Add refuses
// an invalid alert with an error wrapping ErrInvalid, and returns
// ErrClosed after Close.
func (o *Outbox) Add(a Alert) error {
	if a.At.IsZero() {
		a.At = o.now()
	}
	if err := a.check(); err != nil {
		return fmt.Errorf("adding alert: %w", err)
	}
	body, err := a.encode()
	if err != nil {
		return fmt.Errorf("adding alert %s: %w", a.ID, err)
	}

	o.addMu.Lock()
	defer o.addMu.Unlock()
	o.mu.Lock()
	closed, known := o.closed, o.pending[a.ID] || o.delivered[a.ID]
	seq := o.nextSeq
	if !closed && !known {
		o.nextSeq++
	}
	o.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case known:
		return nil
	}
	e := &entry{seq: seq, id: a.ID, name: fileName(seq, a.ID), body: body}
	if err := writeFile(o.dir, e.name, body); err != nil {
		return fmt.Errorf("adding alert %s: %w", a.ID, err)
	}
	o.mu.Lock()
	o.queue = append(o.queue, e)
	o.pending[e.id] = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close stops delivering, cancelling an attempt in flight, and returns
// once the delivering goroutine has. Pending alerts stay on disk for the
// next Open. Later Adds fail with ErrClosed; Stats and Recovery still
// answer. Close always returns nil: nothing is left to write.
func (o *Outbox) Close() error {
	o.once.Do(func() {
		o.mu.Lock()
		o.closed = true
		o.mu.Unlock()
		o.cancel()
		<-o.done
		if o.ownClient {
			o.client.CloseIdleConnections()
		}
	})
	return nil
}

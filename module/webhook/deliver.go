package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/names"
)

// Target is where one workspace's events are delivered: the app's local
// webhook receiver.
type Target struct {
	// URL is the app's receiver, an absolute http or https URL.
	URL string
	// WorkspaceID is sent as X-Restlink-Workspace-Id when the event does
	// not carry one itself.
	WorkspaceID int64
	// RetryFor is how long after receipt an event is retried before it
	// becomes a dead letter. An event is always attempted at least once
	// before that (also when the sidecar was down for longer), so a
	// recovered app still gets it. Default: 24 h.
	RetryFor time.Duration
}

// DefaultRetryFor is Target.RetryFor's default.
const DefaultRetryFor = 24 * time.Hour

// DelivererOptions tune a Deliverer. The zero value is ready to use.
type DelivererOptions struct {
	// Client sends the deliveries. Default: a client with its own
	// connection pool that ignores proxy settings and does not follow
	// redirects (a redirect is a failed attempt: following a 301 or
	// 302 would turn the POST into a GET). A client given here is used
	// as is; it should not follow redirects either.
	Client *http.Client

	// Concurrency is the number of attempts in flight per workspace.
	// Events are started oldest first. Default: 4.
	Concurrency int

	// Backoff spaces the retries of a failed event and the pauses of a
	// failing workspace. Default: 1 s doubling up to 5 min.
	Backoff Backoff

	// AttemptTimeout bounds one delivery attempt, from connecting to
	// reading the status. Default: 10 s.
	AttemptTimeout time.Duration

	// PollInterval is how often each workspace looks for events that
	// became due (retries, events spooled by a previous run). New events
	// do not wait for it: Enqueue wakes their workspace. Default: 1 s.
	PollInterval time.Duration

	// MaintenanceInterval is how often replay requests are ingested and
	// expired dedup entries pruned. Default: 10 s.
	MaintenanceInterval time.Duration

	// StopTimeout bounds how long Stop waits for attempts in flight
	// before cancelling them; a cancelled event stays pending, with no
	// attempt counted, and is delivered after the next start. Default:
	// AttemptTimeout.
	StopTimeout time.Duration

	// OnAttempt, if set, is called after each delivery attempt with the
	// app's status (0 when there was no answer), the attempt's error (nil
	// when the app answered 2xx; a *StatusError for another status) and
	// its duration.
	OnAttempt func(workspace string, status int, err error, took time.Duration)

	// OnDeadLetter, if set, is called when an event becomes a dead
	// letter. ev.Body holds personal data: do not log it.
	OnDeadLetter func(workspace string, ev *Event)

	// OnError, if set, is called when the spool fails (a disk error, a
	// malformed replay file). workspace is "" for errors of the whole
	// spool. The error never holds a body or secret.
	OnError func(workspace string, err error)
}

// Defaults of DelivererOptions.
const (
	DefaultConcurrency         = 4
	DefaultAttemptTimeout      = 10 * time.Second
	DefaultPollInterval        = time.Second
	DefaultMaintenanceInterval = 10 * time.Second
)

// Deliverer delivers a Spool's events to their workspaces' targets. One
// worker per workspace keeps up to Concurrency attempts in flight. A 2xx
// answer completes an event; anything else (another status, a timeout, a
// connection error) schedules a retry with capped exponential backoff
// and pauses that workspace alone: while paused it makes no attempts,
// and when the pause ends it sends one event as a probe, resuming full
// concurrency only after a success. An app that is down is thus not
// hammered with its backlog, and the other workspaces keep flowing.
// Events of a workspace without a target wait in the spool.
//
// All hooks may be called concurrently and should return quickly.
type Deliverer struct {
	sp     *Spool
	opts   DelivererOptions
	client *http.Client

	mu      sync.RWMutex
	targets map[string]target
	workers map[string]*worker // created once per workspace, kept until Stop
	state   runState
	notify  *func(string) // the function given to the spool; identity for Stop

	quit           chan struct{}  // closed by Stop: workers and maintenance exit
	loops          sync.WaitGroup // workers and the maintenance loop
	attempts       sync.WaitGroup // attempts in flight
	attemptCtx     context.Context
	cancelAttempts context.CancelFunc
}

type runState int

const (
	stateNew runState = iota
	stateRunning
	stateStopped
)

// target is a Target ready to use.
type target struct {
	url         string
	workspaceID int64
	retryFor    time.Duration
}

// NewDeliverer returns a Deliverer for sp. It delivers nothing until
// Start.
func NewDeliverer(sp *Spool, opts DelivererOptions) *Deliverer {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Backoff.Base <= 0 {
		opts.Backoff.Base = DefaultBackoffBase
	}
	if opts.Backoff.Cap <= 0 {
		opts.Backoff.Cap = DefaultBackoffCap
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = DefaultAttemptTimeout
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.MaintenanceInterval <= 0 {
		opts.MaintenanceInterval = DefaultMaintenanceInterval
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = opts.AttemptTimeout
	}
	client := opts.Client
	if client == nil {
		client = defaultClient(opts.Concurrency)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Deliverer{
		sp:             sp,
		opts:           opts,
		client:         client,
		targets:        make(map[string]target),
		workers:        make(map[string]*worker),
		quit:           make(chan struct{}),
		attemptCtx:     ctx,
		cancelAttempts: cancel,
	}
}

func defaultClient(concurrency int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the app is local; a proxy from the environment must not see its events
	tr.MaxIdleConnsPerHost = concurrency
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// SetTargets replaces the delivery targets, keyed by workspace name. It
// may be called at any time (on a config reload); attempts in flight
// finish against the target they started with. A workspace left out
// stops being delivered, its events wait in the spool. If any target is
// invalid, SetTargets changes nothing and returns an error.
func (d *Deliverer) SetTargets(targets map[string]Target) error {
	next := make(map[string]target, len(targets))
	for name, t := range targets {
		if err := names.Check(name); err != nil {
			return fmt.Errorf("setting webhook targets: workspace %w", err)
		}
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("setting webhook targets: workspace %q: url must be an absolute http or https URL", name)
		}
		retryFor := t.RetryFor
		if retryFor <= 0 {
			retryFor = DefaultRetryFor
		}
		next[name] = target{url: t.URL, workspaceID: t.WorkspaceID, retryFor: retryFor}
	}
	d.mu.Lock()
	d.targets = next
	if d.state == stateRunning {
		for name := range next {
			d.startWorkerLocked(name)
		}
	}
	d.mu.Unlock()
	// Wake every worker: a workspace whose target just appeared may have
	// a backlog.
	for name := range next {
		d.signal(name)
	}
	return nil
}

// Start starts delivering, and ingests waiting replay requests at once.
// It does nothing after the first call.
func (d *Deliverer) Start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != stateNew {
		return
	}
	d.state = stateRunning
	fn := d.signal
	d.notify = &fn
	d.sp.notify.Store(d.notify)
	for name := range d.targets {
		d.startWorkerLocked(name)
	}
	d.loops.Add(1)
	go d.maintain()
}

// Stop stops delivering: no new attempt starts, and Stop waits up to
// StopTimeout for the attempts in flight, then cancels the rest and waits
// for them to return. After Stop returns, the Deliverer no longer uses
// the spool, which may be closed. A stopped Deliverer cannot be started
// again; create a new one.
func (d *Deliverer) Stop() {
	d.mu.Lock()
	if d.state != stateRunning {
		d.state = stateStopped
		d.mu.Unlock()
		return
	}
	d.state = stateStopped
	close(d.quit)
	d.sp.notify.CompareAndSwap(d.notify, nil)
	d.mu.Unlock()

	d.loops.Wait() // no attempt starts after this
	finished := make(chan struct{})
	go func() {
		d.attempts.Wait()
		close(finished)
	}()
	timer := time.NewTimer(d.opts.StopTimeout)
	defer timer.Stop()
	select {
	case <-finished:
	case <-timer.C:
		d.cancelAttempts()
		<-finished
	}
	d.cancelAttempts()
}

// startWorkerLocked starts name's worker unless it runs already. d.mu
// must be held.
func (d *Deliverer) startWorkerLocked(name string) {
	if _, ok := d.workers[name]; ok {
		return
	}
	w := newWorker(d, name)
	d.workers[name] = w
	d.loops.Add(1)
	go w.run()
}

// signal wakes workspace's worker, if it has one, without blocking.
func (d *Deliverer) signal(workspace string) {
	d.mu.RLock()
	w := d.workers[workspace]
	d.mu.RUnlock()
	if w != nil {
		w.signal()
	}
}

// target returns workspace's current target.
func (d *Deliverer) target(workspace string) (target, bool) {
	d.mu.RLock()
	t, ok := d.targets[workspace]
	d.mu.RUnlock()
	return t, ok
}

// maintain ingests replay requests and prunes the dedup index, at start
// and every MaintenanceInterval.
func (d *Deliverer) maintain() {
	defer d.loops.Done()
	ticker := time.NewTicker(d.opts.MaintenanceInterval)
	defer ticker.Stop()
	for {
		if _, err := d.sp.IngestReplays(); err != nil {
			d.reportError("", err)
		}
		if _, err := d.sp.PruneDedup(); err != nil {
			d.reportError("", err)
		}
		select {
		case <-d.quit:
			return
		case <-ticker.C:
		}
	}
}

func (d *Deliverer) reportError(workspace string, err error) {
	if d.opts.OnError != nil {
		d.opts.OnError(workspace, err)
	}
}

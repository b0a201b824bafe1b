package webhook

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeApp is the app's webhook receiver. It records every request and
// answers with the status its respond function picks.
type fakeApp struct {
	srv *httptest.Server

	mu       sync.Mutex
	respond  func(r *http.Request) int
	requests []appRequest
	inFlight int
	maxIn    int
}

type appRequest struct {
	method, path string
	header       http.Header
	body         []byte
	status       int
}

func newFakeApp(t *testing.T, respond func(r *http.Request) int) *fakeApp {
	t.Helper()
	a := &fakeApp{respond: respond}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		respond := a.respond
		a.inFlight++
		a.maxIn = max(a.maxIn, a.inFlight)
		a.mu.Unlock()
		status := http.StatusOK
		if respond != nil {
			status = respond(r)
		}
		a.mu.Lock()
		a.inFlight--
		a.requests = append(a.requests, appRequest{r.Method, r.URL.Path, r.Header.Clone(), body, status})
		a.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeApp) setRespond(fn func(r *http.Request) int) {
	a.mu.Lock()
	a.respond = fn
	a.mu.Unlock()
}

func (a *fakeApp) snapshot() []appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.requests)
}

// delivered counts the 2xx answers per event id.
func (a *fakeApp) delivered() map[string]int {
	out := make(map[string]int)
	for _, r := range a.snapshot() {
		if r.status >= 200 && r.status <= 299 {
			out[r.header.Get(HeaderEventID)]++
		}
	}
	return out
}

func (a *fakeApp) attempts() int { return len(a.snapshot()) }

func always(status int) func(*http.Request) int {
	return func(*http.Request) int { return status }
}

// fastOptions scales the Deliverer's timings down for tests.
func fastOptions() DelivererOptions {
	return DelivererOptions{
		Backoff:             Backoff{Base: 5 * time.Millisecond, Cap: 40 * time.Millisecond},
		PollInterval:        10 * time.Millisecond,
		AttemptTimeout:      5 * time.Second,
		MaintenanceInterval: 20 * time.Millisecond,
		StopTimeout:         5 * time.Second,
	}
}

// startDeliverer starts a Deliverer for targets and stops it when the
// test ends (before the spool it uses is closed).
func startDeliverer(t *testing.T, sp *Spool, opts DelivererOptions, targets map[string]Target) *Deliverer {
	t.Helper()
	d := NewDeliverer(sp, opts)
	if err := d.SetTargets(targets); err != nil {
		t.Fatalf("SetTargets: %v", err)
	}
	d.Start()
	t.Cleanup(d.Stop)
	return d
}

func pendingCount(t *testing.T, sp *Spool, workspace string) int {
	t.Helper()
	st, err := sp.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st[workspace].Pending
}

func TestDeliverHeaders(t *testing.T) {
	tests := []struct {
		name          string
		eventWSID     int64
		targetWSID    int64
		contentType   string
		wantWSID      string
		wantCT        string
		wantNoCTField bool
	}{
		{"event's workspace id", 42, 7, "application/json; charset=utf-8", "42", "application/json; charset=utf-8", false},
		{"target's workspace id when the event has none", 0, 7, "application/json", "7", "application/json", false},
		{"no workspace id at all", 0, 0, "application/x-www-form-urlencoded", "", "application/x-www-form-urlencoded", false},
		{"no content type received", 42, 0, "", "42", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := newFakeApp(t, always(http.StatusNoContent))
			sp := openSpool(t, t.TempDir(), SpoolOptions{})
			var attempts []int
			var mu sync.Mutex
			opts := fastOptions()
			opts.OnAttempt = func(ws string, status int, err error, _ time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				if ws != "main" || err != nil {
					t.Errorf("OnAttempt(%q, %d, %v), want main, nil error", ws, status, err)
				}
				attempts = append(attempts, status)
			}
			startDeliverer(t, sp, opts, map[string]Target{"main": {URL: app.srv.URL + "/hooks/restlink", WorkspaceID: tc.targetWSID}})

			ev := newEvent("main", 1)
			ev.WorkspaceID = tc.eventWSID
			ev.ContentType = tc.contentType
			mustEnqueue(t, sp, ev)
			waitFor(t, "the delivery", func() bool { return pendingCount(t, sp, "main") == 0 })

			reqs := app.snapshot()
			if len(reqs) != 1 {
				t.Fatalf("app got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.path != "/hooks/restlink" {
				t.Errorf("request = %s %s, want POST /hooks/restlink", r.method, r.path)
			}
			if !bytes.Equal(r.body, ev.Body) {
				t.Errorf("body = %q, want the raw body %q", r.body, ev.Body)
			}
			want := map[string]string{
				"Content-Type":            tc.wantCT,
				"User-Agent":              "restlink-sidecar",
				"X-Restlink-Workspace":    "main",
				"X-Restlink-Workspace-Id": tc.wantWSID,
				"X-Restlink-Event":        "delivery",
				"X-Restlink-Event-Id":     ev.ID,
			}
			for name, v := range want {
				if got := r.header.Get(name); got != v {
					t.Errorf("header %s = %q, want %q", name, got, v)
				}
			}
			if _, ok := r.header["Content-Type"]; ok == tc.wantNoCTField {
				t.Errorf("Content-Type present = %v, want %v", ok, !tc.wantNoCTField)
			}
			// Nothing else but what Go's client always adds.
			allowed := map[string]bool{"Content-Length": true, "Accept-Encoding": true}
			for name := range r.header {
				if _, ok := want[name]; !ok && !allowed[name] {
					t.Errorf("unexpected header %s: %q", name, r.header.Get(name))
				}
				if strings.HasPrefix(strings.ToLower(name), "x-webhook") {
					t.Errorf("restlink's signature header %s was forwarded", name)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(attempts, []int{http.StatusNoContent}) {
				t.Errorf("OnAttempt statuses = %v, want [204]", attempts)
			}
		})
	}
}

func TestDeliverAppDownThenUp(t *testing.T) {
	app := newFakeApp(t, always(http.StatusServiceUnavailable))
	sp := openSpool(t, t.TempDir(), SpoolOptions{})
	var failures atomic.Int32
	opts := fastOptions()
	opts.OnAttempt = func(_ string, status int, err error, _ time.Duration) {
		if err != nil {
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != status {
				t.Errorf("OnAttempt error = %v for status %d, want a *StatusError", err, status)
			}
			failures.Add(1)
		}
	}
	startDeliverer(t, sp, opts, map[string]Target{"main": {URL: app.srv.URL}})

	var ids []string
	for i := range 20 {
		ids = append(ids, mustEnqueue(t, sp, newEvent("main", i)).ID)
	}
	waitFor(t, "a few failed attempts", func() bool { return failures.Load() >= 3 })
	app.setRespond(always(http.StatusOK))
	waitFor(t, "every event delivered", func() bool { return pendingCount(t, sp, "main") == 0 })

	delivered := app.delivered()
	for _, id := range ids {
		if delivered[id] != 1 {
			t.Errorf("event %s answered 2xx %d times, want exactly once", id, delivered[id])
		}
	}
	if len(delivered) != len(ids) {
		t.Errorf("app acknowledged %d distinct events, want %d", len(delivered), len(ids))
	}
}

func TestDeliverPausesFailingWorkspace(t *testing.T) {
	// Backoff of an hour: once an attempt fails, the workspace must stay
	// paused for the rest of the test, however often it is woken.
	app := newFakeApp(t, always(http.StatusInternalServerError))
	sp := openSpool(t, t.TempDir(), SpoolOptions{})
	opts := fastOptions()
	opts.Backoff = Backoff{Base: time.Hour, Cap: time.Hour}
	startDeliverer(t, sp, opts, map[string]Target{"main": {URL: app.srv.URL}})

	for i := range 10 {
		mustEnqueue(t, sp, newEvent("main", i))
	}
	waitFor(t, "a failed attempt", func() bool { return app.attempts() >= 1 })
	// Many polls and wake-ups later…
	for i := 10; i < 20; i++ {
		mustEnqueue(t, sp, newEvent("main", i))
		time.Sleep(10 * time.Millisecond)
	}
	if n := app.attempts(); n > DefaultConcurrency {
		t.Fatalf("app got %d attempts while failing, want at most %d (the first round)", n, DefaultConcurrency)
	}
	if n := pendingCount(t, sp, "main"); n != 20 {
		t.Fatalf("pending = %d, want 20", n)
	}
}

func TestDeliverProbesOneAtATimeWhileFailing(t *testing.T) {
	app := newFakeApp(t, always(http.StatusBadGateway))
	sp := openSpool(t, t.TempDir(), SpoolOptions{})
	var failures atomic.Int32
	opts := fastOptions()
	opts.OnAttempt = func(_ string, _ int, err error, _ time.Duration) {
		if err != nil {
			failures.Add(1)
		}
	}
	startDeliverer(t, sp, opts, map[string]Target{"main": {URL: app.srv.URL}})
	mustEnqueue(t, sp, newEvent("main", 0)) // fails first, alone
	waitFor(t, "a failed attempt", func() bool { return failures.Load() >= 1 })
	for i := 1; i < 30; i++ {
		mustEnqueue(t, sp, newEvent("main", i))
	}
	waitFor(t, "more failed probes", func() bool { return failures.Load() >= 8 })

	app.mu.Lock()
	maxIn := app.maxIn
	app.mu.Unlock()
	if maxIn != 1 {
		t.Fatalf("app saw %d concurrent attempts while failing, want 1 (a probe)", maxIn)
	}
	// The event that failed first is the probe each time: the backlog
	// keeps its order.
	first := EventID(DedupKey("main", "delivery", report(0, "DELIVRD")))
	for i, r := range app.snapshot() {
		if id := r.header.Get(HeaderEventID); id != first {
			t.Fatalf("probe %d was event %s, want the oldest, %s", i, id, first)
		}
	}
}

func TestDeliverWorkspaceIsolation(t *testing.T) {
	tests := []struct {
		name    string
		respond func(release <-chan struct{}) func(*http.Request) int
	}{
		{
			name: "app hangs",
			respond: func(release <-chan struct{}) func(*http.Request) int {
				return func(r *http.Request) int {
					select {
					case <-release:
					case <-r.Context().Done():
					}
					return http.StatusOK
				}
			},
		},
		{
			name: "app fails",
			respond: func(<-chan struct{}) func(*http.Request) int {
				return always(http.StatusServiceUnavailable)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			dead := newFakeApp(t, tc.respond(release))
			t.Cleanup(func() { close(release) })
			alive := newFakeApp(t, always(http.StatusOK))
			sp := openSpool(t, t.TempDir(), SpoolOptions{})
			opts := fastOptions()
			opts.Backoff = Backoff{Base: time.Hour, Cap: time.Hour}
			opts.StopTimeout = 10 * time.Millisecond
			startDeliverer(t, sp, opts, map[string]Target{
				"dead":  {URL: dead.srv.URL},
				"alive": {URL: alive.srv.URL},
			})
			for i := range 10 {
				mustEnqueue(t, sp, newEvent("dead", i))
			}
			waitFor(t, "the dead app's first attempt", func() bool {
				dead.mu.Lock()
				defer dead.mu.Unlock()
				return dead.inFlight > 0 || len(dead.requests) > 0
			})
			for i := range 10 {
				mustEnqueue(t, sp, newEvent("alive", i))
			}
			waitFor(t, "the live app's events", func() bool { return len(alive.delivered()) == 10 })
			if n := pendingCount(t, sp, "dead"); n != 10 {
				t.Fatalf("dead workspace pending = %d, want 10", n)
			}
		})
	}
}

func TestDeliverRetryForDeadLetters(t *testing.T) {
	app := newFakeApp(t, always(http.StatusServiceUnavailable))
	dir := t.TempDir()
	sp := openSpool(t, dir, SpoolOptions{})
	deadCh := make(chan *Event, 1)
	opts := fastOptions()
	opts.OnDeadLetter = func(ws string, ev *Event) {
		if ws != "main" {
			t.Errorf("OnDeadLetter workspace = %q", ws)
		}
		deadCh <- ev
	}
	startDeliverer(t, sp, opts, map[string]Target{"main": {URL: app.srv.URL, RetryFor: 60 * time.Millisecond}})
	ev := mustEnqueue(t, sp, newEvent("main", 1))

	var dead *Event
	select {
	case dead = <-deadCh:
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for the dead letter")
	}
	if dead.ID != ev.ID || !bytes.Equal(dead.Body, ev.Body) {
		t.Fatalf("OnDeadLetter event = %s, want %s with its body", dead.ID, ev.ID)
	}
	letters, err := DeadLetters(dir, "main")
	if err != nil || len(letters) != 1 {
		t.Fatalf("DeadLetters = %d letters, %v; want 1", len(letters), err)
	}
	dl := letters[0]
	if dl.Attempts != app.attempts() {
		t.Errorf("dead letter Attempts = %d, app saw %d attempts; want equal", dl.Attempts, app.attempts())
	}
	if !strings.Contains(dl.Reason, "503") || strings.Contains(dl.Reason, "447700900") {
		t.Errorf("dead letter reason = %q, want the last status and no body", dl.Reason)
	}
	if n := pendingCount(t, sp, "main"); n != 0 {
		t.Errorf("pending = %d, want 0", n)
	}
	if st, _ := sp.Stats(); st["main"].DeadLetters != 1 {
		t.Errorf("Stats dead letters = %d, want 1", st["main"].DeadLetters)
	}
}

func TestDeliverRestartResumes(t *testing.T) {
	dir := t.TempDir()
	app := newFakeApp(t, always(http.StatusServiceUnavailable))
	targets := map[string]Target{"main": {URL: app.srv.URL}}

	// First run: the app is down, nothing gets delivered.
	sp, err := OpenSpool(dir, SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := fastOptions()
	opts.Backoff = Backoff{Base: 200 * time.Millisecond, Cap: 200 * time.Millisecond}
	d := NewDeliverer(sp, opts)
	if err := d.SetTargets(targets); err != nil {
		t.Fatal(err)
	}
	d.Start()
	var ids []string
	for i := range 5 {
		ids = append(ids, mustEnqueue(t, sp, newEvent("main", i)).ID)
	}
	waitFor(t, "a failed attempt", func() bool { return app.attempts() >= 1 })
	d.Stop()
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}

	// Second run, in a new spool and Deliverer, with the app up: every
	// event, retried or never tried, is delivered exactly once.
	app.setRespond(always(http.StatusOK))
	sp = openSpool(t, dir, SpoolOptions{})
	startDeliverer(t, sp, fastOptions(), targets)
	waitFor(t, "every event delivered", func() bool { return pendingCount(t, sp, "main") == 0 })
	delivered := app.delivered()
	for _, id := range ids {
		if delivered[id] != 1 {
			t.Errorf("event %s delivered %d times, want once", id, delivered[id])
		}
	}
}

func TestDeliverWakesOnEnqueue(t *testing.T) {
	app := newFakeApp(t, always(http.StatusOK))
	sp := openSpool(t, t.TempDir(), SpoolOptions{})
	opts := fastOptions()
	opts.PollInterval = time.Hour // only a wake-up can start the delivery
	startDeliverer(t, sp, opts, map[string]Target{"main": {URL: app.srv.URL}})
	time.Sleep(20 * time.Millisecond) // let the worker fall asleep
	ev := mustEnqueue(t, sp, newEvent("main", 1))
	waitFor(t, "the delivery", func() bool { return app.delivered()[ev.ID] == 1 })
}

func TestDeliverWaitsForTarget(t *testing.T) {
	app := newFakeApp(t, always(http.StatusOK))
	sp := openSpool(t, t.TempDir(), SpoolOptions{})
	d := startDeliverer(t, sp, fastOptions(), map[string]Target{"other": {URL: app.srv.URL}})
	ev := mustEnqueue(t, sp, newEvent("main", 1))
	time.Sleep(50 * time.Millisecond) // several polls
	if n := app.attempts(); n != 0 {
		t.Fatalf("app got %d attempts for a workspace without a target", n)
	}
	if err := d.SetTargets(map[string]Target{"main": {URL: app.srv.URL}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the delivery after the target appeared", func() bool { return app.delivered()[ev.ID] == 1 })
}

func TestDeliverRedirectIsAFailure(t *testing.T) {
	app := newFakeApp(t, func(*http.Request) int { return http.StatusFound })
	sp := openSpool(t, t.TempDir(), SpoolOptions{})
	statuses := make(chan int, 100)
	opts := fastOptions()
	opts.OnAttempt = func(_ string, status int, _ error, _ time.Duration) { statuses <- status }
	startDeliverer(t, sp, opts, map[string]Target{"main": {URL: app.srv.URL}})
	mustEnqueue(t, sp, newEvent("main", 1))
	select {
	case s := <-statuses:
		if s != http.StatusFound {
			t.Fatalf("attempt status = %d, want 302 (redirect not followed)", s)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for an attempt")
	}
	if n := pendingCount(t, sp, "main"); n != 1 {
		t.Fatalf("pending = %d, want 1", n)
	}
}

func TestDeliverStopCancelsInFlight(t *testing.T) {
	started := make(chan struct{}, 1)
	app := newFakeApp(t, func(r *http.Request) int {
		started <- struct{}{}
		<-r.Context().Done()
		return http.StatusOK
	})
	sp := openSpool(t, t.TempDir(), SpoolOptions{})
	opts := fastOptions()
	opts.StopTimeout = 20 * time.Millisecond
	d := NewDeliverer(sp, opts)
	if err := d.SetTargets(map[string]Target{"main": {URL: app.srv.URL}}); err != nil {
		t.Fatal(err)
	}
	d.Start()
	ev := mustEnqueue(t, sp, newEvent("main", 1))
	<-started
	d.Stop()
	got := pendingIDs(t, sp)[ev.ID]
	if got == nil || got.Attempts != 0 {
		t.Fatalf("event after Stop = %+v, want pending with no attempt counted", got)
	}
}

func TestDeliverIngestsReplays(t *testing.T) {
	dir := t.TempDir()
	app := newFakeApp(t, always(http.StatusOK))
	sp := openSpool(t, dir, SpoolOptions{})
	ev := mustEnqueue(t, sp, newEvent("main", 1))
	if err := sp.DeadLetter(ev.ID, "gave up"); err != nil {
		t.Fatal(err)
	}
	startDeliverer(t, sp, fastOptions(), map[string]Target{"main": {URL: app.srv.URL}})
	if n, err := RequestReplay(dir, "main"); err != nil || n != 1 {
		t.Fatalf("RequestReplay = %d, %v", n, err)
	}
	waitFor(t, "the replayed delivery", func() bool { return app.delivered()[ev.ID] == 1 })
}

func TestSetTargets(t *testing.T) {
	tests := []struct {
		name    string
		targets map[string]Target
		wantErr bool
	}{
		{"valid", map[string]Target{"main": {URL: "http://127.0.0.1:8080/hook"}}, false},
		{"https", map[string]Target{"main": {URL: "https://app.internal/hook"}}, false},
		{"none", map[string]Target{}, false},
		{"relative URL", map[string]Target{"main": {URL: "/hook"}}, true},
		{"other scheme", map[string]Target{"main": {URL: "ftp://127.0.0.1/hook"}}, true},
		{"unparsable URL", map[string]Target{"main": {URL: "http://[::1"}}, true},
		{"bad workspace name", map[string]Target{"a/b": {URL: "http://127.0.0.1/hook"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp := openSpool(t, t.TempDir(), SpoolOptions{})
			d := NewDeliverer(sp, DelivererOptions{})
			if err := d.SetTargets(map[string]Target{"keep": {URL: "http://127.0.0.1/keep"}}); err != nil {
				t.Fatal(err)
			}
			err := d.SetTargets(tc.targets)
			if (err != nil) != tc.wantErr {
				t.Fatalf("SetTargets = %v, want error %v", err, tc.wantErr)
			}
			_, kept := d.target("keep")
			if kept != tc.wantErr {
				t.Fatalf("previous targets kept = %v, want %v (only on error)", kept, tc.wantErr)
			}
		})
	}
}

func TestDeliverErrorsDoNotQuoteTheURL(t *testing.T) {
	// An app may authenticate the sidecar with a token in the URL.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // connections are refused
	sp := openSpool(t, t.TempDir(), SpoolOptions{})
	errs := make(chan error, 100)
	opts := fastOptions()
	opts.OnAttempt = func(_ string, _ int, err error, _ time.Duration) { errs <- err }
	startDeliverer(t, sp, opts, map[string]Target{"main": {URL: closed.URL + "/hook?token=s3cret-app-token"}})
	ev := mustEnqueue(t, sp, newEvent("main", 1))

	var err error
	select {
	case err = <-errs:
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for an attempt")
	}
	if err == nil {
		t.Fatal("attempt against a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("attempt error %q quotes the target URL's token", err)
	}
	waitFor(t, "the failure recorded", func() bool {
		e := pendingIDs(t, sp)[ev.ID]
		return e != nil && e.Attempts > 0
	})
	if last := pendingIDs(t, sp)[ev.ID].LastError; last == "" || strings.Contains(last, "s3cret") {
		t.Errorf("LastError = %q, want a reason without the URL's token", last)
	}
}

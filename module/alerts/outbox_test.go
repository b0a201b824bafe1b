package alerts

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestOpenErrors: options that cannot make a working outbox, refused
// without quoting the URL.
func TestOpenErrors(t *testing.T) {
	const secret = "s3cr3t"
	tests := []struct {
		name string
		opts Options
		err  string
	}{
		{"no URL", Options{}, "no alert receiver URL"},
		{"relative", Options{URL: "/alerts?token=" + secret}, "not an absolute http or https URL"},
		{"no host", Options{URL: "http:///alerts?token=" + secret}, "not an absolute http or https URL"},
		{"other scheme", Options{URL: "ftp://example.com/" + secret}, "not an absolute http or https URL"},
		{"does not parse", Options{URL: "http://example.com/%zz?token=" + secret}, "does not parse"},
		{"bad host", Options{URL: "http://exa mple.com/" + secret}, "does not parse"},
		{"max below min", Options{URL: "http://example.com/", MinBackoff: time.Minute, MaxBackoff: time.Second}, "max backoff 1s is shorter than min backoff 1m0s"},
		{"default max below min", Options{URL: "http://example.com/", MinBackoff: time.Hour}, "max backoff 5m0s is shorter than min backoff 1h0m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Open(t.TempDir(), tc.opts)
			if err == nil {
				o.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "opening alert outbox: ") {
				t.Errorf("Open = %v, want an error with %q", err, tc.err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Open = %v: quotes the URL", err)
			}
		})
	}
	if _, err := Open(t.TempDir(), Options{}); !errors.Is(err, ErrNoURL) {
		t.Errorf("Open without a URL = %v, want ErrNoURL", err)
	}
}

// TestOpenCreatesDir: Open creates a missing directory, mode 0700.
func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "alerts")
	openOutbox(t, dir, Options{URL: "http://127.0.0.1:1/"})
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("mode %o, want 0700", perm)
	}
}

// TestAddIdempotent: adding an id pending, or delivered, again changes
// nothing: no second file, no second POST, and the alert first added is
// the one delivered.
func TestAddIdempotent(t *testing.T) {
	var up atomic.Bool
	r := newReceiver(t, switchable(&up))
	dir := t.TempDir()
	o := openOutbox(t, dir, fastOptions(r.srv.URL))
	a := testAlert("a")
	mustAdd(t, o, a)
	changed := a
	changed.Spent = 12_500_000
	changed.Type = TypeExhausted
	mustAdd(t, o, changed) // same id: ignored
	mustAdd(t, o, a)
	if names := files(t, dir); len(names) != 1 || !strings.HasSuffix(names[0], "."+a.ID+".json") {
		t.Errorf("files %q, want one of %s", names, a.ID)
	}
	if st := o.Stats(); st.Pending != 1 {
		t.Errorf("Pending = %d, want 1", st.Pending)
	}

	up.Store(true)
	waitFor(t, "a's delivery", func() bool { return o.Stats().Delivered == 1 })
	mustAdd(t, o, a) // delivered: ignored
	b := testAlert("b")
	mustAdd(t, o, b) // delivered after a would have been, had it been queued
	waitFor(t, "b's delivery", func() bool { return o.Stats().Delivered == 2 })

	if got := r.taken(); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("receiver took %q, want %q", got, []string{a.ID, b.ID})
	}
	for _, req := range r.requests() {
		if req.id() == a.ID && !strings.Contains(string(req.body), `"type":"budget_soft"`) {
			t.Errorf("posted %s, not the alert first added", req.body)
		}
	}
	if st := o.Stats(); st.Pending != 0 || len(files(t, dir)) != 0 {
		t.Errorf("Stats = %+v, files %q", st, files(t, dir))
	}
}

// TestAddConcurrent: many Adds of a few ids at once write one file per
// id.
func TestAddConcurrent(t *testing.T) {
	dir := t.TempDir()
	o := openOutbox(t, dir, Options{URL: "http://127.0.0.1:1/", MinBackoff: time.Hour, MaxBackoff: time.Hour})
	done := make(chan error)
	for i := range 40 {
		go func() { done <- o.Add(testAlert([]string{"a", "b", "c", "d"}[i%4])) }()
	}
	for range 40 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if names := files(t, dir); len(names) != 4 {
		t.Errorf("files %q, want 4", names)
	}
	if st := o.Stats(); st.Pending != 4 {
		t.Errorf("Pending = %d, want 4", st.Pending)
	}
}

// TestAddRefused: an invalid alert is refused with ErrInvalid and writes
// nothing; an Add after Close fails with ErrClosed.
func TestAddRefused(t *testing.T) {
	dir := t.TempDir()
	o := openOutbox(t, dir, Options{URL: "http://127.0.0.1:1/", MinBackoff: time.Hour, MaxBackoff: time.Hour})
	bad := testAlert("a")
	bad.ID = "../../etc/passwd"
	if err := o.Add(bad); !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "adding alert: ") {
		t.Errorf("Add(id %q) = %v, want ErrInvalid", bad.ID, err)
	}
	big := testAlert("a")
	big.Tenant = strings.Repeat("t", maxBody)
	if err := o.Add(big); !errors.Is(err, ErrInvalid) {
		t.Errorf("Add(%d bytes) = %v, want ErrInvalid", maxBody, err)
	}
	if names := files(t, dir); len(names) != 0 {
		t.Errorf("files %q after refused Adds", names)
	}
	o.Close()
	if err := o.Add(testAlert("a")); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	if err := o.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestAddDatesAlert: an alert without At is dated by the outbox's clock,
// in UTC.
func TestAddDatesAlert(t *testing.T) {
	r := newReceiver(t, nil)
	opts := fastOptions(r.srv.URL)
	opts.Now = func() time.Time { return time.Date(2026, 12, 5, 13, 0, 0, 0, time.FixedZone("CET", 3600)) }
	o := openOutbox(t, t.TempDir(), opts)
	a := testAlert("a")
	a.At = time.Time{}
	mustAdd(t, o, a)
	waitFor(t, "a's delivery", func() bool { return o.Stats().Delivered == 1 })
	if body := string(r.requests()[0].body); !strings.Contains(body, `"at":"2026-12-05T12:00:00Z"`) {
		t.Errorf("body %s, want at 2026-12-05T12:00:00Z", body)
	}
}

// TestRestart: alerts added and not delivered before Close are delivered
// after the next Open, in order, once the receiver takes them.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	down := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	o := openOutbox(t, dir, fastOptions(down.srv.URL))
	a, b := testAlert("a"), testAlert("b")
	mustAdd(t, o, a)
	mustAdd(t, o, b)
	waitFor(t, "a failed attempt", func() bool { return o.Stats().Failures > 0 })
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if names := files(t, dir); len(names) != 2 {
		t.Fatalf("files %q after Close, want 2", names)
	}

	up := newReceiver(t, nil)
	o = openOutbox(t, dir, fastOptions(up.srv.URL))
	if rec := o.Recovery(); rec.Pending != 2 || rec.TempFiles != 0 || len(rec.Problems) != 0 {
		t.Errorf("Recovery = %+v, want 2 pending", rec)
	}
	waitFor(t, "2 deliveries", func() bool { return o.Stats().Delivered == 2 })
	if got := up.taken(); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("receiver took %q, want %q", got, []string{a.ID, b.ID})
	}
	c := testAlert("c")
	mustAdd(t, o, c) // after the loaded ones
	waitFor(t, "c's delivery", func() bool { return o.Stats().Delivered == 3 })
	o.Close()
	if names := files(t, dir); len(names) != 0 {
		t.Errorf("files %q after delivery", names)
	}

	o = openOutbox(t, dir, fastOptions(up.srv.URL))
	if rec := o.Recovery(); rec.Pending != 0 || len(rec.Problems) != 0 {
		t.Errorf("Recovery = %+v, want nothing", rec)
	}
	if got := up.taken(); !slices.Equal(got, []string{a.ID, b.ID, c.ID}) {
		t.Errorf("receiver took %q", got)
	}
}

// TestCloseCancelsAttempt: Close returns promptly while the receiver
// holds a request without answering (it never will, until the test
// ends), because Close cancels the attempt; the alert stays pending, and
// the cancelled attempt is no failure. The client's own timeout is an
// hour, so only the cancellation can end the attempt in time.
func TestCloseCancelsAttempt(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for the handler

	dir := t.TempDir()
	opts := fastOptions(srv.URL)
	opts.Client = &http.Client{Timeout: time.Hour}
	o, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, o, testAlert("a"))
	select {
	case <-arrived:
	case <-time.After(waitTimeout):
		t.Fatal("the attempt never reached the receiver")
	}
	closed := make(chan error, 1)
	go func() { closed <- o.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Close did not return within %s while an attempt hung", waitTimeout)
	}
	if st := o.Stats(); st.Pending != 1 || st.Attempts != 0 || st.Failures != 0 || st.LastError != nil {
		t.Errorf("Stats = %+v, want 1 pending and no attempt counted", st)
	}
	if names := files(t, dir); len(names) != 1 {
		t.Errorf("files %q, want the alert's", names)
	}
}

// TestCloseDuringBackoff: Close returns promptly while the outbox waits
// an hour to retry.
func TestCloseDuringBackoff(t *testing.T) {
	r := newReceiver(t, func(int) int { return http.StatusInternalServerError })
	o, err := Open(t.TempDir(), Options{URL: r.srv.URL, MinBackoff: time.Hour, MaxBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, o, testAlert("a"))
	waitFor(t, "a failed attempt", func() bool { return o.Stats().Failures == 1 })
	closed := make(chan struct{})
	go func() { o.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(waitTimeout):
		t.Fatalf("Close did not return within %s during a backoff", waitTimeout)
	}
}

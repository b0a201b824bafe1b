package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitTimeout bounds every wait of the tests for something the outbox
// does. It is far longer than anything takes, so that a slow machine
// does not fail a test; a test fails only if the thing never happens.
const waitTimeout = 10 * time.Second

// waitFor polls cond until it holds, and fails the test after
// waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", waitTimeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// openOutbox opens an outbox in dir, and closes it when the test ends.
func openOutbox(t *testing.T, dir string, opts Options) *Outbox {
	t.Helper()
	o, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// fastOptions are options for url with backoffs short enough that tests
// retry quickly.
func fastOptions(url string) Options {
	return Options{URL: url, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
}

// mustAdd adds a and fails the test if Add fails.
func mustAdd(t *testing.T, o *Outbox, a Alert) {
	t.Helper()
	if err := o.Add(a); err != nil {
		t.Fatalf("Add(%s): %v", a.ID, err)
	}
}

// request is one POST a receiver got.
type request struct {
	header http.Header
	body   []byte
	status int // what the receiver answered
}

// id returns the id in the request's body.
func (r request) id() string {
	var v struct{ ID string }
	json.Unmarshal(r.body, &v)
	return v.ID
}

// receiver is an alert receiver on 127.0.0.1 that records every request
// it gets, and answers the n-th (from 0) with status(n): 200 if status
// is nil.
type receiver struct {
	srv    *httptest.Server
	status func(n int) int

	mu  sync.Mutex
	got []request
}

// newReceiver starts a receiver, closed when the test ends.
func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	status := http.StatusOK
	if r.status != nil {
		status = r.status(len(r.got))
	}
	r.got = append(r.got, request{header: req.Header.Clone(), body: body, status: status})
	r.mu.Unlock()
	w.WriteHeader(status)
}

// requests returns the requests the receiver got so far.
func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// taken returns the ids of the requests the receiver answered 2xx, in
// order.
func (r *receiver) taken() []string {
	var ids []string
	for _, req := range r.requests() {
		if req.status/100 == 2 {
			ids = append(ids, req.id())
		}
	}
	return ids
}

// failFirst returns a status function that answers 500 to the first n
// requests and 200 to the rest.
func failFirst(n int) func(int) int {
	return func(i int) int {
		if i < n {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
}

// switchable returns a status function that answers 503 until up is
// set, then 200.
func switchable(up *atomic.Bool) func(int) int {
	return func(int) int {
		if up.Load() {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	}
}

// recorder is an http.RoundTripper that records the body of every
// attempt before it is sent, whether or not a server answers it.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	return http.DefaultTransport.RoundTrip(out)
}

// attempts returns the bodies of every attempt so far.
func (r *recorder) attempts() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bodies)
}

// files returns the names of the files in dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// instantSleep is a wait between attempts that records how long it was
// asked to wait, and returns at once.
type instantSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *instantSleep) sleep(ctx context.Context, d time.Duration) bool {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err() == nil
}

func (s *instantSleep) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

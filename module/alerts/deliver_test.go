package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/money"
)

// TestDeliverInOrder: alerts arrive one per POST, in the order added,
// with the JSON and headers documented, amounts exact; the receiver
// taking them removes their files.
func TestDeliverInOrder(t *testing.T) {
	r := newReceiver(t, nil)
	dir := t.TempDir()
	o := openOutbox(t, dir, fastOptions(r.srv.URL+"/alerts"))
	var want []string
	for i := range 20 {
		a := testAlert(fmt.Sprintf("tenant-%02d", i))
		mustAdd(t, o, a)
		want = append(want, a.ID)
	}
	waitFor(t, "20 deliveries", func() bool { return o.Stats().Delivered == 20 })

	if got := r.taken(); !slices.Equal(got, want) {
		t.Errorf("receiver took %q,\nwant %q", got, want)
	}
	reqs := r.requests()
	if len(reqs) != 20 {
		t.Fatalf("receiver got %d requests, want 20", len(reqs))
	}
	for _, req := range reqs {
		if ct := req.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if ua := req.header.Get("User-Agent"); ua != "restlink-sidecar-alerts/1" {
			t.Errorf("User-Agent = %q", ua)
		}
	}

	// The body of the first, field by field, amounts read exactly.
	dec := json.NewDecoder(bytes.NewReader(reqs[0].body))
	dec.UseNumber()
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	first := testAlert("tenant-00")
	for field, want := range map[string]string{
		"id": first.ID, "type": "budget_soft", "tenant": "tenant-00", "period": "monthly",
		"currency": "EUR", "at": "2026-12-05T12:30:00Z",
	} {
		if got[field] != want {
			t.Errorf("%s = %v, want %q", field, got[field], want)
		}
	}
	for field, want := range map[string]money.Amount{"budget": 12_500_000, "spent": 10_000_085} {
		n, ok := got[field].(json.Number)
		if !ok {
			t.Errorf("%s = %v (%T), not a number", field, got[field], got[field])
			continue
		}
		if a, err := money.Parse(n.String()); err != nil || a != want {
			t.Errorf("%s = %s = %d micro-units, %v: want %d (%s)", field, n, a, err, want, want)
		}
	}
	if len(got) != 8 {
		t.Errorf("body has %d fields, want 8: %s", len(got), reqs[0].body)
	}

	if st := o.Stats(); st != (Stats{Delivered: 20, Attempts: 20}) {
		t.Errorf("Stats = %+v", st)
	}
	if names := files(t, dir); len(names) != 0 {
		t.Errorf("files left after delivery: %q", names)
	}
}

// TestFailuresThenTaken: a receiver that answers 500 five times gets the
// first alert six times, with the very same body each time, and then the
// others, in order: the others wait behind it.
func TestFailuresThenTaken(t *testing.T) {
	r := newReceiver(t, failFirst(5))
	o := openOutbox(t, t.TempDir(), fastOptions(r.srv.URL))
	a, b, c := testAlert("a"), testAlert("b"), testAlert("c")
	for _, al := range []Alert{a, b, c} {
		mustAdd(t, o, al)
	}
	waitFor(t, "3 deliveries", func() bool { return o.Stats().Delivered == 3 })

	reqs := r.requests()
	var ids []string
	for _, req := range reqs {
		ids = append(ids, req.id())
	}
	want := []string{a.ID, a.ID, a.ID, a.ID, a.ID, a.ID, b.ID, c.ID}
	if !slices.Equal(ids, want) {
		t.Fatalf("receiver got %q,\nwant %q", ids, want)
	}
	for i := 1; i < 6; i++ {
		if !bytes.Equal(reqs[i].body, reqs[0].body) {
			t.Errorf("attempt %d of %s posted\n%s\nnot\n%s", i+1, a.ID, reqs[i].body, reqs[0].body)
		}
	}
	st := o.Stats()
	if st.Attempts != 8 || st.Failures != 5 || st.Delivered != 3 || st.Pending != 0 {
		t.Errorf("Stats = %+v", st)
	}
	var se *StatusError
	if !errors.As(st.LastError, &se) || se.StatusCode != 500 || !strings.Contains(st.LastError.Error(), a.ID) {
		t.Errorf("LastError = %v, want a StatusError 500 naming %s", st.LastError, a.ID)
	}
}

// TestRefusedThenUp: while nothing listens on the receiver's port, every
// attempt fails with connection refused and the error never quotes the
// URL and its token; once a server listens there, each alert is
// delivered, and every attempt of one alert carried the same body.
func TestRefusedThenUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	const secret = "s3cr3t-token"
	rec := &recorder{}
	opts := fastOptions("http://" + addr + "/alerts?token=" + secret)
	opts.Client = &http.Client{Transport: rec, Timeout: waitTimeout}
	o := openOutbox(t, t.TempDir(), opts)
	a, b := testAlert("a"), testAlert("b")
	mustAdd(t, o, a)
	mustAdd(t, o, b)
	waitFor(t, "3 failed attempts", func() bool { return o.Stats().Failures >= 3 })

	st := o.Stats()
	if !errors.Is(st.LastError, syscall.ECONNREFUSED) {
		t.Errorf("LastError = %v, want connection refused", st.LastError)
	}
	if msg := st.LastError.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "/alerts") {
		t.Errorf("LastError quotes the URL: %s", msg)
	}
	if st.Delivered != 0 || st.Pending != 2 {
		t.Errorf("Stats = %+v while the receiver is down", st)
	}

	// The receiver comes up on the same address.
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	r := &receiver{}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Listener.Close()
	r.srv.Listener = l
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	waitFor(t, "2 deliveries", func() bool { return o.Stats().Delivered == 2 })

	if got := r.taken(); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("receiver took %q, want %q", got, []string{a.ID, b.ID})
	}
	if got := r.requests()[0].body; !strings.Contains(string(got), `"id":"`+a.ID+`"`) {
		t.Errorf("first body %s", got)
	}
	attempts := rec.attempts()
	if len(attempts) < 5 {
		t.Fatalf("%d attempts recorded, want at least 5: 3 refused, a's and b's", len(attempts))
	}
	last := len(attempts) - 1
	for i, body := range attempts[:last] {
		if !bytes.Equal(body, attempts[0]) {
			t.Errorf("attempt %d posted\n%s\nnot the first attempt's\n%s", i+1, body, attempts[0])
		}
	}
	if !strings.Contains(string(attempts[last]), `"id":"`+b.ID+`"`) {
		t.Errorf("last attempt %s, want b's", attempts[last])
	}
}

// TestBackoffGrowsAndCaps: the waits between the attempts of an alert
// double from MinBackoff to MaxBackoff, with jitter, and start again
// from MinBackoff for the next alert once one is taken. The waits are
// recorded, not slept.
func TestBackoffGrowsAndCaps(t *testing.T) {
	var fail atomic.Int64
	fail.Store(8)
	r := newReceiver(t, func(int) int {
		if fail.Add(-1) >= 0 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	s := &instantSleep{}
	opts := Options{URL: r.srv.URL, MinBackoff: time.Second, MaxBackoff: 8 * time.Second}
	o, err := open(t.TempDir(), opts, s.sleep)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	mustAdd(t, o, testAlert("a"))
	waitFor(t, "a's delivery", func() bool { return o.Stats().Delivered == 1 })
	fail.Store(2)
	mustAdd(t, o, testAlert("b"))
	waitFor(t, "b's delivery", func() bool { return o.Stats().Delivered == 2 })

	// The nominal wait after each failure; the wait is between half of
	// it (and at least MinBackoff) and all of it.
	nominal := []time.Duration{1, 2, 4, 8, 8, 8, 8, 8, 1, 2}
	waits := s.recorded()
	if len(waits) != len(nominal) {
		t.Fatalf("%d waits %v, want %d", len(waits), waits, len(nominal))
	}
	for i, w := range waits {
		hi := nominal[i] * time.Second
		lo := max(hi/2, time.Second)
		if w < lo || w > hi {
			t.Errorf("wait %d = %s, want within [%s, %s]", i+1, w, lo, hi)
		}
	}
	if st := o.Stats(); st.Attempts != 12 || st.Failures != 10 {
		t.Errorf("Stats = %+v, want 12 attempts, 10 failures", st)
	}
}

// TestNoRedirects: the default client does not follow a redirect, which
// would turn the POST into a GET without the alert: a 3xx is a failure.
func TestNoRedirects(t *testing.T) {
	var gets atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /alerts", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { gets.Add(1) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	o := openOutbox(t, t.TempDir(), fastOptions(srv.URL+"/alerts"))
	mustAdd(t, o, testAlert("a"))
	waitFor(t, "2 failed attempts", func() bool { return o.Stats().Failures >= 2 })
	o.Close()
	var se *StatusError
	if st := o.Stats(); !errors.As(st.LastError, &se) || se.StatusCode != http.StatusFound || st.Delivered != 0 {
		t.Errorf("Stats = %+v, want a 302 failure and nothing delivered", st)
	}
	if n := gets.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

// TestForgetDelivered: an id delivered is ignored by Add for
// RememberDelivered, and then forgotten, so that memory stays bounded.
func TestForgetDelivered(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC).UnixNano())
	r := newReceiver(t, nil)
	opts := fastOptions(r.srv.URL)
	opts.Now = func() time.Time { return time.Unix(0, now.Load()) }
	o := openOutbox(t, t.TempDir(), opts)
	a, b, c := testAlert("a"), testAlert("b"), testAlert("c")

	mustAdd(t, o, a)
	waitFor(t, "a's delivery", func() bool { return o.Stats().Delivered == 1 })
	now.Add(int64(RememberDelivered - time.Second))
	mustAdd(t, o, a) // still remembered: ignored
	mustAdd(t, o, b) // delivered at a's time + RememberDelivered - 1 s: a is remembered still
	waitFor(t, "b's delivery", func() bool { return o.Stats().Delivered == 2 })
	now.Add(int64(time.Second))
	mustAdd(t, o, c) // its delivery forgets a
	waitFor(t, "c's delivery", func() bool { return o.Stats().Delivered == 3 })
	mustAdd(t, o, a) // forgotten: delivered again
	mustAdd(t, o, b) // remembered: ignored
	waitFor(t, "a's second delivery", func() bool { return o.Stats().Delivered == 4 })
	mustAdd(t, o, c) // remembered: ignored; the receiver shows it, c being last
	mustAdd(t, o, testAlert("d"))
	waitFor(t, "d's delivery", func() bool { return o.Stats().Delivered == 5 })

	want := []string{a.ID, b.ID, c.ID, a.ID, testAlert("d").ID}
	if got := r.taken(); !slices.Equal(got, want) {
		t.Errorf("receiver took %q,\nwant %q", got, want)
	}
}

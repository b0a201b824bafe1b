package restlink

import (
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

func testBreaker(t *testing.T, failures, halfOpen uint32, open time.Duration) (*breaker, *[]string) {
	t.Helper()
	var changes []string
	s := breakerSettings{workspaceID: 1, breakerPlan: compileBreaker(BreakerConfig{ConsecutiveFailures: failures, OpenTimeout: open, HalfOpenRequests: halfOpen, FailureStatuses: []int{500, 503}}, new(problems))}
	b := newBreaker("w", s, new(lazy[workspaceStats]), func(_ *breaker, from, to gobreaker.State) { changes = append(changes, from.String()+">"+to.String()) })
	return b, &changes
}

// run passes one request through the breaker with the given outcome; it
// reports whether the breaker let it through.
func run(t *testing.T, b *breaker, outcome error) bool {
	t.Helper()
	slot, rj := b.enter()
	if rj != nil {
		if rj.code != CodeCircuitOpen {
			t.Fatalf("rejection %s", rj.code)
		}
		return false
	}
	slot.outcome = outcome
	slot.finish()
	return true
}

func TestBreakerOpensAfterConsecutiveFailures(t *testing.T) {
	b, changes := testBreaker(t, 3, 1, time.Minute)
	fail := errors.New("connection refused")
	run(t, b, fail)
	run(t, b, fail)
	run(t, b, nil) // a success (or any 4xx) resets the count
	run(t, b, fail)
	run(t, b, errNotSent) // client cancellations count neither way
	run(t, b, fail)
	if b.State() != gobreaker.StateClosed {
		t.Fatalf("opened early: %v", *changes)
	}
	run(t, b, fail)
	if b.State() != gobreaker.StateOpen || len(*changes) != 1 || b.lastTrip.ConsecutiveFailures != 3 {
		t.Fatalf("state %v changes %v trip %+v", b.State(), *changes, b.lastTrip)
	}
	if run(t, b, nil) {
		t.Error("open breaker let a request through")
	}
}

func TestBreakerRetryAfter(t *testing.T) {
	b, _ := testBreaker(t, 1, 1, 30*time.Second)
	now := time.Unix(1000, 0)
	b.now = func() time.Time { return now }
	run(t, b, errFailureStatus)
	for _, tc := range []struct {
		elapsed time.Duration
		want    int
	}{{0, 30}, {100 * time.Millisecond, 30}, {29 * time.Second, 1}, {29*time.Second + 500*time.Millisecond, 1}, {10 * time.Second, 20}} {
		now = time.Unix(1000, 0).Add(tc.elapsed)
		if rj := b.refusesNow(); rj == nil || rj.retryAfter != tc.want {
			t.Errorf("after %v, without entering: %+v, want Retry-After %d", tc.elapsed, rj, tc.want)
		}
		_, rj := b.enter()
		if rj == nil || rj.retryAfter != tc.want {
			t.Errorf("after %v: %+v, want Retry-After %d", tc.elapsed, rj, tc.want)
		}
	}
	// Once the open timeout has passed, the next request enters (the probe).
	now = time.Unix(1000, 0).Add(30 * time.Second)
	if rj := b.refusesNow(); rj != nil {
		t.Errorf("open timeout passed: refused %+v, want the request let in", rj)
	}
}

// TestBreakerRefusesNowOnlyWhenOpen: a closed or half-open breaker refuses
// nothing without entering.
func TestBreakerRefusesNowOnlyWhenOpen(t *testing.T) {
	b, _ := testBreaker(t, 1, 1, time.Millisecond)
	if rj := b.refusesNow(); rj != nil {
		t.Fatalf("closed: refused %+v", rj)
	}
	run(t, b, errFailureStatus)
	time.Sleep(2 * time.Millisecond)
	if _, rj := b.enter(); rj != nil { // the probe: half-open now
		t.Fatalf("after the open timeout: %+v", rj)
	}
	if rj := b.refusesNow(); rj != nil || b.State() != gobreaker.StateHalfOpen {
		t.Errorf("half-open (%v): refused %+v", b.State(), rj)
	}
}

func TestBreakerHalfOpen(t *testing.T) {
	const open = 50 * time.Millisecond
	b, changes := testBreaker(t, 1, 2, open)
	run(t, b, errFailureStatus)
	time.Sleep(open + 10*time.Millisecond)

	// Two probes may be in flight; a third is refused with Retry-After 1.
	slot1, rj1 := b.enter()
	slot2, rj2 := b.enter()
	_, rj3 := b.enter()
	if rj1 != nil || rj2 != nil || rj3 == nil || rj3.retryAfter != 1 {
		t.Fatalf("half-open admitted %v %v %v", rj1, rj2, rj3)
	}
	slot1.outcome = nil
	slot1.finish()
	if b.State() != gobreaker.StateHalfOpen {
		t.Fatalf("closed after one of two probes: %v", *changes)
	}
	slot2.outcome = nil
	slot2.finish()
	if b.State() != gobreaker.StateClosed {
		t.Fatalf("probes succeeded but state %v: %v", b.State(), *changes)
	}

	// A failed probe opens it again.
	run(t, b, errFailureStatus)
	time.Sleep(open + 10*time.Millisecond)
	run(t, b, errors.New("reset"))
	want := []string{"closed>open", "open>half-open", "half-open>closed", "closed>open", "open>half-open", "half-open>open"}
	if got := *changes; len(got) != len(want) || got[len(got)-1] != want[len(want)-1] {
		t.Errorf("changes = %v, want %v", got, want)
	}
}

func TestBreakerClientGoneFreesProbe(t *testing.T) {
	const open = 30 * time.Millisecond
	b, _ := testBreaker(t, 1, 1, open)
	run(t, b, errFailureStatus)
	time.Sleep(open + 10*time.Millisecond)
	run(t, b, errNotSent) // the probe's client hung up
	if !run(t, b, nil) || b.State() != gobreaker.StateClosed {
		t.Errorf("probe slot not freed; state %v", b.State())
	}
}

func TestBreakerFailureStatuses(t *testing.T) {
	s := breakerSettings{workspaceID: 1, breakerPlan: compileBreaker(BreakerConfig{FailureStatuses: []int{500, 502, 503, 504, 563, 564, 599}}, new(problems))}
	for status, want := range map[int]bool{200: false, 401: false, 429: false, 499: false, 500: true, 501: false, 504: true,
		562: false, 563: true, 564: true, 565: false, 598: false, 599: true, 600: false, 627: false, 663: false} {
		if s.isFailure(status) != want {
			t.Errorf("isFailure(%d) = %v", status, !want)
		}
	}
}

func BenchmarkBreakerOpen(b *testing.B) {
	settings := breakerSettings{workspaceID: 1, breakerPlan: compileBreaker(BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: time.Hour, HalfOpenRequests: 1}, new(problems))}
	br := newBreaker("w", settings, new(lazy[workspaceStats]), nil)
	slot, _ := br.enter()
	slot.outcome = errFailureStatus
	slot.finish()
	b.ReportAllocs()
	for b.Loop() {
		if _, rj := br.enter(); rj == nil {
			b.Fatal("open breaker let a request through")
		}
	}
}

// TestBreakerBuiltOnFirstRequest: a workspace's gobreaker breaker is built
// when its first request enters; until then the breaker reads closed, with
// nothing counted, and costs only its own struct.
func TestBreakerBuiltOnFirstRequest(t *testing.T) {
	b := newBreaker("main", breakerSettings{breakerPlan: breakerPlan{consecutiveFailures: 1, openTimeout: time.Minute, halfOpenRequests: 1}}, new(lazy[workspaceStats]), nil)
	if b.cb.Load() != nil {
		t.Fatal("a breaker no request entered was built")
	}
	if c, state := b.Counts(); state != gobreaker.StateClosed || c != (gobreaker.Counts{}) || b.State() != gobreaker.StateClosed {
		t.Errorf("an unbuilt breaker reads %v %+v", state, c)
	}
	s, rj := b.enter()
	if rj != nil || b.cb.Load() == nil {
		t.Fatalf("first request: %v, built %v", rj, b.cb.Load() != nil)
	}
	s.outcome = errFailureStatus
	s.finish()
	if _, state := b.Counts(); state != gobreaker.StateOpen {
		t.Errorf("after a failure with consecutive_failures 1: %v, want open", state)
	}
}

// TestOpenBreakerRefusesBeforeThePolicy: a send to a workspace whose
// breaker is open is refused CIRCUIT_OPEN before the send policy looks at
// it, unless it has an idempotency key: that takes the whole path, so
// that a completed send is replayed whatever the breaker. A dry run is
// answered as ever: it needs no upstream.
func TestOpenBreakerRefusesBeforeThePolicy(t *testing.T) {
	path := benchConfig(t, t.TempDir(), benchUpstream(t).URL, 20) // tenant-1 and tenant-11 use ws-1
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("policy:\n  default:\n    mode: enforce\n    senders: [Other]\n  tenants:\n    tenant-11: {dry_run: true, senders: [MyApp]}\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	h := benchHandlerOf(t, path, benchKeyEnv())
	serve := func(tenant string, header ...string) string {
		r := benchRequest(tenant)
		for i := 0; i < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := &discardWriter{h: make(http.Header)}
		_ = h.ServeHTTP(w, r, nil)
		return w.h.Get(ErrorHeader)
	}
	if got := serve("tenant-1"); got != string(CodeSenderNotAllowed) {
		t.Fatalf("closed breaker: %q, want the policy's refusal", got)
	}
	ws := h.live.current.Load().workspace("ws-1")
	for ws.breakerState() != gobreaker.StateOpen {
		slot, _ := ws.breaker().enter()
		slot.outcome = errFailureStatus
		slot.finish()
	}
	if got := serve("tenant-1"); got != string(CodeCircuitOpen) {
		t.Errorf("open breaker: %q, want %s", got, CodeCircuitOpen)
	}
	if got := serve("tenant-1", "Idempotency-Key", "k1"); got != string(CodeSenderNotAllowed) {
		t.Errorf("open breaker, with an idempotency key: %q, want the policy's refusal", got)
	}
	if got := serve("tenant-11"); got != "" {
		t.Errorf("open breaker, a dry-run tenant: %q, want the dry run's answer", got)
	}
}

package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/loopback"
	"github.com/23telecom/restlink-sidecar/internal/redistest"
)

// recordRuns makes l report to the returned slice, on a fake clock, and
// returns the run's pending end check as the test must fire it.
func recordRuns(l *clientLogger) (runs *[]ClientLog, clock *fakeClock, check *func()) {
	runs, clock, check = new([]ClientLog), &fakeClock{now: base}, new(func())
	report := func(c ClientLog) { *runs = append(*runs, c) }
	l.report.Store(&report)
	l.clock = clock.Now
	l.after = func(_ time.Duration, f func()) { *check = f }
	return runs, clock, check
}

// TestClientLogRuns: go-redis's lines are reported by the first of a run,
// and by the run's end with its count once the client has been quiet for
// OutageQuiet; a line after it starts a new run.
func TestClientLogRuns(t *testing.T) {
	l := newClientLogger()
	runs, clock, check := recordRuns(l)
	dial := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	for range 3 {
		l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 1, dial)
	}
	want := ClientLog{Message: "connection pool: failed to dial after 1 attempts: " + dial.Error()}
	if len(*runs) != 1 || (*runs)[0] != want {
		t.Fatalf("reports %+v after three lines, want only %+v", *runs, want)
	}

	clock.Advance(OutageQuiet / 2)
	l.Printf(context.Background(), "sentinel: GetMasterAddrByName name=%q failed: %s", "main", "i/o timeout")
	clock.Advance(OutageQuiet / 2)
	(*check)() // a minute after the first line, half a minute after the last
	clock.Advance(OutageQuiet/2 - time.Nanosecond)
	(*check)()
	if len(*runs) != 1 {
		t.Fatalf("the run ended before the client was quiet for %v: %+v", OutageQuiet, *runs)
	}
	clock.Advance(time.Nanosecond)
	(*check)()
	if len(*runs) != 2 || (*runs)[1] != (ClientLog{Over: true, Lines: 4}) {
		t.Fatalf("reports %+v, want the run over with its 4 lines", *runs)
	}

	l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 1, dial)
	if len(*runs) != 3 || (*runs)[2] != want {
		t.Errorf("a line after the run's end: reports %+v, want a new run", *runs)
	}
}

// TestClientLogRedactsPasswords: a password handed to the client (in the
// URL, or by Credentials when it connects) never appears in a reported
// line.
func TestClientLogRedactsPasswords(t *testing.T) {
	l := newClientLogger()
	runs, _, _ := recordRuns(l)
	l.redact("old-PW-4x9")
	l.redact("new-PW-7k2")
	l.Printf(context.Background(), "auth with %s failed; %s too", "new-PW-7k2", "old-PW-4x9")
	if got := (*runs)[0].Message; got != "auth with [redacted] failed; [redacted] too" {
		t.Errorf("reported %q", got)
	}

	srv := redistest.Start(t)
	if _, err := srv.Do("CONFIG", "SET", "requirepass", "credsPW-55z"); err != nil {
		t.Fatal(err)
	}
	viaCreds := newRedis(t, RedisOptions{URL: srv.URL, Credentials: func(context.Context) (string, string, error) { return "", "credsPW-55z", nil }})
	if err := viaCreds.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	newRedis(t, RedisOptions{URL: "redis://:urlPW-81q@" + srv.Addr})
	clientLog.mu.Lock()
	defer clientLog.mu.Unlock()
	for _, pw := range []string{"credsPW-55z", "urlPW-81q"} {
		if !slices.Contains(clientLog.secrets, pw) {
			t.Errorf("a password handed to the client is not redacted from its lines")
		}
	}
}

// TestClientLogRouted: once routed, go-redis's own lines reach the report,
// not stderr.
func TestClientLogRouted(t *testing.T) {
	got := make(chan ClientLog, 16)
	RouteClientLog(func(c ClientLog) {
		select {
		case got <- c:
		default:
		}
	})
	t.Cleanup(func() { RouteClientLog(func(ClientLog) {}) }) // later tests' lines go nowhere
	clientLog.mu.Lock()
	clientLog.lines = 0 // a run another test started
	clientLog.mu.Unlock()

	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r := newRedis(t, RedisOptions{URL: "redis://127.0.0.1:" + strconv.Itoa(port)})
	if err := r.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping with nothing listening: %v", err)
	}
	select {
	case c := <-got:
		if c.Over || !strings.Contains(c.Message, "failed to dial") || strings.HasPrefix(c.Message, "redis:") {
			t.Errorf("reported %+v, want the first line of a run: the failed dial", c)
		}
	default:
		t.Error("go-redis's line about the failed dial was not reported")
	}
}

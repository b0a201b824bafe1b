package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientLog is a run of the go-redis client's own log lines, as
// RouteClientLog reports it. The client prints a line on events of its own
// (every failed dial, twice a second per node while Redis is down): a run
// is reported by its first line and, once the client has printed nothing
// for OutageQuiet, by how many lines it printed.
type ClientLog struct {
	// Over is false for the run's first line, true once the run is over.
	Over bool
	// Message is the first line, without go-redis's "redis: " prefix.
	// Every password handed to the client is replaced by "[redacted]".
	Message string
	// Lines counts the run's lines, when it is over.
	Lines int64
}

// clientLogKeep is how many of the latest distinct passwords handed to the
// client are redacted from its lines: rotations overlap for a while, and
// connections made with an old password may still report.
const clientLogKeep = 8

// clientLog receives go-redis's log lines once RouteClientLog installed it:
// go-redis has one logger per process.
var clientLog = newClientLogger()

// RouteClientLog sends the go-redis client's own log lines, for the whole
// process, to report instead of stderr (where go-redis prints raw text,
// not the sidecar's structured log): the first line of a run, then the
// run's end and its count of lines (see ClientLog). The first call
// installs the route in go-redis; later calls replace report. report is
// called with a lock held and must not block.
func RouteClientLog(report func(ClientLog)) {
	clientLog.report.Store(&report)
	clientLog.install.Do(func() { redis.SetLogger(clientLog) })
}

// clientLogger is go-redis's logger (its internal.Logging): it keeps runs
// of lines as RouteClientLog says.
type clientLogger struct {
	install sync.Once
	report  atomic.Pointer[func(ClientLog)]
	// clock reads the time and after schedules the check for a run's end;
	// tests replace them.
	clock func() time.Time
	after func(time.Duration, func())

	mu      sync.Mutex
	lines   int64 // of the run under way; 0 between runs
	last    time.Time
	secrets []string // the latest passwords handed to the client, oldest first
}

// newClientLogger returns a clientLogger on the system clock.
func newClientLogger() *clientLogger {
	return &clientLogger{
		clock: time.Now,
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) },
	}
}

// Printf takes one of go-redis's log lines.
func (l *clientLogger) Printf(_ context.Context, format string, v ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	msg = strings.TrimPrefix(msg, "redis: ")
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = l.clock()
	l.lines++
	if l.lines > 1 {
		return
	}
	for _, s := range l.secrets {
		msg = strings.ReplaceAll(msg, s, "[redacted]")
	}
	l.send(ClientLog{Message: msg})
	l.after(OutageQuiet, l.endIfQuiet)
}

// endIfQuiet ends the run under way if the client has printed nothing for
// OutageQuiet, and otherwise checks again when it may have.
func (l *clientLogger) endIfQuiet() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines == 0 {
		return
	}
	if wait := OutageQuiet - l.clock().Sub(l.last); wait > 0 {
		l.after(wait, l.endIfQuiet)
		return
	}
	l.send(ClientLog{Over: true, Lines: l.lines})
	l.lines = 0
}

// send reports a run. l.mu is held, so that reports come in order.
func (l *clientLogger) send(c ClientLog) {
	if report := l.report.Load(); report != nil {
		(*report)(c)
	}
}

// redact makes the logger replace password in the client's lines from now
// on; it is called with every password handed to the client.
func (l *clientLogger) redact(password string) {
	if password == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, s := range l.secrets {
		if s == password {
			l.secrets = append(l.secrets[:i], l.secrets[i+1:]...)
			break
		}
	}
	l.secrets = append(l.secrets, password)
	if len(l.secrets) > clientLogKeep {
		l.secrets = l.secrets[1:]
	}
}

package restlinktest

import (
	"net/http"
	"time"
)

// Request is a request as the fake received it, and what it answered.
// Header and Body are shared with the fake's record: do not modify them.
type Request struct {
	Method string
	// Path is the request path exactly as sent on the wire (escaped), the
	// one a signature covers.
	Path     string
	RawQuery string
	Host     string
	// Header and Body are nil for requests received with recording off.
	Header      http.Header
	Body        []byte
	Key         string // the X-API-Key sent
	WorkspaceID int64  // the workspace the key is bound to; 0 if none
	// Received is when the request arrived, by the fake's clock.
	Received time.Time
	// Status is the HTTP status the fake answered; 0 while it has not
	// answered yet, or if a fault dropped the connection.
	Status int
	// ErrorCode is the error_code of the fake's error answer; empty for
	// success and for answers without restlink's error body.
	ErrorCode string
}

// recentWithoutRecording is how many requests the record keeps, without
// their headers and bodies, while recording is off: enough to measure the
// rate a load test sent at, bounded however long it runs.
const recentWithoutRecording = 1024

// requestLog is the record of requests received.
type requestLog struct {
	off      bool
	requests []*Request
	count    int // received since the last Reset
}

// add records a request on arrival, so that it counts before the client
// can see any answer. f.mu is held.
func (l *requestLog) add(r *http.Request, body []byte, key string, wsID int64, now time.Time) *Request {
	l.count++
	rec := &Request{
		Method: r.Method, Path: wirePath(r), RawQuery: r.URL.RawQuery, Host: r.Host,
		Key: key, WorkspaceID: wsID, Received: now,
	}
	if !l.off {
		rec.Header = r.Header.Clone()
		rec.Body = body
	} else if len(l.requests) >= 2*recentWithoutRecording {
		// Keep the latest ones; copying half the slice every so often
		// is cheaper than a ring for readers and writers alike.
		l.requests = append(l.requests[:0:0], l.requests[len(l.requests)-recentWithoutRecording:]...)
	}
	l.requests = append(l.requests, rec)
	return rec
}

// finish records the answer before it is written, so that a client that
// has read it finds it in the record.
func (f *Fake) finish(rec *Request, resp response) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec.Status = resp.status
	rec.ErrorCode = resp.code
}

// SetRecording turns the full record of received requests on (the
// default) or off. Off, for load tests, Requests keeps only the latest
// 1,024 to 2,048 requests, without headers or bodies, and Count still
// counts every request.
func (f *Fake) SetRecording(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log.off = !on
}

// Requests returns a copy of the requests recorded so far, in the order
// they arrived.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Request, len(f.log.requests))
	for i, r := range f.log.requests {
		out[i] = *r
	}
	return out
}

// Count returns how many requests were received since the last Reset,
// recorded or not.
func (f *Fake) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.log.count
}

// Reset forgets the requests received, removes every fault and sets the
// count of refused replays back to 0. Workspaces, keys, balances, messages
// and webhook settings stay; so do the signatures already accepted, which
// restlink would still refuse.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log.requests = nil
	f.log.count = 0
	f.faults = nil
	f.replays.refused = 0
}

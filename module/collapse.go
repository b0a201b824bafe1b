package restlink

import (
	"context"
	"crypto/sha256"
	"net/http"
	"slices"
	"sync"
)

// collapser lets identical signed GET and HEAD requests that are in flight
// at the same moment share one upstream request. restlink accepts each
// signed (timestamp, signature) pair once, and identical requests sign
// alike in the same second: signRequest moves each to a second of its own,
// but a burst of identical requests can outnumber the seconds restlink's
// 5-minute window has. Safe requests that are identical — same workspace,
// method, path, query and forwarded headers — get the same answer anyway,
// so the first goes upstream and the others wait for its answer. An answer
// that is larger than maxSharedAnswer, cut short, or a sidecar error is not
// shared: the waiting requests then go upstream themselves.
type collapser struct {
	mu    sync.Mutex
	calls map[[sha256.Size]byte]*sharedCall
}

// maxSharedAnswer bounds an answer kept in memory to be shared.
const maxSharedAnswer = 1 << 20

// sharedCall is one upstream request and the requests waiting for it.
type sharedCall struct {
	done   chan struct{}
	answer *sharedAnswer // set before done is closed; nil: not shareable
}

// sharedAnswer is an upstream answer, whole.
type sharedAnswer struct {
	status int
	header http.Header
	body   []byte
}

// collapseKey names what makes two requests identical.
func collapseKey(ws *workspace, out *outbound) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(ws.name + "\x00" + out.method + "\x00" + out.path + "\x00" + out.query + "\x00"))
	names := make([]string, 0, len(out.header))
	for name := range out.header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		h.Write([]byte(name))
		for _, v := range out.header[name] {
			h.Write([]byte("\x00" + v))
		}
		h.Write([]byte("\x01"))
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// join returns the call in flight under k, or registers a new one for
// which the caller is the leader: it must end it with finish.
func (c *collapser) join(k [sha256.Size]byte) (call *sharedCall, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if call := c.calls[k]; call != nil {
		return call, false
	}
	if c.calls == nil {
		c.calls = make(map[[sha256.Size]byte]*sharedCall)
	}
	call = &sharedCall{done: make(chan struct{})}
	c.calls[k] = call
	return call, true
}

// finish publishes the leader's answer (nil: not shareable) and lets no
// further request join the call.
func (c *collapser) finish(k [sha256.Size]byte, call *sharedCall, answer *sharedAnswer) {
	c.mu.Lock()
	delete(c.calls, k)
	c.mu.Unlock()
	call.answer = answer
	close(call.done)
}

// wait waits for the leader's answer; nil if it is not shareable or the
// app went away.
func (call *sharedCall) wait(ctx context.Context) *sharedAnswer {
	select {
	case <-call.done:
		return call.answer
	case <-ctx.Done():
		return nil
	}
}

// write answers a waiting request with a shared answer.
func (a *sharedAnswer) write(w http.ResponseWriter) {
	h := w.Header()
	delete(h, "Server")
	for name, vals := range a.header {
		h[name] = vals
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// capturingWriter writes an answer through to the app and keeps a copy,
// up to maxSharedAnswer, for requests waiting on the same call.
type capturingWriter struct {
	http.ResponseWriter
	status   int
	header   http.Header
	body     []byte
	overflow bool
}

func (cw *capturingWriter) WriteHeader(status int) {
	cw.status, cw.header = status, cw.ResponseWriter.Header().Clone()
	cw.ResponseWriter.WriteHeader(status)
}

func (cw *capturingWriter) Write(p []byte) (int, error) {
	if !cw.overflow {
		if len(cw.body)+len(p) > maxSharedAnswer {
			cw.overflow, cw.body = true, nil
		} else {
			cw.body = append(cw.body, p...)
		}
	}
	return cw.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the app's connection.
func (cw *capturingWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// answer is the captured answer, if it can be shared.
func (cw *capturingWriter) answer() *sharedAnswer {
	if cw.overflow || cw.status == 0 {
		return nil
	}
	return &sharedAnswer{status: cw.status, header: cw.header, body: cw.body}
}

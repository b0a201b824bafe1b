package restlink

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// bodyBudget bounds the request-body bytes that all requests of a live
// config hold in memory at once (security.max_body_bytes_in_flight). Bytes
// are taken as buffers grow, that is as data arrives: a client that
// announces a large body and sends nothing holds one small chunk, not the
// size it announced.
type bodyBudget struct{ used atomic.Int64 }

// take reserves n bytes if that keeps the total within limit.
func (b *bodyBudget) take(n, limit int64) bool {
	if b.used.Add(n) > limit {
		b.used.Add(-n)
		return false
	}
	return true
}

// give returns n bytes.
func (b *bodyBudget) give(n int64) { b.used.Add(-n) }

// bodyChunk is the buffer a body starts with: most sends fit in it, and a
// client that stalls holds no more.
const bodyChunk = 16 << 10

// heldBody is a request body read whole into memory, so that it can be
// signed, checked against the send policy and sent again after a 401.
type heldBody struct {
	data []byte
	held int64 // bytes taken from the budget; give them back with release
}

// release returns the body's bytes to the budget.
func (hb *heldBody) release(b *bodyBudget) {
	b.give(hb.held)
	hb.held = 0
}

// readBody reads the request body whole before anything is taken from the
// breaker or sent upstream: a client trickling its body ties up nothing but
// its own connection. It refuses a body over maxBody, one not complete
// within timeout, one that ends early or has malformed chunked framing, and
// one that would take the budget over inFlight.
func readBody(w http.ResponseWriter, r *http.Request, c *clientPolicy, budget *bodyBudget) (heldBody, *rejection) {
	var hb heldBody
	if r.Body == nil || r.Body == http.NoBody {
		return hb, nil
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(c.bodyTimeout)) == nil {
		defer rc.SetReadDeadline(time.Time{})
	}
	// One spare byte past an announced length lets the read that sees EOF
	// land without growing the buffer. (An announced length over maxBody
	// was refused before the body was read.)
	size := int64(bodyChunk)
	if r.ContentLength >= 0 {
		size = min(size, r.ContentLength+1)
	}
	grow := func(to int64) bool {
		if !budget.take(to-int64(cap(hb.data)), c.maxBodyInFlight) {
			return false
		}
		hb.held += to - int64(cap(hb.data))
		hb.data = append(make([]byte, 0, to), hb.data...)
		return true
	}
	if !grow(size) {
		return hb, c.overloaded()
	}
	for {
		if len(hb.data) == cap(hb.data) {
			next := min(2*int64(cap(hb.data)), c.maxBody+1)
			if r.ContentLength >= 0 {
				next = r.ContentLength + 1 // its exact size, once data arrives
			}
			if !grow(max(next, int64(cap(hb.data))+1)) {
				return hb, c.overloaded()
			}
		}
		n, err := r.Body.Read(hb.data[len(hb.data):cap(hb.data)])
		hb.data = hb.data[:len(hb.data)+n]
		switch {
		case int64(len(hb.data)) > c.maxBody:
			return hb, c.bodyTooLarge()
		case err == io.EOF:
			return hb, nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			return hb, reject(CodeRequestBodyTimeout, "the request body did not arrive within security.body_timeout ("+c.bodyTimeout.String()+")")
		case err != nil:
			return hb, reject(CodeRequestBodyIncomplete, "the request body ended before its announced length, or its chunked framing is malformed; nothing was sent upstream")
		}
	}
}

func (c *clientPolicy) bodyTooLarge() *rejection {
	return reject(CodeBodyTooLarge, "the request body is larger than "+strconv.FormatInt(c.maxBody, 10)+" bytes (security.max_body_bytes)")
}

func (c *clientPolicy) overloaded() *rejection {
	rj := reject(CodeSidecarOverloaded, "the sidecar holds as many request bodies as security.max_body_bytes_in_flight allows; retry after the time in Retry-After")
	rj.retryAfter = 1
	return rj
}

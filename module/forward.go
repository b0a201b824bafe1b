package restlink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// outbound is a request as it goes upstream, prepared once; each attempt
// sends it with one key.
type outbound struct {
	method string
	path   string // canonical, as checked; put on the wire exactly
	query  string
	body   []byte
	header http.Header // from upstreamHeader
}

// send makes one round trip with key k. Each attempt is a new request; the
// header map is shared, which is safe because an attempt is only followed
// by another once its response body is closed, when the transport is done
// with the request.
//
// The path goes in URL.Opaque, which the transport writes to the request
// line as it is: with URL.Path and URL.RawPath, Go re-escapes a path
// holding a character it would escape itself (|, ^, {, raw UTF-8) and then
// decodes every other escape in it (%3B becomes ;).
func (o *outbound) send(ctx context.Context, up *upstream, k *key) (*http.Response, error) {
	o.header["X-Api-Key"] = k.header[:]
	out := &http.Request{
		Method:     o.method,
		URL:        &url.URL{Scheme: up.scheme, Host: up.host, Opaque: o.path, RawQuery: o.query},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     o.header,
		Host:       up.host,
		Body:       http.NoBody,
	}
	if body := o.body; len(body) > 0 {
		out.ContentLength = int64(len(body))
		out.Body = io.NopCloser(bytes.NewReader(body)) // in memory: headers and body go out in one write
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return up.transport.RoundTrip(out.WithContext(ctx))
}

// errUpstreamTimeout is the cause of a round trip cancelled because the
// upstream was silent for upstream.timeout.
var errUpstreamTimeout = errors.New("upstream timeout")

// upstreamClock bounds the upstream alone: the wait for each attempt's
// response headers, and each silence within its body, are limited to
// upstream.timeout. Time spent writing to the app is not counted: a slow
// reader is the app's business, never the upstream's failure.
type upstreamClock struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	timeout time.Duration
}

// newUpstreamClock starts a clock; its context is not the app's request
// context, so that a request that may send a message runs to its end even
// if the app hangs up (its outcome is then known, logged and counted).
func newUpstreamClock(timeout time.Duration) *upstreamClock {
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &upstreamClock{ctx: ctx, cancel: cancel, timeout: timeout}
	c.timer = time.AfterFunc(timeout, func() { cancel(errUpstreamTimeout) })
	return c
}

// wait starts timing a wait for the upstream; pause stops it.
func (c *upstreamClock) wait()  { c.timer.Reset(c.timeout) }
func (c *upstreamClock) pause() { c.timer.Stop() }

// timedOut reports whether the clock ran out.
func (c *upstreamClock) timedOut() bool { return context.Cause(c.ctx) == errUpstreamTimeout }

// stop releases the clock.
func (c *upstreamClock) stop() {
	c.timer.Stop()
	c.cancel(nil)
}

// timedBody times each read of an upstream body.
type timedBody struct {
	io.ReadCloser
	clock *upstreamClock
}

func (b *timedBody) Read(p []byte) (int, error) {
	b.clock.wait()
	n, err := b.ReadCloser.Read(p)
	b.clock.pause()
	return n, err
}

// droppedResponseHeaders are the upstream's response headers that never
// reach the app: those that belong to one connection, and credentials an
// upstream (or a proxy on the way) might echo back, which would hand the
// app the very key the sidecar keeps from it.
var droppedResponseHeaders = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Proxy-Authenticate": true,
	"X-Api-Key": true, "X-Signature": true,
}

// copyResponse writes the upstream's response to the client as it came,
// minus droppedResponseHeaders: the sidecar adds no header of its own (but
// Retry-After on a 429 that has none) (Caddy's
// Server header is removed; no Content-Type is sniffed and no Date added
// when the upstream sent none). An event stream, or an answer of unknown
// length, is flushed at once and after every write, as Caddy's
// reverse_proxy does, so that long polls and server-sent events arrive as
// they are sent. readErr reports a body the upstream cut short; what was
// copied is flushed first, so that the client sees a response cut short,
// not a connection closed without an answer (which an HTTP client may take
// as a reason to send a request again). writeErr reports a client that
// went away.
func copyResponse(w http.ResponseWriter, resp *http.Response) (readErr, writeErr error) {
	h := w.Header()
	delete(h, "Server")
	for name, vals := range resp.Header {
		if !droppedResponseHeaders[name] {
			h[name] = vals
		}
	}
	for _, conn := range resp.Header["Connection"] {
		for _, name := range strings.Split(conn, ",") {
			delete(h, textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)))
		}
	}
	for _, name := range [...]string{"Content-Type", "Date"} {
		if _, ok := resp.Header[name]; !ok {
			h[name] = nil // present but empty: net/http then adds none
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		// restlink's ordinary 429s carry no Retry-After; its advice is to
		// back off from about a second.
		h["Retry-After"] = []string{"1"}
	}
	if len(resp.Trailer) > 0 {
		names := make([]string, 0, len(resp.Trailer))
		for name := range resp.Trailer {
			names = append(names, name)
		}
		h["Trailer"] = []string{strings.Join(names, ", ")}
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	stream := resp.ContentLength < 0 || isEventStream(resp.Header)
	if stream {
		_ = rc.Flush()
	}

	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	cw := &clientWriter{w: w}
	switch n := resp.ContentLength; {
	case resp.Body == http.NoBody: // HEAD, 204, 304
	case n >= 0 && n <= int64(len(*buf)):
		// The usual small answer: read it whole, write it in one go.
		var got int
		got, readErr = io.ReadFull(resp.Body, (*buf)[:n])
		_, _ = cw.Write((*buf)[:got])
	case stream:
		readErr = copyFlushing(cw, rc, resp.Body, *buf)
	default:
		_, readErr = io.CopyBuffer(cw, resp.Body, *buf)
	}
	if cw.err != nil {
		return nil, cw.err
	}
	if readErr != nil {
		_ = rc.Flush()
		return readErr, nil
	}
	for name, vals := range resp.Trailer {
		h[http.TrailerPrefix+name] = vals
	}
	return nil, nil
}

// copyFlushing copies src to the client, flushing after every write.
func copyFlushing(cw *clientWriter, rc *http.ResponseController, src io.Reader, buf []byte) error {
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := cw.Write(buf[:n]); werr != nil {
				return nil // cw.err tells
			}
			if cw.err = rc.Flush(); cw.err != nil {
				return nil
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// isEventStream reports a text/event-stream answer.
func isEventStream(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "text/event-stream"
}

// clientWriter writes to the client and keeps the first write error, so
// that a copy error can be told apart: the client's or the upstream's. It
// also hides the writer's ReadFrom, so that the pooled buffer is used.
type clientWriter struct {
	w   io.Writer
	err error
}

func (cw *clientWriter) Write(p []byte) (int, error) {
	if cw.err != nil {
		return 0, cw.err
	}
	n, err := cw.w.Write(p)
	cw.err = err
	return n, err
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// drain discards what is left of a response body (up to a bound) so that
// its connection can be reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}

// maxErrorBody bounds how much of a 401 answer is read to learn its
// error_code.
const maxErrorBody = 64 << 10

// readErrorCode reads the error_code of an upstream error answer, keeping
// what it read so that the answer can still be passed on whole.
func readErrorCode(resp *http.Response) string {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	var body struct {
		ErrorCode string `json:"error_code"`
	}
	_ = json.Unmarshal(head, &body)
	return body.ErrorCode
}

// classifyFailure names why a round trip failed.
func classifyFailure(err error, clock *upstreamClock, afterHeaders bool) string {
	switch {
	case clock.timedOut():
		return failTimeout
	case afterHeaders:
		return failTruncated
	case errors.As(err, new(reverseproxy.DialError)):
		return failConnect
	}
	return failLost
}

// upstreamError is the sidecar's answer to a round trip that failed before
// any response headers came back.
func upstreamError(reason string, timeout time.Duration) *rejection {
	switch reason {
	case failTimeout:
		return reject(CodeUpstreamTimeout, "the upstream did not answer within upstream.timeout ("+timeout.String()+"); the request may have been processed")
	case failConnect:
		return reject(CodeUpstreamUnavailable, "could not connect to the upstream; the request was not sent")
	}
	return reject(CodeUpstreamUnavailable, "the connection to the upstream failed; the request may have been processed")
}

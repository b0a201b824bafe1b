package restlink

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// readBody reads the whole request body, up to limit bytes, so that it can
// be sent again with another key after a 401. tooLarge reports a body over
// the limit; err is a failure to read from the client.
func readBody(r *http.Request, limit int64) (body []byte, tooLarge bool, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, false, nil
	}
	if r.ContentLength > 0 {
		body = make([]byte, r.ContentLength) // the client policy checked it against limit
		_, err = io.ReadFull(r.Body, body)
		return body, false, err
	}
	body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	if int64(len(body)) > limit {
		return nil, true, nil
	}
	return body, false, err
}

// outbound is a request as it goes upstream, prepared once; each attempt
// sends it with one key.
type outbound struct {
	method string
	path   string // raw, as checked by checkPath
	query  string
	body   []byte
	header http.Header // from upstreamHeader
}

// send makes one round trip with key k. Each attempt is a new request; the
// header map is shared, which is safe because an attempt is only followed
// by another once its response body is closed, when the transport is done
// with the request.
func (o *outbound) send(ctx context.Context, up *upstream, k *key) (*http.Response, error) {
	o.header["X-Api-Key"] = k.header
	out := &http.Request{
		Method:     o.method,
		URL:        &url.URL{Scheme: up.scheme, Host: up.host, Path: o.path, RawQuery: o.query},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     o.header,
		Host:       up.host,
		Body:       http.NoBody,
	}
	if strings.IndexByte(o.path, '%') >= 0 {
		// the path was checked canonical: unescaping cannot fail, and the
		// raw form is what goes on the wire.
		out.URL.Path, _ = url.PathUnescape(o.path)
		out.URL.RawPath = o.path
	}
	if body := o.body; len(body) > 0 {
		out.ContentLength = int64(len(body))
		out.Body = io.NopCloser(bytes.NewReader(body)) // in memory: headers and body go out in one write
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return up.transport.RoundTrip(out.WithContext(ctx))
}

// copyResponse writes the upstream's response to the client unchanged,
// minus hop-by-hop headers. readErr reports a body the upstream cut short;
// what was copied is flushed first, so that the client sees a response cut
// short, not a connection closed without an answer (which an HTTP client
// may take as a reason to send a request again). writeErr reports a client
// that went away.
func copyResponse(w http.ResponseWriter, resp *http.Response) (readErr, writeErr error) {
	h := w.Header()
	for name, vals := range resp.Header {
		if !hopByHopResponse[name] {
			h[name] = vals
		}
	}
	for _, conn := range resp.Header["Connection"] {
		for _, name := range strings.Split(conn, ",") {
			delete(h, textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)))
		}
	}
	if len(resp.Trailer) > 0 {
		names := make([]string, 0, len(resp.Trailer))
		for name := range resp.Trailer {
			names = append(names, name)
		}
		h["Trailer"] = []string{strings.Join(names, ", ")}
	}
	w.WriteHeader(resp.StatusCode)

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
	default:
		_, readErr = io.CopyBuffer(cw, resp.Body, *buf)
	}
	if cw.err != nil {
		return nil, cw.err
	}
	if readErr != nil {
		_ = http.NewResponseController(w).Flush()
		return readErr, nil
	}
	for name, vals := range resp.Trailer {
		h[http.TrailerPrefix+name] = vals
	}
	return nil, nil
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

// upstreamError maps a failed round trip to the sidecar's answer.
func upstreamError(err error, timeout time.Duration) *rejection {
	if errors.Is(err, context.DeadlineExceeded) {
		return reject(CodeUpstreamTimeout, "the upstream did not answer within upstream.timeout ("+timeout.String()+"); the request may have been processed")
	}
	if errors.As(err, new(reverseproxy.DialError)) {
		return reject(CodeUpstreamUnavailable, "could not connect to the upstream; the request was not sent")
	}
	return reject(CodeUpstreamUnavailable, "the connection to the upstream failed; the request may have been processed")
}

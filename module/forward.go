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

// credentialHeaders are the credentials an app may send; they are never
// forwarded (SPEC §5 step 4). X-Api-Key is then set to the workspace's key.
var credentialHeaders = []string{"X-Api-Key", "Authorization", "Proxy-Authorization", "Cookie"}

// alwaysStripped are the request headers never forwarded, in canonical form:
// credentials; hop-by-hop headers; headers that could make the upstream or
// a proxy on the way see another host, client, path or method than the
// sidecar checked; and Expect, since the body is already read.
var alwaysStripped = append([]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
	"X-Forwarded-Prefix", "X-Forwarded-Server", "X-Real-Ip", "X-Original-Url", "X-Rewrite-Url",
	"X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
	"Expect",
}, credentialHeaders...)

// hopByHopResponse are response headers that belong to one connection.
var hopByHopResponse = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Proxy-Authenticate": true,
}

// idempotencyHeaders make Go's transport treat a request as safe to send
// again by itself; see outgoingHeader.
var idempotencyHeaders = [...]string{"Idempotency-Key", "X-Idempotency-Key"}

// outgoingHeader builds the header sent upstream: the app's headers minus
// the stripped ones and any the Connection header names, plus the key.
//
// Go's http.Transport resends a request by itself after a keep-alive
// connection failed once the request was written, if the request is
// "replayable": a safe method (GET, HEAD, OPTIONS, TRACE), or a header map
// holding Idempotency-Key or X-Idempotency-Key under those exact names.
// A POST must never be sent twice (SPEC §5 step 7), so for other methods
// those headers are forwarded under their lower-case names: the upstream
// reads header names case-insensitively, while the transport's check does
// not match them. (Resends of requests that were never written stay on.)
func outgoingHeader(in http.Header, strip map[string]bool, method string, k *key) http.Header {
	out := make(http.Header, len(in)+2)
	for name, vals := range in {
		if !strip[http.CanonicalHeaderKey(name)] {
			out[name] = vals
		}
	}
	for _, conn := range in["Connection"] {
		for _, name := range strings.Split(conn, ",") {
			delete(out, textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)))
		}
	}
	if !isSafeMethod(method) {
		for _, name := range idempotencyHeaders {
			if vals, ok := out[name]; ok {
				delete(out, name)
				out[strings.ToLower(name)] = vals
			}
		}
	}
	if _, ok := out["User-Agent"]; !ok {
		out["User-Agent"] = []string{""} // no Go default User-Agent
	}
	out["X-Api-Key"] = k.header
	return out
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

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
	header http.Header // as the app sent it
	strip  map[string]bool
}

// send makes one round trip with key k. The request is built afresh for
// each attempt, so that nothing of an earlier attempt is shared.
func (o *outbound) send(ctx context.Context, up *upstream, k *key) (*http.Response, error) {
	out := &http.Request{
		Method:     o.method,
		URL:        &url.URL{Scheme: up.scheme, Host: up.host, Path: o.path, RawQuery: o.query},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     outgoingHeader(o.header, o.strip, o.method, k),
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
// minus hop-by-hop headers. It returns an error if the body could not be
// copied whole; what was copied is flushed first, so that the client sees
// a response cut short, not a connection closed without an answer (which
// an HTTP client may take as a reason to send a request again).
func copyResponse(w http.ResponseWriter, resp *http.Response) error {
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
	_, err := io.CopyBuffer(w, resp.Body, *buf)
	copyBuffers.Put(buf)
	if err != nil {
		_ = http.NewResponseController(w).Flush()
		return err
	}
	for name, vals := range resp.Trailer {
		h[http.TrailerPrefix+name] = vals
	}
	return nil
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// drain discards what is left of a response body (up to a bound) so that
// its connection can be reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}

// upstreamError maps a failed round trip to the sidecar's answer.
// clientGone reports that the app hung up: nothing can be answered then.
func upstreamError(r *http.Request, err error, timeout time.Duration) (rj *rejection, clientGone bool) {
	if r.Context().Err() != nil {
		return nil, true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return reject(CodeUpstreamTimeout, "the upstream did not answer within upstream.timeout ("+timeout.String()+"); the request may have been processed"), false
	}
	if errors.As(err, new(reverseproxy.DialError)) {
		return reject(CodeUpstreamUnavailable, "could not connect to the upstream; the request was not sent"), false
	}
	return reject(CodeUpstreamUnavailable, "the connection to the upstream failed; the request may have been processed"), false
}

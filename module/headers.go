package restlink

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// credentialHeaders are the credentials an app may send; they are never
// forwarded. X-Api-Key is then set to the workspace's key.
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

// isCredentialHeader reports whether name is one of credentialHeaders.
func isCredentialHeader(name string) bool {
	return slices.ContainsFunc(credentialHeaders, func(h string) bool { return strings.EqualFold(h, name) })
}

// strippedHeaders is the set of request headers never forwarded: the
// always-stripped ones and the routing headers in use.
func strippedHeaders(routingHeaders ...string) headerSet {
	set := make(headerSet, len(alwaysStripped)+len(routingHeaders))
	for _, h := range alwaysStripped {
		set[h] = true
	}
	for _, h := range routingHeaders {
		if h != "" {
			set[http.CanonicalHeaderKey(h)] = true
		}
	}
	return set
}

// upstreamHeader turns the app's request header into the header sent
// upstream, in place: the stripped headers and any the Connection header
// names are removed; the key is set per attempt by outbound.send. The
// header is the request's own, and Caddy's logs use a copy taken before
// the handlers run, so nothing else sees the change.
//
// Go's http.Transport resends a request by itself after a keep-alive
// connection failed once the request was written, if the request is
// "replayable": a safe method (GET, HEAD, OPTIONS, TRACE), or a header map
// holding Idempotency-Key or X-Idempotency-Key under those exact names.
// A POST must never be sent twice, so for other methods
// those headers are forwarded under their lower-case names: the upstream
// reads header names case-insensitively, while the transport's check does
// not match them. (Resends of requests that were never written stay on.)
func upstreamHeader(h http.Header, strip headerSet, method string) http.Header {
	for _, conn := range h["Connection"] {
		for _, name := range strings.Split(conn, ",") {
			delete(h, textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)))
		}
	}
	for name := range h {
		if strip[http.CanonicalHeaderKey(name)] {
			delete(h, name)
		}
	}
	if !isSafeMethod(method) {
		for _, name := range idempotencyHeaders {
			if vals, ok := h[name]; ok {
				delete(h, name)
				h[strings.ToLower(name)] = vals
			}
		}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = noUserAgent
	}
	return h
}

// noUserAgent keeps Go's default User-Agent off requests without one.
var noUserAgent = []string{""}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

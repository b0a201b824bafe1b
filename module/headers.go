package restlink

import (
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/23telecom/restlink-sidecar/internal/names"
)

// credentialHeaders are the credentials an app may send; they are never
// forwarded. X-Api-Key is then set to the workspace's key, and X-Timestamp
// and X-Signature are set when the key signs its requests.
var credentialHeaders = []string{"X-Api-Key", "Authorization", "Proxy-Authorization", "Cookie", "X-Timestamp", "X-Signature"}

// strippedExact are the request headers, besides the credentials and the
// families below, that are never forwarded: hop-by-hop headers; Expect,
// since the body is already read; and headers that name another host,
// client, path, method or hop than the ones the sidecar checked.
var strippedExact = []string{
	"Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Http2-Settings", "Expect",
	"Forwarded", "Via", "X-Host", "X-Rewrite-Url", "X-Forwarded", "Max-Forwards",
}

// strippedFamilies are prefixes of request header names never forwarded:
// the forwarding, client-address, original-request and method-override
// families that proxies and frameworks read, so that no proxy or framework
// on the way sees another host, client, path or method than the sidecar
// checked. They are matched on canonical names.
var strippedFamilies = [...]string{
	"X-Forwarded-", "X-Original-", "X-Originating-", "X-Real-", "X-Client-", "X-Cluster-Client-",
	"True-Client-", "X-Remote-", "X-Proxy-", "Proxy-", "X-Envoy-", "Cf-Connecting-", "Fastly-Client-",
	"X-Http-Method", "X-Method-Override",
}

// inStrippedFamily reports a canonical header name in strippedFamilies.
func inStrippedFamily(name string) bool {
	if name == "" {
		return false
	}
	switch name[0] {
	case 'X', 'P', 'T', 'C', 'F':
		for _, prefix := range strippedFamilies {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		}
	}
	return false
}

// idempotencyHeaders make Go's transport treat a request as safe to send
// again by itself; see upstreamHeader.
var idempotencyHeaders = [...]string{"Idempotency-Key", "X-Idempotency-Key"}

// isCredentialHeader reports whether name is one of credentialHeaders.
func isCredentialHeader(name string) bool {
	return slices.ContainsFunc(credentialHeaders, func(h string) bool { return strings.EqualFold(h, name) })
}

// strippedHeaders is the set of request header names never forwarded,
// besides the families: the credentials, strippedExact, and the routing
// headers in use.
func strippedHeaders(routingHeaders ...string) headerSet {
	set := make(headerSet, len(credentialHeaders)+len(strippedExact)+len(routingHeaders))
	for _, h := range append(slices.Clip(credentialHeaders), strippedExact...) {
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
// upstream, in place: the stripped headers and families, and any header
// the Connection header names, are removed; the key is set per attempt by outbound.send. The
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
		if canonical := http.CanonicalHeaderKey(name); strip[canonical] || inStrippedFamily(canonical) {
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

// headerSet is a set of canonical header names.
type headerSet map[string]bool

// has reports whether the set holds name, in any case.
func (s headerSet) has(name string) bool { return s[http.CanonicalHeaderKey(name)] }

// checkHeaderName accepts "" (disabled) or an HTTP token that is not one
// of the headers the sidecar strips or sets itself.
func checkHeaderName(name string) error {
	if name == "" {
		return nil
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(names.IsByte(c) && c != '.' && c != '_') {
			return fmt.Errorf("%q is not a header name (A-Z a-z 0-9 -)", name)
		}
	}
	if isCredentialHeader(name) {
		return fmt.Errorf("%q is a credential header", name)
	}
	return nil
}

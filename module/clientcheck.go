package restlink

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// clientPolicy is the compiled security section: who may use the sidecar.
type clientPolicy struct {
	trusted         []netip.Prefix
	hosts           map[string]struct{} // lower case, without port
	rejectBrowser   bool
	methods         map[string]bool
	allowHeader     string // the methods, for the Allow header of a 405
	maxBody         int64
	bodyTimeout     time.Duration
	maxBodyInFlight int64
}

// compileSecurity checks the security section.
func compileSecurity(c SecurityConfig, p *problems) *clientPolicy {
	if len(c.TrustedClients) == 0 {
		p.add("security.trusted_clients", "at least one network is required (unix-socket clients are always trusted)")
	}
	for i, n := range c.TrustedClients {
		if !n.IsValid() {
			p.add(fmt.Sprintf("security.trusted_clients[%d]", i), "not a valid network")
		}
	}
	if len(c.AllowedHosts) == 0 {
		p.add("security.allowed_hosts", "at least one host is required")
	}
	for i, h := range c.AllowedHosts {
		if h == "" || strings.ContainsAny(h, " /\t") {
			p.add(fmt.Sprintf("security.allowed_hosts[%d]", i), "%q is not a host name or address", h)
		}
	}
	if c.MaxBodyBytes <= 0 {
		p.add("security.max_body_bytes", "must be positive")
	}
	if c.BodyTimeout <= 0 {
		p.add("security.body_timeout", "must be positive")
	}
	if c.MaxBodyBytesInFlight < c.MaxBodyBytes {
		p.add("security.max_body_bytes_in_flight", "must be at least security.max_body_bytes (%d)", c.MaxBodyBytes)
	}
	cp := &clientPolicy{
		trusted:         c.TrustedClients,
		hosts:           make(map[string]struct{}, len(c.AllowedHosts)),
		rejectBrowser:   c.RejectBrowserRequests,
		methods:         make(map[string]bool, len(c.Methods)),
		allowHeader:     strings.Join(c.Methods, ", "),
		maxBody:         c.MaxBodyBytes,
		bodyTimeout:     c.BodyTimeout,
		maxBodyInFlight: c.MaxBodyBytesInFlight,
	}
	for _, h := range c.AllowedHosts {
		cp.hosts[strings.ToLower(h)] = struct{}{}
	}
	if len(c.Methods) == 0 {
		p.add("security.methods", "at least one method is required")
	}
	for i, m := range c.Methods {
		switch {
		case !isMethodName(m) || strings.ToUpper(m) != m:
			p.add(fmt.Sprintf("security.methods[%d]", i), "%q is not an upper-case method name", m)
		case m == http.MethodTrace || m == http.MethodConnect:
			p.add(fmt.Sprintf("security.methods[%d]", i), "%s is never forwarded: TRACE would echo the key back, CONNECT opens a tunnel", m)
		}
		cp.methods[m] = true
	}
	return cp
}

// checkPeer refuses requests from untrusted peers, for foreign hosts and
// from browsers: what every handler of the sidecar refuses. It reads no
// body.
func (p *clientPolicy) checkPeer(r *http.Request) *rejection {
	if !p.trustedPeer(r) {
		return reject(CodeClientNotTrusted, "the client's address is not in security.trusted_clients")
	}
	// An HTTP/1.0 request may come without Host; browsers always send one,
	// so a missing Host carries no DNS-rebinding risk.
	if _, ok := p.hosts[strings.ToLower(hostWithoutPort(r.Host))]; !ok && r.Host != "" {
		return reject(CodeMisdirectedHost, "the Host header is not one of security.allowed_hosts")
	}
	if p.rejectBrowser && isBrowserRequest(r.Header) {
		return reject(CodeBrowserRequestRejected, "requests from web browsers (with an Origin or Sec-Fetch-Site header) are refused")
	}
	return nil
}

// check is checkPeer, then what the proxy refuses before reading a body:
// methods it does not forward, and bodies announced over the limit.
func (p *clientPolicy) check(r *http.Request) *rejection {
	if rj := p.checkPeer(r); rj != nil {
		return rj
	}
	if !p.methods[r.Method] {
		rj := reject(CodeMethodNotAllowed, "the method is not forwarded (security.methods)")
		rj.allow = p.allowHeader
		return rj
	}
	if r.ContentLength > p.maxBody {
		return p.bodyTooLarge()
	}
	return nil
}

// trustedPeer checks the connection's peer address, never a header.
// Unix-socket peers are trusted: file permissions guard the socket.
func (p *clientPolicy) trustedPeer(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		la, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		return la != nil && strings.HasPrefix(la.Network(), "unix")
	}
	addr := ap.Addr().Unmap()
	for _, n := range p.trusted {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// hostWithoutPort strips the port from a Host header value; an IPv6
// literal keeps its brackets ("[::1]").
func hostWithoutPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			return host[:i+1]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.IndexByte(host, ':') == i {
		return host[:i]
	}
	return host
}

// isBrowserRequest reports the headers by which browsers give themselves
// away, which page scripts cannot remove or forge: Sec-Fetch-Site, sent on
// every request to a loopback or https origin, and Origin, sent on every
// cross-origin or unsafe request. Server-side clients send neither with
// their default settings; Node's fetch (undici) does send Sec-Fetch-Mode,
// which is why that header alone decides nothing.
func isBrowserRequest(h http.Header) bool {
	_, origin := h["Origin"]
	_, site := h["Sec-Fetch-Site"]
	return origin || site
}

package restlink

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// clientPolicy is the compiled security section: who may use the sidecar.
type clientPolicy struct {
	trusted       []netip.Prefix
	hosts         map[string]struct{} // lower case, without port
	rejectBrowser bool
	maxBody       int64
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
	return newClientPolicy(c)
}

func newClientPolicy(c SecurityConfig) *clientPolicy {
	p := &clientPolicy{
		trusted:       c.TrustedClients,
		hosts:         make(map[string]struct{}, len(c.AllowedHosts)),
		rejectBrowser: c.RejectBrowserRequests,
		maxBody:       c.MaxBodyBytes,
	}
	for _, h := range c.AllowedHosts {
		p.hosts[strings.ToLower(h)] = struct{}{}
	}
	return p
}

// check refuses requests from untrusted peers, for foreign hosts, from
// browsers, or announcing a body over the limit. It reads no body.
func (p *clientPolicy) check(r *http.Request) *rejection {
	if !p.trustedPeer(r) {
		return reject(CodeClientNotTrusted, "the client's address is not in security.trusted_clients")
	}
	if _, ok := p.hosts[strings.ToLower(hostWithoutPort(r.Host))]; !ok {
		return reject(CodeMisdirectedHost, "the Host header is not one of security.allowed_hosts")
	}
	if p.rejectBrowser && isBrowserRequest(r.Header) {
		return reject(CodeBrowserRequestRejected, "requests from web browsers (with Origin or Sec-Fetch-* headers) are refused")
	}
	if r.ContentLength > p.maxBody {
		return p.bodyTooLarge()
	}
	return nil
}

func (p *clientPolicy) bodyTooLarge() *rejection {
	return reject(CodeBodyTooLarge, "the request body is larger than "+strconv.FormatInt(p.maxBody, 10)+" bytes (security.max_body_bytes)")
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

// isBrowserRequest reports headers that only browsers send: Origin and the
// Sec-Fetch-* family (which page scripts cannot remove).
func isBrowserRequest(h http.Header) bool {
	if _, ok := h["Origin"]; ok {
		return true
	}
	for name := range h {
		if strings.HasPrefix(name, "Sec-Fetch-") {
			return true
		}
	}
	return false
}

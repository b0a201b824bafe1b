package restlink

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// origin is where every request goes: the compiled upstream.url.
type origin struct {
	scheme string // "https", or "http" for loopback only
	host   string // host[:port], also sent as the Host header
}

// String is the origin as configured, scheme://host[:port].
func (o origin) String() string { return o.scheme + "://" + o.host }

// compileUpstream checks the upstream section.
func compileUpstream(c UpstreamConfig, p *problems) origin {
	var o origin
	if u, err := parseUpstreamURL(c.URL); err != nil {
		p.add("upstream.url", "%v", err)
	} else {
		o = origin{scheme: u.Scheme, host: u.Host}
	}
	if c.Timeout <= 0 {
		p.add("upstream.timeout", "must be positive")
	}
	if c.CAFile != "" && strings.HasPrefix(c.URL, "http://") {
		p.add("upstream.ca_file", "is used only with an https upstream")
	}
	return o
}

// parseUpstreamURL checks that raw is an origin the sidecar may send keys to.
func parseUpstreamURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("scheme must be https, not %q", u.Scheme)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must be an origin, scheme://host[:port], with no path, query or user info")
	}
	if u.Scheme == "http" {
		addr, err := netip.ParseAddr(u.Hostname())
		if u.Hostname() != "localhost" && (err != nil || !addr.IsLoopback()) {
			return nil, errors.New("plain http is allowed only to a loopback address; use https")
		}
	}
	return u, nil
}

// upstream is the fixed destination of every request and its connection
// pool. It is shared by snapshots while its settings stay the same, so that
// a key rotation does not drop warm connections.
type upstream struct {
	origin
	caFile    string
	caSum     [sha256.Size]byte // of caFile's content; a change rebuilds the pool
	transport *http.Transport
}

// upstreamIdleConns is the keep-alive pool size: enough idle connections
// for a busy sidecar's concurrency, so that connections are reused rather
// than redialled under load.
const upstreamIdleConns = 128

// newUpstream builds the upstream for the compiled origin o and c's CA
// file, reusing prev when nothing that shapes connections changed. The HTTP transport is Caddy's reverse-proxy
// transport module (keep-alive, timeouts, HTTP/2, proxy from environment),
// with TLS always verified against the system roots plus ca_file, and
// without transparent compression: Go's transport would otherwise ask for
// gzip itself and hand the app a decompressed body with other headers.
func newUpstream(ctx caddy.Context, o origin, c UpstreamConfig, prev *upstream) (*upstream, error) {
	up := &upstream{origin: o, caFile: c.CAFile}
	roots, caSum, err := loadRoots(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("upstream.ca_file: %w", err)
	}
	up.caSum = caSum
	if prev != nil && prev.origin == up.origin && prev.caFile == up.caFile && prev.caSum == up.caSum {
		return prev, nil
	}

	noCompression := false // responses pass through unchanged, compressed or not
	ht := &reverseproxy.HTTPTransport{
		KeepAlive:   &reverseproxy.KeepAlive{MaxIdleConnsPerHost: upstreamIdleConns},
		Compression: &noCompression,
	}
	if up.scheme == "https" {
		ht.TLS = &reverseproxy.TLSConfig{}
	}
	if err := ht.Provision(ctx); err != nil {
		return nil, fmt.Errorf("setting up the upstream transport: %w", err)
	}
	up.transport = ht.Transport
	if up.scheme == "https" {
		if up.transport.TLSClientConfig == nil {
			up.transport.TLSClientConfig = new(tls.Config)
		}
		up.transport.TLSClientConfig.RootCAs = roots
		up.transport.TLSClientConfig.MinVersion = tls.VersionTLS12
	}
	return up, nil
}

// loadRoots returns the roots that upstream certificates are verified
// against: the system roots, plus the certificates in caFile if set, and
// the digest of caFile's content.
func loadRoots(caFile string) (*x509.CertPool, [sha256.Size]byte, error) {
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if caFile == "" {
		return roots, [sha256.Size]byte{}, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, [sha256.Size]byte{}, err
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, [sha256.Size]byte{}, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	return roots, sha256.Sum256(pem), nil
}

// close releases the pool's idle connections once no snapshot uses it.
func (up *upstream) close() {
	up.transport.CloseIdleConnections()
}

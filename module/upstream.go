package restlink

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// upstream is the fixed destination of every request and its connection
// pool. It is shared by snapshots while its settings stay the same, so that
// a key rotation does not drop warm connections.
type upstream struct {
	scheme    string // "https", or "http" for loopback only
	host      string // host[:port], also sent as the Host header
	caFile    string
	caSum     [sha256.Size]byte // of caFile's content; a change rebuilds the pool
	transport *http.Transport
}

// upstreamIdleConns is the keep-alive pool size: enough idle connections
// for a busy sidecar's concurrency, so that connections are reused rather
// than redialled under load.
const upstreamIdleConns = 128

// newUpstream builds the upstream for c, reusing prev when nothing that
// shapes connections changed. The HTTP transport is Caddy's reverse-proxy
// transport module (keep-alive, timeouts, HTTP/2, proxy from environment),
// with TLS always verified against the system roots plus ca_file, and
// without transparent compression: Go's transport would otherwise ask for
// gzip itself and hand the app a decompressed body with other headers.
func newUpstream(ctx caddy.Context, c UpstreamConfig, prev *upstream) (*upstream, error) {
	u, err := parseUpstreamURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream.url: %w", err)
	}
	up := &upstream{scheme: u.Scheme, host: u.Host, caFile: c.CAFile}
	roots, caSum, err := loadRoots(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("upstream.ca_file: %w", err)
	}
	up.caSum = caSum
	if prev != nil && prev.scheme == up.scheme && prev.host == up.host && prev.caFile == up.caFile && prev.caSum == up.caSum {
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

package restlink

import (
	"context"
	"net"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// peerCred is the identity the kernel reports for the process at the
// other end of a unix socket.
type peerCred struct {
	uid, gid uint32
	pid      int32
	known    bool // false: this system does not report it
}

// peerCredKey is the connection context's key of a unix socket's peerCred.
type peerCredKey struct{}

// registerPeerCreds makes the HTTP server that ctx provisions record, for
// each connection accepted on a unix socket, its peer's credentials, read
// from the kernel once per connection. It uses Caddy's connection hook,
// so the server stays Caddy's own.
func registerPeerCreds(ctx caddy.Context) {
	srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if !ok {
		return
	}
	srv.RegisterConnContext(func(ctx context.Context, c net.Conn) context.Context {
		if _, done := ctx.Value(peerCredKey{}).(peerCred); done || c.LocalAddr().Network() != "unix" {
			return ctx // another handler of the server read it already, or not a unix socket
		}
		return context.WithValue(ctx, peerCredKey{}, readPeerCred(c))
	})
}

// peerCredOf returns the credentials of a request's unix-socket peer, and
// whether it came over a unix socket.
func peerCredOf(ctx context.Context) (peerCred, bool) {
	c, ok := ctx.Value(peerCredKey{}).(peerCred)
	return c, ok
}

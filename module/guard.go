package restlink

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Guard{})
}

// Guard refuses what the sidecar refuses at its door — a client outside
// security.trusted_clients, a Host outside security.allowed_hosts, a web
// browser — with the sidecar's own errors, and passes every other request
// to the next handler. Put it in front of anything else an operators'
// site serves from the sidecar's process, such as Caddy's metrics handler,
// so that a DNS-rebinding page in a developer's browser cannot read it.
type Guard struct {
	ConfigRef
}

// CaddyModule returns the Caddy module information.
func (Guard) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.restlink_guard",
		New: func() caddy.Module { return new(Guard) },
	}
}

// ServeHTTP refuses the request or passes it on.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if rj := g.live.current.Load().client.checkPeer(r); rj != nil {
		writeRejection(w, rj)
		return nil
	}
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Guard)(nil)
	_ caddy.CleanerUpper          = (*Guard)(nil)
	_ caddyhttp.MiddlewareHandler = (*Guard)(nil)
)

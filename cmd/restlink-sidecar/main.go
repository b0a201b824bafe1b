// Command restlink-sidecar is Caddy with the modules the sidecar uses plus
// the restlink modules and their Caddyfile directives. Its help starts
// with the sidecar's own commands (validate-config, keys, ready, status,
// webhooks); Caddy's follow (run, validate, adapt, list-modules, version,
// …), less upgrade, add-package and remove-package, which would replace
// this build with a stock Caddy and refuse.
//
// It carries only what its sites need, not Caddy's standard modules: every
// module linked in costs memory and start-up time in every sidecar of a
// fleet. Build your own with xcaddy for more (see docs/operations.md).
package main

import (

	// The Caddyfile adapter.
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	// The HTTP server, with the handle, route, respond, bind and log
	// directives built in.
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp"
	// TLS with automatic HTTPS (ACME and the internal issuer) for the
	// public webhook site, its session ticket keys, and file storage for
	// certificates.
	_ "github.com/caddyserver/caddy/v2/modules/caddytls"
	_ "github.com/caddyserver/caddy/v2/modules/caddytls/standardstek"
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"
	// Log encoders (filter, to drop headers from an access log), writers
	// (file, net) and the metrics handler.
	_ "github.com/caddyserver/caddy/v2/modules/logging"
	_ "github.com/caddyserver/caddy/v2/modules/metrics"

	_ "github.com/23telecom/restlink-sidecar/caddyfile"
	_ "github.com/23telecom/restlink-sidecar/module"
	_ "github.com/23telecom/restlink-sidecar/module/webhookreceiver"
)

func main() {
	execute()
}

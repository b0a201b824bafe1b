// Command restlink-sidecar is Caddy with its standard modules plus the
// restlink module and its Caddyfile directives. All of Caddy's subcommands
// are there (run, validate, adapt, list-modules, version, …), plus the
// sidecar's own: validate-config and keys.
package main

import (
	"os"
	"runtime/debug"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/23telecom/restlink-sidecar/caddyfile"
	_ "github.com/23telecom/restlink-sidecar/module"
)

// gcPercent is the sidecar's default GOGC. Its live heap is small (a few
// MiB, even with 10,000 tenants) while every request leaves garbage, so
// collecting half as often saves CPU on each request for a few MiB of
// memory (see the README's Performance section). GOGC overrides it.
const gcPercent = 200

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	caddycmd.Main()
}

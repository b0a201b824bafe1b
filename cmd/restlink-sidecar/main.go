// Command restlink-sidecar is Caddy with its standard modules plus the
// restlink module and its Caddyfile directives. All of Caddy's subcommands
// are there (run, validate, adapt, list-modules, version, …), plus the
// sidecar's own: validate-config and keys.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/23telecom/restlink-sidecar/caddyfile"
	_ "github.com/23telecom/restlink-sidecar/module"
)

func main() {
	caddycmd.Main()
}

// Package caddyfile registers the Caddyfile directives of restlink-sidecar,
// `restlink` and `restlink_status`, and holds the shipped Caddyfile.
// Importing it also imports the module.
package caddyfile

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	restlink "github.com/23telecom/restlink-sidecar/module"
)

func init() {
	// Registered with RegisterDirective, not RegisterHandlerDirective: the
	// latter would take a first argument starting with "/" for a path
	// matcher, and `restlink /etc/restlink/config.yaml` would lose its path.
	// Both order themselves before reverse_proxy, restlink_status first.
	httpcaddyfile.RegisterDirective("restlink_status", parseRestlinkStatus)
	httpcaddyfile.RegisterDirectiveOrder("restlink_status", httpcaddyfile.Before, "reverse_proxy")
	httpcaddyfile.RegisterDirective("restlink", parseRestlink)
	httpcaddyfile.RegisterDirectiveOrder("restlink", httpcaddyfile.Before, "reverse_proxy")
}

// parseRestlink sets up the restlink handler from Caddyfile tokens. Syntax:
//
//	restlink [<config-path>] {
//		config <config-path>
//		tenant <name>
//	}
//
// The config path is given either as the argument or as the config
// subdirective, not both; the block is optional. tenant pins every request
// of the site to one tenant of the config. The directive takes no matcher:
// the handler answers every request that reaches it.
func parseRestlink(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	h.Next() // consume directive name
	var handler restlink.Handler
	if h.NextArg() {
		if strings.HasPrefix(h.Val(), "@") {
			return nil, h.Errf("restlink takes no matcher (%s); put it inside a handle block instead", h.Val())
		}
		handler.ConfigPath = h.Val()
		if h.NextArg() {
			return nil, h.ArgErr()
		}
	}
	for h.NextBlock(0) {
		switch sub := h.Val(); sub {
		case "config", "tenant":
			field := &handler.ConfigPath
			if sub == "tenant" {
				field = &handler.Tenant
			}
			if *field != "" {
				return nil, h.Errf("%s already specified", sub)
			}
			if !h.NextArg() {
				return nil, h.ArgErr()
			}
			*field = h.Val()
			if h.NextArg() {
				return nil, h.ArgErr()
			}
		default:
			return nil, h.Errf("unrecognized subdirective %q", sub)
		}
	}
	if handler.ConfigPath == "" {
		return nil, h.Err("restlink needs the path of its config file: restlink <config-path>")
	}
	return h.NewRoute(nil, &handler), nil
}

// parseRestlinkStatus sets up the restlink status handler. Syntax:
//
//	restlink_status <config-path>
//
// It answers every request that reaches it with the status of that config
// as JSON; mount it with handle on an operators' loopback site.
func parseRestlinkStatus(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	h.Next() // consume directive name
	var handler restlink.StatusHandler
	if !h.NextArg() {
		return nil, h.Err("restlink_status needs the path of the restlink config file: restlink_status <config-path>")
	}
	handler.ConfigPath = h.Val()
	if h.NextArg() {
		return nil, h.ArgErr()
	}
	if h.NextBlock(0) {
		return nil, h.Errf("restlink_status takes no block")
	}
	return h.NewRoute(nil, &handler), nil
}

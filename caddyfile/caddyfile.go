// Package caddyfile registers the Caddyfile directives of restlink-sidecar,
// `restlink`, `restlink_status`, `restlink_guard` and `restlink_webhook`,
// and holds the shipped Caddyfile.
// Importing it also imports the modules: the core (module/) and the webhook
// receiver (module/webhookreceiver).
package caddyfile

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	restlink "github.com/23telecom/restlink-sidecar/module"
	"github.com/23telecom/restlink-sidecar/module/webhookreceiver"
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
	// restlink_guard guards what the handle blocks of a site serve.
	httpcaddyfile.RegisterDirective("restlink_guard", parseRestlinkGuard)
	httpcaddyfile.RegisterDirectiveOrder("restlink_guard", httpcaddyfile.Before, "handle")
	httpcaddyfile.RegisterDirective("restlink_webhook", parseRestlinkWebhook)
	httpcaddyfile.RegisterDirectiveOrder("restlink_webhook", httpcaddyfile.Before, "reverse_proxy")
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
	var handler restlink.StatusHandler
	if err := parseConfigPathOnly(h, &handler.ConfigPath); err != nil {
		return nil, err
	}
	return h.NewRoute(nil, &handler), nil
}

// parseRestlinkGuard sets up the restlink guard. Syntax:
//
//	restlink_guard <config-path>
//
// It refuses, with the sidecar's errors, requests from clients outside the
// config's trusted_clients, for hosts outside its allowed_hosts, and from
// web browsers, and passes the others on. It orders itself before handle:
// put it on an operators' site to guard Caddy's metrics handler.
func parseRestlinkGuard(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	var handler restlink.Guard
	if err := parseConfigPathOnly(h, &handler.ConfigPath); err != nil {
		return nil, err
	}
	return h.NewRoute(nil, &handler), nil
}

// parseRestlinkWebhook sets up the webhook receiver. Syntax:
//
//	restlink_webhook <config-path>
//
// It receives restlink's webhooks for the workspaces of the config that
// have webhook_secrets, on the config's webhooks.path, and answers every
// request that reaches it. Put it alone on the public site restlink posts
// to, whose certificate Caddy's automatic HTTPS obtains.
func parseRestlinkWebhook(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	var handler webhookreceiver.Handler
	if err := parseConfigPathOnly(h, &handler.ConfigPath); err != nil {
		return nil, err
	}
	return h.NewRoute(nil, &handler), nil
}

// parseConfigPathOnly parses a directive whose only argument is the config
// path, with no matcher and no block.
func parseConfigPathOnly(h httpcaddyfile.Helper, path *string) error {
	h.Next() // consume directive name
	name := h.Val()
	if !h.NextArg() {
		return h.Errf("%s needs the path of the restlink config file: %s <config-path>", name, name)
	}
	*path = h.Val()
	if h.NextArg() {
		return h.ArgErr()
	}
	if h.NextBlock(0) {
		return h.Errf("%s takes no block", name)
	}
	return nil
}

package main

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// binaryName is how help and usage lines name the program.
const binaryName = "restlink-sidecar"

// sidecarCommands are the sidecar's own commands, in the order its help
// lists them; the modules register them with Caddy's command registry.
var sidecarCommands = []string{"validate-config", "keys", "ready", "status", "webhooks", "usage", "quarantine"}

// replacedCommands are Caddy's commands that would replace this build with
// a stock Caddy: they refuse, and say how to build one with more modules.
var replacedCommands = []string{"upgrade", "add-package", "remove-package"}

// description is the root command's help: what the sidecar is and its own
// commands, with an example each; Caddy's commands follow in the list.
const description = `restlink-sidecar runs next to apps that send SMS through 23 Telecom's
REST API (restlink). Apps send their requests to it on loopback without a
key; it picks each request's workspace, adds that workspace's key (signed
when the key needs it), applies the tenant's send policy, and forwards it
with a circuit breaker per workspace. It also receives restlink's signed
webhooks for the apps, keeps each tenant within its budget and records
its spend in a ledger, and quarantines a tenant's destination when its
delivery reports or volume turn abnormal. It is Caddy with the restlink modules.

Its own commands:

  validate-config  checks a config and its key sources without serving
                     restlink-sidecar validate-config /etc/restlink/config.yaml
  keys             lists each workspace's key sources and fingerprints
                     restlink-sidecar keys /etc/restlink/config.yaml
  keys verify      probes every key now; exits 1 if one is invalid
                     restlink-sidecar keys verify /etc/restlink/config.yaml
  ready            exits 0 if a running sidecar's status endpoint answers
                     restlink-sidecar ready http://127.0.0.1:9090/status
  status           shows a running sidecar's workspaces, breakers, keys,
                   tenants, quarantines, store and webhooks as tables
                   (--watch redraws)
                     restlink-sidecar status --watch
  webhooks list    lists the webhook events given up on (dead letters)
                     restlink-sidecar webhooks list /etc/restlink/config.yaml
  webhooks replay  queues the dead letters for delivery again
                     restlink-sidecar webhooks replay /etc/restlink/config.yaml
  usage            exports each tenant's sends and spend from the ledger
                     restlink-sidecar usage /etc/restlink/config.yaml --by tenant,day
  quarantine list  lists the quarantines the fraud signals placed
                     restlink-sidecar quarantine list /etc/restlink/config.yaml
  quarantine lift  lifts a tenant's quarantine of a country, fleet-wide
                     restlink-sidecar quarantine lift /etc/restlink/config.yaml acme GB

Run it as Caddy is run, with the shipped Caddyfile:

  restlink-sidecar run --config /etc/caddy/Caddyfile --adapter caddyfile

Caddy's commands follow the sidecar's below. This build has no admin API
(the shipped Caddyfile turns it off), so the commands that talk to one
(reload, stop, …) need a Caddyfile that enables it. Documentation:
https://github.com/23telecom/restlink-sidecar (README and docs/).`

// newRootCommand is the program's command line: Caddy's registered
// commands, the sidecar's listed first, under the sidecar's name and help.
func newRootCommand() *cobra.Command {
	caddy.CustomBinaryName = binaryName
	_, version := caddy.Version()
	root := &cobra.Command{
		Use:          binaryName,
		Long:         description,
		Version:      version,
		SilenceUsage: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddGroup(&cobra.Group{ID: "sidecar", Title: "The sidecar's commands:"},
		&cobra.Group{ID: "caddy", Title: "Caddy's commands:"})
	root.SetHelpCommandGroupID("caddy")
	root.SetCompletionCommandGroupID("caddy")
	registered := caddycmd.Commands()
	names := make([]string, 0, len(registered))
	for name := range registered {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		cmd := toCobra(registered[name])
		cmd.GroupID = "caddy"
		if slices.Contains(sidecarCommands, name) {
			cmd.GroupID = "sidecar"
		}
		if slices.Contains(replacedCommands, name) {
			cmd.Short = "Not available: it would replace this build with a stock Caddy (build yours with xcaddy)"
			cmd.RunE, cmd.Args = refuseReplacement, cobra.ArbitraryArgs
			cmd.DisableFlagParsing = true
		}
		root.AddCommand(cmd)
	}
	return root
}

// toCobra turns a registered command into a cobra command, as Caddy's own
// command line does; a command's exit status reaches main as an
// exitStatus error.
func toCobra(c caddycmd.Command) *cobra.Command {
	cmd := &cobra.Command{Use: c.Name + " " + c.Usage, Short: c.Short, Long: c.Long}
	if c.CobraFunc != nil {
		c.CobraFunc(cmd)
		return cmd
	}
	cmd.Flags().AddGoFlagSet(c.Flags)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		status, err := c.Func(caddycmd.Flags{FlagSet: cmd.Flags()})
		if err != nil {
			caddy.Log().Error(err.Error())
			cmd.SilenceErrors = true
		}
		if status > 1 {
			return exitStatus{status, err}
		}
		return err
	}
	return cmd
}

// refuseReplacement answers upgrade, add-package and remove-package: they
// would download a stock Caddy build over this one.
func refuseReplacement(cmd *cobra.Command, _ []string) error {
	cmd.SilenceErrors = true
	fmt.Fprintf(cmd.ErrOrStderr(), "%s %s is not available: it would replace this build (Caddy with the restlink modules) with a stock Caddy.\n"+
		"Build one with more modules with xcaddy instead, as docs/operations.md (\"In your own Caddy (xcaddy)\") shows:\n"+
		"  xcaddy build --with github.com/23telecom/restlink-sidecar/caddyfile --with <module>\n", binaryName, cmd.Name())
	return exitStatus{status: 1}
}

// exitStatus is a command's exit status other than 0 and 1.
type exitStatus struct {
	status int
	err    error
}

func (e exitStatus) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.status)
	}
	return e.err.Error()
}

// execute runs the command line and exits with the command's status.
func execute() {
	if err := newRootCommand().Execute(); err != nil {
		if status, ok := errors.AsType[exitStatus](err); ok {
			os.Exit(status.status)
		}
		os.Exit(1)
	}
}

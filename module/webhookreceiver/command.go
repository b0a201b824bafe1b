package webhookreceiver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/23telecom/restlink-sidecar/internal/names"
	restlink "github.com/23telecom/restlink-sidecar/module"
	"github.com/23telecom/restlink-sidecar/module/webhook"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "webhooks",
		Usage: "list|replay <config.yaml> [--workspace <name>]",
		Short: "Lists and replays the webhook events given up on (dead letters)",
		Long: `
Works on the dead letters in the config's webhooks.spool_dir: events the
sidecar received and verified but could not deliver to the app within
webhooks.retry_for. Both subcommands work while the sidecar runs.

  list    prints each dead letter: id, workspace, event type, when it was
          received and given up on, the failed attempts and the last error
          (never the event's body, which holds personal data).
  replay  queues the dead letters for delivery again, as new events with a
          fresh retry window; a running sidecar picks them up within 10 s,
          a stopped one when it starts. The app sees them with their
          original X-Restlink-Event-Id.

--workspace limits either to one workspace.`,
		CobraFunc: func(cmd *cobra.Command) {
			for _, sub := range []*cobra.Command{
				{Use: "list <config.yaml>", Short: "Lists the dead letters", RunE: webhookCommand(listDeadLetters)},
				{Use: "replay <config.yaml>", Short: "Queues the dead letters for delivery again", RunE: webhookCommand(replayDeadLetters)},
			} {
				sub.Args = cobra.ExactArgs(1)
				sub.Flags().String("workspace", "", "only this workspace's dead letters")
				cmd.AddCommand(sub)
			}
		},
	})
}

// webhookCommand adapts a dead-letter command to cobra: it finds the spool
// directory in the config and reads the --workspace flag.
func webhookCommand(run func(out io.Writer, dir, workspace string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		workspace, _ := cmd.Flags().GetString("workspace")
		return restlink.RunCommand(func(out io.Writer, path string) error {
			if workspace != "" {
				if err := names.Check(workspace); err != nil {
					return fmt.Errorf("--workspace: %w", err)
				}
			}
			cfg, err := restlink.LoadConfig(path, os.Environ)
			if err != nil {
				return err
			}
			if cfg.Webhooks.SpoolDir == "" {
				return errors.New("webhooks.spool_dir is not set: this config receives no webhooks")
			}
			return run(out, cfg.Webhooks.SpoolDir, workspace)
		})(cmd, args)
	}
}

// listDeadLetters prints the dead letters in dir.
func listDeadLetters(out io.Writer, dir, workspace string) error {
	letters, err := webhook.DeadLetters(dir, workspace)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWORKSPACE\tEVENT\tRECEIVED\tDEAD AT\tATTEMPTS\tLAST ERROR")
	for _, dl := range letters {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", dl.ID, dl.Workspace, dl.Type,
			dl.Received.UTC().Format(time.RFC3339), dl.DeadAt.UTC().Format(time.RFC3339), dl.Attempts, dl.Reason)
	}
	if ferr := tw.Flush(); ferr != nil {
		return ferr
	}
	fmt.Fprintf(out, "%d dead letter(s)\n", len(letters))
	return err
}

// replayDeadLetters queues the dead letters in dir for delivery again.
func replayDeadLetters(out io.Writer, dir, workspace string) error {
	n, err := webhook.RequestReplay(dir, workspace)
	fmt.Fprintf(out, "%d dead letter(s) queued for delivery; a running sidecar delivers them within %v, a stopped one when it starts\n",
		n, webhook.DefaultMaintenanceInterval)
	return err
}

package restlink

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/23telecom/restlink-sidecar/module/ledger"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "usage",
		Usage: "<config.yaml> [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by tenant|tenant,day|tenant,country|tenant,workspace] [--format csv|json] [--ledger DIR]...",
		Short: "Exports what each tenant sent and spent, from the ledger: the file to bill tenants from",
		Long: `
Reads the ledger of the config (ledger.dir), or the directories given with
--ledger (once per sidecar of a fleet: they are merged exactly), and prints
one row per group: the grouping keys, then sends, recipients, segments,
estimated, charged (what restlink answered at send time), delivered_cost
(the sum of the delivery reports' costs), delivered, undelivered, pending
and currency. Amounts are exact decimals. It works while the sidecar runs.

--from and --to are inclusive days in ledger.timezone; by default the
whole ledger. --by groups rows (default: tenant). --format csv (with a
header row, the default) or json (an array of objects with the same names).`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Args = cobra.ExactArgs(1)
			cmd.Flags().String("from", "", "first day, YYYY-MM-DD (inclusive)")
			cmd.Flags().String("to", "", "last day, YYYY-MM-DD (inclusive)")
			cmd.Flags().String("by", ledger.KeyTenant, "grouping: tenant, tenant,day, tenant,country or tenant,workspace")
			cmd.Flags().String("format", "csv", "csv or json")
			cmd.Flags().StringArray("ledger", nil, "a ledger directory to read instead of ledger.dir; repeat for each sidecar of a fleet")
			cmd.RunE = RunCommand(func(out io.Writer, path string) error {
				from, _ := cmd.Flags().GetString("from")
				to, _ := cmd.Flags().GetString("to")
				by, _ := cmd.Flags().GetString("by")
				format, _ := cmd.Flags().GetString("format")
				dirs, _ := cmd.Flags().GetStringArray("ledger")
				return exportUsage(out, path, usageRequest{from: from, to: to, by: by, format: format, dirs: dirs})
			})
		},
	})
}

// usageRequest is what the usage command was asked.
type usageRequest struct {
	from, to, by, format string
	dirs                 []string
}

// usageGroupings are the --by values the command accepts.
var usageGroupings = []string{"tenant", "tenant,day", "tenant,country", "tenant,workspace"}

// exportUsage writes the usage export of the config at path.
func exportUsage(out io.Writer, path string, req usageRequest) error {
	grouping := false
	for _, g := range usageGroupings {
		grouping = grouping || req.by == g
	}
	if !grouping {
		return fmt.Errorf("--by must be one of %s", strings.Join(usageGroupings, " | "))
	}
	for _, d := range []struct{ flag, day string }{{"--from", req.from}, {"--to", req.to}} {
		if _, err := time.Parse(time.DateOnly, d.day); d.day != "" && err != nil {
			return fmt.Errorf("%s must be a day, YYYY-MM-DD", d.flag)
		}
	}
	if req.format != "csv" && req.format != "json" {
		return errors.New("--format must be csv or json")
	}
	pl, err := loadPlan(path, defaultEnviron)
	if err != nil {
		return err
	}
	dirs := req.dirs
	if len(dirs) == 0 {
		if pl.money == nil {
			return errors.New("ledger.dir is not set: this config keeps no ledger (or name ledgers with --ledger)")
		}
		dirs = []string{pl.money.dir}
	}
	by := strings.Split(req.by, ",")
	rows, err := ledger.Usage(dirs, ledger.Query{From: req.from, To: req.to, By: by})
	if rows == nil && err != nil {
		return err
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: some ledger lines could not be read and are left out: %v\n", err)
	}
	if req.format == "json" {
		return ledger.WriteJSON(out, by, rows)
	}
	return ledger.WriteCSV(out, by, rows)
}

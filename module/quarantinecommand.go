package restlink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/signals"
	"github.com/23telecom/restlink-sidecar/module/store"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "quarantine",
		Usage: "list <config.yaml> | lift <config.yaml> <tenant> <country>",
		Short: "Lists and lifts the quarantines the fraud signals placed",
		Long: `
Works on the quarantines of the config's sidecars: in the shared store
with store.redis, else in the quarantine file of ledger.dir. Both
subcommands work while the sidecar runs.

  list  prints each quarantine in force: tenant, country, signal, mode
        (enforce: its sends are refused; shadow: only counted), since and
        until.
  lift  ends a tenant's quarantine of a country (ISO 3166-1 alpha-2, or ZZ
        for numbers in no country) and clears the counts that fired it.
        Every sidecar takes it within 10 s.`,
		CobraFunc: func(cmd *cobra.Command) {
			list := &cobra.Command{Use: "list <config.yaml>", Short: "Lists the quarantines in force", Args: cobra.ExactArgs(1),
				RunE: RunCommand(func(out io.Writer, path string) error { return listQuarantines(out, path, time.Now()) })}
			lift := &cobra.Command{Use: "lift <config.yaml> <tenant> <country>", Short: "Lifts a tenant's quarantine of a country", Args: cobra.ExactArgs(3)}
			lift.RunE = func(c *cobra.Command, args []string) error {
				return RunCommand(func(out io.Writer, path string) error { return liftCommand(out, path, args[1], args[2], time.Now()) })(c, args)
			}
			cmd.AddCommand(list, lift)
		},
	})
}

// quarantineSource is where a config's quarantines are: its shared store,
// or the quarantine file of its ledger directory.
type quarantineSource struct {
	pl    *plan
	redis *store.Redis // nil: the file
}

// openQuarantines finds the quarantines of the config at path.
func openQuarantines(path string) (*quarantineSource, error) {
	pl, err := loadPlan(path, defaultEnviron)
	if err != nil {
		return nil, err
	}
	if pl.money == nil || !pl.policy.Watched() {
		return nil, errors.New("no tenant has fraud signals (policy anomaly) in this config: there are no quarantines")
	}
	src := &quarantineSource{pl: pl}
	if rp := pl.store.redis; rp != nil {
		var password atomic.Pointer[string]
		if warnings := readRedisPassword(pl.store, &password); len(warnings) > 0 {
			return nil, errors.New(warnings[0])
		}
		if src.redis, err = openRedis(rp, password.Load, zap.NewNop); err != nil {
			return nil, fmt.Errorf("store.redis: %w", err)
		}
	}
	return src, nil
}

// close releases the shared store.
func (s *quarantineSource) close() {
	if s.redis != nil {
		_ = s.redis.Close()
	}
}

// list returns the quarantines in force at now.
func (s *quarantineSource) list(ctx context.Context, now time.Time) ([]signals.Quarantine, error) {
	if s.redis == nil {
		qs, err := signals.ReadBook(s.pl.money.dir)
		live := qs[:0]
		for _, q := range qs {
			if now.Before(q.Until) {
				live = append(live, q)
			}
		}
		return live, err
	}
	holds, err := s.redis.Holds(ctx, now)
	if err != nil {
		return nil, err
	}
	var qs []signals.Quarantine
	for _, h := range holds {
		var q signals.Quarantine
		if strings.HasPrefix(h.Key, holdPrefix) && json.Unmarshal(h.Data, &q) == nil {
			qs = append(qs, q)
		}
	}
	return qs, nil
}

// listQuarantines prints the quarantines in force of the config at path.
func listQuarantines(out io.Writer, path string, now time.Time) error {
	src, err := openQuarantines(path)
	if err != nil {
		return err
	}
	defer src.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	qs, err := src.list(ctx, now)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tCOUNTRY\tSIGNAL\tMODE\tSINCE\tUNTIL")
	for _, q := range qs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", q.Tenant, q.Country, q.Signal, q.Mode,
			q.Since.UTC().Format(time.RFC3339), q.Until.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d quarantine(s)\n", len(qs))
	return nil
}

// liftCommand lifts a tenant's quarantine of a country.
func liftCommand(out io.Writer, path, tenant, country string, now time.Time) error {
	if tenant == "" {
		return errors.New("name the tenant whose quarantine to lift")
	}
	if country != signals.NoCountry && regionCode(country) != country {
		return fmt.Errorf("%q is not a country: an ISO 3166-1 alpha-2 code in upper case (GB), or ZZ for numbers in no country", country)
	}
	src, err := openQuarantines(path)
	if err != nil {
		return err
	}
	defer src.close()
	if !src.pl.hasSubject(tenant) {
		return fmt.Errorf("there is no tenant %q in this config (requests that name no tenant are @ and their workspace, such as @main)", tenant)
	}
	if src.redis == nil {
		if err := signals.RequestLift(src.pl.money.dir, tenant, country); err != nil {
			return err
		}
		fmt.Fprintf(out, "lift of %s %s requested; the running sidecar takes it within %v (a stopped one when it starts)\n", tenant, country, signalTick)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lifted, err := liftQuarantine(ctx, src.redis, src.pl.policy, tenant, country, now)
	if err != nil {
		return err
	}
	if !lifted {
		fmt.Fprintf(out, "%s %s was not quarantined; its signals start again from zero\n", tenant, country)
		return nil
	}
	fmt.Fprintf(out, "%s %s lifted in the shared store; every sidecar takes it within %v\n", tenant, country, signalTick)
	return nil
}

// regionCode returns s if it is two upper-case letters, else "".
func regionCode(s string) string {
	if len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' {
		return s
	}
	return ""
}

// hasSubject reports whether subject is a tenant of the plan, or "@" and
// one of its workspaces: whose sends a quarantine can hold.
func (pl *plan) hasSubject(subject string) bool {
	if _, ok := pl.routing.tenants[subject]; ok {
		return true
	}
	ws, ok := strings.CutPrefix(subject, "@")
	return ok && slices.ContainsFunc(pl.workspaces, func(w workspacePlan) bool { return w.name == ws })
}

package restlink

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/23telecom/restlink-sidecar/module/signals"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "status",
		Usage: "[--url <status-url>] [--watch]",
		Short: "Shows a running sidecar's workspaces, keys, breakers, tenants, quarantines, store and webhooks",
		Long: `
Reads a running sidecar's status endpoint (restlink_status; default
` + defaultStatusURL + `, as in the shipped Caddyfile) and prints it as tables:
each workspace with its breaker, keys (fingerprints and verdicts, never a key)
and key problems; the tenants that sent, with their mode and quotas; with
fraud signals, the quarantines in force and each tenant × country's delivery
ratio and volume; the store; and the webhooks waiting for the apps. Colour is
used on a terminal only. --watch redraws it every --interval until
interrupted.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Args = cobra.NoArgs
			cmd.Flags().String("url", defaultStatusURL, "the sidecar's status endpoint")
			cmd.Flags().Bool("watch", false, "redraw until interrupted")
			cmd.Flags().Duration("interval", 2*time.Second, "how often --watch redraws")
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				url, _ := cmd.Flags().GetString("url")
				watch, _ := cmd.Flags().GetBool("watch")
				every, _ := cmd.Flags().GetDuration("interval")
				return RunCommand(func(out io.Writer, url string) error {
					return showStatus(out, url, watch, every, isTerminal(out))
				})(cmd, []string{url})
			}
		},
	})
}

// statusView is the part of the status document the terminal view shows:
// the core's fields and the webhook receiver's section, read as JSON, the
// contract every reader of the endpoint has.
type statusView struct {
	Status
	Webhooks *struct {
		Open       bool `json:"open"`
		Workspaces []struct {
			Workspace            string  `json:"workspace"`
			Pending              int     `json:"pending"`
			OldestPendingSeconds float64 `json:"oldest_pending_seconds"`
			DeadLetters          int     `json:"dead_letters"`
			Received             uint64  `json:"received"`
			Delivered            uint64  `json:"delivered"`
			Failing              bool    `json:"failing"`
		} `json:"workspaces"`
	} `json:"webhooks"`
}

// showStatus prints the status at url once or, watching, every interval
// until interrupted.
func showStatus(out io.Writer, url string, watch bool, every time.Duration, colour bool) error {
	if !watch {
		return printStatus(out, url, colour)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	defer signal.Stop(stop)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		fmt.Fprint(out, "\x1b[H\x1b[2J") // home, clear
		if err := printStatus(out, url, colour); err != nil {
			fmt.Fprintln(out, err)
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

// printStatus fetches the status document and prints its tables.
func printStatus(out io.Writer, url string, colour bool) error {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var st statusView
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return fmt.Errorf("%s: not a status document: %w", url, err)
	}
	paint := func(s, code string) string {
		if !colour || code == "" {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	fmt.Fprintf(out, "%s  upstream %s  loaded %s\n\n", st.Config, st.Upstream, st.LoadedAt.UTC().Format(time.RFC3339))

	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKSPACE\tID\tTENANTS\tBREAKER\tFAILURES\tKEYS\tPRICES\tPROBLEMS")
	for _, ws := range st.Workspaces {
		name := ws.Name
		if ws.Main {
			name += " (main)"
		}
		var keys []string
		for _, k := range ws.Keys {
			keys = append(keys, keyCell(k))
		}
		if len(keys) == 0 {
			keys = []string{paint("none: 503 NO_USABLE_KEY", "31")}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%s\t%s\t%s\n", name, ws.ID, ws.Tenants, paint(ws.Breaker.State, breakerColour(ws.Breaker.State)),
			ws.Breaker.ConsecutiveFailures, strings.Join(keys, " "), pricesCell(ws.Pricing, paint), strings.Join(ws.KeyProblems, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(st.Tenants) > 0 {
		fmt.Fprintln(out)
		fmt.Fprintln(tw, "TENANT\tMODE\tREFUSED\tWOULD REFUSE\tRECIPIENTS\tSEGMENTS\tQUOTAS AND BUDGETS")
		for _, t := range st.Tenants {
			var quotas []string
			for _, q := range t.Quotas {
				quotas = append(quotas, fmt.Sprintf("%s %d/%d per %s", q.Rule, q.Used, q.Limit, q.Window))
			}
			for _, b := range t.Budgets {
				cell := fmt.Sprintf("%s budget %s/%s %s, resets %s", b.Period, b.Spent, b.Budget, b.Currency, b.ResetsAt.UTC().Format(time.RFC3339))
				if b.Remaining == 0 {
					cell = paint(cell+" EXHAUSTED", "31")
				}
				quotas = append(quotas, cell)
			}
			if t.Error != "" {
				quotas = append(quotas, paint(t.Error, "31"))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", t.Tenant, t.Mode, t.Refused, t.WouldRefuse, t.Recipients, t.Segments, strings.Join(quotas, ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if st.Signals != nil {
		if err := printSignals(out, tw, st.Signals, paint); err != nil {
			return err
		}
	}

	fmt.Fprintln(out)
	store := "store: " + st.Store.Kind
	if st.Store.Address != "" {
		store += " " + st.Store.Address
	}
	if st.Store.Available != nil {
		state, code := "available", "32"
		if !*st.Store.Available {
			state, code = "UNAVAILABLE, serving per on_error "+st.Store.OnError, "31"
		}
		store += ", " + paint(state, code) + fmt.Sprintf(", %d outage(s)", st.Store.Outages)
	}
	fmt.Fprintln(out, store)
	if l := st.Ledger; l != nil {
		line := fmt.Sprintf("ledger: %s, %s, days in %s, %d alert(s) waiting for alerts.url", l.Ledger, l.Currency, l.Timezone, l.AlertsPending)
		if l.Error != "" {
			line += ", " + paint("NOT WRITING: "+l.Error, "31")
		}
		fmt.Fprintln(out, line)
	}

	if st.Webhooks != nil {
		fmt.Fprintln(out)
		fmt.Fprintln(tw, "WEBHOOKS\tPENDING\tOLDEST\tDEAD LETTERS\tRECEIVED\tDELIVERED\tAPP")
		for _, w := range st.Webhooks.Workspaces {
			app := paint("taking events", "32")
			if w.Failing {
				app = paint("FAILING", "31")
			}
			if !st.Webhooks.Open {
				app = "not received by this process"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%s\n", w.Workspace, w.Pending, (time.Duration(w.OldestPendingSeconds) * time.Second).String(),
				w.DeadLetters, w.Received, w.Delivered, app)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// printSignals prints the quarantines in force and the signals' readings
// as tables through tw: tenants, countries and counts only, as the status
// has them.
func printSignals(out io.Writer, tw *tabwriter.Writer, sig *SignalsStatus, paint func(s, code string) string) error {
	fmt.Fprintln(out)
	if len(sig.Quarantines) == 0 {
		fmt.Fprintln(out, "quarantines: none in force")
	} else {
		fmt.Fprintf(out, "quarantines: %d in force\n", len(sig.Quarantines))
		fmt.Fprintln(tw, "TENANT\tCOUNTRY\tSIGNAL\tMODE\tSINCE\tUNTIL")
		for _, q := range sig.Quarantines {
			mode := paint(q.Mode, "33")
			if q.Mode == signals.ModeEnforce {
				mode = paint(q.Mode, "31")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", q.Tenant, q.Country, q.Signal, mode,
				q.Since.UTC().Format(time.RFC3339), q.Until.UTC().Format(time.RFC3339))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(sig.Signals) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "signals: %d tenant × country reading(s), as last evaluated\n", len(sig.Signals))
	fmt.Fprintln(tw, "TENANT\tCOUNTRY\tDELIVERY RATIO\tREPORTS\tVOLUME\tTHRESHOLD")
	for _, s := range sig.Signals {
		ratio, threshold := "-", "-"
		if s.DeliveryRatio != nil {
			ratio = fmt.Sprintf("%.2f", *s.DeliveryRatio)
		}
		if s.VolumeThreshold != nil {
			threshold = fmt.Sprintf("%.1f", *s.VolumeThreshold)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", s.Tenant, s.Country, ratio, s.Reports, s.Volume, threshold)
	}
	return tw.Flush()
}

// keyCell shows a key by fingerprint with its verdict and state.
func keyCell(k KeyStatus) string {
	var marks []string
	if k.Active {
		marks = append(marks, "active")
	}
	if k.Candidate {
		marks = append(marks, "candidate")
	}
	switch k.Verified {
	case "true":
		marks = append(marks, "verified")
	case "false":
		marks = append(marks, "INVALID")
	}
	if k.Demoted {
		marks = append(marks, "demoted "+k.DemotedFor)
	}
	if k.Stale {
		marks = append(marks, "stale")
	}
	return k.Fingerprint + "(" + strings.Join(marks, ",") + ")"
}

// breakerColour is the ANSI colour of a breaker state.
func breakerColour(state string) string {
	switch state {
	case "open":
		return "31"
	case "half-open":
		return "33"
	}
	return ""
}

// isTerminal reports whether out is a terminal: colour is for people.
func isTerminal(out io.Writer) bool {
	f, ok := out.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// pricesCell describes a workspace's prices and balance in a cell: "-"
// without a ledger.
func pricesCell(p *PricingStatus, paint func(s, code string) string) string {
	if p == nil {
		return "-"
	}
	cell := fmt.Sprintf("%d rates", p.Entries)
	if p.Entries == 0 {
		cell = paint("no table", "31")
	}
	if p.Balance != nil {
		cell += ", balance " + *p.Balance + " " + p.Currency
	}
	if p.CreditBlocked {
		cell += " " + paint("CREDIT BLOCKED", "31")
	}
	if p.Problem != "" {
		cell += " (" + paint(p.Problem, "33") + ")"
	}
	return cell
}

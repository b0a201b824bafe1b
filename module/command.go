package restlink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/23telecom/restlink-sidecar/module/store"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "validate-config",
		Usage: "<config.yaml>",
		Short: "Checks a restlink config and its key sources without serving",
		Long: `
Loads a restlink-sidecar config file the way the sidecar does (defaults, the
file, RESTLINK__<PATH> environment overrides), validates it whole, and reads
every key source and the upstream ca_file. Prints a summary with each key's
fingerprint (never a key) and any warnings. Exits 0 if the sidecar would start
with this config, 1 otherwise.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Args = cobra.ExactArgs(1)
			cmd.RunE = RunCommand(func(out io.Writer, path string) error {
				return validateConfig(out, path, defaultEnviron)
			})
		},
	})
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "keys",
		Usage: "<config.yaml>",
		Short: "Lists each workspace's key sources, fingerprints and ages",
		Long: `
Lists every key source of a restlink-sidecar config: workspace, order, kind
(file, env, value), file path or variable name, the key's fingerprint (first
8 hex digits of its SHA-256; never the key), the file's age, and problems such
as a missing file or permissions that let group or others read it. Exits 1 if
a source cannot be read.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Args = cobra.ExactArgs(1)
			cmd.RunE = RunCommand(func(out io.Writer, path string) error {
				return listKeys(out, path, defaultEnviron, time.Now())
			})
			cmd.AddCommand(&cobra.Command{
				Use:   "verify <config.yaml>",
				Short: "Probes every key now and exits 1 if any is invalid (a pre-deploy check)",
				Long: `
Reads every key source of a restlink-sidecar config (as a start-up would) and
probes each key with the config's rotation.probe, signed if the key has a
secret, against the config's upstream. Prints workspace, source, fingerprint,
kind and verdict: valid (2xx, or 403 FORBIDDEN: the key authenticated),
invalid (a 401 naming the key), or inconclusive (anything else). Exits 1 if
any key is invalid or a source cannot be read: run it in CI/CD before a new
key or config is deployed.`,
				Args: cobra.ExactArgs(1),
				RunE: RunCommand(func(out io.Writer, path string) error {
					return verifyKeys(context.Background(), out, path, defaultEnviron)
				}),
			})
		},
	})
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "ready",
		Usage: "[<status-url>]",
		Short: "Exits 0 if the sidecar's status endpoint answers (a readiness probe)",
		Long: `
Asks a running sidecar's status endpoint (restlink_status; default
` + defaultStatusURL + `, as in the shipped Caddyfile) whether it is serving, and
exits 0 if it answers with a status document, 1 otherwise. Meant for readiness
probes where the image has no shell or curl: in Kubernetes, an exec probe
running "restlink-sidecar ready" (the sidecar listens on loopback only, which
an httpGet probe cannot reach).`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Args = cobra.MaximumNArgs(1)
			cmd.RunE = func(cmd *cobra.Command, args []string) error {
				url := defaultStatusURL
				if len(args) == 1 {
					url = args[0]
				}
				return RunCommand(func(out io.Writer, url string) error { return checkReady(out, url) })(cmd, []string{url})
			}
		},
	})
}

// verifyKeys probes every key of a config and prints the verdicts.
func verifyKeys(ctx context.Context, out io.Writer, path string, environ Environ) error {
	in, err := inspect(path, environ)
	if err != nil {
		return err
	}
	pl, keys := in.plan, in.keys
	cctx, cancel := caddy.NewContext(caddy.Context{Context: ctx})
	defer cancel()
	up, err := newUpstream(cctx, pl.upstream, pl.Upstream, nil)
	if err != nil {
		return err
	}
	defer up.close()
	claims := store.NewMemory(store.MemoryOptions{})
	defer claims.Close()
	sign := func(ctx context.Context, k *key, method, path string) (string, string, error) {
		return signRequest(ctx, claims, k, method, path, nil, time.Now())
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKSPACE\tFINGERPRINT\tKIND\tSIGNED\tVERDICT\tUPSTREAM ANSWER")
	invalid := 0
	var warnings []string
	for i, ws := range pl.workspaces {
		for _, k := range keys.keys[i] {
			v := probeKey(ctx, up, pl.rotation, k, sign)
			if v.result == verdictInvalid {
				invalid++
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", ws.name, k.fp, k.kind(), k.secret != nil, v.result, v.reason)
			if v.result == verdictValid && pl.policy.Budgeted() {
				status, _, _, err := readWithKey(ctx, up, pl.Upstream.Timeout, claims, pacePlan{}, k, pricingPath)
				if err == nil && status == http.StatusForbidden {
					warnings = append(warnings, "warning: key "+k.fp+" of workspace "+ws.name+
						" cannot read prices (403 on "+pricingPath+": it lacks pricing.read); budgeted sends of this workspace are refused with PRICE_UNKNOWN unless pricing.unknown_rate is set")
				}
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(out, w)
	}
	if invalid > 0 {
		return fmt.Errorf("%d key(s) invalid", invalid)
	}
	return nil
}

// defaultStatusURL is where the shipped Caddyfile serves restlink_status.
const defaultStatusURL = "http://127.0.0.1:9090/status"

// checkReady asks a status endpoint whether the sidecar serves.
func checkReady(out io.Writer, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var st struct { // of the status document, what the answer shows
		LoadedAt   time.Time         `json:"loaded_at"`
		Workspaces []json.RawMessage `json:"workspaces"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answered %s", url, resp.Status)
	}
	fmt.Fprintf(out, "ready: %d workspaces, config loaded at %s\n", len(st.Workspaces), st.LoadedAt.Format(time.RFC3339))
	return nil
}

// RunCommand adapts a command to cobra: errors are printed once, to
// stderr, and exit with status 1. The sidecar's commands all use it.
func RunCommand(run func(out io.Writer, path string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		err := run(cmd.OutOrStdout(), args[0])
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", args[0], strings.ReplaceAll(err.Error(), "\n", "\n  "))
		}
		return err
	}
}

// inspection is a config with its key and secret sources read, as a
// start-up would read them.
type inspection struct {
	*plan
	keys    *keyLoad
	secrets *webhookSecretLoad
}

// inspect loads a config and all its key and secret sources as a start-up
// would.
func inspect(path string, environ Environ) (*inspection, error) {
	pl, err := loadPlan(path, environ)
	if err != nil {
		return nil, err
	}
	keys := loadKeys(pl.workspaces, pl.Rotation.Verify, environ.lookup(), nil, nil, time.Now())
	secrets := loadWebhookSecrets(pl.workspaces, environ.lookup(), nil, nil)
	var errs []error
	errs = append(errs, keys.errs...)
	errs = append(errs, secrets.errs...)
	if err := checkSharedKeys(pl.workspaces, keys.keys); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := loadRoots(pl.Upstream.CAFile); err != nil {
		errs = append(errs, fmt.Errorf("upstream.ca_file: %w", err))
	}
	return &inspection{plan: pl, keys: keys, secrets: secrets}, errors.Join(errs...)
}

// validateConfig prints a summary of a valid config, or returns its errors.
func validateConfig(out io.Writer, path string, environ Environ) error {
	in, err := inspect(path, environ)
	if err != nil {
		return err
	}
	for _, w := range slices.Concat(in.keys.warnings, in.secrets.warnings) {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	fmt.Fprintf(out, "config OK: %d workspaces, %d tenants, upstream %s\n", len(in.workspaces), len(in.routing.tenants), in.upstream)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKSPACE\tID\tMAIN\tKEYS\tWEBHOOK SECRETS")
	for i, ws := range in.workspaces {
		var fps []string
		for _, k := range in.keys.keys[i] {
			fps = append(fps, k.fp)
		}
		hooks := "-"
		if secrets := in.secrets.fingerprints(ws.name); len(secrets) > 0 {
			hooks = strings.Join(secrets, ", ")
		}
		fmt.Fprintf(tw, "%s\t%d\t%v\t%s\t%s\n", ws.name, ws.id, ws.main, strings.Join(fps, ", "), hooks)
	}
	return tw.Flush()
}

// listKeys prints every key source with its fingerprint and file age.
func listKeys(out io.Writer, path string, environ Environ, now time.Time) error {
	pl, err := loadPlan(path, environ)
	if err != nil {
		return err
	}
	lookup := environ.lookup()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKSPACE\t#\tSOURCE\tLOCATION\tKIND\tFINGERPRINT\tSECRET\tFILE AGE\tPROBLEMS")
	failed := 0
	for _, ws := range pl.workspaces {
		for i, src := range ws.keys {
			fp, kind, secret, age, problems := "-", "-", "-", "-", []string{}
			material, secretMaterial, _, warnings, err := readKey(src, lookup, nil)
			if err == nil {
				kind, fp = keyKind(material), Fingerprint(material)
				if secretMaterial != "" {
					secret = Fingerprint(secretMaterial)
				}
				if envErr := checkEnvironment(ws.environment, kind); envErr != nil {
					err = fmt.Errorf("refused: %w", envErr)
				}
			}
			if err != nil {
				failed++
				problems = append(problems, err.Error())
			}
			problems = append(problems, warnings...)
			if src.kind() == sourceFile {
				if fi, err := os.Stat(src.File); err == nil {
					age = now.Sub(fi.ModTime()).Round(time.Second).String()
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ws.name, i, src.kind(), src.location(), kind, fp, secret, age, strings.Join(problems, "; "))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d key source(s) cannot be read or are refused", failed)
	}
	return nil
}

// Command compat is `make compat`: a client and protocol compatibility
// matrix of the sidecar, stock Caddy (map + reverse_proxy + header_up,
// built from the Caddy version in go.mod) and nginx (map + proxy_pass +
// proxy_set_header, upstream keep-alive, defaults otherwise), each in front
// of the same recording upstream written here.
//
// Every case runs first against the upstream directly (the baseline, with
// the client sending its key itself), then through each proxy (with the
// tenant header and the app's old credentials). A cell is "ok" when the
// client saw what it saw directly and the upstream got the request as the
// client sent it — method, path, query and body byte for byte — with the
// workspace key injected and the app's credentials gone; otherwise it
// names the first difference. Cells where the sidecar differs on purpose
// say "refused by design" (see deliberate).
//
// Everything listens on 127.0.0.1; every process started is stopped by PID,
// also on Ctrl-C. The matrix is a report: the exit status is 0 unless the
// harness itself fails.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

var (
	binDir  = flag.String("bin", "bin", "directory with restlink-sidecar and caddy")
	workDir = flag.String("dir", "", "work directory for configs, logs and requests.log (what the upstream received), kept afterwards (default: a temporary directory, removed)")
	only    = flag.String("run", "", "run only the cases whose name matches this regular expression")
)

// harness holds what every case needs.
type harness struct {
	bin     string
	dir     string
	key     string // the throwaway workspace key; never printed
	up      *upstream
	procs   *processes
	targets []*target // the baseline first, then the proxies
	tools   map[string]bool
	reqLog  *os.File // requests.log in a kept work directory, or nil
	// temporary: dir is removed at the end.
	temporary bool
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		os.Exit(1)
	}
}

// run sets up, runs every case and prints the report.
func run() error {
	h, cleanup, err := setUp()
	defer cleanup()
	if err != nil {
		return err
	}
	cases := h.cases()
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return fmt.Errorf("-run: %w", err)
		}
		cases = filterCases(cases, re)
	}
	h.printHeader(len(cases))
	start := time.Now()
	rows := make([][]cell, len(cases))
	for i, c := range cases {
		rows[i] = h.runCase(i, c)
	}
	h.printMatrix(cases, rows)
	fmt.Printf("\n%d cases in %.1f s\n", len(cases), time.Since(start).Seconds())
	h.printLegend()
	return nil
}

// setUp starts the upstream and the three proxies. cleanup stops them and
// removes a temporary work directory; it may be called at any point, more
// than once, and Ctrl-C calls it too.
func setUp() (*harness, func(), error) {
	h := &harness{bin: *binDir, procs: &processes{}, tools: map[string]bool{}}
	var once sync.Once
	cleanup := func() { once.Do(h.tearDown) }
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	go func() { <-interrupted; cleanup(); os.Exit(130) }()
	// Output piped into a program that quits (| head) must not kill the
	// harness before it stops its processes: a handled SIGPIPE turns into
	// write errors, which printing ignores.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	return h, cleanup, h.start()
}

// start prepares the work directory and starts every server.
func (h *harness) start() error {
	if err := h.checkBinaries(); err != nil {
		return err
	}
	if err := h.prepareDir(); err != nil {
		return err
	}
	h.key = newKey()
	up, err := startUpstream()
	if err != nil {
		return err
	}
	h.up = up
	h.targets = []*target{{kind: kindDirect, port: up.port()}}
	for _, kind := range []string{kindSidecar, kindCaddy, kindNginx} {
		t, err := h.startProxy(kind)
		if err != nil {
			return err
		}
		h.targets = append(h.targets, t)
	}
	return nil
}

// prepareDir creates the work directory (a temporary one unless -dir is
// given, then with requests.log) and writes the client programs into it.
func (h *harness) prepareDir() error {
	var err error
	if *workDir == "" {
		h.dir, err = os.MkdirTemp("", "restlink-compat-")
		h.temporary = err == nil
	} else if h.dir, err = filepath.Abs(*workDir); err == nil {
		if err = os.MkdirAll(h.dir, 0o755); err == nil {
			h.reqLog, err = os.Create(filepath.Join(h.dir, "requests.log"))
		}
	}
	if err != nil {
		return err
	}
	return h.writeClientScripts()
}

// tearDown stops every process, the upstream, and removes a temporary
// work directory.
func (h *harness) tearDown() {
	h.procs.stopAll()
	if h.reqLog != nil {
		_ = h.reqLog.Close()
	}
	if h.up != nil {
		h.up.close()
	}
	if h.temporary {
		_ = os.RemoveAll(h.dir)
	}
}

// checkBinaries finds the proxies (required) and the clients (optional:
// their cells say "skipped").
func (h *harness) checkBinaries() error {
	for _, name := range []string{"restlink-sidecar", "caddy"} {
		if _, err := os.Stat(filepath.Join(h.bin, name)); err != nil {
			return fmt.Errorf("%s not found in %s: run make build and build bin/caddy (make compat does both)", name, h.bin)
		}
	}
	if _, err := exec.LookPath("nginx"); err != nil {
		return fmt.Errorf("nginx is not installed (make compat installs it)")
	}
	for _, tool := range []string{"curl", "python3", "node", "java"} {
		_, err := exec.LookPath(tool)
		h.tools[tool] = err == nil
	}
	return nil
}

// has reports whether a client tool is installed.
func (h *harness) has(tool string) bool { return h.tools[tool] }

// newKey makes a throwaway workspace key.
func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "rl_compat_" + hex.EncodeToString(b)
}

// fingerprint identifies the key without showing it.
func fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}

// filterCases keeps the cases whose name matches re.
func filterCases(cases []*testCase, re *regexp.Regexp) []*testCase {
	var kept []*testCase
	for _, c := range cases {
		if re.MatchString(c.name) {
			kept = append(kept, c)
		}
	}
	return kept
}

// runCase runs one case on the baseline, then on each proxy, and judges
// each proxy's run against the baseline's.
func (h *harness) runCase(i int, c *testCase) []cell {
	cells := make([]cell, len(h.targets))
	var base *observation
	for j, t := range h.targets {
		probe := fmt.Sprintf("c%02d-%s", i, t.kind)
		o := c.run(t, probe)
		o.sent = h.up.take(probe)
		h.logRequests(probe, o.sent)
		if j == 0 {
			base = o
		}
		cells[j] = h.judge(c, t, base, o)
	}
	return cells
}

// logRequests writes what the upstream received for one run to
// requests.log, the key replaced by its fingerprint.
func (h *harness) logRequests(probe string, sent []*recorded) {
	if h.reqLog == nil {
		return
	}
	masked := "<key " + fingerprint(h.key) + ">"
	var b strings.Builder
	fmt.Fprintf(&b, "=== %s: %d request(s)\n", probe, len(sent))
	for _, r := range sent {
		b.WriteString(r.line + "\n")
		for _, f := range r.header {
			b.WriteString(f.name + ": " + f.value + "\n")
		}
		sum := sha256.Sum256(r.body)
		fmt.Fprintf(&b, "[body: %d bytes, chunked %v, sha256 %x]\n", len(r.body), r.chunked, sum[:8])
	}
	_, _ = io.WriteString(h.reqLog, strings.ReplaceAll(b.String(), h.key, masked))
}

// printHeader says what runs against what.
func (h *harness) printHeader(n int) {
	fmt.Printf("restlink compatibility matrix: %d cases; upstream on 127.0.0.1:%d; workspace key: throwaway, fingerprint %s\n",
		n, h.up.port(), fingerprint(h.key))
	fmt.Printf("proxies: sidecar %s; stock Caddy %s (from go.mod); %s\n",
		version(filepath.Join(h.bin, "restlink-sidecar"), "version"), caddyVersion(), version("nginx", "-v"))
	var clients []string
	for _, tool := range []string{"curl", "python3", "node", "java"} {
		if !h.has(tool) {
			clients = append(clients, "no "+tool)
		}
	}
	if len(clients) > 0 {
		fmt.Println("missing clients:", strings.Join(clients, ", "))
	}
	fmt.Println()
}

// version is the word of a program's version output that names it:
// "restlink-sidecar-<version>", "nginx/<version>".
func version(name string, arg string) string {
	out, err := exec.Command(name, arg).CombinedOutput()
	if err != nil {
		return "(unknown version)"
	}
	for _, f := range strings.Fields(string(out)) {
		if strings.Contains(f, "/") || strings.HasPrefix(f, "restlink-sidecar-") {
			return f
		}
	}
	return "(unknown version)"
}

// caddyVersion is the Caddy version go.mod requires (bin/caddy, built
// with -trimpath from the module cache, does not know its own).
func caddyVersion() string {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		return "(unknown version)"
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/caddyserver/caddy/v2" {
			return f[1]
		}
	}
	return "(unknown version)"
}

// printMatrix prints one row per case, grouped, one column per target.
func (h *harness) printMatrix(cases []*testCase, rows [][]cell) {
	var out bytes.Buffer
	tw := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
	header := "CASE"
	for _, t := range h.targets {
		header += "\t" + strings.ToUpper(t.kind)
	}
	fmt.Fprintln(tw, header)
	group := ""
	for i, c := range cases {
		if c.group != group {
			group = c.group
			fmt.Fprintln(tw, "["+group+"]"+strings.Repeat("\t", len(h.targets)))
		}
		line := "  " + c.name
		for _, cl := range rows[i] {
			line += "\t" + cl.text
		}
		fmt.Fprintln(tw, line)
	}
	_ = tw.Flush()
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		fmt.Println(strings.TrimRight(line, " "))
	}
	h.printSummary(rows)
	printDetails(h.targets, cases, rows)
}

// printSummary counts each column's cells by kind.
func (h *harness) printSummary(rows [][]cell) {
	fmt.Println()
	for j, t := range h.targets {
		var n [4]int
		for _, r := range rows {
			n[r[j].kind]++
		}
		fmt.Printf("%-8s %2d ok, %2d differ, %2d by design, %2d skipped\n", t.kind, n[cellOK], n[cellFailed], n[cellByDesign], n[cellSkipped])
	}
}

// printDetails lists every difference of the cells that found more than
// one.
func printDetails(targets []*target, cases []*testCase, rows [][]cell) {
	printed := false
	for i, c := range cases {
		for j, cl := range rows[i] {
			if len(cl.reasons) < 2 {
				continue
			}
			if !printed {
				fmt.Println("\ndetails (cells with more than one difference):")
				printed = true
			}
			fmt.Printf("  %s / %s: %s\n", targets[j].kind, c.name, strings.Join(cl.reasons, "; "))
		}
	}
}

// printLegend explains the cells, the setups and the deliberate differences.
func (h *harness) printLegend() {
	fmt.Print(`
legend
  ok                    the client saw what it sees against the upstream directly, and the upstream got
                        method, path, query and body byte for byte, the workspace key as X-API-Key, and
                        none of the app's X-API-Key, Authorization or X-Tenant
  <difference>          the first difference found (all of them under "details")
  refused by design     the sidecar refuses this on purpose (its deliberate differences are listed below)
  changed by design     the sidecar changes this on purpose (listed below)
  (should be refused)   a request the sidecar is meant to refuse but let through
  DIRECT                the recording upstream without a proxy, the client sending its key itself: the baseline
  stalled / after       a latency the client should not see: its 1 s wait for 100 Continue, or the upstream's
                        1 s between two events
setups
  sidecar   the shipped caddyfile/Caddyfile (its ports changed) and a config.yaml: workspace test-space
            (key in a file), tenant acme, security.max_body_bytes 4 MiB, defaults otherwise
  caddy     map {header.X-Tenant} {api_key} + reverse_proxy with header_up X-API-Key and header_up -<credential>
  nginx     map $http_x_tenant + proxy_pass to an upstream block with keepalive, proxy_http_version 1.1,
            proxy_set_header for the key and credentials; nginx's defaults otherwise, as most operators
            leave them: proxy_buffering on and proxy_request_buffering on (no "proxy_buffering off");
            client_max_body_size 4m to match the sidecar
  upstream  answers TRACE with an echo of the request (RFC 9110), to show what a forwarded TRACE exposes
the sidecar's deliberate differences
`)
	for _, key := range designOrder {
		d := deliberate[key]
		fmt.Printf("  %-44s %s\n", d.what, d.why)
	}
}

// Command bench is `make bench`: a side-by-side load benchmark of the
// sidecar, stock Caddy (map + reverse_proxy + header_up, built from the Caddy
// version in go.mod) and nginx (map + proxy_set_header, keep-alive), all
// doing the same job — tenant header to key, credentials stripped — in front
// of the same minimal upstream, with 10 and 10,000 tenants. The sidecar runs
// in two shapes: tenants spread over 10 workspaces, and one workspace (with
// its own key file) per tenant. Further rows: the sidecar with HMAC
// signing, send policy and idempotency on; refusals (unknown tenant, policy
// refusal, open breaker) against Caddy's static respond; time to ready and
// idle memory of a fresh start; and a reload of the 10,000-workspace config
// under load.
//
// Every server runs pinned to CPU 0; wrk and the upstream share CPU 1. Rows
// run interleaved over several rounds, so that drift hits all of them alike;
// only ratios within one run mean anything. Everything listens on 127.0.0.1
// and every process started is stopped by PID.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/loopback"
)

var (
	rounds      = flag.Int("rounds", 3, "measurement rounds")
	duration    = flag.Duration("duration", 5*time.Second, "length of each measurement")
	connections = flag.Int("connections", 32, "concurrent connections")
	workDir     = flag.String("dir", ".bench", "work directory (configs, logs, results)")
	binDir      = flag.String("bin", "bin", "directory with restlink-sidecar, caddy and fastupstream")
	tenantSets  = flag.String("tenants", "10,10000", "tenant counts to run, comma-separated")
	extras      = flag.Bool("extras", true, "also run the capabilities, refusal, start-up and reload rows")
	starts      = flag.Int("starts", 5, "starts measured for time to ready and idle RSS (the median is shown)")
	idleSettle  = flag.Duration("idle", 2*time.Second, "how long a started server idles after its first answer before its RSS is read (past a minute, the sidecar's watcher has re-read every key file once)")
	profileOut  = flag.String("profile", "", "write a CPU profile of the -profile-row row (first round) to this file; turns the sidecars' admin API on, on a unix socket")
	profileRow  = flag.String("profile-row", "sidecar, 10 ws (1/tenant)", "the row -profile profiles")
	rowFilter   = flag.String("rows", "", "only the rows whose names match this regular expression (the rows they compare with too)")
	sendRate    = flag.Int("rate", 1000, "sends a second of the fixed-rate rows (restlink's account limit)")
	rateFor     = flag.Duration("rate-duration", time.Minute, "length of the fixed-rate rows, run once after the rounds")
)

// server is one row's server under load.
type server struct {
	name     string
	kind     string // see configs.go
	tenants  int    // tenants in its config; requests rotate over them
	tenant   string // if set, every request names this tenant instead
	distinct bool   // each request is a distinct send, with its own Idempotency-Key
	refuses  bool   // every request must be refused (any non-2xx status)
	conns    int    // connections; 0: -connections
	rate     int    // requests a second aimed at (see wrkScript); 0: as fast as it answers
	// extraHeader is a header line ("Name: value\r\n", escaped for Lua)
	// every request carries: the direct row's key.
	extraHeader string
	vs          []string // rows its throughput is compared with
	cpuVs       string   // a row its CPU per request is compared with
	latVs       string   // a row its latency is compared with
	port        int
	dir         string // its configuration's directory
	log         string // its output
	cmd         *exec.Cmd
}

// result is one measurement.
type result struct {
	Row        string  `json:"row"`
	Round      int     `json:"round"`
	Requests   int64   `json:"requests"`
	Seconds    float64 `json:"seconds"`
	ReqPerSec  float64 `json:"req_per_sec"`
	P50us      float64 `json:"p50_us"`
	P99us      float64 `json:"p99_us"`
	Errors     int64   `json:"errors"`
	CPUus      float64 `json:"cpu_us_per_request"`
	RSSKiB     int64   `json:"rss_kib"`
	AnonKiB    int64   `json:"rss_anon_kib"`
	WrongCodes int64   `json:"unexpected_statuses"`
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	if runtime.NumCPU() < 2 {
		return errors.New("needs 2 CPUs: servers on CPU 0, load and upstream on CPU 1")
	}
	tools := []string{"wrk", "nginx", "taskset"}
	if *extras {
		tools = append(tools, "redis-server")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (make bench installs wrk, nginx and redis-server)", tool)
		}
	}
	sources, err := binarySources(".", "./cmd/restlink-sidecar")
	if err != nil {
		return err
	}
	if err := checkFresh(filepath.Join(*binDir, "restlink-sidecar"), sources); err != nil {
		return err
	}
	dir, err := filepath.Abs(*workDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var started []*exec.Cmd
	stopAll := func() {
		for _, c := range started {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range started {
			done := make(chan struct{})
			go func() { _ = c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = c.Process.Kill()
			}
		}
	}
	defer stopAll()
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	go func() { <-interrupted; stopAll(); os.Exit(1) }()

	start := func(cpu string, logPath string, name string, args ...string) (*exec.Cmd, error) {
		cmd := exec.Command("taskset", append([]string{"-c", cpu, name}, args...)...)
		logFile, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		started = append(started, cmd)
		return cmd, nil
	}

	upPort, err := loopback.FreePort()
	if err != nil {
		return err
	}
	if _, err := start("1", filepath.Join(dir, "upstream.log"), filepath.Join(*binDir, "fastupstream"), "-addr", fmt.Sprintf("127.0.0.1:%d", upPort)); err != nil {
		return err
	}
	if err := loopback.WaitForPort(upPort, 20*time.Second); err != nil {
		return fmt.Errorf("upstream: %w", err)
	}

	if *extras {
		// The Redis store rows' Redis, on the load's CPU, persistence off.
		port, err := loopback.FreePort()
		if err != nil {
			return err
		}
		if _, err := start("1", filepath.Join(dir, "redis.log"), "redis-server", "--port", strconv.Itoa(port),
			"--bind", "127.0.0.1", "--save", "", "--appendonly", "no"); err != nil {
			return err
		}
		if err := loopback.WaitForPort(port, 20*time.Second); err != nil {
			return fmt.Errorf("redis-server: %w", err)
		}
		redisURL = fmt.Sprintf("redis://127.0.0.1:%d", port)
	}

	// Start-up first, while nothing else runs.
	var startups []startupResult
	if *extras {
		for _, s := range []struct {
			row, kind string
			tenants   int
		}{
			{"sidecar, 1 workspace", kindSidecarWS, 1},
			{"caddy, 1 tenant", kindCaddy, 1},
			{"sidecar, 10,000 workspaces", kindSidecarWS, 10000},
			{"caddy, 10,000 tenants", kindCaddy, 10000},
		} {
			r, err := measureStartup(dir, s.row, s.kind, s.tenants, upPort, *starts)
			if err != nil {
				return err
			}
			fmt.Printf("  start-up  %-26s ready %6.1f ms  idle RSS %5.1f MiB, anonymous %5.1f MiB (median of %d)\n", r.Row, r.ReadyMs, float64(r.IdleKiB)/1024, float64(r.IdleAnonKiB)/1024, r.Tries)
			startups = append(startups, r)
		}
	}

	servers, err := plan()
	if err != nil {
		return err
	}
	byKind := map[string]*server{} // one process per kind and tenant count
	for _, s := range servers {
		key := fmt.Sprintf("%s-%d", s.kind, s.tenants)
		if first := byKind[key]; first != nil {
			s.port, s.dir, s.log, s.cmd = first.port, first.dir, first.log, first.cmd
			continue
		}
		byKind[key] = s
		if s.port, err = loopback.FreePort(); err != nil {
			return err
		}
		upstream := upPort
		if s.kind == kindSidecarOpen {
			upstream = 1 // refuses connections: the breakers open
		}
		name, args, err := writeConfig(dir, s.kind, s.tenants, s.port, upstream)
		if err != nil {
			return err
		}
		s.dir, s.log = filepath.Join(dir, key), filepath.Join(dir, key+".log")
		if s.cmd, err = start("0", s.log, name, args...); err != nil {
			return err
		}
	}
	for _, s := range servers {
		if err := loopback.WaitForPort(s.port, 60*time.Second); err != nil {
			return fmt.Errorf("%s: %w (see %s)", s.name, err, s.log)
		}
		if s.kind == kindSidecarOpen {
			for range 10 {
				_, _ = wrk(s, 1, 200*time.Millisecond) // opens the breakers
			}
		}
	}

	fmt.Printf("%d rounds of %v, %d connections, POST /api/v1/sms/send, tenants rotating; servers on CPU 0, wrk and upstream on CPU 1\n",
		*rounds, *duration, *connections)
	var results []result
	for round := 1; round <= *rounds; round++ {
		for _, s := range servers {
			conns := *connections
			if s.conns > 0 {
				conns = s.conns
			}
			_, _ = wrk(s, conns, time.Second) // warm-up
			cpu0 := cpuTime(s.cmd.Process.Pid)
			var profiled chan error
			if *profileOut != "" && round == 1 && s.name == *profileRow {
				profiled = make(chan error, 1)
				go func() {
					profiled <- fetchProfile(filepath.Join(s.dir, "admin.sock"), *duration-time.Second)
				}()
			}
			r, err := wrk(s, conns, *duration)
			if profiled != nil {
				if err := <-profiled; err != nil {
					return fmt.Errorf("profiling: %w", err)
				}
				fmt.Println("  CPU profile:", *profileOut, "(go tool pprof -top", *profileOut+")")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			r.Row, r.Round = s.name, round
			r.CPUus = float64(cpuTime(s.cmd.Process.Pid)-cpu0) / float64(time.Microsecond) / float64(r.Requests)
			r.RSSKiB, r.AnonKiB = rss(s.cmd.Process.Pid)
			results = append(results, r)
			fmt.Printf("  round %d  %-34s %9.0f req/s  p99 %6.0fµs  %5.1fµs CPU/req  %6.1f MiB (anon %.1f) %s\n",
				round, s.name, r.ReqPerSec, r.P99us, r.CPUus, float64(r.RSSKiB)/1024, float64(r.AnonKiB)/1024, errorNote(r))
		}
	}

	var rated []result
	if *extras {
		if rated, err = measureAtRate(servers, upPort); err != nil {
			return err
		}
	}

	var reload *reloadResult
	if *extras {
		for _, s := range servers {
			if s.kind == kindSidecarWS && s.tenants == 10000 {
				if reload, err = reloadUnderLoad(s); err != nil {
					return err
				}
			}
		}
	}
	fsync, err := fsyncLatency(dir)
	if err != nil {
		return fmt.Errorf("measuring fsync: %w", err)
	}
	report(servers, results, startups, reload, fsync)
	reportRated(rated)
	raw, _ := json.MarshalIndent(map[string]any{"date": time.Now().UTC(), "results": results, "at_rate": rated,
		"startup": startups, "reload_under_load": reload, "fsync_us": fsync.Microseconds()}, "", "  ")
	out := filepath.Join(dir, "results-"+time.Now().UTC().Format("20060102T150405Z")+".json")
	if err := os.WriteFile(out, raw, 0o644); err != nil {
		return err
	}
	fmt.Println("raw results:", out)
	return nil
}

// plan lists the rows, in the order they run in each round. Rows of the
// same kind and tenant count share a server.
func plan() ([]*server, error) {
	var servers []*server
	for _, f := range strings.Split(*tenantSets, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("-tenants: %w", err)
		}
		caddyRow, nginxRow := fmt.Sprintf("caddy, %d tenants", n), fmt.Sprintf("nginx, %d tenants", n)
		caddyLogRow := fmt.Sprintf("caddy, %d tenants, access log", n)
		servers = append(servers,
			&server{name: fmt.Sprintf("sidecar, %d tenants/10 ws", n), kind: kindSidecar, tenants: n, vs: []string{caddyRow, nginxRow}},
			&server{name: fmt.Sprintf("sidecar, %d ws (1/tenant)", n), kind: kindSidecarWS, tenants: n, vs: []string{caddyRow, caddyLogRow, nginxRow}},
			// The sidecar writes a log line for every request (SPEC §9), stock
			// Caddy none unless told: these two rows compare like with like.
			&server{name: fmt.Sprintf("sidecar, %d ws, no request log", n), kind: kindSidecarQuiet, tenants: n, vs: []string{caddyRow}},
			&server{name: caddyLogRow, kind: kindCaddyLog, tenants: n},
			&server{name: caddyRow, kind: kindCaddy, tenants: n, vs: []string{nginxRow}},
			&server{name: nginxRow, kind: kindNginx, tenants: n},
		)
	}
	if *extras {
		const floor, floorClose = "caddy, static respond", "caddy, respond + close"
		servers = append(servers,
			&server{name: "sidecar, capabilities on, 10 ws", kind: kindSidecarCaps, tenants: 10, distinct: true, vs: []string{"sidecar, 10 ws (1/tenant)"}},
			&server{name: "sidecar, policy + idempotency, 10 ws", kind: kindSidecarPolicy, tenants: 10, distinct: true,
				vs: []string{"sidecar, 10 ws (1/tenant)"}, cpuVs: "sidecar, 10 ws (1/tenant)"},
			&server{name: "sidecar, policy + idempotency, Redis", kind: kindSidecarRedis, tenants: 10, distinct: true,
				vs: []string{"sidecar, policy + idempotency, 10 ws"}, cpuVs: "sidecar, policy + idempotency, 10 ws"},
			&server{name: "sidecar, policy, memory store, 1 conn", kind: kindSidecarPolicy, tenants: 10, distinct: true, conns: 1},
			&server{name: "sidecar, policy, Redis store, 1 conn", kind: kindSidecarRedis, tenants: 10, distinct: true, conns: 1,
				latVs: "sidecar, policy, memory store, 1 conn"},
			&server{name: "sidecar, money on, 10 ws", kind: kindSidecarMoney, tenants: 10, distinct: true,
				vs: []string{"sidecar, policy + idempotency, 10 ws"}, cpuVs: "sidecar, policy + idempotency, 10 ws"},
			&server{name: "sidecar, money on, 1 conn", kind: kindSidecarMoney, tenants: 10, distinct: true, conns: 1,
				latVs: "sidecar, policy, memory store, 1 conn"},
			&server{name: everythingOn, kind: kindSidecarAll, tenants: 10, distinct: true,
				vs: []string{plainRow}, cpuVs: plainRow},
			&server{name: everythingOnAhead, kind: kindSidecarAllAhead, tenants: 10, distinct: true,
				vs: []string{plainRow}, cpuVs: plainRow},
			&server{name: floor, kind: kindCaddyRespond, tenants: 1, refuses: true},
			// A refusal before the body is read closes the connection
			// (see Handler.ServeHTTP): its floor is a respond that closes.
			&server{name: floorClose, kind: kindCaddyClose, tenants: 1, refuses: true},
			&server{name: "sidecar, unknown tenant", kind: kindSidecarWS, tenants: 10, tenant: unknownTenantName, refuses: true, vs: []string{floor, floorClose}},
			&server{name: "sidecar, policy refusal", kind: kindSidecarCaps, tenants: 10, tenant: policyRefusedName, refuses: true, vs: []string{floor}},
			&server{name: "sidecar, open breaker", kind: kindSidecarOpen, tenants: 10, refuses: true, vs: []string{floor}},
		)
	}
	return filterRows(servers)
}

// filterRows keeps the rows -rows names, and those they compare with.
func filterRows(servers []*server) ([]*server, error) {
	if *rowFilter == "" {
		return servers, nil
	}
	re, err := regexp.Compile(*rowFilter)
	if err != nil {
		return nil, fmt.Errorf("-rows: %w", err)
	}
	keep := map[string]bool{}
	for _, s := range servers {
		if re.MatchString(s.name) {
			keep[s.name] = true
			for _, base := range append(append([]string{}, s.vs...), s.cpuVs, s.latVs) {
				keep[base] = true
			}
		}
	}
	var kept []*server
	for _, s := range servers {
		if keep[s.name] {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

func errorNote(r result) string {
	if r.Errors+r.WrongCodes == 0 {
		return ""
	}
	return fmt.Sprintf("(%d socket errors, %d unexpected statuses)", r.Errors, r.WrongCodes)
}

// fetchProfile takes a CPU profile through a sidecar's admin socket.
func fetchProfile(sock string, d time.Duration) error {
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := client.Get(fmt.Sprintf("http://admin/debug/pprof/profile?seconds=%d", max(1, int(d.Seconds()))))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin API answered %s", resp.Status)
	}
	f, err := os.Create(*profileOut)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// Command bench is `make bench`: a side-by-side load benchmark of the
// sidecar, stock Caddy (map + reverse_proxy + header_up, built from the Caddy
// version in go.mod) and nginx (map + proxy_set_header, keep-alive), all
// doing the same job — tenant header to key, credentials stripped — in front
// of the same minimal upstream, with 10 and 10,000 tenants.
//
// Every proxy runs pinned to CPU 0; wrk and the upstream share CPU 1. Rows
// run interleaved over several rounds, so that drift hits all of them alike;
// only ratios within one run mean anything. Everything listens on 127.0.0.1
// and every process started is stopped by PID.
package main

import (
	"bufio"
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
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
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
	profileOut  = flag.String("profile", "", "write a CPU profile of the sidecar (10 tenants, first round) to this file; turns its admin API on, on a unix socket")
)

const smsBody = `{"to":["+14155551234"],"message":"hi","sender_id":"MyApp"}`

// proxy is one row's server.
type proxy struct {
	name    string
	tenants int
	port    int
	cmd     *exec.Cmd
	expect  int // status wrk should see: 200, or 503 for the open breaker
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
		return errors.New("needs 2 CPUs: proxies on CPU 0, load and upstream on CPU 1")
	}
	for _, tool := range []string{"wrk", "nginx", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (make bench installs wrk and nginx)", tool)
		}
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

	start := func(cpu string, logName string, name string, args ...string) (*exec.Cmd, error) {
		cmd := exec.Command("taskset", append([]string{"-c", cpu, name}, args...)...)
		logFile, err := os.Create(filepath.Join(dir, logName))
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
	if _, err := start("1", "upstream.log", filepath.Join(*binDir, "fastupstream"), "-addr", fmt.Sprintf("127.0.0.1:%d", upPort)); err != nil {
		return err
	}
	if err := loopback.WaitForPort(upPort, 20*time.Second); err != nil {
		return fmt.Errorf("upstream: %w", err)
	}

	var proxies []*proxy
	for _, f := range strings.Split(*tenantSets, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-tenants: %w", err)
		}
		for _, kind := range []string{"sidecar", "caddy", "nginx"} {
			port, err := loopback.FreePort()
			if err != nil {
				return err
			}
			p := &proxy{name: fmt.Sprintf("%s, %d tenants", kind, n), tenants: n, port: port, expect: 200}
			name, args, err := writeConfig(dir, kind, n, p.port, upPort)
			if err != nil {
				return err
			}
			if p.cmd, err = start("0", fmt.Sprintf("%s-%d.log", kind, n), name, args...); err != nil {
				return err
			}
			proxies = append(proxies, p)
		}
	}
	openPort, err := loopback.FreePort()
	if err != nil {
		return err
	}
	open := &proxy{name: "sidecar, open breaker", tenants: 10, port: openPort, expect: 503}
	name, args, err := writeConfig(dir, "sidecar-open", 10, open.port, 1)
	if err != nil {
		return err
	}
	if open.cmd, err = start("0", "sidecar-open.log", name, args...); err != nil {
		return err
	}
	proxies = append(proxies, open)
	for _, p := range proxies {
		if err := loopback.WaitForPort(p.port, 20*time.Second); err != nil {
			return fmt.Errorf("%s: %w (see %s)", p.name, err, dir)
		}
	}
	// Open the breaker: the upstream port refuses connections.
	for range 10 {
		_, _ = wrk(open, 1, 200*time.Millisecond)
	}

	fmt.Printf("%d rounds of %v, %d connections, POST /api/v1/sms/send with X-Tenant; proxies on CPU 0, wrk and upstream on CPU 1\n",
		*rounds, *duration, *connections)
	var results []result
	for round := 1; round <= *rounds; round++ {
		for _, p := range proxies {
			_, _ = wrk(p, *connections, time.Second) // warm-up
			cpu0 := cpuTime(p.cmd.Process.Pid)
			var profiled chan error
			if *profileOut != "" && round == 1 && p.name == "sidecar, 10 tenants" {
				profiled = make(chan error, 1)
				go func() {
					profiled <- fetchProfile(filepath.Join(dir, "sidecar-10", "admin.sock"), *duration-time.Second)
				}()
			}
			r, err := wrk(p, *connections, *duration)
			if profiled != nil {
				if err := <-profiled; err != nil {
					return fmt.Errorf("profiling: %w", err)
				}
				fmt.Println("  CPU profile:", *profileOut, "(go tool pprof -top", *profileOut+")")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			r.Row, r.Round = p.name, round
			r.CPUus = float64(cpuTime(p.cmd.Process.Pid)-cpu0) / float64(time.Microsecond) / float64(r.Requests)
			r.RSSKiB = rss(p.cmd.Process.Pid)
			results = append(results, r)
			fmt.Printf("  round %d  %-26s %9.0f req/s  p99 %6.0fµs  %5.1fµs CPU/req  %s\n", round, p.name, r.ReqPerSec, r.P99us, r.CPUus, errorNote(r))
		}
	}

	var reload map[string]any
	for _, p := range proxies {
		if p.name == "sidecar, 10000 tenants" {
			if reload, err = reloadUnderLoad(dir, p); err != nil {
				return err
			}
		}
	}
	report(results, reload)
	raw, _ := json.MarshalIndent(map[string]any{"date": time.Now().UTC(), "results": results, "reload_under_load": reload}, "", "  ")
	out := filepath.Join(dir, "results-"+time.Now().UTC().Format("20060102T150405Z")+".json")
	if err := os.WriteFile(out, raw, 0o644); err != nil {
		return err
	}
	fmt.Println("raw results:", out)
	return nil
}

func errorNote(r result) string {
	if r.Errors+r.WrongCodes == 0 {
		return ""
	}
	return fmt.Sprintf("(%d socket errors, %d unexpected statuses)", r.Errors, r.WrongCodes)
}

// writeConfig writes one proxy's configuration and returns its command.
func writeConfig(dir, kind string, tenants, port, upPort int) (string, []string, error) {
	sub := filepath.Join(dir, fmt.Sprintf("%s-%d", kind, tenants))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return "", nil, err
	}
	key := func(i int) string { return fmt.Sprintf("rl_bench_key_%02d", i%10) }
	var b strings.Builder
	switch kind {
	case "sidecar", "sidecar-open":
		fmt.Fprintf(&b, "upstream:\n  url: http://127.0.0.1:%d\nbreaker:\n  open_timeout: 1h\nworkspaces:\n", upPort)
		for w := range 10 {
			keyFile := filepath.Join(sub, fmt.Sprintf("ws-%d.key", w))
			if err := os.WriteFile(keyFile, []byte(key(w)), 0o600); err != nil {
				return "", nil, err
			}
			fmt.Fprintf(&b, "  ws-%d:\n    id: %d\n    keys: [{file: %s}]\n", w, w+1, keyFile)
		}
		b.WriteString("tenants:\n")
		for i := range tenants {
			fmt.Fprintf(&b, "  tenant-%d: ws-%d\n", i, i%10)
		}
		if err := os.WriteFile(filepath.Join(sub, "config.yaml"), []byte(b.String()), 0o600); err != nil {
			return "", nil, err
		}
		admin := "admin off"
		if *profileOut != "" {
			admin = "admin unix/" + filepath.Join(sub, "admin.sock")
		}
		caddyfile := fmt.Sprintf("{\n\t%s\n}\nhttp://:%d {\n\tbind 127.0.0.1\n\trestlink %s/config.yaml\n}\n", admin, port, sub)
		if err := os.WriteFile(filepath.Join(sub, "Caddyfile"), []byte(caddyfile), 0o600); err != nil {
			return "", nil, err
		}
		return filepath.Join(*binDir, "restlink-sidecar"), []string{"run", "--config", filepath.Join(sub, "Caddyfile"), "--adapter", "caddyfile"}, nil
	case "caddy":
		fmt.Fprintf(&b, "{\n\tadmin off\n}\nhttp://:%d {\n\tbind 127.0.0.1\n\tmap {header.X-Tenant} {api_key} {\n", port)
		for i := range tenants {
			fmt.Fprintf(&b, "\t\ttenant-%d %s\n", i, key(i))
		}
		fmt.Fprintf(&b, "\t}\n\treverse_proxy 127.0.0.1:%d {\n\t\theader_up X-API-Key {api_key}\n", upPort)
		for _, h := range []string{"X-Tenant", "X-Workspace-ID", "Authorization", "Proxy-Authorization", "Cookie"} {
			fmt.Fprintf(&b, "\t\theader_up -%s\n", h)
		}
		b.WriteString("\t}\n}\n")
		if err := os.WriteFile(filepath.Join(sub, "Caddyfile"), []byte(b.String()), 0o600); err != nil {
			return "", nil, err
		}
		return filepath.Join(*binDir, "caddy"), []string{"run", "--config", filepath.Join(sub, "Caddyfile"), "--adapter", "caddyfile"}, nil
	case "nginx":
		for _, d := range []string{"logs", "tmp"} {
			_ = os.MkdirAll(filepath.Join(sub, d), 0o755)
		}
		fmt.Fprintf(&b, `daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	uwsgi_temp_path %[1]s/tmp/uwsgi;
	scgi_temp_path %[1]s/tmp/scgi;
	map_hash_bucket_size 128;
	map_hash_max_size 65536;
	map $http_x_tenant $api_key {
		default "";
`, sub)
		for i := range tenants {
			fmt.Fprintf(&b, "\t\ttenant-%d %s;\n", i, key(i))
		}
		fmt.Fprintf(&b, `	}
	upstream restlink { server 127.0.0.1:%d; keepalive 64; }
	server {
		listen 127.0.0.1:%d;
		location / {
			proxy_pass http://restlink;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-API-Key $api_key;
			proxy_set_header X-Tenant "";
			proxy_set_header X-Workspace-ID "";
			proxy_set_header Authorization "";
			proxy_set_header Proxy-Authorization "";
			proxy_set_header Cookie "";
		}
	}
}
`, upPort, port)
		if err := os.WriteFile(filepath.Join(sub, "nginx.conf"), []byte(b.String()), 0o644); err != nil {
			return "", nil, err
		}
		return "nginx", []string{"-p", sub, "-c", filepath.Join(sub, "nginx.conf")}, nil
	}
	return "", nil, fmt.Errorf("unknown proxy kind %q", kind)
}

// wrk runs one load measurement against a proxy.
func wrk(p *proxy, conns int, d time.Duration) (result, error) {
	script := filepath.Join(*workDir, "post.lua")
	lua := fmt.Sprintf(`wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Tenant"] = "tenant-%d"
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %%d %%d %%d %%d %%d\n", summary.requests, summary.duration,
		e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
`, smsBody, p.tenants/2)
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		return result{}, err
	}
	out, err := exec.Command("taskset", "-c", "1", "wrk", "-t1", fmt.Sprintf("-c%d", conns),
		fmt.Sprintf("-d%ds", max(1, int(d.Seconds()))), "--timeout", "5s", "-s", script,
		fmt.Sprintf("http://127.0.0.1:%d/api/v1/sms/send", p.port)).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	var r result
	var durUS, non2xx int64
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 6 && f[0] == "RESULT" {
			r.Requests, _ = strconv.ParseInt(f[1], 10, 64)
			durUS, _ = strconv.ParseInt(f[2], 10, 64)
			r.Errors, _ = strconv.ParseInt(f[3], 10, 64)
			r.P50us, _ = strconv.ParseFloat(f[4], 64)
			r.P99us, _ = strconv.ParseFloat(f[5], 64)
		}
		if strings.Contains(line, "Non-2xx or 3xx responses:") {
			f := strings.Fields(line)
			non2xx, _ = strconv.ParseInt(f[len(f)-1], 10, 64)
		}
	}
	if r.Requests == 0 {
		return r, fmt.Errorf("no result from wrk:\n%s", out)
	}
	r.WrongCodes = non2xx
	if p.expect != 200 {
		r.WrongCodes = r.Requests - non2xx // the open breaker must refuse every request
	}
	r.Seconds = float64(durUS) / 1e6
	r.ReqPerSec = float64(r.Requests) / r.Seconds
	return r, nil
}

// reloadUnderLoad rewrites the 10,000-tenant sidecar's config every 200 ms
// while wrk runs, and reports the requests that failed.
func reloadUnderLoad(dir string, p *proxy) (map[string]any, error) {
	cfg := filepath.Join(dir, "sidecar-10000", "config.yaml")
	orig, err := os.ReadFile(cfg)
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	reloads := 0
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			content := orig
			if i%2 == 0 {
				content = append(slices.Clone(orig), fmt.Sprintf("  tenant-extra-%d: ws-1\n", i)...)
			}
			tmp := cfg + ".tmp"
			if os.WriteFile(tmp, content, 0o600) == nil && os.Rename(tmp, cfg) == nil {
				reloads++
			}
		}
	}()
	r, err := wrk(p, *connections, *duration)
	close(stop)
	_ = os.WriteFile(cfg, orig, 0o600)
	if err != nil {
		return nil, err
	}
	applied := countLines(filepath.Join(dir, "sidecar-10000.log"), `"config reloaded"`)
	return map[string]any{"config_writes": reloads, "reloads_logged": applied, "requests": r.Requests,
		"failed": r.Errors + r.WrongCodes, "req_per_sec": r.ReqPerSec}, nil
}

// report prints the medians and the per-round ratios.
func report(results []result, reload map[string]any) {
	byRow := map[string][]result{}
	var rows []string
	for _, r := range results {
		if _, ok := byRow[r.Row]; !ok {
			rows = append(rows, r.Row)
		}
		byRow[r.Row] = append(byRow[r.Row], r)
	}
	median := func(rs []result, f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	ratio := func(row, base string) string {
		var per []string
		var vals []float64
		for i, r := range byRow[row] {
			if i < len(byRow[base]) {
				x := r.ReqPerSec / byRow[base][i].ReqPerSec
				vals = append(vals, x)
				per = append(per, fmt.Sprintf("%.2f", x))
			}
		}
		slices.Sort(vals)
		if len(vals) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f× (%s)", vals[len(vals)/2], strings.Join(per, " "))
	}
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "row\treq/s (median)\tp50\tp99\tCPU/req\tRSS\tvs stock Caddy, per round\tvs nginx, per round")
	for _, row := range rows {
		rs := byRow[row]
		n := strings.TrimPrefix(row[strings.Index(row, ",")+1:], " ")
		caddyRow, nginxRow := "caddy, "+n, "nginx, "+n
		vsCaddy, vsNginx := "", ""
		switch {
		case strings.HasPrefix(row, "sidecar, open"):
			vsCaddy = "vs proxied sidecar: " + ratio(row, "sidecar, 10 tenants")
		case strings.HasPrefix(row, "sidecar"):
			vsCaddy, vsNginx = ratio(row, caddyRow), ratio(row, nginxRow)
		case strings.HasPrefix(row, "caddy"):
			vsNginx = ratio(row, nginxRow)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0fµs\t%.0fµs\t%.1fµs\t%.1f MiB\t%s\t%s\n", row,
			median(rs, func(r result) float64 { return r.ReqPerSec }),
			median(rs, func(r result) float64 { return r.P50us }),
			median(rs, func(r result) float64 { return r.P99us }),
			median(rs, func(r result) float64 { return r.CPUus }),
			float64(rs[len(rs)-1].RSSKiB)/1024, vsCaddy, vsNginx)
	}
	_ = tw.Flush()
	if reload != nil {
		fmt.Printf("\nreload under load (10,000 tenants, config rewritten every 200 ms): %v config writes, %v reloads applied, %v requests, %v failed\n",
			reload["config_writes"], reload["reloads_logged"], reload["requests"], reload["failed"])
	}
}

// fetchProfile takes a CPU profile through the sidecar's admin socket.
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

func cpuTime(pid int) time.Duration {
	// taskset execs the proxy, so the PID is the proxy's.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

func countLines(path, substr string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), substr)
}

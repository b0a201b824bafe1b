package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// The rows of the sidecar with every capability on, of the plain path
// they are compared with, and of stock Caddy doing the plain path's job,
// whose p99 at the fixed rate is what a proxy hop with no work of its own
// adds to the direct path's.
const (
	everythingOn      = "sidecar, everything on, 10 ws"
	everythingOnAhead = "sidecar, everything on, ledger synced every 100 ms"
	plainRow          = "sidecar, 10 ws (1/tenant)"
	proxyHopRow       = "caddy, 10 tenants"
)

// rateConns are the connections of the fixed-rate rows.
const rateConns = 20

// measureAtRate runs the fixed-rate rows once: wrk straight to the
// upstream (the direct path), then through the plain sidecar, the
// everything-on ones and stock Caddy, each at -rate distinct sends a
// second for -rate-duration.
func measureAtRate(servers []*server, upPort int) ([]result, error) {
	rows := []*server{{name: fmt.Sprintf("direct, %d sends/s", *sendRate), tenants: 10, distinct: true, rate: *sendRate, port: upPort,
		extraHeader: `X-API-Key: ` + benchKey(0) + `\r\n`}}
	for _, name := range []string{plainRow, everythingOn, everythingOnAhead, proxyHopRow} {
		if name == proxyHopRow && len(rows) == 1 {
			break // compared with the sidecar's rows: none runs
		}
		for _, s := range servers {
			if s.name == name {
				c := *s
				c.name, c.rate, c.vs, c.cpuVs = fmt.Sprintf("%s, %d sends/s", s.name, *sendRate), *sendRate, nil, ""
				rows = append(rows, &c)
			}
		}
	}
	if len(rows) == 1 {
		return nil, nil
	}
	fmt.Printf("fixed rate: %d sends/s over %d connections for %v: direct, then through each proxy\n", *sendRate, rateConns, *rateFor)
	var out []result
	for _, s := range rows {
		var cpu0 time.Duration
		if s.cmd != nil {
			cpu0 = cpuTime(s.cmd.Process.Pid)
		}
		var profiled chan error
		if *profileOut != "" && s.name == *profileRow {
			profiled = make(chan error, 1)
			go func() { profiled <- fetchProfile(filepath.Join(s.dir, "admin.sock"), *rateFor-time.Second) }()
		}
		r, err := wrk(s, rateConns, *rateFor)
		if profiled != nil {
			if err := <-profiled; err != nil {
				return nil, fmt.Errorf("profiling: %w", err)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		r.Row, r.Round = s.name, 1
		if s.cmd != nil {
			r.CPUus = float64(cpuTime(s.cmd.Process.Pid)-cpu0) / float64(time.Microsecond) / float64(r.Requests)
			r.RSSKiB, r.AnonKiB = rss(s.cmd.Process.Pid)
		}
		fmt.Printf("  %-58s %7.0f req/s  p50 %6.0fµs  p99 %6.0fµs %s\n", s.name, r.ReqPerSec, r.P50us, r.P99us, errorNote(r))
		out = append(out, r)
	}
	return out, nil
}

// reportRated prints the fixed-rate rows: the share of one core each
// proxy used, its p99 against the direct path's, and for the sidecar's
// rows other than the plain path their CPU per send against its.
func reportRated(rated []result) {
	if len(rated) < 2 {
		return
	}
	direct, plain := rated[0], rated[1]
	fmt.Printf("\nat about %d sends/s (direct: p50 %.2f ms, p99 %.2f ms):\n", *sendRate, direct.P50us/1000, direct.P99us/1000)
	for _, r := range rated[1:] {
		note := ""
		switch {
		case strings.HasPrefix(r.Row, proxyHopRow+","):
			note = "; stock Caddy: a proxy hop with no work of its own"
		case r.Row != plain.Row:
			note = fmt.Sprintf("; %.2f× the plain path's CPU per send", r.CPUus/plain.CPUus)
		}
		fmt.Printf("  %-58s %5.1f%% of one core (%.1fµs CPU/send), p50 %.2f ms, p99 %.2f ms (%+.2f ms vs direct), RSS %.1f MiB%s\n",
			r.Row+":", r.CPUus*r.ReqPerSec/1e4, r.CPUus, r.P50us/1000, r.P99us/1000, (r.P99us-direct.P99us)/1000, float64(r.RSSKiB)/1024, note)
	}
}

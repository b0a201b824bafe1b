package main

import (
	"fmt"
	"path/filepath"
	"time"
)

// everythingOn is the row of the sidecar with every capability on.
const everythingOn = "sidecar, everything on, 10 ws"

// plainRow is the row of the plain path the everything-on row is
// compared with.
const plainRow = "sidecar, 10 ws (1/tenant)"

// rateConns are the connections of the fixed-rate rows.
const rateConns = 20

// measureAtRate runs the fixed-rate rows once: wrk straight to the
// upstream (the direct path), then through the sidecar with everything
// on, each at -rate distinct sends a second for -rate-duration.
func measureAtRate(servers []*server, upPort int) ([]result, error) {
	var all, plain *server
	for _, s := range servers {
		switch s.name {
		case everythingOn:
			all = s
		case plainRow:
			plain = s
		}
	}
	if all == nil {
		return nil, nil
	}
	direct := &server{name: fmt.Sprintf("direct, %d sends/s", *sendRate), tenants: 10, distinct: true, rate: *sendRate, port: upPort,
		extraHeader: `X-API-Key: ` + benchKey(0) + `\r\n`}
	atRate := func(s *server) *server {
		c := *s
		c.name, c.rate, c.vs, c.cpuVs = fmt.Sprintf("%s, %d sends/s", s.name, *sendRate), *sendRate, nil, ""
		return &c
	}
	rows := []*server{direct}
	if plain != nil {
		rows = append(rows, atRate(plain))
	}
	rows = append(rows, atRate(all))
	fmt.Printf("fixed rate: %d sends/s over %d connections for %v, direct, through the plain sidecar and with everything on\n", *sendRate, rateConns, *rateFor)
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
			used := cpuTime(s.cmd.Process.Pid) - cpu0
			r.CPUus = float64(used) / float64(time.Microsecond) / float64(r.Requests)
			r.RSSKiB = rss(s.cmd.Process.Pid)
		}
		fmt.Printf("  %-44s %7.0f req/s  p50 %6.0fµs  p99 %6.0fµs %s\n", s.name, r.ReqPerSec, r.P50us, r.P99us, errorNote(r))
		out = append(out, r)
	}
	return out, nil
}

// reportRated prints the fixed-rate rows: the share of one core the
// sidecar used, and its p99 against the direct path's.
func reportRated(rated []result) {
	if len(rated) < 2 {
		return
	}
	direct, through := rated[0], rated[len(rated)-1]
	if len(rated) == 3 {
		plain := rated[1]
		fmt.Printf("\nat %.0f sends/s, the plain path: %.1f%% of one core (%.1fµs CPU/send), p99 %.2f ms; everything on costs %.2f× its CPU per send",
			plain.ReqPerSec, plain.CPUus*plain.ReqPerSec/1e4, plain.CPUus, plain.P99us/1000, through.CPUus/plain.CPUus)
	}
	core := through.CPUus * through.ReqPerSec / 1e6 // CPU seconds per second
	fmt.Printf("\nat %.0f sends/s with everything on (%.0f direct): %.1f%% of one core (%.1fµs CPU/send), p50 %.2f ms (direct %.2f), p99 %.2f ms (direct %.2f): %+.2f ms; RSS %.1f MiB\n",
		through.ReqPerSec, direct.ReqPerSec, core*100, through.CPUus, through.P50us/1000, direct.P50us/1000,
		through.P99us/1000, direct.P99us/1000, (through.P99us-direct.P99us)/1000, float64(through.RSSKiB)/1024)
}

package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report prints the medians, the per-round ratios, the start-up rows and
// the reload under load.
func report(servers []*server, results []result, startups []startupResult, reload *reloadResult, fsync time.Duration) {
	byRow := map[string][]result{}
	for _, r := range results {
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
	// ratio is row's throughput over base's, round by round, and their median.
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
		if len(vals) == 0 {
			return ""
		}
		slices.Sort(vals)
		return fmt.Sprintf("%.2f× %s (%s)", vals[len(vals)/2], base, strings.Join(per, " "))
	}
	// perRound compares a measure of row with base's, round by round, and
	// gives their median: f says how.
	perRound := func(row, base string, f func(r, b result) float64, format string) (float64, string) {
		var per []string
		var vals []float64
		for i, r := range byRow[row] {
			if i < len(byRow[base]) {
				x := f(r, byRow[base][i])
				vals = append(vals, x)
				per = append(per, fmt.Sprintf(format, x))
			}
		}
		if len(vals) == 0 {
			return 0, ""
		}
		slices.Sort(vals)
		return vals[len(vals)/2], strings.Join(per, " ")
	}
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "row\treq/s (median)\tp50\tp99\tCPU/req\tRSS (anon)\tthroughput ratios, per round")
	for _, s := range servers {
		rs := byRow[s.name]
		if len(rs) == 0 {
			continue
		}
		var ratios []string
		for _, base := range s.vs {
			if x := ratio(s.name, base); x != "" {
				ratios = append(ratios, x)
			}
		}
		if s.cpuVs != "" {
			if m, per := perRound(s.name, s.cpuVs, func(r, b result) float64 { return (r.CPUus/b.CPUus - 1) * 100 }, "%+.0f%%"); per != "" {
				ratios = append(ratios, fmt.Sprintf("CPU/req %+.1f%% vs %s (%s)", m, s.cpuVs, per))
			}
		}
		if s.latVs != "" {
			p50, per50 := perRound(s.name, s.latVs, func(r, b result) float64 { return (r.P50us - b.P50us) / 1000 }, "%+.2f")
			p99, per99 := perRound(s.name, s.latVs, func(r, b result) float64 { return (r.P99us - b.P99us) / 1000 }, "%+.2f")
			if per50 != "" {
				ratios = append(ratios, fmt.Sprintf("p50 %+.2f ms (%s), p99 %+.2f ms (%s) vs %s", p50, per50, p99, per99, s.latVs))
			}
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0fµs\t%.0fµs\t%.1fµs\t%.1f (%.1f) MiB\t%s\n", s.name,
			median(rs, func(r result) float64 { return r.ReqPerSec }),
			median(rs, func(r result) float64 { return r.P50us }),
			median(rs, func(r result) float64 { return r.P99us }),
			median(rs, func(r result) float64 { return r.CPUus }),
			float64(rs[len(rs)-1].RSSKiB)/1024, float64(rs[len(rs)-1].AnonKiB)/1024, strings.Join(ratios, "; "))
	}
	_ = tw.Flush()
	fmt.Printf("\none fsync on this machine's disk (a 300-byte append, synced; median of 200): %.2f ms. "+
		"The money rows sync each reservation before forwarding (concurrent sends share one fsync).\n", float64(fsync.Microseconds())/1000)
	if len(startups) > 0 {
		fmt.Println()
		for _, s := range startups {
			fmt.Printf("start-up, %-22s ready %.1f ms after exec, RSS %.1f MiB %v later, of it anonymous %.1f MiB (medians of %d starts)\n",
				s.Row+":", s.ReadyMs, float64(s.IdleKiB)/1024, time.Duration(s.IdleMs)*time.Millisecond, float64(s.IdleAnonKiB)/1024, s.Tries)
		}
	}
	if reload != nil {
		fmt.Printf("\nreload under load (10,000 workspaces, config rewritten every 200 ms): %d config writes, %d reloads applied "+
			"(took: median %.0f ms, max %.0f ms; the last write applied %.0f ms after it), %d requests, %d failed\n",
			reload.Writes, reload.Applied, reload.MedianMs, reload.MaxMs, reload.LastMs, reload.Requests, reload.Failed)
	}
}

// cpuTime is a process's CPU time, user and system.
func cpuTime(pid int) time.Duration {
	// taskset execs the server, so the PID is the server's.
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

// rss is a process's resident memory, in KiB: all of it, and its
// anonymous part (RssAnon: the heap and stacks, what each process of a
// fleet pays for itself; the rest is the binary's file-backed pages, shared
// by processes running the same image on a node).
func rss(pid int) (total, anon int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		for _, field := range []struct {
			prefix string
			into   *int64
		}{{"VmRSS:", &total}, {"RssAnon:", &anon}} {
			if v, ok := strings.CutPrefix(line, field.prefix); ok {
				*field.into, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			}
		}
	}
	return total, anon
}

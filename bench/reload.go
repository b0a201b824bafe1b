package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// reloadResult is a reload under load.
type reloadResult struct {
	Writes   int     `json:"config_writes"`
	Applied  int     `json:"reloads_applied"`
	MedianMs float64 `json:"reload_median_ms"` // as the sidecar logs it ("config reloaded", took)
	LastMs   float64 `json:"last_applied_ms"`  // from the last write to its reload's log line
	MaxMs    float64 `json:"reload_max_ms"`
	Requests int64   `json:"requests"`
	Failed   int64   `json:"failed"`
	ReqPerS  float64 `json:"req_per_sec"`
}

// reloadWait is how long reloadUnderLoad waits after the load for the last
// config written to be applied.
const reloadWait = 60 * time.Second

// reloadUnderLoad rewrites a sidecar's config every 200 ms while wrk runs,
// and reports the reloads and the requests that failed.
func reloadUnderLoad(s *server) (*reloadResult, error) {
	cfg := filepath.Join(s.dir, "config.yaml")
	orig, err := os.ReadFile(cfg)
	if err != nil {
		return nil, err
	}
	logStart := int64(0)
	if fi, err := os.Stat(s.log); err == nil {
		logStart = fi.Size()
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	writes := 0
	var lastWrite time.Time
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			// Every write differs from the config in use, the last one
			// included, so that each must be applied.
			content := append(slices.Clone(orig), fmt.Sprintf("  tenant-extra-%d: ws-1\n", i)...)
			tmp := cfg + ".tmp"
			if os.WriteFile(tmp, content, 0o600) == nil && os.Rename(tmp, cfg) == nil {
				writes++
				lastWrite = time.Now()
			}
		}
	}()
	r, err := wrk(s, *connections, *duration)
	close(stop)
	<-stopped
	if err != nil {
		return nil, err
	}
	// A reload that began under load may finish after it: wait for the
	// last write to be applied, then put the original config back.
	var reloads []loggedReload
	for deadline := time.Now().Add(reloadWait); ; time.Sleep(100 * time.Millisecond) {
		if reloads, err = reloadsLogged(s.log, logStart); err != nil {
			return nil, err
		}
		if len(reloads) > 0 && reloads[len(reloads)-1].began().After(lastWrite) || time.Now().After(deadline) {
			break
		}
	}
	_ = os.WriteFile(cfg, orig, 0o600)
	res := &reloadResult{Writes: writes, Applied: len(reloads), Requests: r.Requests, Failed: r.Errors + r.WrongCodes, ReqPerS: r.ReqPerSec}
	if len(reloads) > 0 {
		if last := reloads[len(reloads)-1].at; last.After(lastWrite) {
			res.LastMs = float64(last.Sub(lastWrite)) / float64(time.Millisecond)
		}
		took := make([]float64, len(reloads))
		for i, rl := range reloads {
			took[i] = rl.tookMs
		}
		slices.Sort(took)
		res.MedianMs, res.MaxMs = took[len(took)/2], took[len(took)-1]
	}
	return res, nil
}

// loggedReload is one "config reloaded" line of a sidecar's log.
type loggedReload struct {
	at     time.Time
	tookMs float64
}

// began is when the reload started reading the files.
func (r loggedReload) began() time.Time {
	return r.at.Add(-time.Duration(r.tookMs * float64(time.Millisecond)))
}

// reloadsLogged reads the reloads a sidecar logged from offset on.
func reloadsLogged(logPath string, offset int64) ([]loggedReload, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return nil, err
	}
	var out []loggedReload
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"config reloaded"`) {
			continue
		}
		var entry struct {
			TS   float64 `json:"ts"`   // Unix seconds
			Took float64 `json:"took"` // seconds, as Caddy's logs encode durations
		}
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			return nil, fmt.Errorf("reading %s: %w", logPath, err)
		}
		out = append(out, loggedReload{at: time.Unix(0, int64(entry.TS*1e9)), tookMs: entry.Took * 1000})
	}
	return out, sc.Err()
}

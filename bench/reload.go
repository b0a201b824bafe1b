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
	var took []float64
	for deadline := time.Now().Add(reloadWait); ; time.Sleep(100 * time.Millisecond) {
		if took, err = reloadTimes(s.log, logStart); err != nil {
			return nil, err
		}
		if len(took) > 0 && lastReloadAfter(s.log, logStart, lastWrite) || time.Now().After(deadline) {
			break
		}
	}
	_ = os.WriteFile(cfg, orig, 0o600)
	res := &reloadResult{Writes: writes, Applied: len(took), Requests: r.Requests, Failed: r.Errors + r.WrongCodes, ReqPerS: r.ReqPerSec}
	if last, ok := lastReloadAt(s.log, logStart); ok && last.After(lastWrite) {
		res.LastMs = float64(last.Sub(lastWrite)) / float64(time.Millisecond)
	}
	if len(took) > 0 {
		slices.Sort(took)
		res.MedianMs, res.MaxMs = took[len(took)/2], took[len(took)-1]
	}
	return res, nil
}

// reloadTimes reads the durations, in ms, of the reloads a sidecar logged
// from offset on.
func reloadTimes(logPath string, offset int64) ([]float64, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return nil, err
	}
	var took []float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"config reloaded"`) {
			continue
		}
		var entry struct {
			Took float64 `json:"took"` // seconds, as Caddy's logs encode durations
		}
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			return nil, fmt.Errorf("reading %s: %w", logPath, err)
		}
		took = append(took, entry.Took*1000)
	}
	return took, sc.Err()
}

// lastReloadAfter reports whether the sidecar logged a reload after t.
func lastReloadAfter(logPath string, offset int64, t time.Time) bool {
	last, ok := lastReloadAt(logPath, offset)
	return ok && last.After(t)
}

// lastReloadAt is the time of the last reload the sidecar logged from
// offset on.
func lastReloadAt(logPath string, offset int64) (time.Time, bool) {
	f, err := os.Open(logPath)
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return time.Time{}, false
	}
	var last time.Time
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"config reloaded"`) {
			continue
		}
		var entry struct {
			TS float64 `json:"ts"` // Unix seconds
		}
		if json.Unmarshal(sc.Bytes(), &entry) == nil {
			last = time.Unix(0, int64(entry.TS*1e9))
		}
	}
	return last, !last.IsZero()
}

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
	MaxMs    float64 `json:"reload_max_ms"`
	Requests int64   `json:"requests"`
	Failed   int64   `json:"failed"`
	ReqPerS  float64 `json:"req_per_sec"`
}

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
	go func() {
		defer close(stopped)
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
				writes++
			}
		}
	}()
	r, err := wrk(s, *connections, *duration)
	close(stop)
	<-stopped
	_ = os.WriteFile(cfg, orig, 0o600)
	if err != nil {
		return nil, err
	}
	took, err := reloadTimes(s.log, logStart)
	if err != nil {
		return nil, err
	}
	res := &reloadResult{Writes: writes, Applied: len(took), Requests: r.Requests, Failed: r.Errors + r.WrongCodes, ReqPerS: r.ReqPerSec}
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

package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/loopback"
)

// startupResult is a server's time to ready and idle memory, medians of
// several starts.
type startupResult struct {
	Row     string  `json:"row"`
	ReadyMs float64 `json:"ready_ms"` // exec to the first expected answer on its listener
	IdleKiB int64   `json:"idle_rss_kib"`
	// IdleAnonKiB is the anonymous part of IdleKiB (see rss).
	IdleAnonKiB int64 `json:"idle_rss_anon_kib"`
	Tries       int   `json:"tries"`
	IdleMs      int64 `json:"idle_ms"` // how long it idled before IdleKiB was read (-idle)
}

// measureStartup starts a server of kind with tenants tenants tries times, each
// pinned to CPU 0: the time from exec to its first expected answer to a
// send, polled every millisecond, and its RSS after -idle.
func measureStartup(dir, row, kind string, tenants, upPort, tries int) (startupResult, error) {
	var ready []float64
	var idle, idleAnon []int64
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	for try := range tries {
		port, err := loopback.FreePort()
		if err != nil {
			return startupResult{}, err
		}
		name, args, err := writeConfig(dir, kind, tenants, port, upPort)
		if err != nil {
			return startupResult{}, err
		}
		cmd := exec.Command("taskset", append([]string{"-c", "0", name}, args...)...)
		logPath := filepath.Join(dir, fmt.Sprintf("startup-%s-%d.log", kind, try))
		logFile, err := os.Create(logPath)
		if err != nil {
			return startupResult{}, err
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		url := fmt.Sprintf("http://127.0.0.1:%d/api/v1/sms/send", port)
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return startupResult{}, err
		}
		took, err := pollReady(client, url, start)
		if err == nil {
			time.Sleep(*idleSettle)
			total, anon := rss(cmd.Process.Pid)
			idle, idleAnon = append(idle, total), append(idleAnon, anon)
			ready = append(ready, float64(took)/float64(time.Millisecond))
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = logFile.Close()
		if err != nil {
			return startupResult{}, fmt.Errorf("%s: %w (see %s)", row, err, logPath)
		}
	}
	slices.Sort(ready)
	slices.Sort(idle)
	slices.Sort(idleAnon)
	return startupResult{Row: row, ReadyMs: ready[len(ready)/2], IdleKiB: idle[len(idle)/2], IdleAnonKiB: idleAnon[len(idleAnon)/2], Tries: tries, IdleMs: idleSettle.Milliseconds()}, nil
}

// pollReady sends a send to url every millisecond until one is answered
// 200, and returns the time since start.
func pollReady(client *http.Client, url string, start time.Time) (time.Duration, error) {
	for time.Since(start) < 20*time.Second {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(smsBody))
		req.Host = "localhost"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant", "tenant-0")
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("no 200 answer within 20s")
}

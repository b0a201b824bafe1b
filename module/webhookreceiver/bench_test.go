package webhookreceiver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	restlink "github.com/23telecom/restlink-sidecar/module"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// BenchmarkWebhookReceive is restlink posting webhooks to the sidecar, 32
// at a time: each is matched, verified (HMAC), checked for a duplicate,
// written to the spool and synced to disk before it is answered, while the
// deliverer empties the spool into a local app. It reports verified events
// per second into the spool and the acknowledgement time's p50 and p99
// (the goal: p99 under 50 ms, restlink's deadline being 5 s).
func BenchmarkWebhookReceive(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer app.Close()
	dir := b.TempDir()
	const secret = "bench-webhook-secret-0123456789ab"
	if err := os.WriteFile(filepath.Join(dir, "main.webhook"), []byte(secret), 0o600); err != nil {
		b.Fatal(err)
	}
	config := fmt.Sprintf(`upstream: {url: "http://127.0.0.1:1"}
rotation: {verify: false}
workspaces:
  main:
    id: 16
    main: true
    keys: [{value: bench-key}]
    webhook_secrets: [{file: %s/main.webhook}]
webhooks:
  spool_dir: %s/spool
  deliver_to: %s/events
`, dir, dir, app.URL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	h := &Handler{ConfigRef: restlink.ConfigRef{ConfigPath: path}}
	if err := h.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	defer h.Cleanup()
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel)
	h.logger = zap.New(core)

	const writers = 32
	var (
		seq       atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for n := seq.Add(1); n <= int64(b.N); n = seq.Add(1) {
				body := fmt.Appendf(nil, `{"message_id":"api_42_%d","recipient":"+447700900123","sender_id":"Shop","status":"DELIVRD","status_code":"000","num_parts":1,"cost":0.0085,"timestamp":"2026-11-23T10:00:00Z"}`, n)
				ts := strconv.FormatInt(time.Now().Unix(), 10)
				r := httptest.NewRequest(http.MethodPost, "/hooks/main/delivery", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Webhook-Timestamp", ts)
				r.Header.Set("X-Webhook-Signature", restlinktest.SignWebhook(secret, ts, body))
				w := &discardWriter{h: make(http.Header)}
				t0 := time.Now()
				if err := h.ServeHTTP(w, r, nil); err != nil || w.status != http.StatusOK {
					b.Errorf("status %d, %v", w.status, err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(latencies)
	if len(latencies) > 0 {
		b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99_ms")
	}
}

// discardWriter is a ResponseWriter that keeps nothing but the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

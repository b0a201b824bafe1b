package restlink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const benchBody = `{"to":["+14155551234"],"message":"hi","sender_id":"MyApp"}`

// benchUpstream is a minimal upstream: it reads the body and answers a
// fixed JSON document, as fast as net/http allows.
func benchUpstream(b testing.TB) *httptest.Server {
	b.Helper()
	answer := []byte(`{"message_id":"msg_1","status":"queued"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchConfig writes a config with n tenants over 10 workspaces.
func benchConfig(b testing.TB, dir, upstream string, n int) string {
	b.Helper()
	var sb strings.Builder
	fmt.Fprintf(&sb, "upstream:\n  url: %s\nworkspaces:\n", upstream)
	for w := range 10 {
		fmt.Fprintf(&sb, "  ws-%d:\n    id: %d\n    main: %v\n    keys: [{env: BENCH_KEY_%d}]\n", w, w+1, w == 0, w)
	}
	sb.WriteString("tenants:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  tenant-%d: ws-%d\n", i, i%10)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchWorkspacesConfig writes a config with n tenants, each with its own
// workspace and key file: the shape of a platform whose customers each
// bring their own workspace.
func benchWorkspacesConfig(b testing.TB, dir, upstream string, n int) string {
	b.Helper()
	var sb strings.Builder
	fmt.Fprintf(&sb, "upstream:\n  url: %s\nworkspaces:\n", upstream)
	for w := range n {
		keyFile := filepath.Join(dir, fmt.Sprintf("ws-%d.key", w))
		if err := os.WriteFile(keyFile, []byte(fmt.Sprintf("bench-key-%d", w)), 0o600); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&sb, "  ws-%d:\n    id: %d\n    main: %v\n    keys: [{file: %s}]\n", w, w+1, w == 0, keyFile)
	}
	sb.WriteString("tenants:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  tenant-%d: ws-%d\n", i, i)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchHandler provisions the handler as Caddy would, with n tenants over
// 10 workspaces, logging its request lines (JSON, info level) to io.Discard
// so that their cost is measured.
func benchHandler(b testing.TB, upstream string, tenants int) *Handler {
	b.Helper()
	return benchHandlerOf(b, benchConfig(b, b.TempDir(), upstream, tenants), benchKeyEnv())
}

// benchKeyEnv holds the keys of benchConfig's workspaces.
func benchKeyEnv() Environ {
	var env []string
	for w := range 10 {
		env = append(env, fmt.Sprintf("BENCH_KEY_%d=bench-key-%d", w, w))
	}
	return envOf(env...)
}

// benchHandlerOf provisions the handler for the config at path.
func benchHandlerOf(b testing.TB, path string, env Environ) *Handler {
	b.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	b.Cleanup(cancel)
	lc, err := acquireLiveConfig(ctx, path, env)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = liveConfigs.Delete(path) })
	lc.logger.Store(zap.NewNop())
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel)
	return &Handler{ConfigRef: ConfigRef{ConfigPath: path, live: lc}, logger: zap.New(core)}
}

// benchRequest is an app's request for a tenant.
func benchRequest(tenant string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/sms/send", strings.NewReader(benchBody))
	r.RemoteAddr, r.Host = "127.0.0.1:40000", "localhost:8080"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Tenant", tenant)
	return r
}

// discardWriter is a ResponseWriter that keeps nothing but the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// BenchmarkServeHTTP is the whole request path in process: checks, routing,
// breaker, key injection, a round trip to a local upstream, the answer,
// metrics and the log line; with tenants spread over 10 workspaces, and
// with one workspace per tenant. The baseline does the same job (a map lookup
// for the key, stripping credentials) with httputil.ReverseProxy; run both
// and compare ns/op and allocs/op side by side.
func BenchmarkServeHTTP(b *testing.B) {
	up := benchUpstream(b)
	for _, n := range []int{10, 10000} {
		h := benchHandler(b, up.URL, n)
		tenant := fmt.Sprintf("tenant-%d", n/2)
		b.Run(fmt.Sprintf("sidecar/tenants=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := &discardWriter{h: make(http.Header)}
				if err := h.ServeHTTP(w, benchRequest(tenant), nil); err != nil || w.status != 200 {
					b.Fatalf("status %d, %v", w.status, err)
				}
			}
		})
	}
	// One workspace (and key file) per tenant, the tenant changing with
	// every request: the cost must not grow with the number of workspaces.
	for _, n := range []int{10, 10000} {
		h := benchHandlerOf(b, benchWorkspacesConfig(b, b.TempDir(), up.URL, n), envOf())
		tenants := make([]string, n)
		for i := range tenants {
			tenants[i] = fmt.Sprintf("tenant-%d", i)
		}
		b.Run(fmt.Sprintf("sidecar/workspaces=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i = (i + 1) % n
				w := &discardWriter{h: make(http.Header)}
				if err := h.ServeHTTP(w, benchRequest(tenants[i]), nil); err != nil || w.status != 200 {
					b.Fatalf("status %d, %v", w.status, err)
				}
			}
		})
	}
	b.Run("baseline=httputil.ReverseProxy/tenants=10000", func(b *testing.B) {
		keys := make(map[string]string, 10000)
		for i := range 10000 {
			keys[fmt.Sprintf("tenant-%d", i)] = fmt.Sprintf("bench-key-%d", i%10)
		}
		target, _ := url.Parse(up.URL)
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				key := keys[pr.In.Header.Get("X-Tenant")]
				for _, h := range []string{"X-Tenant", "Authorization", "Cookie", "X-Api-Key"} {
					pr.Out.Header.Del(h)
				}
				pr.Out.Header.Set("X-Api-Key", key)
			},
			Transport: up.Client().Transport,
		}
		b.ReportAllocs()
		for b.Loop() {
			w := &discardWriter{h: make(http.Header)}
			proxy.ServeHTTP(w, benchRequest("tenant-5000"))
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}

// BenchmarkServeHTTPOpenBreaker is a request refused by an open breaker.
func BenchmarkServeHTTPOpenBreaker(b *testing.B) {
	h := benchHandler(b, benchUpstream(b).URL, 10)
	ws := h.live.current.Load().workspace("ws-1")
	for range 5 {
		slot, _ := ws.breaker().enter()
		slot.outcome = errFailureStatus
		slot.finish()
	}
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: make(http.Header)}
		_ = h.ServeHTTP(w, benchRequest("tenant-1"), nil)
		if w.status != http.StatusServiceUnavailable {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkReload is a config reload of a changed file: read, parse,
// validate, read keys, build and publish.
func BenchmarkReload(b *testing.B) {
	up := benchUpstream(b).URL
	for _, c := range []struct {
		name string
		h    func(b *testing.B) *Handler
	}{
		{"tenants=10", func(b *testing.B) *Handler { return benchHandler(b, up, 10) }},
		{"tenants=10000", func(b *testing.B) *Handler { return benchHandler(b, up, 10000) }},
		{"workspaces=10000", func(b *testing.B) *Handler {
			return benchHandlerOf(b, benchWorkspacesConfig(b, b.TempDir(), up, 10000), envOf())
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := c.h(b)
			raw, err := os.ReadFile(h.live.path)
			if err != nil {
				b.Fatal(err)
			}
			variants := [][]byte{raw, append(append([]byte(nil), raw...), "  extra-tenant: ws-1\n"...)}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if err := os.WriteFile(h.live.path, variants[i%2], 0o600); err != nil {
					b.Fatal(err)
				}
				if err := h.live.reload(caddy.Context{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLiveConfigHeap is the heap a live config keeps per workspace
// (its plan, snapshot and keys, the cache of its key files), with one
// workspace and key file per tenant: live-B/workspace. Its ns/op is a
// start-up's load.
func BenchmarkLiveConfigHeap(b *testing.B) {
	const n = 10000
	path := benchWorkspacesConfig(b, b.TempDir(), benchUpstream(b).URL, n)
	var kept int64
	for b.Loop() {
		kept += liveConfigHeap(b, path)
	}
	b.ReportMetric(float64(kept)/float64(b.N)/n, "live-B/workspace")
}

// liveConfigHeap is the heap a live config of the config at path keeps.
func liveConfigHeap(t testing.TB, path string) int64 {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	before := liveHeap()
	lc, err := acquireLiveConfig(ctx, path, envOf())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = liveConfigs.Delete(path) }()
	kept := liveHeap() - before
	runtime.KeepAlive(lc)
	return kept
}

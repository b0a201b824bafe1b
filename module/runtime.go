package restlink

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"
)

// runtimes holds one runtime per config file path, shared by every handler
// that uses the file and kept across Caddy config reloads (the new config is
// provisioned before the old one is cleaned up), so that breakers, demoted
// keys and the connection pool survive them.
var runtimes = caddy.NewUsagePool()

// runtime serves one config file: it holds the current snapshot, reloads
// it when the file or a key file changes, and publishes the result
// atomically.
type runtime struct {
	path       string
	environ    Environ
	current    atomic.Pointer[snapshot]
	logger     atomic.Pointer[zap.Logger]
	lastReload atomic.Pointer[reloadStatus]
	watcher    *watcher

	mu        sync.Mutex    // serialises reloads
	ctx       caddy.Context // of the newest config that loaded successfully; guarded by mu
	lastError string        // of the last rejected reload, reported once; guarded by mu
	now       func() time.Time
}

// reloadStatus is the outcome of the last reload attempt that found a change.
type reloadStatus struct {
	At     time.Time `json:"at"`
	Result string    `json:"result"`          // "success" or "failure"
	Error  string    `json:"error,omitempty"` // why a failed reload was rejected
}

// attach is the provisioning both handlers share: it registers the metrics
// in the config's registry and acquires the runtime of the config file.
func attach(ctx caddy.Context, configPath string) (*runtime, error) {
	if configPath == "" {
		return nil, errors.New("config: the path of the sidecar's YAML config file is required")
	}
	path, err := filepath.Abs(configPath)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	return acquireRuntime(ctx, path, defaultEnviron)
}

// acquireRuntime returns the runtime of the config file at path, creating
// it (a strict first load: every key source must be readable) or, if it
// exists, reloading it so that a Caddy config reload also re-reads the
// file. The caller must release it with runtimes.Delete(path).
func acquireRuntime(ctx caddy.Context, path string, environ Environ) (*runtime, error) {
	val, loaded, err := runtimes.LoadOrNew(path, func() (caddy.Destructor, error) {
		rt := &runtime{path: path, environ: environ, now: time.Now}
		rt.logger.Store(ctx.Logger())
		if err := rt.reload(ctx, true); err != nil {
			return nil, err
		}
		rt.watcher = newWatcher(func() { _ = rt.reload(caddy.Context{}, false) }, rt.logger.Load, watchPoll)
		rt.watcher.setFiles(rt.watchedFiles(rt.current.Load()))
		return rt, nil
	})
	if err != nil {
		return nil, err
	}
	rt := val.(*runtime)
	if loaded {
		if err := rt.reload(ctx, false); err != nil {
			_, _ = runtimes.Delete(path)
			return nil, err
		}
		rt.logger.Store(ctx.Logger())
	}
	return rt, nil
}

// Destruct stops watching and releases the upstream connections once the
// last handler using the config file is cleaned up.
func (rt *runtime) Destruct() error {
	if rt.watcher != nil {
		rt.watcher.close()
	}
	if s := rt.current.Load(); s != nil {
		s.upstream.close()
	}
	return nil
}

// reload reads the config file and every key source, and publishes a new
// snapshot if anything changed. ctx is the Caddy context of a config being
// provisioned, or the zero Context for a watcher-triggered reload. A strict
// load (start-up) fails on any unreadable key source; otherwise such a
// source keeps its last good key. An invalid reload is rejected, logged and
// counted, and the current snapshot keeps serving.
func (rt *runtime) reload(ctx caddy.Context, strict bool) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if ctx.Context == nil {
		ctx = rt.ctx
	}
	prev := rt.current.Load()
	next, warnings, err := rt.load(ctx, prev, strict)
	if err != nil {
		err = fmt.Errorf("loading restlink config %s: %w", rt.path, err)
		// The periodic check meets a broken file again and again: report
		// each failure once, not every poll period.
		if prev != nil && err.Error() != rt.lastError {
			rt.lastError = err.Error()
			metrics.reloads.WithLabelValues("failure").Inc()
			rt.lastReload.Store(&reloadStatus{At: rt.now(), Result: "failure", Error: err.Error()})
			rt.logger.Load().Error("config reload rejected; the last good config keeps serving", zap.Error(err))
		}
		return err
	}
	rt.ctx, rt.lastError = ctx, ""
	if next == nil {
		return nil // nothing changed
	}
	rt.current.Store(next)
	rt.lastReload.Store(&reloadStatus{At: next.builtAt, Result: "success"})
	rt.logChanges(prev, next, warnings)
	if prev != nil {
		metrics.reloads.WithLabelValues("success").Inc()
		if prev.upstream != next.upstream {
			prev.upstream.close()
		}
	}
	for _, ws := range next.workspaces {
		metrics.breakerState.WithLabelValues(ws.name).Set(float64(ws.breaker.State()))
	}
	if rt.watcher != nil {
		rt.watcher.setFiles(rt.watchedFiles(next))
	}
	return nil
}

// load builds the snapshot for the files as they are now; nil (and no
// error) if they hold what prev was built from.
func (rt *runtime) load(ctx caddy.Context, prev *snapshot, strict bool) (*snapshot, []string, error) {
	raw, err := os.ReadFile(rt.path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading config file: %w", err)
	}
	sum := sha256.Sum256(raw)
	var cfg *Config
	var prevKeys *keyLoad
	if prev != nil {
		prevKeys = prev.keys
		if sum == prev.configSum {
			cfg = prev.cfg
		}
	}
	if cfg == nil {
		if cfg, err = parseConfig(raw, rt.environ); err != nil {
			return nil, nil, err
		}
	}
	keys := loadKeys(cfg, rt.environ.lookup(), prevKeys, rt.now())
	if strict && len(keys.errs) > 0 {
		return nil, nil, errors.Join(keys.errs...)
	}
	if err := checkSharedKeys(keys.keys); err != nil {
		return nil, nil, err
	}
	if prev != nil && cfg == prev.cfg && sameKeys(prevKeys, keys) {
		return nil, nil, nil
	}
	var prevUp *upstream
	if prev != nil {
		prevUp = prev.upstream
	}
	up, err := newUpstream(ctx, cfg.Upstream, prevUp)
	if err != nil {
		return nil, nil, err
	}
	warnings := keys.warnings
	for _, err := range keys.errs {
		warnings = append(warnings, err.Error()+"; this source has no key")
	}
	return buildSnapshot(cfg, sum, keys, up, prev, rt.breakerChanged, rt.now()), warnings, nil
}

// sameKeys reports whether two loads found the same key material from the
// same sources, in the same state.
func sameKeys(a, b *keyLoad) bool {
	if len(a.bySource) != len(b.bySource) || len(a.errs) != len(b.errs) {
		return false
	}
	for id, k := range a.bySource {
		o := b.bySource[id]
		if o == nil || o.sum != k.sum || o.stale != k.stale {
			return false
		}
	}
	return true
}

// watchedFiles lists the files a snapshot was built from: the config file,
// the key files and the CA file.
func (rt *runtime) watchedFiles(s *snapshot) []string {
	files := []string{rt.path}
	for _, ws := range s.cfg.Workspaces {
		for _, ks := range ws.Keys {
			if ks.File != "" {
				files = append(files, ks.File)
			}
		}
	}
	if s.cfg.Upstream.CAFile != "" {
		files = append(files, s.cfg.Upstream.CAFile)
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// breakerChanged logs a breaker's state change, once per change. It runs
// under the breaker's lock.
func (rt *runtime) breakerChanged(b *breaker, from, to gobreaker.State) {
	observeBreaker(b.workspace, to)
	fields := []zap.Field{
		zap.String("workspace", b.workspace),
		zap.String("from", from.String()),
		zap.String("to", to.String()),
	}
	if to == gobreaker.StateOpen && from == gobreaker.StateClosed {
		fields = append(fields, zap.Uint32("consecutive_failures", b.lastTrip.ConsecutiveFailures),
			zap.Uint32("requests", b.lastTrip.Requests), zap.Duration("open_for", b.settings.openTimeout))
	}
	level := zap.InfoLevel
	if to == gobreaker.StateOpen {
		level = zap.WarnLevel
	}
	rt.logger.Load().Log(level, "circuit breaker state changed", fields...)
}

// logChanges logs what a reload changed: workspaces added or removed, and
// keys by fingerprint (never the key), plus the load's warnings.
func (rt *runtime) logChanges(prev, next *snapshot, warnings []string) {
	log := rt.logger.Load()
	for _, w := range warnings {
		log.Warn(w, zap.String("config", rt.path))
	}
	for ws, n := range next.keys.unreadable {
		metrics.keyLoadFailures.WithLabelValues(ws).Add(float64(n))
	}
	fps := func(keys []*key) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = k.fp
		}
		return out
	}
	if prev == nil {
		log.Info("config loaded", zap.String("config", rt.path), zap.Int("workspaces", len(next.workspaces)),
			zap.Int("tenants", len(next.cfg.Tenants)), zap.String("upstream", next.upstream.scheme+"://"+next.upstream.host))
		return
	}
	for _, ws := range next.workspaces {
		old := prev.byName[ws.name]
		switch {
		case old == nil:
			log.Info("workspace added", zap.String("workspace", ws.name), zap.Strings("keys", fps(ws.keys)))
		case !slices.Equal(fps(old.keys), fps(ws.keys)):
			log.Info("workspace keys changed", zap.String("workspace", ws.name),
				zap.Strings("old_keys", fps(old.keys)), zap.Strings("new_keys", fps(ws.keys)))
		}
		if len(ws.keys) == 0 {
			log.Warn("workspace has no usable key; its requests are answered 503 NO_USABLE_KEY", zap.String("workspace", ws.name))
		}
	}
	for _, ws := range prev.workspaces {
		if next.byName[ws.name] == nil {
			log.Info("workspace removed", zap.String("workspace", ws.name))
			forgetWorkspace(ws.name)
		}
	}
	log.Info("config reloaded", zap.String("config", rt.path), zap.Int("workspaces", len(next.workspaces)),
		zap.Int("tenants", len(next.cfg.Tenants)))
}

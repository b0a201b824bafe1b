package restlink

import (
	"crypto/sha256"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/23telecom/restlink-sidecar/module/store"
	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"
)

// liveConfigs holds one liveConfig per config file path, shared by every
// handler that uses the file and kept across Caddy config reloads (the new
// config is provisioned before the old one is cleaned up), so that
// breakers, counters, demoted keys and the connection pool survive them.
var liveConfigs = caddy.NewUsagePool()

// pricerStartWait bounds how long start-up waits for the first price
// tables and balances.
const pricerStartWait = 10 * time.Second

// storeGrace is how long a store replaced by a reload stays open, for the
// requests in flight that it admitted to settle with it.
const storeGrace = time.Minute

// liveConfig is one config file kept live: it holds the current snapshot,
// reloads it when the file or a key file changes, and publishes the result
// atomically.
type liveConfig struct {
	path       string
	environ    Environ
	current    atomic.Pointer[snapshot]
	logger     atomic.Pointer[zap.Logger]
	lastReload atomic.Pointer[reloadStatus]
	stats      *configStats
	bodies     bodyBudget    // request bodies held in memory, across snapshots
	collapse   collapser     // identical signed GETs in flight
	memory     *store.Memory // counters, claims and records kept in this process
	// redisPassword is the current content of store.redis.password_file;
	// nil if there is none.
	redisPassword atomic.Pointer[string]
	prober        *prober
	watcher       *watcher
	pricer        *pricer
	prices        priceBook // by workspace name, across snapshots
	signals       *signalWatch
	// secretFiles are the key and secret files as last read: a reload
	// reads again only those whose stat changed (or every minute).
	secretFiles secretFiles
	// seeded is set once budgets of the in-memory store were restored
	// from a ledger: a ledger opened later (a changed ledger.dir) does
	// not count its spend in again.
	seeded bool

	mu          sync.Mutex    // serialises reloads and notifications
	subscribers []*subscriber // told of each snapshot published; guarded by mu
	ctx         caddy.Context // of the newest config that loaded successfully; guarded by mu
	lastError   string        // of the last rejected reload, reported once; guarded by mu
	// rejected is the digest of the last config file content that did not
	// compile, and why: the periodic check meets an unchanged bad file
	// again and again, and it is not parsed again. Guarded by mu.
	rejected struct {
		sum [sha256.Size]byte
		err error
	}
	now func() time.Time
	// releasing is set while the memory a load freed is being given back
	// to the operating system, and releaseWanted when a load asked for it
	// since the release began (see releaseMemory).
	releasing, releaseWanted atomic.Bool
}

// subscriber is a consumer of a live config's snapshots.
type subscriber struct{ notify func(*snapshot) }

// subscribe calls notify with the snapshot serving now, and again after
// each new snapshot is published, until cancel is called. Notifications
// are serialised with reloads, in the order of subscription: notify must
// be quick, and must neither reload nor subscribe.
func (lc *liveConfig) subscribe(notify func(*snapshot)) (cancel func()) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	sub := &subscriber{notify: notify}
	lc.subscribers = append(lc.subscribers, sub)
	if s := lc.current.Load(); s != nil {
		notify(s)
	}
	return func() {
		lc.mu.Lock()
		defer lc.mu.Unlock()
		lc.subscribers = slices.DeleteFunc(lc.subscribers, func(o *subscriber) bool { return o == sub })
	}
}

// coreLoggerName names the core's log lines (the config loaded and
// reloaded, keys, breakers, the store), whichever handler's provisioning
// loaded the config: the restlink handler's module ID.
const coreLoggerName = "http.handlers.restlink"

// coreLogger is the logger of ctx (its outputs and levels), named
// coreLoggerName.
func coreLogger(ctx caddy.Context) *zap.Logger {
	return zap.New(ctx.Logger().Core()).Named(coreLoggerName)
}

// reloadStatus is the outcome of the last reload attempt that found a change.
type reloadStatus struct {
	At     time.Time `json:"at"`
	Result string    `json:"result"`          // "success" or "failure"
	Error  string    `json:"error,omitempty"` // why a failed reload was rejected
}

// acquireLiveConfig returns the live config of the file at path, creating
// it or, if it exists, reloading it so that a Caddy config reload also
// re-reads the file. The caller must release it with liveConfigs.Delete(path).
func acquireLiveConfig(ctx caddy.Context, path string, environ Environ) (*liveConfig, error) {
	val, loaded, err := liveConfigs.LoadOrNew(path, func() (caddy.Destructor, error) {
		lc := &liveConfig{path: path, environ: environ, stats: new(configStats), memory: store.NewMemory(store.MemoryOptions{}), now: time.Now}
		lc.logger.Store(coreLogger(ctx))
		if err := lc.reload(ctx); err != nil {
			return nil, err
		}
		reload := func() error { return lc.reload(caddy.Context{}) }
		lc.prober = newProber(lc.current.Load, func() { _ = reload() }, lc.logger.Load)
		lc.subscribe(func(*snapshot) { lc.prober.kick() })
		lc.pricer = newPricer(lc.current.Load, &lc.prices, lc.logger.Load)
		lc.subscribe(func(*snapshot) { lc.pricer.kick() })
		if lc.current.Load().money != nil {
			lc.pricer.awaitFirst(pricerStartWait)
		}
		lc.signals = newSignalWatch(lc.current.Load, lc.logger.Load)
		lc.watcher = newWatcher(reload, lc.logger.Load, watchPoll)
		lc.subscribe(func(s *snapshot) {
			files := lc.watchedFiles(s)
			lc.secretFiles.forget(fileSet(files)) // the files a config no longer names
			lc.watcher.setFiles(files)
		})
		// The consumers' first work (the watcher's directories, above all)
		// is garbage too.
		lc.releaseMemory()
		return lc, nil
	})
	if err != nil {
		return nil, err
	}
	lc := val.(*liveConfig)
	if loaded {
		if err := lc.reload(ctx); err != nil {
			_, _ = liveConfigs.Delete(path)
			return nil, err
		}
		lc.logger.Store(coreLogger(ctx))
	}
	return lc, nil
}

// Destruct stops watching and releases the upstream connections once the
// last handler using the config file is cleaned up.
func (lc *liveConfig) Destruct() error {
	if lc.watcher != nil {
		lc.watcher.close()
	}
	if lc.prober != nil {
		lc.prober.close()
	}
	if lc.pricer != nil {
		lc.pricer.close()
	}
	if lc.signals != nil {
		lc.signals.close()
	}
	if s := lc.current.Load(); s != nil {
		s.upstream.close()
		_ = s.store.Close()
		if s.accounts != nil {
			s.accounts.close()
		}
	}
	return nil
}

// reload reads the config file and every key source, and publishes a new
// snapshot if anything changed. ctx is the Caddy context of a config being
// provisioned, or the zero Context for a watcher-triggered reload. A
// problem with one workspace's key or secret source is contained to it, at
// start-up as on a reload: the source keeps its last good value, or its
// workspace serves without it (503 NO_USABLE_KEY when it has no key left),
// and the problem is logged, counted and shown in the status. Any other
// problem rejects the reload, which is logged and counted, and the current
// snapshot keeps serving; at start-up there is none, and the sidecar does
// not start.
func (lc *liveConfig) reload(ctx caddy.Context) error {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if ctx.Context == nil {
		ctx = lc.ctx
	}
	prev := lc.current.Load()
	began := time.Now()
	next, warnings, err := lc.load(ctx, prev)
	if err != nil {
		err = fmt.Errorf("loading restlink config %s: %w", lc.path, err)
		// The periodic check meets a broken file again and again: report
		// each failure once, not every poll period, and give back once
		// what its pass read and parsed (a release every poll period
		// would cost a collection every 2 s while the file stays broken).
		if prev != nil && err.Error() != lc.lastError {
			lc.releaseMemory()
			lc.lastError = err.Error()
			lc.stats.reloads[reloadFailed].Add(1)
			lc.lastReload.Store(&reloadStatus{At: lc.now(), Result: "failure", Error: err.Error()})
			lc.logger.Load().Error("config reload rejected; the last good config keeps serving", zap.Error(err))
		}
		return err
	}
	lc.ctx, lc.lastError = ctx, ""
	if next == nil {
		// A pass that found nothing changed (the watcher's, every
		// secretReread) still read every key source.
		lc.releaseMemory()
		return nil
	}
	lc.memory.SetMaxRecords(next.plan.idempotency.maxRecords)
	lc.current.Store(next)
	lc.lastReload.Store(&reloadStatus{At: next.builtAt, Result: "success"})
	for name, failures := range next.keys.unreadable {
		next.workspace(name).counters().trouble().keyLoadFailures.Add(uint64(len(failures)))
	}
	lc.logChanges(prev, next, warnings, time.Since(began))
	if prev != nil {
		lc.stats.reloads[reloadSucceeded].Add(1)
		if prev.upstream != next.upstream {
			prev.upstream.close()
		}
		if prev.store != next.store {
			// Requests in flight may still settle with the old store.
			old := prev.store
			time.AfterFunc(storeGrace, func() { _ = old.Close() })
		}
		if old := prev.accounts; old != nil && (next.accounts == nil || next.accounts.ledger != old.ledger) {
			// Requests in flight may still settle with the old ledger.
			time.AfterFunc(storeGrace, old.close)
		}
	}
	for _, sub := range lc.subscribers {
		sub.notify(next)
	}
	lc.releaseMemory()
	return nil
}

// releaseMemory gives the memory that a load freed back to the operating
// system, in the background: a load allocates several times what it keeps
// (the file's node tree, the key files read, the snapshot replaced), and
// Go would otherwise keep those pages for its later collections, up to
// twice the live heap. A sidecar runs beside every app instance, so its
// private memory multiplies across a fleet: with one workspace this is
// about a quarter of it once idle. It runs a collection (about 10 ms of
// CPU with 10,000 workspaces) after each reload pass, rejected or not: the
// watcher's every minute, and one for each change to the config or its
// files, which costs a pass of its own anyway; at most one runs at a time,
// and a load meanwhile gets one after it.
func (lc *liveConfig) releaseMemory() {
	lc.releaseWanted.Store(true)
	if !lc.releasing.CompareAndSwap(false, true) {
		return // the release running sees releaseWanted and runs again
	}
	go func() {
		for {
			for lc.releaseWanted.Swap(false) {
				debug.FreeOSMemory()
			}
			lc.releasing.Store(false)
			// A load published between the last Swap and the Store found
			// the release still running: take its turn.
			if !lc.releaseWanted.Load() || !lc.releasing.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

// load builds the snapshot for the files as they are now; nil (and no
// error) if they hold what prev was built from.
func (lc *liveConfig) load(ctx caddy.Context, prev *snapshot) (*snapshot, []string, error) {
	raw, err := readConfigFile(lc.path)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(raw)
	if lc.rejected.err != nil && sum == lc.rejected.sum {
		return nil, nil, lc.rejected.err
	}
	var pl *plan
	var prevKeys *keyLoad
	if prev != nil {
		prevKeys = prev.keys
		if sum == prev.configSum {
			pl = prev.plan
		}
	}
	if pl == nil {
		if pl, err = parseConfig(raw, lc.environ); err != nil {
			lc.rejected.sum, lc.rejected.err = sum, err
			return nil, nil, err
		}
		// A live config serves from the compiled workspaces and tenants;
		// the decoded sections are not kept (about 190 and 60 bytes per
		// workspace and tenant).
		pl.Config.Workspaces, pl.Config.Tenants = nil, nil
	}
	warnings := readRedisPassword(pl.store, &lc.redisPassword)
	keys := loadKeys(pl.workspaces, pl.Rotation.Verify, lc.environ.lookup(), &lc.secretFiles, prevKeys, lc.now())
	if err := checkSharedKeys(pl.workspaces, keys.keys); err != nil {
		return nil, nil, err
	}
	var prevSecrets *webhookSecretLoad
	if prev != nil {
		prevSecrets = prev.webhookView.secrets
	}
	secrets := loadWebhookSecrets(pl.workspaces, lc.environ.lookup(), &lc.secretFiles, prevSecrets)
	var prevTrusted *trustedLoad
	if prev != nil {
		prevTrusted = prev.trusted
	}
	trusted := loadTrusted(pl.policy.TrustedFiles(), prevTrusted)
	if prev != nil && pl == prev.plan && keys.same(prevKeys) && secrets.same(prevSecrets) && trusted.same(prevTrusted) {
		return nil, nil, nil
	}
	var st store.Store
	if prev != nil && prev.plan.store.same(pl.store) {
		st = prev.store
	} else if st, err = openStore(pl.store, lc.memory, lc.redisPassword.Load, lc.logger.Load); err != nil {
		return nil, nil, fmt.Errorf("store.redis: %w", err)
	}
	var prevUp *upstream
	if prev != nil {
		prevUp = prev.upstream
	}
	up, err := newUpstream(ctx, pl.upstream, pl.Upstream, prevUp)
	if err != nil {
		return nil, nil, err
	}
	warnings = append(warnings, keys.warnings...)
	for _, err := range keys.errs {
		warnings = append(warnings, err.Error()+"; this source has no key")
	}
	warnings = append(warnings, secrets.warnings...)
	warnings = append(warnings, trusted.warnings...)
	for _, err := range secrets.errs {
		warnings = append(warnings, err.Error()+"; this source has no secret")
	}
	acc, err := lc.openAccounts(pl, st, prev)
	if err != nil {
		return nil, nil, err
	}
	snap := buildSnapshot(pl, sum, keys, secrets, up, st, prev, liveState{lc.stats, lc.breakerChanged}, lc.now())
	snap.accounts, snap.prices, snap.trusted = acc, &lc.prices, trusted
	return snap, warnings, nil
}

// openAccounts returns the accounts of a plan: prev's when the plan keeps
// its ledger directory, or newly opened. The budgets of the
// in-memory store are restored from the first ledger opened, so that a
// restart does not start them again from zero; with Redis, the shared
// counters are the truth.
func (lc *liveConfig) openAccounts(pl *plan, st store.Store, prev *snapshot) (*accounts, error) {
	if pl.money == nil {
		return nil, nil
	}
	var old *accounts
	if prev != nil {
		old = prev.accounts
	}
	if acc, err := old.reuse(pl.money, lc.logger.Load()); acc != nil || err != nil {
		return acc, err
	}
	var seed store.Store
	if pl.store.redis == nil && !lc.seeded {
		seed = st
	}
	acc, err := openAccounts(pl.money, seed, lc.logger.Load())
	if err == nil && seed != nil {
		lc.seeded = true
	}
	return acc, err
}

// watchedFiles lists the files a snapshot was built from: the config file,
// the key and secret files, the CA files and the trusted-numbers files.
func (lc *liveConfig) watchedFiles(s *snapshot) []string {
	files := []string{lc.path}
	for _, ws := range s.plan.workspaces {
		for _, ks := range ws.keys {
			if ks.File != "" {
				files = append(files, ks.File)
			}
			if ks.Secret != nil && ks.Secret.File != "" {
				files = append(files, ks.Secret.File)
			}
		}
		for _, src := range ws.webhookSecrets {
			if src.File != "" {
				files = append(files, src.File)
			}
		}
	}
	if s.Upstream.CAFile != "" {
		files = append(files, s.Upstream.CAFile)
	}
	files = append(files, s.plan.policy.TrustedFiles()...)
	if rp := s.plan.store.redis; rp != nil {
		for _, f := range []string{rp.passwordFile, rp.caFile} {
			if f != "" {
				files = append(files, f)
			}
		}
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// fileSet is a set of paths.
func fileSet(paths []string) map[string]bool {
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		set[p] = true
	}
	return set
}

// breakerChanged logs a breaker's state change, once per change. It runs
// under the breaker's lock.
func (lc *liveConfig) breakerChanged(b *breaker, from, to gobreaker.State) {
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
	lc.logger.Load().Log(level, "circuit breaker state changed", fields...)
}

// logChanges logs what a reload changed: workspaces added or removed, and
// keys by fingerprint (never the key), plus the load's warnings and how
// long the load took; and, at start-up as on every reload, each workspace
// left without a usable key or webhook secret.
func (lc *liveConfig) logChanges(prev, next *snapshot, warnings []string, took time.Duration) {
	log := lc.logger.Load()
	for _, w := range warnings {
		log.Warn(w, zap.String("config", lc.path))
	}
	fps := func(keys []*key) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = k.fp
		}
		return out
	}
	if prev == nil {
		log.Info("config loaded", zap.String("config", lc.path), zap.Int("workspaces", len(next.workspaces)),
			zap.Int("tenants", len(next.routing.tenants)), zap.String("upstream", next.upstream.String()))
	} else {
		for _, ws := range next.workspaces {
			old := prev.workspace(ws.name)
			switch {
			case old == nil:
				log.Info("workspace added", zap.String("workspace", ws.name), zap.Strings("keys", fps(ws.keys)))
			case !slices.Equal(fps(old.keys), fps(ws.keys)):
				log.Info("workspace keys changed", zap.String("workspace", ws.name),
					zap.Strings("old_keys", fps(old.keys)), zap.Strings("new_keys", fps(ws.keys)))
			}
			if old, cur := prev.webhookView.secrets.fingerprints(ws.name), next.webhookView.secrets.fingerprints(ws.name); !slices.Equal(old, cur) {
				log.Info("workspace webhook secrets changed", zap.String("workspace", ws.name),
					zap.Strings("old_secrets", old), zap.Strings("new_secrets", cur))
			}
		}
		for _, ws := range prev.workspaces {
			if next.workspace(ws.name) == nil {
				log.Info("workspace removed", zap.String("workspace", ws.name))
			}
		}
		log.Info("config reloaded", zap.String("config", lc.path), zap.Int("workspaces", len(next.workspaces)),
			zap.Int("tenants", len(next.routing.tenants)), zap.Duration("took", took))
	}
	for _, ws := range next.workspaces {
		if len(ws.keys) == 0 {
			log.Warn("workspace has no usable key; its requests are answered 503 NO_USABLE_KEY", zap.String("workspace", ws.name))
		}
		if _, receives := next.webhooks.targets[ws.name]; receives && len(next.webhookView.secrets.byWorkspace[ws.name]) == 0 {
			log.Warn("workspace has no usable webhook secret; its webhooks are refused with 401", zap.String("workspace", ws.name))
		}
	}
}

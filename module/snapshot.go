package restlink

import (
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/sony/gobreaker/v2"
)

// snapshot is one loaded config, compiled for serving: immutable once
// published. A request uses the snapshot it started with to the end.
type snapshot struct {
	cfg        *Config
	configSum  [sha256.Size]byte // of the config file bytes
	keys       *keyLoad
	upstream   *upstream
	router     router
	allow      *allowList
	policy     *clientPolicy
	strip      map[string]bool // canonical names of request headers never forwarded
	workspaces []*workspace    // in name order
	byName     map[string]*workspace
	builtAt    time.Time
}

// workspace is one configured workspace, ready to serve.
type workspace struct {
	name    string
	id      int64
	main    bool
	keys    []*key // usable keys in config order; empty: NO_USABLE_KEY
	breaker *breaker
	metrics *workspaceMetrics
}

// buildSnapshot compiles cfg and its loaded keys. prev (nil at start-up)
// lends what must survive a reload: each unchanged workspace's breaker and,
// if the upstream settings are unchanged, the upstream connection pool.
func buildSnapshot(cfg *Config, configSum [sha256.Size]byte, keys *keyLoad, up *upstream, prev *snapshot, onBreakerChange func(*breaker, gobreaker.State, gobreaker.State), now time.Time) *snapshot {
	s := &snapshot{
		cfg:       cfg,
		configSum: configSum,
		keys:      keys,
		upstream:  up,
		policy:    newClientPolicy(cfg.Security),
		builtAt:   now,
		byName:    make(map[string]*workspace, len(cfg.Workspaces)),
	}
	if cfg.Allow != nil { // absent: everything may pass
		s.allow, _ = compileAllowList(cfg.Allow) // validated with the config
	}

	prevWS := make(map[string]*workspace)
	if prev != nil {
		for _, ws := range prev.workspaces {
			prevWS[ws.name] = ws
		}
	}
	s.router = router{
		tenants:       make(map[string]*workspace, len(cfg.Tenants)),
		byID:          make(map[int64]*workspace, len(cfg.Workspaces)),
		tenantHeader:  http.CanonicalHeaderKey(cfg.Routing.TenantHeader),
		wsIDHeader:    http.CanonicalHeaderKey(cfg.Routing.WorkspaceIDHeader),
		rejectMissing: cfg.Routing.OnMissing == onMissingReject,
	}
	s.router.prefix, _ = parsePathPrefix(cfg.Routing.PathPrefix) // validated with the config
	for _, name := range sortedKeys(cfg.Workspaces) {
		wc := cfg.Workspaces[name]
		ws := &workspace{name: name, id: wc.ID, main: wc.Main, keys: keys.keys[name], metrics: metricsFor(name)}
		settings := newBreakerSettings(wc.ID, cfg.Breaker)
		if p := prevWS[name]; p != nil && p.breaker.settings == settings {
			ws.breaker = p.breaker
		} else {
			ws.breaker = newBreaker(name, settings, onBreakerChange)
		}
		s.workspaces = append(s.workspaces, ws)
		s.byName[name] = ws
		s.router.byID[ws.id] = ws
		if ws.main {
			s.router.main = ws
		}
	}
	for tenant, wsName := range cfg.Tenants {
		s.router.tenants[tenant] = s.byName[wsName]
	}

	s.strip = make(map[string]bool, len(alwaysStripped)+2)
	for _, h := range alwaysStripped {
		s.strip[h] = true
	}
	for _, h := range []string{s.router.tenantHeader, s.router.wsIDHeader} {
		if h != "" {
			s.strip[h] = true
		}
	}
	return s
}

package restlink

import (
	"crypto/sha256"
	"slices"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/23telecom/restlink-sidecar/module/store"
)

// snapshot is one loaded config, ready to serve: its compiled plan, its
// keys, and the live state its workspaces carry. It is immutable once
// published; a request uses the snapshot it started with to the end.
type snapshot struct {
	*plan
	configSum [sha256.Size]byte // of the config file bytes
	keys      *keyLoad
	// webhookView is the webhooks section with the workspaces' webhook
	// signing secrets, for the webhook receiver.
	webhookView *Webhooks
	upstream    *upstream
	store       store.Store // the live config's memory, or Redis over it
	// fleet is store when a fleet shares it (Redis), for the markers of
	// its webhook deliveries and key verdicts; nil for a sidecar alone,
	// which keeps no markers: 10,000 verified keys' markers took 2 MB of
	// its memory for the hour they last.
	fleet      store.Markers
	router     router
	workspaces []*workspace // in name order (see workspace)
	stats      *configStats // shared by every snapshot of the live config
	// tenantStats are the send counters of every policy subject with a
	// send policy (see policySubject).
	tenantStats map[string]*tenantStats
	builtAt     time.Time
	// accounts are the ledger and alerts of the money plan; nil without
	// a ledger. prices are the workspaces' price tables and balances.
	accounts *accounts
	prices   *priceBook
	// trusted are the trusted numbers of the policy's tenants.
	trusted *trustedLoad
}

// workspace is the workspace named name; nil if there is none. It
// searches the workspaces, which are in name order: a map of them took 42
// bytes a workspace, for lookups made by reloads, not by requests.
func (s *snapshot) workspace(name string) *workspace {
	i, ok := slices.BinarySearchFunc(s.workspaces, name, func(ws *workspace, name string) int { return strings.Compare(ws.name, name) })
	if !ok {
		return nil
	}
	return s.workspaces[i]
}

// liveState is what a snapshot shares with the live config it belongs to:
// its counters, and where its breakers report their changes.
type liveState struct {
	stats          *configStats
	breakerChanged func(b *breaker, from, to gobreaker.State)
}

// buildSnapshot links a plan to its loaded keys and webhook secrets, and
// to the live state of its live config: each workspace keeps the counters,
// and while its breaker settings stay the same the breaker, of the
// same-named workspace in prev (nil at start-up), made or not. It cannot
// fail: everything that can be wrong with a config was found by
// compileConfig.
func buildSnapshot(pl *plan, configSum [sha256.Size]byte, keys *keyLoad, secrets *webhookSecretLoad, up *upstream, st store.Store, prev *snapshot, live liveState, now time.Time) *snapshot {
	s := &snapshot{
		plan:      pl,
		configSum: configSum,
		keys:      keys,

		upstream: up,
		store:    st,
		stats:    live.stats,
		builtAt:  now,
	}
	breakers := &breakerMaker{plan: pl.breaker, onChange: live.breakerChanged}
	s.workspaces = make([]*workspace, 0, len(pl.workspaces))
	for i := range pl.workspaces {
		wp := &pl.workspaces[i]
		ws := &workspace{workspacePlan: wp, keys: keys.keys[i], breakers: breakers}
		var old *workspace
		if prev != nil {
			old = prev.workspace(wp.name)
		}
		if old != nil {
			ws.stats, ws.verified = old.stats, old.verified
		} else {
			ws.stats, ws.verified = new(lazy[workspaceStats]), new(lazy[verificationStats])
		}
		if old != nil && old.breakers.plan == pl.breaker && old.id == wp.id {
			ws.circuit = old.circuit
		} else {
			ws.circuit = new(lazy[breaker])
		}
		s.workspaces = append(s.workspaces, ws)
	}
	if pl.store.redis != nil {
		s.fleet = st
	}
	// A single sidecar's spool de-duplicates on its own: no markers.
	s.webhookView = newWebhooks(&pl.webhooks, secrets, s.fleet)
	keys.keys = nil // the workspaces hold them
	s.router = newRouter(pl.routing, s.workspaces)
	s.tenantStats = linkTenantStats(pl, s.workspaces, prev)
	return s
}

// linkTenantStats gives every policy subject with a send policy its
// counters: those of the previous snapshot, or new ones.
func linkTenantStats(pl *plan, workspaces []*workspace, prev *snapshot) map[string]*tenantStats {
	subjects := make(map[string]*tenantStats)
	add := func(subject, tenant string) {
		if pl.policy.For(tenant) == nil {
			return
		}
		if prev != nil && prev.tenantStats[subject] != nil {
			subjects[subject] = prev.tenantStats[subject]
		} else {
			subjects[subject] = new(tenantStats)
		}
	}
	for tenant := range pl.routing.tenants {
		add(tenant, tenant)
	}
	for _, ws := range workspaces {
		add(policySubject(selection{ws: ws}), "")
	}
	return subjects
}

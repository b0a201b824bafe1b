package restlink

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/23telecom/restlink-sidecar/module/store"
)

func init() {
	caddy.RegisterModule(StatusHandler{})
}

// StatusHandler answers with the state of a restlink config as JSON: each
// workspace's id, keys (by fingerprint and source, never the key), demoted
// keys, breaker state and counts, and the last reload. Mount it on a
// separate loopback site for operators. It applies the config's client
// checks (trusted clients, allowed hosts, no browsers) like the proxy.
type StatusHandler struct {
	ConfigRef
}

// CaddyModule returns the Caddy module information.
func (StatusHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.restlink_status",
		New: func() caddy.Module { return new(StatusHandler) },
	}
}

// ServeHTTP writes the status document.
func (s *StatusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	snap := s.live.current.Load()
	if rj := snap.client.checkPeer(r); rj != nil {
		writeRejection(w, rj)
		return nil
	}
	body, err := json.MarshalIndent(statusOf(r.Context(), s.live, snap), "", "  ")
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(append(body, '\n'))
	return err
}

// Status is the document the status handler serves.
type Status struct {
	Config     string            `json:"config"`
	Upstream   string            `json:"upstream"`
	LoadedAt   time.Time         `json:"loaded_at"`
	LastReload *reloadStatus     `json:"last_reload,omitempty"`
	Workspaces []WorkspaceStatus `json:"workspaces"`
	Store      StoreStatus       `json:"store"`
	// Ledger is the ledger of spend; absent without one.
	Ledger *MoneyStatus `json:"ledger,omitempty"`
	// Signals are the fraud signals and quarantines; absent without any.
	Signals *SignalsStatus `json:"signals,omitempty"`
	// Tenants are the send policy's subjects that have sent, or been
	// refused, since the sidecar started, with their use of their quotas.
	Tenants []TenantStatus `json:"tenants,omitempty"`
	// Sections are those other modules add (RegisterStatusSection), after
	// the fields above, in the order they registered: the webhook
	// receiver's "webhooks", for one.
	Sections []StatusSection `json:"-"`
}

// StatusSection is a section of the status document another module adds.
type StatusSection struct {
	Name  string
	Value any
}

// MarshalJSON writes the document's fields, then its sections.
func (st Status) MarshalJSON() ([]byte, error) {
	type fields Status // without this method
	b, err := json.Marshal(fields(st))
	if err != nil {
		return nil, err
	}
	for _, sec := range st.Sections {
		name, err := json.Marshal(sec.Name)
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(sec.Value)
		if err != nil {
			return nil, fmt.Errorf("status section %s: %w", sec.Name, err)
		}
		b = b[:len(b)-1] // the closing brace
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(append(append(append(b, name...), ':'), value...), '}')
	}
	return b, nil
}

// StoreStatus is where the sidecar keeps limits, idempotency records and
// markers, and whether it answers.
type StoreStatus struct {
	Kind      string     `json:"kind"`                // memory, or redis
	Address   string     `json:"address,omitempty"`   // Redis hosts (never credentials)
	Available *bool      `json:"available,omitempty"` // Redis answers; false: serving per on_error
	Since     *time.Time `json:"since,omitempty"`     // when it last became (un)available
	Outages   int64      `json:"outages,omitempty"`
	Failures  int64      `json:"failures,omitempty"`
	OnError   string     `json:"on_error,omitempty"`
}

// storeStatus describes a snapshot's store.
func storeStatus(snap *snapshot) StoreStatus {
	f, ok := snap.store.(*store.Fallback)
	if !ok {
		return StoreStatus{Kind: "memory"}
	}
	fs := f.Status()
	return StoreStatus{Kind: "redis", Address: snap.plan.store.redis.where(), Available: &fs.Available, Since: &fs.Since,
		Outages: fs.Outages, Failures: fs.Failures, OnError: fs.Mode.String()}
}

// TenantStatus is a tenant's send policy at work.
type TenantStatus struct {
	Tenant string        `json:"tenant"` // the tenant, or "@" and a workspace for requests naming none
	Mode   string        `json:"mode"`   // enforce, shadow or dry_run
	Quotas []QuotaStatus `json:"quotas,omitempty"`
	// Budgets are the tenant's budgets and what it spent in each
	// current period.
	Budgets     []BudgetStatus `json:"budgets,omitempty"`
	Refused     uint64         `json:"refused"`      // sends refused since start
	WouldRefuse uint64         `json:"would_refuse"` // sends shadow mode forwarded that enforce would have refused
	Recipients  uint64         `json:"recipients"`   // recipients of accepted sends since start
	Segments    uint64         `json:"segments"`
	Error       string         `json:"error,omitempty"` // the store could not be read
}

// QuotaStatus is a tenant-wide limit and its use now: the current rate's
// recipients within its window, or today's segments (UTC) against the cap.
type QuotaStatus struct {
	Rule   string `json:"rule"` // rate or daily_segments
	Used   int64  `json:"used"`
	Limit  int64  `json:"limit"`
	Window string `json:"window"` // e.g. 1m0s; "day" for the daily cap
}

// WorkspaceStatus is one workspace in the status document.
type WorkspaceStatus struct {
	Name    string      `json:"name"`
	ID      int64       `json:"id"`
	Main    bool        `json:"main"`
	Tenants int         `json:"tenants"`
	Keys    []KeyStatus `json:"keys"` // in the order they are tried; then new values found invalid, never tried
	// KeyProblems say why key sources could not be read (or were
	// refused) on the last load; with no key left, the workspace's
	// requests are answered 503 NO_USABLE_KEY.
	KeyProblems []string      `json:"key_problems,omitempty"`
	Breaker     BreakerStatus `json:"breaker"`
	// Pricing is what the sidecar knows of the workspace's prices and
	// balance; absent without a ledger.
	Pricing *PricingStatus `json:"pricing,omitempty"`
}

// KeyStatus describes one key without showing it.
type KeyStatus struct {
	Fingerprint string    `json:"fingerprint"`
	Kind        string    `json:"kind"`               // live, test or unknown, from the key's prefix
	Source      string    `json:"source"`             // file, env or value
	Location    string    `json:"location,omitempty"` // file path or variable name
	Secret      string    `json:"secret,omitempty"`   // the signing secret's fingerprint; absent: the key does not sign
	LoadedAt    time.Time `json:"loaded_at"`
	Active      bool      `json:"active"`              // tried first
	Candidate   bool      `json:"candidate,omitempty"` // a new value awaiting verification; the value it replaces serves
	Verified    string    `json:"verified"`            // true, false or pending
	LastVerdict *Verdict  `json:"last_verdict,omitempty"`
	Demoted     bool      `json:"demoted"`               // refused by the upstream; tried after the others
	DemotedFor  string    `json:"demoted_for,omitempty"` // the upstream's error_code
	Stale       bool      `json:"stale"`                 // its source could not be read on the last reload
}

// Verdict is the last verification of a key value.
type Verdict struct {
	Result string    `json:"result"` // valid, invalid or inconclusive
	Answer string    `json:"answer"` // what the upstream answered the probe, or that the verdict came from another sidecar of the fleet
	At     time.Time `json:"at"`
}

// BreakerStatus is a workspace's circuit breaker.
type BreakerStatus struct {
	State               string `json:"state"`
	Requests            uint32 `json:"requests"`
	TotalSuccesses      uint32 `json:"total_successes"`
	TotalFailures       uint32 `json:"total_failures"`
	ConsecutiveFailures uint32 `json:"consecutive_failures"`
}

// statusOf builds the status document of a live config's snapshot.
func statusOf(ctx context.Context, lc *liveConfig, snap *snapshot) Status {
	st := Status{
		Config:     lc.path,
		Upstream:   snap.upstream.String(),
		LoadedAt:   snap.builtAt,
		LastReload: lc.lastReload.Load(),
		Store:      storeStatus(snap),
		Ledger:     moneyStatus(snap),
		Signals:    lc.signals.status(snap, lc.now()),
		Workspaces: make([]WorkspaceStatus, 0, len(snap.workspaces)),
	}
	tenants := make(map[string]int) // workspace name -> its number of tenants
	for _, i := range snap.routing.tenants {
		tenants[snap.workspaces[i].name]++
	}
	for _, ws := range snap.workspaces {
		var buf [maxKeysPerWorkspace]*key
		keys := make([]KeyStatus, 0, len(ws.keys))
		for i, k := range orderKeys(ws.keys, buf[:0]) {
			keys = append(keys, keyStatus(k, i == 0))
		}
		for _, k := range snap.keys.refused[ws.name] {
			keys = append(keys, keyStatus(k, false))
		}
		counts, state := ws.breakerCounts()
		st.Workspaces = append(st.Workspaces, WorkspaceStatus{
			Name: ws.name, ID: ws.id, Main: ws.main, Tenants: tenants[ws.name], Keys: keys, KeyProblems: snap.keys.unreadable[ws.name],
			Pricing: pricingStatus(snap, ws),
			Breaker: BreakerStatus{
				State: state.String(), Requests: counts.Requests, TotalSuccesses: counts.TotalSuccesses,
				TotalFailures: counts.TotalFailures, ConsecutiveFailures: counts.ConsecutiveFailures,
			},
		})
	}
	for _, sec := range statusSections {
		if v, ok := sec.value(Live{lc}, lc.now()); ok {
			st.Sections = append(st.Sections, StatusSection{Name: sec.name, Value: v})
		}
	}
	for _, subject := range slices.Sorted(maps.Keys(snap.tenantStats)) {
		if ts := snap.tenantStats[subject]; ts.sending.Load() {
			st.Tenants = append(st.Tenants, tenantStatus(ctx, snap, subject, ts))
		}
	}
	return st
}

// tenantStatus describes a policy subject's sends and quotas.
func tenantStatus(ctx context.Context, snap *snapshot, subject string, ts *tenantStats) TenantStatus {
	tenant := subject
	if strings.HasPrefix(subject, "@") {
		tenant = ""
	}
	rules := snap.policy.For(tenant)
	out := TenantStatus{Tenant: subject, Mode: "enforce", Recipients: ts.recipients.Load(), Segments: ts.segments.Load()}
	switch {
	case rules.DryRun():
		out.Mode = "dry_run"
	case rules.Shadow():
		out.Mode = "shadow"
	}
	for r := range ts.decisions {
		out.Refused += ts.decisions[r][0].Load()
		out.WouldRefuse += ts.decisions[r][1].Load()
	}
	if budgets, err := budgetUsage(ctx, snap, subject, rules.Budget(), time.Now()); err != nil {
		out.Error = "the store could not be read"
	} else {
		out.Budgets = budgets
	}
	quotas := rules.Quotas(subject)
	limits := make([]store.Limit, len(quotas))
	for i, q := range quotas {
		limits[i] = q.Limit
	}
	if len(limits) == 0 {
		return out
	}
	used, err := snap.store.Usage(ctx, subject, limits, time.Now())
	if err != nil {
		out.Error = "the store could not be read"
		return out
	}
	for i, q := range quotas {
		window := "day"
		if q.Limit.Window > 0 {
			window = q.Limit.Window.String()
		}
		out.Quotas = append(out.Quotas, QuotaStatus{Rule: q.Rule, Used: used[i], Limit: q.Limit.Max, Window: window})
	}
	return out
}

// keyStatus describes k for the status document.
func keyStatus(k *key, active bool) KeyStatus {
	ks := KeyStatus{
		Fingerprint: k.fp, Kind: k.kind(), Source: k.source.kind(), Location: k.source.location(), Secret: k.secretFingerprint(),
		LoadedAt: k.loadedAt(), Active: active, Candidate: k.candidate, Verified: "pending",
		Demoted: k.demoted.Load(), DemotedFor: k.demotionReason(), Stale: k.stale,
	}
	if v := k.verification.Load(); v != nil {
		ks.LastVerdict = &Verdict{Result: v.result, Answer: v.reason, At: unixNanoTime(v.at)}
		switch v.result {
		case verdictValid:
			ks.Verified = "true"
		case verdictInvalid:
			ks.Verified = "false"
		}
	}
	return ks
}

// Interface guards
var (
	_ caddy.Provisioner           = (*StatusHandler)(nil)
	_ caddy.CleanerUpper          = (*StatusHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*StatusHandler)(nil)
)

package restlink

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
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
	configRef
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
	body, err := json.MarshalIndent(s.live.status(snap), "", "  ")
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
}

// WorkspaceStatus is one workspace in the status document.
type WorkspaceStatus struct {
	Name    string        `json:"name"`
	ID      int64         `json:"id"`
	Main    bool          `json:"main"`
	Tenants int           `json:"tenants"`
	Keys    []KeyStatus   `json:"keys"` // in the order they are tried; then new values found invalid, never tried
	Breaker BreakerStatus `json:"breaker"`
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
	Answer string    `json:"answer"` // what the upstream answered the probe
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

// status builds the status document of a snapshot.
func (lc *liveConfig) status(snap *snapshot) Status {
	st := Status{
		Config:     lc.path,
		Upstream:   snap.upstream.String(),
		LoadedAt:   snap.builtAt,
		LastReload: lc.lastReload.Load(),
		Workspaces: make([]WorkspaceStatus, 0, len(snap.workspaces)),
	}
	tenants := make(map[string]int)
	for _, ws := range snap.Tenants {
		tenants[ws]++
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
		// A breaker's state is read through gobreaker, which also moves an
		// open breaker whose timeout has passed to half-open.
		counts := ws.breaker.cb.Counts()
		state := ws.breaker.cb.State()
		st.Workspaces = append(st.Workspaces, WorkspaceStatus{
			Name: ws.name, ID: ws.id, Main: ws.main, Tenants: tenants[ws.name], Keys: keys,
			Breaker: BreakerStatus{
				State: state.String(), Requests: counts.Requests, TotalSuccesses: counts.TotalSuccesses,
				TotalFailures: counts.TotalFailures, ConsecutiveFailures: counts.ConsecutiveFailures,
			},
		})
	}
	return st
}

// keyStatus describes k for the status document.
func keyStatus(k *key, active bool) KeyStatus {
	ks := KeyStatus{
		Fingerprint: k.fp, Kind: k.kind, Source: k.source.kind(), Location: k.source.location(), Secret: k.secretFP,
		LoadedAt: k.loadedAt, Active: active, Candidate: k.candidate, Verified: "pending",
		Demoted: k.demoted.Load(), DemotedFor: k.demotionReason(), Stale: k.stale,
	}
	if v := k.verification.Load(); v != nil {
		ks.LastVerdict = &Verdict{Result: v.result, Answer: v.reason, At: v.at}
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

package restlink

import (
	"maps"
	"slices"
	"time"

	"github.com/23telecom/restlink-sidecar/module/webhook"
)

// WebhooksStatus is the webhook receiver in the status document.
type WebhooksStatus struct {
	SpoolDir string `json:"spool_dir"`
	// Open: a restlink_webhook handler has the spool open, receiving and
	// delivering. false: no site of this process receives the webhooks.
	Open       bool                     `json:"open"`
	Workspaces []WebhookWorkspaceStatus `json:"workspaces"`
}

// WebhookWorkspaceStatus is one workspace's webhooks: where they are
// received and delivered, its secrets (by fingerprint), and how far behind
// the app is.
type WebhookWorkspaceStatus struct {
	Workspace string             `json:"workspace"`
	Path      string             `json:"path"` // register https://<public host><path> per event type in the portal
	DeliverTo string             `json:"deliver_to"`
	Secrets   []WebhookSecretRef `json:"secrets"` // empty: every webhook is refused
	// Pending events wait in the spool for the app; OldestPendingSeconds
	// is how long the oldest has waited.
	Pending              int     `json:"pending"`
	OldestPendingSeconds float64 `json:"oldest_pending_seconds"`
	DeadLetters          int     `json:"dead_letters"` // kept for an operator: restlink-sidecar webhooks list
	// Counts since the sidecar started.
	Received       uint64 `json:"received"`
	Duplicates     uint64 `json:"duplicates"`
	Delivered      uint64 `json:"delivered"`
	FailedAttempts uint64 `json:"failed_attempts"`
	Failing        bool   `json:"failing"` // the last delivery attempt failed
}

// WebhookSecretRef describes a webhook secret without showing it.
type WebhookSecretRef struct {
	Fingerprint string `json:"fingerprint"`
	Source      string `json:"source"`             // file, env or value
	Location    string `json:"location,omitempty"` // file path or variable name
	Stale       bool   `json:"stale"`              // its source could not be read on the last reload
}

// webhooksStatus describes the webhooks of a snapshot; nil if no workspace
// receives any.
func (lc *liveConfig) webhooksStatus(snap *snapshot, now time.Time) *WebhooksStatus {
	hp := &snap.webhooks
	if len(hp.targets) == 0 {
		return nil
	}
	out := &WebhooksStatus{SpoolDir: hp.spoolDir}
	lc.mu.Lock()
	rc := lc.webhooks
	lc.mu.Unlock()
	var spooled map[string]webhook.WorkspaceStats
	if rc != nil {
		out.Open = true
		spooled, _ = rc.spool.Stats()
	}
	for _, name := range slices.Sorted(maps.Keys(hp.targets)) {
		st := lc.webhookStats.of(name)
		sp := spooled[name]
		ws := WebhookWorkspaceStatus{
			Workspace: name, Path: hp.route.example(name, "{event}"), DeliverTo: hp.targets[name].URL,
			Secrets: []WebhookSecretRef{}, Pending: sp.Pending, OldestPendingSeconds: pendingAge(sp, now).Seconds(),
			DeadLetters: sp.DeadLetters, Received: st.received.Load(), Duplicates: st.duplicates.Load(),
			Delivered: st.delivered.Load(), FailedAttempts: st.failedAttempts.Load(), Failing: st.failing.Load(),
		}
		for _, sec := range snap.webhookSecrets.byWorkspace[name] {
			ws.Secrets = append(ws.Secrets, WebhookSecretRef{Fingerprint: sec.fp, Source: sec.source.kind(),
				Location: sec.source.location(), Stale: sec.stale})
		}
		out.Workspaces = append(out.Workspaces, ws)
	}
	return out
}

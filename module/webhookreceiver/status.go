package webhookreceiver

import (
	"maps"
	"slices"
	"time"

	restlink "github.com/23telecom/restlink-sidecar/module"
	"github.com/23telecom/restlink-sidecar/module/webhook"
)

func init() {
	restlink.RegisterStatusSection("webhooks", statusOf)
}

// Status is the webhooks section of the status document.
type Status struct {
	SpoolDir string `json:"spool_dir"`
	// Open: a restlink_webhook handler has the spool open, receiving and
	// delivering. false: no site of this process receives the webhooks.
	Open       bool              `json:"open"`
	Workspaces []WorkspaceStatus `json:"workspaces"`
}

// WorkspaceStatus is one workspace's webhooks: where they are received and
// delivered, its secrets (by fingerprint), and how far behind the app is.
type WorkspaceStatus struct {
	Workspace string               `json:"workspace"`
	Path      string               `json:"path"` // register https://<public host><path> per event type in the portal
	DeliverTo string               `json:"deliver_to"`
	Secrets   []restlink.SecretRef `json:"secrets"` // empty: every webhook is refused
	// Pending events wait in the spool for the app; OldestPendingSeconds
	// is how long the oldest has waited.
	Pending              int     `json:"pending"`
	OldestPendingSeconds float64 `json:"oldest_pending_seconds"`
	DeadLetters          int     `json:"dead_letters"` // kept for an operator: restlink-sidecar webhooks list
	// Counts since the spool was opened.
	Received       uint64 `json:"received"`
	Duplicates     uint64 `json:"duplicates"`
	Delivered      uint64 `json:"delivered"`
	FailedAttempts uint64 `json:"failed_attempts"`
	Failing        bool   `json:"failing"` // the last delivery attempt failed
}

// statusOf describes the webhooks of a live config; false if no workspace
// receives any.
func statusOf(live restlink.Live, now time.Time) (any, bool) {
	hooks := live.Webhooks()
	targets := hooks.Targets()
	if len(targets) == 0 {
		return nil, false
	}
	out := &Status{SpoolDir: hooks.SpoolDir()}
	var rc *receiver
	receivers.Range(func(path, val any) bool {
		if path == live.Path() {
			rc = val.(*receiver)
		}
		return rc == nil
	})
	var spooled map[string]webhook.WorkspaceStats
	if rc != nil {
		out.Open = true
		spooled, _ = rc.spool.Stats()
	}
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		ws := WorkspaceStatus{Workspace: name, Path: hooks.Path(name, "{event}"), DeliverTo: targets[name].URL,
			Secrets: hooks.SecretRefs(name)}
		if rc != nil {
			sp, st := spooled[name], rc.stats.of(name)
			ws.Pending, ws.OldestPendingSeconds, ws.DeadLetters = sp.Pending, pendingAge(sp, now).Seconds(), sp.DeadLetters
			ws.Received, ws.Duplicates, ws.Delivered = st.received.Load(), st.duplicates.Load(), st.delivered.Load()
			ws.FailedAttempts, ws.Failing = st.failedAttempts.Load(), st.failing.Load()
		}
		out.Workspaces = append(out.Workspaces, ws)
	}
	return out, true
}

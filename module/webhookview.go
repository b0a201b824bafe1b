package restlink

import (
	"time"

	"github.com/23telecom/restlink-sidecar/module/store"
	"github.com/23telecom/restlink-sidecar/module/webhook"
)

// Webhooks is what a snapshot holds for the webhook receiver: the webhooks
// section compiled with the rest of the config, and the workspaces'
// webhook secrets read with their keys. Like its snapshot, it is immutable.
type Webhooks struct {
	section *webhookPlan
	secrets *webhookSecretLoad
	markers store.Markers
}

// WebhookLimits are the webhooks section's limits.
type WebhookLimits struct {
	MaxSkew                time.Duration // of a webhook's timestamp
	RetryFor               time.Duration // how long an event is delivered before it is dead-lettered
	MaxBodyBytes           int64
	MaxConcurrent          int           // verified webhooks being spooled at once
	MaxUnverifiedPerClient int           // bodies one client address may have in flight before verification
	BodyTimeout            time.Duration // for a whole body to arrive
}

// SecretRef describes a secret without showing it.
type SecretRef struct {
	Fingerprint string `json:"fingerprint"`
	Source      string `json:"source"`             // file, env or value
	Location    string `json:"location,omitempty"` // file path or variable name
	Stale       bool   `json:"stale"`              // its source could not be read on the last reload
}

// Match returns the workspace and event type a request path (raw, as
// received) names, if the config receives that event for that workspace.
func (w *Webhooks) Match(path string) (workspace, event string, ok bool) {
	workspace, event, ok = w.section.route.match(path)
	_, receives := w.section.targets[workspace]
	return workspace, event, ok && receives && w.section.accepts(event)
}

// Targets are the delivery targets of the workspaces that receive
// webhooks, by workspace name; empty if none does. Do not change it.
func (w *Webhooks) Targets() map[string]webhook.Target { return w.section.targets }

// Path is the path restlink posts a workspace's event to.
func (w *Webhooks) Path(workspace, event string) string {
	return w.section.route.example(workspace, event)
}

// SpoolDir is where events wait for the apps.
func (w *Webhooks) SpoolDir() string { return w.section.spoolDir }

// Limits are the webhooks section's limits.
func (w *Webhooks) Limits() WebhookLimits {
	return WebhookLimits{MaxSkew: w.section.maxSkew, RetryFor: w.section.retryFor, MaxBodyBytes: w.section.maxBodyBytes,
		MaxConcurrent: w.section.maxConcurrent, MaxUnverifiedPerClient: w.section.maxUnverified, BodyTimeout: w.section.bodyTimeout}
}

// Secrets are a workspace's usable webhook secrets, as webhook.Verify
// takes them; none: every webhook of the workspace is refused.
func (w *Webhooks) Secrets(workspace string) [][]byte { return w.secrets.materials[workspace] }

// SecretRefs describe a workspace's usable webhook secrets.
func (w *Webhooks) SecretRefs(workspace string) []SecretRef {
	refs := []SecretRef{}
	for _, s := range w.secrets.byWorkspace[workspace] {
		refs = append(refs, SecretRef{Fingerprint: s.fp, Source: s.source.kind(), Location: s.source.location(), Stale: s.stale})
	}
	return refs
}

// Markers are the de-duplication markers of the store a fleet shares; nil
// without one: a single sidecar's spool de-duplicates on its own.
func (w *Webhooks) Markers() store.Markers { return w.markers }

// newWebhooks is the webhooks view of a snapshot being built; markers
// are those of a store a fleet shares, nil without one.
func newWebhooks(hp *webhookPlan, secrets *webhookSecretLoad, markers store.Markers) *Webhooks {
	return &Webhooks{section: hp, secrets: secrets, markers: markers}
}

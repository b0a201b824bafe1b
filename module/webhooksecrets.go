package restlink

import (
	"fmt"
	"slices"
)

// webhookSecret is one loaded webhook signing secret of a workspace.
type webhookSecret struct {
	source   Source
	material []byte // never logged
	fp       string // Fingerprint of the secret
	stale    bool   // the source could not be read on the last reload: this is its last good value
}

// webhookSecretLoad is one reading of every workspace's webhook secret
// sources; immutable once built.
type webhookSecretLoad struct {
	// byWorkspace holds each workspace's usable secrets, in config order,
	// each value once; a workspace with webhook_secrets but none usable
	// refuses every webhook.
	byWorkspace map[string][]*webhookSecret
	// materials are the same secrets as Verify takes them.
	materials map[string][][]byte
	bySource  map[string]*webhookSecret // by source identity
	warnings  []string
	errs      []error // sources that could not be read and had no last good secret
}

// webhookSecretOwner places a workspace's literal secret values for
// Source.identity.
func webhookSecretOwner(workspace string) string { return workspace + ".webhook_secrets" }

// loadWebhookSecrets reads every webhook secret source of a compiled
// config. A source that cannot be read keeps its value from prev (nil at
// start-up), with a warning; one with none is reported in errs.
func loadWebhookSecrets(pl *plan, lookupEnv func(string) (string, bool), prev *webhookSecretLoad) *webhookSecretLoad {
	out := &webhookSecretLoad{
		byWorkspace: make(map[string][]*webhookSecret),
		materials:   make(map[string][][]byte),
		bySource:    make(map[string]*webhookSecret),
	}
	for _, ws := range pl.workspaces {
		for i, src := range ws.webhookSecrets {
			field := fmt.Sprintf("workspaces.%s.webhook_secrets[%d]", ws.name, i)
			id := src.identity(webhookSecretOwner(ws.name), i)
			material, warnings, err := src.read("webhook secret", lookupEnv)
			for _, w := range warnings {
				out.warnings = append(out.warnings, field+": "+w)
			}
			var sec *webhookSecret
			switch {
			case err == nil:
				sec = &webhookSecret{source: src, material: []byte(material), fp: Fingerprint(material)}
			case prev != nil && prev.bySource[id] != nil:
				lg := *prev.bySource[id]
				lg.stale = true
				sec = &lg
				out.warnings = append(out.warnings, fmt.Sprintf("%s: %v; keeping its last good secret %s", field, err, lg.fp))
			default:
				out.errs = append(out.errs, fmt.Errorf("%s: %w", field, err))
				continue
			}
			out.bySource[id] = sec
			if !slices.ContainsFunc(out.byWorkspace[ws.name], func(o *webhookSecret) bool { return o.fp == sec.fp && string(o.material) == string(sec.material) }) {
				out.byWorkspace[ws.name] = append(out.byWorkspace[ws.name], sec)
				out.materials[ws.name] = append(out.materials[ws.name], sec.material)
			}
		}
	}
	return out
}

// sameWebhookSecrets reports whether two loads found the same secrets from
// the same sources, in the same state.
func sameWebhookSecrets(a, b *webhookSecretLoad) bool {
	if len(a.bySource) != len(b.bySource) || len(a.errs) != len(b.errs) {
		return false
	}
	for id, s := range a.bySource {
		o := b.bySource[id]
		if o == nil || string(o.material) != string(s.material) || o.stale != s.stale {
			return false
		}
	}
	return true
}

// fingerprints lists a workspace's secrets by fingerprint, for logs and
// status.
func (l *webhookSecretLoad) fingerprints(workspace string) []string {
	var out []string
	for _, s := range l.byWorkspace[workspace] {
		out = append(out, s.fp)
	}
	return out
}

package restlink

import (
	"fmt"
	"maps"
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
	// served is what each source serves, by Source.identity.
	served     map[string]servedValue
	sourceLoad // warnings; sources with no secret at all
}

// lastServed is what the source with identity id serves in this load
// (false: nothing, or l is nil), for the next load's read.
func (l *webhookSecretLoad) lastServed(id string) (servedValue, bool) {
	if l == nil {
		return servedValue{}, false
	}
	v, ok := l.served[id]
	return v, ok
}

// same reports whether two loads serve the same values from the same
// sources, with the same number of failures.
func (l *webhookSecretLoad) same(o *webhookSecretLoad) bool {
	return maps.Equal(l.served, o.served) && len(l.errs) == len(o.errs)
}

// webhookSecretOwner places a workspace's literal secret values for
// Source.identity.
func webhookSecretOwner(workspace string) string { return workspace + ".webhook_secrets" }

// loadWebhookSecrets reads every webhook secret source of a compiled
// config's workspaces. A source that cannot be read keeps its value from prev (nil at
// start-up), with a warning; one with none is reported in errs.
func loadWebhookSecrets(workspaces []workspacePlan, lookupEnv func(string) (string, bool), files *secretFiles, prev *webhookSecretLoad) *webhookSecretLoad {
	out := &webhookSecretLoad{
		byWorkspace: make(map[string][]*webhookSecret),
		materials:   make(map[string][][]byte),
		served:      make(map[string]servedValue),
	}
	for _, ws := range workspaces {
		for i, src := range ws.webhookSecrets {
			field := fmt.Sprintf("workspaces.%s.webhook_secrets[%d]", ws.name, i)
			id := src.identity(webhookSecretOwner(ws.name), i)
			v, ok, _ := out.read(field, id, "secret", prev.lastServed, func() (string, string, []string, error) {
				material, _, warnings, err := src.read("webhook secret", lookupEnv, files)
				return material, "", warnings, err
			})
			if !ok {
				continue
			}
			out.served[id] = v
			sec := &webhookSecret{source: src, material: []byte(v.material), fp: Fingerprint(v.material), stale: v.stale}
			if !slices.ContainsFunc(out.byWorkspace[ws.name], func(o *webhookSecret) bool { return string(o.material) == string(sec.material) }) {
				out.byWorkspace[ws.name] = append(out.byWorkspace[ws.name], sec)
				out.materials[ws.name] = append(out.materials[ws.name], sec.material)
			}
		}
	}
	return out
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

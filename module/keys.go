package restlink

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// validate checks a key source and its secret's.
func (ks KeySource) validate() error {
	if err := ks.Source.validate(); err != nil {
		return err
	}
	if ks.Secret != nil {
		if err := ks.Secret.validate(); err != nil {
			return fmt.Errorf("secret: %w", err)
		}
	}
	return nil
}

// readKey reads a source's key and, if it has one, its signing secret;
// modified is the key file's modification time (zero without a file).
func readKey(ks KeySource, lookupEnv func(string) (string, bool), files *secretFiles) (material, secret string, modified time.Time, warnings []string, err error) {
	material, modified, warnings, err = ks.Source.read("key", lookupEnv, files)
	if err != nil || ks.Secret == nil {
		return material, "", modified, warnings, err
	}
	secret, _, more, err := ks.Secret.read("signing secret", lookupEnv, files)
	return material, secret, modified, append(warnings, more...), err
}

// Kinds of key, from restlink's prefixes; nothing after the prefix is ever
// shown.
const (
	kindLive    = "live"    // sk_prod_…
	kindTest    = "test"    // sk_test_…: sandbox, sends nothing
	kindUnknown = "unknown" // another prefix
)

// keyKind is the kind of a key, from its prefix.
func keyKind(material string) string {
	switch {
	case strings.HasPrefix(material, "sk_prod_"):
		return kindLive
	case strings.HasPrefix(material, "sk_test_"):
		return kindTest
	}
	return kindUnknown
}

// environment is a value of workspaces.<name>.environment: a byte, not
// the string, in each of 10,000 compiled workspaces.
type environment uint8

const (
	environmentAny environment = iota
	environmentLive
	environmentTest
)

// environmentNames are the config's names of the environments.
var environmentNames = [...]string{environmentAny: "any", environmentLive: "live", environmentTest: "test"}

// String is the config's name of e.
func (e environment) String() string { return environmentNames[e] }

// parseEnvironment returns the environment the config names; "" is
// environmentAny.
func parseEnvironment(name string) (environment, bool) {
	if name == "" {
		return environmentAny, true
	}
	for e, n := range environmentNames {
		if n == name {
			return environment(e), true
		}
	}
	return 0, false
}

// checkEnvironment refuses a key of the wrong kind for a workspace's
// environment: a live workspace takes no sandbox key, and a test workspace
// only sandbox keys (a key of unknown kind might be live).
func checkEnvironment(environment environment, kind string) error {
	switch {
	case environment == environmentLive && kind == kindTest:
		return errors.New("it is a sandbox key (sk_test_…) and the workspace's environment is live")
	case environment == environmentTest && kind != kindTest:
		return fmt.Errorf("it is a %s key, not a sandbox key (sk_test_…), and the workspace's environment is test", kind)
	}
	return nil
}

// key is one loaded API key of a workspace, with its signing secret if it
// has one; immutable once built.
type key struct {
	source *KeySource // where it was read from: its workspace's plan
	header [1]string  // the X-API-Key header value: header[:] is set with no allocation. Never logged
	fp     string     // Fingerprint of the key
	// fileModified is when the key file was last written, as it was read,
	// in Unix nanoseconds; 0 for a key from a variable or a literal (see
	// source). Unlike loadedAt, a restart does not reset it: it dates a
	// rotation.
	fileModified int64
	stale        bool // the source could not be read on the last reload: this is its last good value
	// candidate marks a new value of its source that is not verified yet:
	// the value it replaces is still active; replaced says which side of
	// the pair changed.
	candidate bool
	replaced  pairSide
	*keyState // shared by every snapshot holding the same pair; holds its secret
}

// kind is kindLive, kindTest or kindUnknown.
func (k *key) kind() string { return keyKind(k.header[0]) }

// secretFingerprint is the Fingerprint of the signing secret; "" if none.
// It is computed when asked for, by logs and status: kept, with the
// kind, it took 32 of a key's bytes.
func (k *key) secretFingerprint() string {
	if k.secret == nil {
		return ""
	}
	return Fingerprint(string(k.secret))
}

// pairSide says which side of a key pair a new value changed.
type pairSide uint8

const (
	sideKey pairSide = iota + 1
	sideSecret
	sideBoth
)

func (s pairSide) String() string {
	switch s {
	case sideKey:
		return "key"
	case sideSecret:
		return "secret"
	case sideBoth:
		return "key and secret"
	}
	return ""
}

// sourceKeys is what one key source holds: the active value, and a new
// value awaiting verification.
type sourceKeys struct {
	active    *key // nil when the source never had a usable value
	candidate *key
}

// sourceEntry is what the key source with identity id holds.
type sourceEntry struct {
	id string // KeySource.identity
	sourceKeys
}

// keyLoad is the outcome of loading every key source of one config.
type keyLoad struct {
	// keys are the keys to try, by the plan's workspace index: active
	// ones, then candidates. buildSnapshot hands them to its workspaces
	// and clears them here.
	keys    [][]*key
	refused map[string][]*key // workspace name -> candidates a probe found invalid (never tried)
	// bySource is what each source holds, by identity, for the next
	// reload: a sorted slice, 32 bytes a source, where a map took 58.
	bySource   []sourceEntry
	unreadable map[string][]string // workspace name -> why each source that could not be read (or was refused) failed
	sourceLoad                     // warnings; sources with no key at all
}

// loadKeys reads every key source of a compiled config's workspaces; verify
// is rotation.verify. prev is the load of the config being replaced (nil at
// start-up):
//   - A source that cannot be read, or holds a key of the wrong kind for
//     its workspace's environment, keeps its active value from prev, with
//     a warning; one with none is reported in errs, and its workspace goes
//     without it.
//   - With verification on, a new value does not replace the active one
//     until a probe found it valid: it is a candidate, tried only after
//     every active key. An invalid candidate is never tried. A source with
//     no active value (start-up, a source just added) uses its value at
//     once; it is verified in the background.
//   - Values already known keep their keyState (load time, demotion,
//     verdicts).
func loadKeys(workspaces []workspacePlan, verify bool, lookupEnv func(string) (string, bool), files *secretFiles, prev *keyLoad, now time.Time) *keyLoad {
	states := make(map[keyID]*keyState)
	if prev != nil {
		for _, sk := range prev.bySource {
			for _, k := range [...]*key{sk.active, sk.candidate} {
				if k != nil {
					states[k.id] = k.keyState
				}
			}
		}
	}
	sources := 0
	for _, ws := range workspaces {
		sources += len(ws.keys)
	}
	out := &keyLoad{
		keys:       make([][]*key, len(workspaces)),
		bySource:   make([]sourceEntry, 0, sources),
		refused:    make(map[string][]*key),
		unreadable: make(map[string][]string),
	}
	for wi, ws := range workspaces {
		var candidates []*key
		for i := range ws.keys {
			src := &ws.keys[i]
			field := fmt.Sprintf("workspaces.%s.keys[%d]", ws.name, i)
			id := src.identity(ws.name, i)
			before := prev.source(id)
			var modified time.Time // of the key file read now
			v, ok, failure := out.read(field, id, "key", prev.lastServed, func() (string, string, []string, error) {
				material, secret, mod, warnings, err := readKey(*src, lookupEnv, files)
				modified = mod
				if err == nil {
					if envErr := checkEnvironment(ws.environment, keyKind(material)); envErr != nil {
						err = fmt.Errorf("%s refused: %w", src.describe("key"), envErr)
					}
				}
				return material, secret, warnings, err
			})
			if failure != nil {
				out.unreadable[ws.name] = append(out.unreadable[ws.name], failure.Error())
			}
			if !ok {
				continue
			}
			var sk sourceKeys
			if v.stale {
				lg := *before.active
				lg.source, lg.stale = src, true
				sk.active = &lg
			} else {
				sk = nextKeys(src, v.material, v.secret, modified, before, verify, states, now)
			}
			out.bySource = append(out.bySource, sourceEntry{id: id, sourceKeys: sk})
			if !slices.ContainsFunc(out.keys[wi], func(o *key) bool { return o.id == sk.active.id }) {
				out.keys[wi] = append(out.keys[wi], sk.active) // the same value twice is tried once
			}
			switch c := sk.candidate; {
			case c != nil && c.isInvalid():
				out.refused[ws.name] = append(out.refused[ws.name], c)
			case c != nil:
				candidates = append(candidates, c)
			}
		}
		out.keys[wi] = append(out.keys[wi], candidates...)
	}
	// The workspaces' keys share one array: a slice of its own took 8
	// bytes a workspace, and most hold one key.
	total := 0
	for _, keys := range out.keys {
		total += len(keys)
	}
	all := make([]*key, 0, total)
	for wi, keys := range out.keys {
		all = append(all, keys...)
		out.keys[wi] = all[len(all)-len(keys) : len(all) : len(all)]
	}
	// A source named twice holds what it was read as last.
	slices.SortStableFunc(out.bySource, func(a, b sourceEntry) int { return strings.Compare(a.id, b.id) })
	last := out.bySource[:0]
	for i, e := range out.bySource {
		if i+1 == len(out.bySource) || out.bySource[i+1].id != e.id {
			last = append(last, e)
		}
	}
	clear(out.bySource[len(last):])
	out.bySource = last
	return out
}

// source is what the key source with identity id holds in this load; nil
// if nothing, or l is nil.
func (l *keyLoad) source(id string) *sourceKeys {
	if l == nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(l.bySource, id, func(e sourceEntry, id string) int { return strings.Compare(e.id, id) })
	if !ok {
		return nil
	}
	return &l.bySource[i].sourceKeys
}

// lastServed is what the key source with identity id serves in this load
// (false: nothing, or l is nil), for the next load's read.
func (l *keyLoad) lastServed(id string) (servedValue, bool) {
	sk := l.source(id)
	if sk == nil {
		return servedValue{}, false
	}
	return sk.served(), true
}

// same reports whether two loads serve the same keys from the same
// sources, with the same number of failures.
func (l *keyLoad) same(o *keyLoad) bool {
	if len(l.bySource) != len(o.bySource) || len(l.errs) != len(o.errs) {
		return false
	}
	for i, e := range l.bySource { // both in identity order
		if o.bySource[i].id != e.id || !e.servesAs(&o.bySource[i].sourceKeys) {
			return false
		}
	}
	return true
}

// servesAs reports whether sk serves what o does: the same values, stale
// or not, with the same candidate.
func (sk *sourceKeys) servesAs(o *sourceKeys) bool {
	return sameValue(sk.active, o.active) && sk.active.stale == o.active.stale && sameValue(sk.candidate, o.candidate)
}

// sameValue reports whether two keys (nil: none) hold the same key and
// secret.
func sameValue(a, b *key) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.header[0] == b.header[0] && string(a.secret) == string(b.secret)
}

// served is what a source with these keys serves.
func (sk sourceKeys) served() servedValue {
	v := servedValue{material: sk.active.header[0], secret: string(sk.active.secret), stale: sk.active.stale}
	if c := sk.candidate; c != nil {
		v.next = c.header[0] + "\x00" + string(c.secret)
	}
	return v
}

// nextKeys decides what a source that yielded material serves now, given
// what it served before.
func nextKeys(src *KeySource, material, secret string, modified time.Time, before *sourceKeys, verify bool, states map[keyID]*keyState, now time.Time) sourceKeys {
	k := newKey(src, material, secret, modified, states, now)
	switch {
	case !verify || before == nil || before.active == nil:
		return sourceKeys{active: k} // nothing to keep: serve it (verified in the background)
	case k.id == before.active.id:
		return sourceKeys{active: k} // unchanged (or changed back): any candidate is dropped
	case k.isValid():
		return sourceKeys{active: k} // a verified candidate is promoted
	}
	k.candidate = true
	k.replaced = replacedSide(before.active, k)
	// The active value is carried over pointing to this plan's source: the
	// previous plan's key sources are one array, which it would keep.
	active := *before.active
	active.source = src
	return sourceKeys{active: &active, candidate: k}
}

// replacedSide says which side of a key pair a new value changed.
func replacedSide(old, next *key) pairSide {
	keyChanged, secretChanged := old.header[0] != next.header[0], string(old.secret) != string(next.secret)
	switch {
	case keyChanged && secretChanged:
		return sideBoth
	case secretChanged:
		return sideSecret
	}
	return sideKey
}

// newKey builds the key for material and secret read from src, sharing the
// keyState of a value already known.
func newKey(src *KeySource, material, secret string, modified time.Time, states map[keyID]*keyState, now time.Time) *key {
	keySum := sha256.Sum256([]byte(material))
	id := idOf(keySum, material, secret)
	st := states[id]
	if st == nil {
		st = &keyState{id: id, loaded: now.UnixNano()}
		if secret != "" {
			st.secret = []byte(secret)
		}
		states[id] = st
	}
	k := &key{
		source:   src,
		header:   [1]string{material},
		fp:       fingerprintOf(keySum),
		keyState: st,
	}
	if !modified.IsZero() {
		k.fileModified = modified.UnixNano()
	}
	return k
}

// checkSharedKeys reports key material configured for two workspaces: a key
// is bound to one workspace upstream, so one of them would be misrouted.
func checkSharedKeys(workspaces []workspacePlan, keys [][]*key) error {
	owner := make(map[string]string) // key material -> workspace name
	var errs []error
	for i, ws := range workspaces { // in name order
		for _, k := range keys[i] {
			if other, ok := owner[k.header[0]]; ok && other != ws.name {
				errs = append(errs, fmt.Errorf("workspaces %s and %s have the same key (fingerprint %s); each key is bound to one workspace", other, ws.name, k.fp))
				continue
			}
			owner[k.header[0]] = ws.name
		}
	}
	return errors.Join(errs...)
}

// orderKeys returns the keys to try, in order: keys not demoted first, then
// demoted ones, each group in the workspace's order (active keys, then
// candidates). buf avoids an allocation.
func orderKeys(keys []*key, buf []*key) []*key {
	out := buf[:0]
	for _, k := range keys {
		if !k.demoted.Load() {
			out = append(out, k)
		}
	}
	for _, k := range keys {
		if k.demoted.Load() {
			out = append(out, k)
		}
	}
	return out
}

// activeKey is the key tried first: the first key not demoted, else the
// first key; nil if there is none.
func activeKey(keys []*key) *key {
	for _, k := range keys {
		if !k.demoted.Load() {
			return k
		}
	}
	if len(keys) > 0 {
		return keys[0]
	}
	return nil
}

// condemnsKey reports the upstream error codes of a 401 that are the key's
// own fault, so that the request is sent again with the next key and this
// one is tried last: an unknown, disabled or expired key, or a key whose
// signing does not match (a signed key sent unsigned, or signed with the
// wrong secret). Every other 401 (a JWT-only endpoint, an address not
// allowed, an account suspended) would answer the same whatever the key,
// and is passed to the app.
func condemnsKey(errorCode string) bool {
	switch errorCode {
	case "INVALID_API_KEY", "API_KEY_INACTIVE", "API_KEY_EXPIRED", "SIGNATURE_REQUIRED", "INVALID_SIGNATURE":
		return true
	}
	return false
}

// misconfigured reports the codes that say the key's signing is set up
// wrong in the sidecar, rather than the key being dead upstream.
func misconfigured(errorCode string) bool {
	return errorCode == "SIGNATURE_REQUIRED" || errorCode == "INVALID_SIGNATURE"
}

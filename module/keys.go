package restlink

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Key source kinds, as shown in logs and status output.
const (
	sourceFile  = "file"
	sourceEnv   = "env"
	sourceValue = "value"
)

// validate checks that exactly one field is set, and a variable's name.
func (ks KeySource) validate() error {
	set := 0
	for _, v := range []string{ks.File, ks.Env, ks.Value} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return errors.New("exactly one of file, env or value must be set")
	}
	if ks.Env != "" && !isEnvName(ks.Env) {
		return fmt.Errorf("env %q is not an environment variable name", ks.Env)
	}
	return nil
}

func isEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// kind is which of the source's fields is set.
func (ks KeySource) kind() string {
	switch {
	case ks.File != "":
		return sourceFile
	case ks.Env != "":
		return sourceEnv
	}
	return sourceValue
}

// location is the file path or variable name; "" for a literal value.
func (ks KeySource) location() string {
	switch ks.kind() {
	case sourceFile:
		return ks.File
	case sourceEnv:
		return ks.Env
	}
	return ""
}

// describe names the source for messages, never showing a literal value.
func (ks KeySource) describe() string {
	switch ks.kind() {
	case sourceFile:
		return "key file " + ks.File
	case sourceEnv:
		return "environment variable " + ks.Env
	}
	return "literal key value"
}

// identity tells sources apart across reloads: the last good key of a source
// is kept when it cannot be read.
func (ks KeySource) identity(workspace string, index int) string {
	if ks.kind() == sourceValue {
		return "value:" + workspace + "#" + strconv.Itoa(index)
	}
	return ks.kind() + ":" + ks.location()
}

// readKey reads a source's key material. Warnings are for the operator
// (permissions, literal keys); errors never contain key material or file
// content.
func readKey(ks KeySource, lookupEnv func(string) (string, bool)) (material string, warnings []string, err error) {
	switch ks.kind() {
	case sourceFile:
		fi, err := os.Stat(ks.File)
		if err != nil {
			return "", nil, fmt.Errorf("reading key file: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return "", nil, fmt.Errorf("reading key file %s: not a regular file", ks.File)
		}
		if perm := fi.Mode().Perm(); perm&0o007 != 0 || (perm&0o070 != 0 && !groupIsOwn(fi)) {
			warnings = append(warnings, fmt.Sprintf("key file %s is readable by group or others (mode %04o); restrict it to the sidecar's user (chmod 600, or defaultMode: 0400 for a Kubernetes Secret)", ks.File, perm))
		}
		b, err := os.ReadFile(ks.File)
		if err != nil {
			return "", warnings, fmt.Errorf("reading key file: %w", err)
		}
		material = string(b)
	case sourceEnv:
		v, ok := lookupEnv(ks.Env)
		if !ok {
			return "", nil, fmt.Errorf("environment variable %s is not set", ks.Env)
		}
		material = v
	default:
		warnings = append(warnings, "a literal key value is in the config file; use a key file or environment variable outside local trials")
		material = ks.Value
	}
	material = strings.TrimSpace(material)
	if material == "" {
		return "", warnings, fmt.Errorf("%s is empty", ks.describe())
	}
	for i := 0; i < len(material); i++ {
		if c := material[i]; c < 0x21 || c > 0x7e {
			return "", warnings, fmt.Errorf("%s holds a character that cannot be sent in an HTTP header (at byte %d)", ks.describe(), i)
		}
	}
	return material, warnings, nil
}

// Fingerprint is how logs, metrics and status show a key: the first 8 hex
// digits of its SHA-256.
func Fingerprint(material string) string {
	return fingerprintOf(sha256.Sum256([]byte(material)))
}

func fingerprintOf(sum [sha256.Size]byte) string {
	return hex.EncodeToString(sum[:4])
}

// key is one loaded API key of a workspace, immutable once built.
type key struct {
	source    KeySource // where it was read from
	header    []string  // the X-API-Key header value, ready to set; never logged
	fp        string    // Fingerprint of the material
	stale     bool      // the source could not be read on the last reload: this is its last good key
	*keyState           // shared by every snapshot holding the same material
}

// keyState is what the sidecar learns about a key material while it runs;
// it survives reloads for as long as the material stays configured.
type keyState struct {
	sum      [sha256.Size]byte // SHA-256 of the material; never shown
	loadedAt time.Time         // first time this material was loaded
	demoted  atomic.Bool       // the upstream answered 401 with it: try it after the others
}

// keyLoad is the outcome of loading every key source of one config.
type keyLoad struct {
	keys       map[string][]*key // workspace name -> usable keys, config order
	bySource   map[string]*key   // KeySource.identity -> its key (for the next reload)
	unreadable map[string]int    // workspace name -> sources that could not be read
	warnings   []string
	errs       []error // sources that could not be read and had no last good key
}

// loadKeys reads every key source of a compiled config. prev is the load of the config
// being replaced (nil at start-up): a source that cannot be read falls back
// to its key in prev, with a warning; one with no key in prev is reported
// in errs and its workspace goes without it. Material already in prev
// keeps its keyState (load time, demotion).
func loadKeys(pl *plan, lookupEnv func(string) (string, bool), prev *keyLoad, now time.Time) *keyLoad {
	states := make(map[[sha256.Size]byte]*keyState)
	if prev != nil {
		for _, k := range prev.bySource {
			states[k.sum] = k.keyState
		}
	}
	out := &keyLoad{
		keys:       make(map[string][]*key, len(pl.workspaces)),
		bySource:   make(map[string]*key),
		unreadable: make(map[string]int),
	}
	for _, ws := range pl.workspaces {
		name := ws.name
		for i, src := range ws.keys {
			field := fmt.Sprintf("workspaces.%s.keys[%d]", name, i)
			id := src.identity(name, i)
			material, warnings, err := readKey(src, lookupEnv)
			for _, w := range warnings {
				out.warnings = append(out.warnings, field+": "+w)
			}
			if err != nil {
				out.unreadable[name]++
			}
			var k *key
			switch {
			case err == nil:
				k = newKey(src, material, states, now)
			case prev != nil && prev.bySource[id] != nil:
				lg := *prev.bySource[id]
				lg.stale = true
				k = &lg
				out.warnings = append(out.warnings, fmt.Sprintf("%s: %v; keeping its last good key %s", field, err, lg.fp))
			default:
				out.errs = append(out.errs, fmt.Errorf("%s: %w", field, err))
				continue
			}
			out.bySource[id] = k
			if !slices.ContainsFunc(out.keys[name], func(o *key) bool { return o.sum == k.sum }) {
				out.keys[name] = append(out.keys[name], k) // the same material twice is tried once
			}
		}
	}
	return out
}

// newKey builds the key for material read from src, sharing the keyState
// of material already known.
func newKey(src KeySource, material string, states map[[sha256.Size]byte]*keyState, now time.Time) *key {
	sum := sha256.Sum256([]byte(material))
	st := states[sum]
	if st == nil {
		st = &keyState{sum: sum, loadedAt: now}
		states[sum] = st
	}
	return &key{
		source:   src,
		header:   []string{material},
		fp:       fingerprintOf(sum),
		keyState: st,
	}
}

// checkSharedKeys reports key material configured for two workspaces: a key
// is bound to one workspace upstream, so one of them would be misrouted.
func checkSharedKeys(keys map[string][]*key) error {
	owner := make(map[[sha256.Size]byte]string)
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		for _, k := range keys[name] {
			if other, ok := owner[k.sum]; ok && other != name {
				errs = append(errs, fmt.Errorf("workspaces %s and %s have the same key (fingerprint %s); each key is bound to one workspace", other, name, k.fp))
				continue
			}
			owner[k.sum] = name
		}
	}
	return errors.Join(errs...)
}

// orderKeys returns the keys to try, in order: keys not demoted first, then
// demoted ones, each group in config order. buf avoids an allocation.
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

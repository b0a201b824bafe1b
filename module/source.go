package restlink

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Kinds of secret source, as shown in logs and status output.
const (
	sourceFile  = "file"
	sourceEnv   = "env"
	sourceValue = "value"
)

// validate checks that exactly one field is set, and a variable's name.
func (s Source) validate() error {
	set := 0
	for _, v := range []string{s.File, s.Env, s.Value} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return errors.New("exactly one of file, env or value must be set")
	}
	if strings.ContainsRune(s.File, 0) {
		return errors.New("file holds a NUL byte, which no path can")
	}
	if s.Env != "" && !isEnvName(s.Env) {
		return fmt.Errorf("env %q is not an environment variable name", s.Env)
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
func (s Source) kind() string {
	switch {
	case s.File != "":
		return sourceFile
	case s.Env != "":
		return sourceEnv
	}
	return sourceValue
}

// location is the file path or variable name; "" for a literal value.
func (s Source) location() string {
	switch s.kind() {
	case sourceFile:
		return s.File
	case sourceEnv:
		return s.Env
	}
	return ""
}

// identity tells sources apart across reloads: the last good secret of a
// source is kept when it cannot be read, and a new value is checked against
// the value it replaces. A file is known by its path, which costs no
// memory of its own; the other kinds start with a NUL byte, which no path
// holds (validate). owner and index place a literal value, which has no
// location: "main" and 0 for a workspace's first key.
func (s Source) identity(owner string, index int) string {
	switch s.kind() {
	case sourceFile:
		return s.File
	case sourceEnv:
		return "\x00env:" + s.Env
	}
	return "\x00value:" + owner + "#" + strconv.Itoa(index)
}

// describe names the source of a secret (what: "key", "signing secret",
// …) for messages, never showing a literal value.
func (s Source) describe(what string) string {
	switch s.kind() {
	case sourceFile:
		return what + " file " + s.File
	case sourceEnv:
		return "environment variable " + s.Env
	}
	return "literal " + what + " value"
}

// maxSecretBytes bounds a secret file: a key, a signing secret or a
// password is a few dozen bytes, and a larger file (a wrong path, a
// sparse file) must cost neither memory nor reload time.
const maxSecretBytes = 4096

// read reads a secret's material: a file, a variable or a literal value,
// surrounding white space trimmed. It must be non-empty and fit in an HTTP
// header. modified is a file's modification time (zero for a variable or
// a value). Warnings are for the operator (permissions, literal values);
// errors never contain the material or file content.
//
// files remembers the files read (nil: none): a file whose stat did not
// change since it was last read, within a minute, is not read again.
func (s Source) read(what string, lookupEnv func(string) (string, bool), files *secretFiles) (material string, modified time.Time, warnings []string, err error) {
	switch s.kind() {
	case sourceFile:
		fi, err := os.Stat(s.File)
		if err != nil {
			return "", time.Time{}, nil, fmt.Errorf("reading %s file: %w", what, err)
		}
		if !fi.Mode().IsRegular() {
			return "", time.Time{}, nil, fmt.Errorf("reading %s file %s: not a regular file", what, s.File)
		}
		if perm := fi.Mode().Perm(); perm&0o007 != 0 || (perm&0o070 != 0 && !groupIsOwn(fi)) {
			warnings = append(warnings, fmt.Sprintf("%s file %s is readable by group or others (mode %04o); restrict it to the sidecar's user (chmod 600, or defaultMode: 0400 for a Kubernetes Secret)", what, s.File, perm))
		}
		if fi.Size() > maxSecretBytes {
			return "", time.Time{}, warnings, fmt.Errorf("%s file %s is %d bytes, more than a %s can be (%d at most); it is not read", what, s.File, fi.Size(), what, maxSecretBytes)
		}
		content, err := files.read(s.File, fi, maxSecretBytes, time.Now())
		if err != nil {
			return "", time.Time{}, warnings, fmt.Errorf("reading %s file: %w", what, err)
		}
		material, modified = content, fi.ModTime()
	case sourceEnv:
		v, ok := lookupEnv(s.Env)
		if !ok {
			return "", time.Time{}, nil, fmt.Errorf("environment variable %s is not set", s.Env)
		}
		material = v
	default:
		warnings = append(warnings, "a literal "+what+" value is in the config file; use a file or environment variable outside local trials")
		material = s.Value
	}
	material = strings.TrimSpace(material)
	if material == "" {
		return "", time.Time{}, warnings, fmt.Errorf("%s is empty", s.describe(what))
	}
	for i := 0; i < len(material); i++ {
		if c := material[i]; c < 0x21 || c > 0x7e {
			return "", time.Time{}, warnings, fmt.Errorf("%s holds a character that cannot be sent in an HTTP header (at byte %d)", s.describe(what), i)
		}
	}
	return material, modified, warnings, nil
}

// servedValue is what a secret source serves: its material and, for an API
// key that signs, the signing secret read with it; next is a new value
// awaiting verification, in the same form ("" if none). It is comparable:
// two loads whose sources serve equal values serve the same secrets.
type servedValue struct {
	material, secret string // never logged
	next             string
	stale            bool // the source could not be read: this is its last good value
}

// sourceLoad is one reading of a config's secret sources of one kind,
// under the rule every secret source follows (API keys with their signing
// secrets, webhook secrets): a value read now serves; a source that cannot
// be read keeps serving its last good value, marked stale, with a warning;
// a source with no last good value serves nothing, and is reported in errs.
// What each source serves is kept by the load of each kind, for the next
// load (keyLoad.bySource, webhookSecretLoad.served).
type sourceLoad struct {
	warnings []string
	errs     []error
}

// read reads one source (field names it in messages, id is its identity,
// what names its kind: "key", "secret") with read, whose warnings and
// error are the operator's; last is what each source served at the
// previous load. ok is false when the source serves nothing; failure is
// why the source could not be read, kept or not.
func (l *sourceLoad) read(field, id, what string, last func(id string) (servedValue, bool), read func() (material, secret string, warnings []string, err error)) (v servedValue, ok bool, failure error) {
	material, secret, warnings, err := read()
	for _, w := range warnings {
		l.warnings = append(l.warnings, field+": "+w)
	}
	if err == nil {
		return servedValue{material: material, secret: secret}, true, nil
	}
	failure = fmt.Errorf("%s: %w", field, err)
	if last, kept := last(id); kept {
		last.stale, last.next = true, ""
		l.warnings = append(l.warnings, fmt.Sprintf("%v; keeping its last good %s %s", failure, what, Fingerprint(last.material)))
		return last, true, failure
	}
	l.errs = append(l.errs, failure)
	return servedValue{}, false, failure
}

// Fingerprint is how logs, metrics and status show a key or a secret: the
// first 8 hex digits of its SHA-256.
func Fingerprint(material string) string {
	return fingerprintOf(sha256.Sum256([]byte(material)))
}

func fingerprintOf(sum [sha256.Size]byte) string {
	return hex.EncodeToString(sum[:4])
}

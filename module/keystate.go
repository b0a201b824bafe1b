package restlink

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"
)

// keyState is what the sidecar learns about a key value (a key and its
// secret together) while it runs; it survives reloads for as long as the
// value stays configured. It holds the value's signing secret, which is
// the same in every key of the value, so that a key need not (key is 64
// bytes, keyState 96: with 10,000 workspaces, each holds one of each). Its
// times are Unix nanoseconds, and its small fields share words. They read
// the wall clock, not the monotonic one: a step of the clock moves a
// key's age, and the next probe of a key with no verdict, by as much.
type keyState struct {
	id     keyID  // names the value; never shown
	secret []byte // the HMAC signing secret; nil: the key does not sign. Never logged
	loaded int64  // first time this value was loaded (see loadedAt)
	// demotion says with which error_code the upstream refused the key
	// while demoted: it is tried after the workspace's other keys until
	// its material changes.
	demotion atomic.Pointer[string]
	// verification is the last verdict of a probe; nil until one came.
	verification atomic.Pointer[verdict]
	demoted      atomic.Bool
	probe        probeState
}

// keyID names a key value: the first 128 bits of the SHA-256 of the key
// and its secret. Among 10,000 values a collision is about as likely as
// guessing one of them.
type keyID [16]byte

// idOf is the keyID of a key and its secret ("" for none); keySum is the
// key's SHA-256.
func idOf(keySum [sha256.Size]byte, material, secret string) keyID {
	if secret != "" {
		keySum = sha256.Sum256([]byte(material + "\x00" + secret))
	}
	return keyID(keySum[:16])
}

// loadedAt is the first time this value was loaded.
func (st *keyState) loadedAt() time.Time { return unixNanoTime(st.loaded) }

// unixNanoTime is the time of Unix nanoseconds ns; the zero time for 0.
func unixNanoTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// demote marks the key refused for reason (an upstream error_code); it
// reports whether it was not already demoted.
func (k *key) demote(reason string) bool {
	k.demotion.Store(&reason)
	return !k.demoted.Swap(true)
}

// demotionReason is why the key was demoted; "" if it is not.
func (k *key) demotionReason() string {
	if r := k.demotion.Load(); r != nil && k.demoted.Load() {
		return *r
	}
	return ""
}

// Verdicts of a probe.
const (
	verdictValid        = "valid"        // 2xx, or 403 FORBIDDEN: the key authenticated
	verdictInvalid      = "invalid"      // a 401 naming the key
	verdictInconclusive = "inconclusive" // anything else: retried
)

// verdicts lists them in the order of verificationStats.
var verdicts = [...]string{verdictValid, verdictInvalid, verdictInconclusive}

// verdict is what a probe found about a key value: 48 bytes, kept for
// each of 10,000 keys once they are verified.
type verdict struct {
	result string // verdictValid, verdictInvalid or verdictInconclusive
	reason string // what the upstream answered, e.g. "401 INVALID_API_KEY"; never key material
	at     int64  // when, in Unix nanoseconds
	// fleet: taken from the verdict another sidecar of the fleet shares
	// (keyverdicts.go), not from a probe of this one; reason says which.
	fleet bool
}

func (st *keyState) isValid() bool {
	v := st.verification.Load()
	return v != nil && v.result == verdictValid
}

func (st *keyState) isInvalid() bool {
	v := st.verification.Load()
	return v != nil && v.result == verdictInvalid
}

// probeState keeps a key to one probe at a time, and spaces its retries.
type probeState struct {
	running  atomic.Bool
	mu       sync.Mutex
	attempts int32 // inconclusive probes so far
	next     int64 // no probe before, in Unix nanoseconds; 0: none made
}

// needsProbe reports whether k has no verdict yet, or only an
// inconclusive one, and is due for a probe at now.
func (k *key) needsProbe(now time.Time) bool {
	if v := k.verification.Load(); v != nil && v.result != verdictInconclusive {
		return false
	}
	k.probe.mu.Lock()
	defer k.probe.mu.Unlock()
	return now.UnixNano() >= k.probe.next
}

// backoff spaces the probes of a key that got no verdict: 1 s, 2 s, 4 s …
// up to a minute.
func (k *key) backoff(now time.Time) {
	k.probe.mu.Lock()
	defer k.probe.mu.Unlock()
	k.probe.attempts++
	k.probe.next = now.Add(min(time.Second<<min(k.probe.attempts-1, 6), time.Minute)).UnixNano()
}

func (k *key) nextProbe() time.Time {
	k.probe.mu.Lock()
	defer k.probe.mu.Unlock()
	return unixNanoTime(k.probe.next)
}

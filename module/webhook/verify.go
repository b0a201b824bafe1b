package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// The headers restlink signs its webhooks with.
const (
	// TimestampHeader carries the Unix second the webhook was signed at.
	TimestampHeader = "X-Webhook-Timestamp"
	// SignatureHeader carries "sha256=" and the lowercase hex HMAC.
	SignatureHeader = "X-Webhook-Signature"
)

// DefaultMaxSkew is how far a webhook's timestamp may be from the
// receiver's clock when Verify is given no maximum: restlink suggests
// rejecting timestamps older than 5 minutes.
const DefaultMaxSkew = 5 * time.Minute

// Errors returned by Verify. None of them carries a secret, the expected
// signature or the body: they are safe to log.
var (
	// ErrNoSecret means no signing secret is configured for the
	// workspace. Verify fails closed: an unsigned webhook is never
	// accepted.
	ErrNoSecret = errors.New("verifying webhook: no signing secret configured")
	// ErrMissingSignature means the timestamp or signature header is
	// absent or empty; restlink omits both when the workspace has no
	// signing secret set on its side.
	ErrMissingSignature = errors.New("verifying webhook: missing signature or timestamp header")
	// ErrBadSignature means the signature is malformed or matches none
	// of the secrets.
	ErrBadSignature = errors.New("verifying webhook: signature does not match")
	// ErrStaleTimestamp means the timestamp is not a decimal Unix second
	// within the allowed skew of the receiver's clock.
	ErrStaleTimestamp = errors.New("verifying webhook: timestamp outside the allowed window")
)

const signaturePrefix = "sha256="

// Verify checks a webhook's signature: signature must be
//
//	"sha256=" + lowercase hex(HMAC-SHA256(secret, timestamp + "." + body))
//
// for any one of secrets (several secrets allow a rotation: the old and
// the new one are both accepted while restlink switches over), and
// timestamp must be decimal Unix seconds within maxSkew of now, in either
// direction (maxSkew <= 0 means DefaultMaxSkew). body must be the raw
// request body, before any parsing.
//
// The comparison is constant time. Cheap checks (headers present,
// timestamp in the window, signature well formed) come first, so a
// flood of stale or malformed requests costs no HMAC. Empty secrets are
// ignored; with no usable secret, Verify returns ErrNoSecret.
func Verify(secrets [][]byte, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) error {
	if !hasSecret(secrets) {
		return ErrNoSecret
	}
	if timestamp == "" || signature == "" {
		return ErrMissingSignature
	}
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	if !timestampWithin(timestamp, now, maxSkew) {
		return ErrStaleTimestamp
	}
	var given [sha256.Size]byte
	if !decodeSignature(signature, &given) {
		return ErrBadSignature
	}
	prefix := append([]byte(timestamp), '.')
	var sum [sha256.Size]byte
	for _, secret := range secrets {
		if len(secret) == 0 {
			continue
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write(prefix)
		mac.Write(body)
		if hmac.Equal(mac.Sum(sum[:0]), given[:]) {
			return nil
		}
	}
	return ErrBadSignature
}

func hasSecret(secrets [][]byte) bool {
	for _, s := range secrets {
		if len(s) > 0 {
			return true
		}
	}
	return false
}

// timestampWithin accepts only plain decimal digits (no sign, no spaces)
// within skew of now.
func timestampWithin(timestamp string, now time.Time, skew time.Duration) bool {
	if len(timestamp) > 12 {
		return false // far beyond any plausible date; also avoids overflow below
	}
	for i := 0; i < len(timestamp); i++ {
		if timestamp[i] < '0' || timestamp[i] > '9' {
			return false
		}
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	diff := now.Sub(time.Unix(sec, 0))
	return diff <= skew && diff >= -skew
}

// decodeSignature parses "sha256=" followed by exactly 64 lowercase hex
// digits into dst.
func decodeSignature(signature string, dst *[sha256.Size]byte) bool {
	if len(signature) != len(signaturePrefix)+2*sha256.Size || signature[:len(signaturePrefix)] != signaturePrefix {
		return false
	}
	hexPart := signature[len(signaturePrefix):]
	for i := 0; i < len(hexPart); i++ {
		if c := hexPart[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	_, err := hex.Decode(dst[:], []byte(hexPart))
	return err == nil
}

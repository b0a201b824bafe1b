package restlink

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/23telecom/restlink-sidecar/module/store"
)

// The headers of a signed request.
const (
	headerTimestamp = "X-Timestamp"
	headerSignature = "X-Signature"
)

// restlink accepts a signed request whose timestamp is within 5 minutes of
// its clock, and each (timestamp, signature) pair once. Two identical
// requests (same key, method, path and body) in the same second would carry
// the same pair, so the later one takes the next second not yet used, up to
// signAhead ahead: a minute short of the window, for the clocks' skew.
//
// A claimed second need not be remembered once it has passed: the next
// identical request takes a later second anyway. It is kept signClaimTTL
// past its second, for a clock that could still read it: this sidecar's
// after a small step back, or a fleet member's that lags. So at 1,000
// distinct signed sends a second, about 6,000 claims are held, not the
// 600,000 of a whole replay window.
const (
	signAhead    = 4 * time.Minute
	signClaimTTL = 5 * time.Second
)

// errReplayWindowFull: more identical signed requests than restlink's
// window has seconds for.
var errReplayWindowFull = errors.New("every second of the signing window is taken by an identical request")

// signRequest signs one attempt of a request with k: the timestamp is the
// current Unix second, or the next one no identical request of this key
// has used (claimed in st, which a fleet shares), and the signature is
// lowercase hex HMAC-SHA256(secret, METHOD|path|timestamp|body), over the
// exact path and body sent.
func signRequest(ctx context.Context, st store.Store, k *key, method, path string, body []byte, now time.Time) (timestamp, signature string, err error) {
	digest := sha256.New()
	digest.Write([]byte(method + "|" + path + "|"))
	digest.Write(body)
	var content [sha256.Size]byte
	claim := "sig:" + hex.EncodeToString(k.id[:16]) + ":" + hex.EncodeToString(digest.Sum(content[:0])[:16])
	second, ok, err := st.ClaimSecond(ctx, claim, now, signAhead, signClaimTTL)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", errReplayWindowFull
	}
	timestamp = strconv.FormatInt(second, 10)
	mac := hmac.New(sha256.New, k.secret)
	mac.Write([]byte(method + "|" + path + "|" + timestamp + "|"))
	mac.Write(body)
	return timestamp, hex.EncodeToString(mac.Sum(nil)), nil
}

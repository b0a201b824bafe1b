package restlink

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/fieldhash"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// Verdicts shared by a fleet: a key value that one sidecar verified is not
// probed again by the others, so that N sidecars sharing a store cost one
// probe per key value against the account's rate limit, not N. The
// sidecar that claims a value's marker in the store probes it, and
// confirms the marker if the value proved valid; the others take that
// verdict from the marker. Only valid verdicts are shared: an invalid or
// inconclusive one releases the marker, and each sidecar finds those
// itself. Only a store a fleet shares (Redis) holds markers: a sidecar
// alone has nobody to share with, and keeps none (snapshot.fleet).
//
// The marker is named by a full HMAC-SHA256 over everything the verdict
// depends on (the upstream, the probe, the key and its secret), never by
// the key's 8-hex-digit fingerprint: 32 bits collide by the birthday bound
// (about 1% at 10,000 keys, even odds at 77,000), and a value would then
// pass as verified because another one was. The HMAC is treated as the key
// itself, since it confirms a guess of the key: it is never logged or
// shown; the store holds it only as a marker's name.

const (
	// verdictMarkerPrefix starts the name of a verdict marker in the
	// store (restlink:{m:keyverdict:…} in Redis with the default prefix).
	verdictMarkerPrefix = "keyverdict:"
	// sharedVerdictTTL is how long a valid verdict is shared: a sidecar
	// that loads the same value within the hour takes it without a
	// probe; later it probes again. An hour covers a rolling restart or
	// a key rotation across a fleet. A sidecar whose request restlink
	// refuses with the value's key withdraws the verdict at once (see
	// withdrawVerdict); the hour bounds how long a revoked value can pass
	// as verified when no sidecar has sent with it since.
	sharedVerdictTTL = time.Hour
	// verdictClaimSlack is added to the probe's time (twice the probe
	// timeout: a signed probe refused with INVALID_SIGNATURE is made
	// twice) for the claim's pending lifetime: the wait for the pacing
	// slot, signing, the store's round trips. A claim left by a sidecar
	// that stopped mid-probe lapses after it, and another sidecar probes.
	verdictClaimSlack = 10 * time.Second
	// verdictStoreTimeout bounds each store call of a shared verdict.
	verdictStoreTimeout = 5 * time.Second
)

// verdictMarkerDomain is the HMAC key of verdict markers: a constant that
// separates their hashes from every other hash of a key in the sidecar.
var verdictMarkerDomain = []byte("restlink-sidecar/key-verdict/v1")

// Reasons of the verdicts a sidecar takes from its fleet instead of a
// probe.
const (
	reasonVerifiedByFleet = "verified by another sidecar of the fleet"
	reasonFleetVerifying  = "another sidecar is verifying this value"
)

// verdictMarker names the shared verdict of k probed with rp against the
// upstream origin up: the prefix and the lowercase hex of an HMAC-SHA256
// over each of them, length-prefixed. Never log it.
func verdictMarker(up origin, rp rotationPlan, k *key) string {
	mac := hmac.New(sha256.New, verdictMarkerDomain)
	fieldhash.Write(mac, up.String(), http.MethodGet, rp.probePath, rp.probeQuery, k.header[0], string(k.secret))
	return verdictMarkerPrefix + hex.EncodeToString(mac.Sum(nil))
}

// claimVerdict claims the shared verdict named marker before a probe with
// rp. It returns the verdict to take instead of probing (nil: probe), and
// whether this sidecar holds the claim (then settleVerdict must follow the
// probe). A store error means probe, as without a fleet.
func claimVerdict(st store.Markers, marker string, rp rotationPlan) (v *verdict, claimed bool) {
	ctx, cancel := context.WithTimeout(context.Background(), verdictStoreTimeout)
	defer cancel()
	state, err := st.ClaimMarker(ctx, marker, 2*rp.timeout+verdictClaimSlack)
	switch {
	case err != nil:
		return nil, false
	case state == store.MarkerDone:
		return &verdict{result: verdictValid, reason: reasonVerifiedByFleet, at: time.Now().UnixNano(), fleet: true}, false
	case state == store.MarkerPending:
		return &verdict{result: verdictInconclusive, reason: reasonFleetVerifying, at: time.Now().UnixNano(), fleet: true}, false
	}
	return nil, true
}

// withdrawVerdict ends the shared verdict named marker: the upstream
// refused the value it says is valid (revoked since), and a sidecar that
// loads the value now must probe it. The marker is confirmed for a
// millisecond, which replaces what it held; a store error leaves the
// verdict to its TTL.
func withdrawVerdict(st store.Markers, marker string) {
	ctx, cancel := context.WithTimeout(context.Background(), verdictStoreTimeout)
	defer cancel()
	_ = st.ConfirmMarker(ctx, marker, time.Millisecond)
}

// settleVerdict shares a claimed verdict: a valid one for sharedVerdictTTL;
// any other releases the claim, so that another sidecar may probe. A store
// error loses only the sharing: the others probe themselves.
func settleVerdict(st store.Markers, marker string, v verdict) {
	ctx, cancel := context.WithTimeout(context.Background(), verdictStoreTimeout)
	defer cancel()
	if v.result == verdictValid {
		_ = st.ConfirmMarker(ctx, marker, sharedVerdictTTL)
		return
	}
	_ = st.ReleaseMarker(ctx, marker)
}

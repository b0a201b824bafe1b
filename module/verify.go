package restlink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// rotationPlan is the compiled rotation section.
type rotationPlan struct {
	verify     bool
	probePath  string // canonical path of the GET probe
	probeQuery string // its query, sent as written and not signed
	timeout    time.Duration
}

// compileRotation checks the rotation section.
func compileRotation(c RotationConfig, p *problems) rotationPlan {
	rp := rotationPlan{verify: c.Verify, timeout: c.ProbeTimeout}
	method, target, ok := strings.Cut(strings.TrimSpace(c.Probe), " ")
	path, query, _ := strings.Cut(strings.TrimSpace(target), "?")
	canon, reason := canonicalPath(path)
	if reason == "" {
		reason = checkQuery(query)
	}
	switch {
	case !ok || method != http.MethodGet:
		p.add("rotation.probe", "must be \"GET <path>\": a probe is a read-only request")
	case reason != "":
		p.add("rotation.probe", "%s", reason)
	default:
		rp.probePath, rp.probeQuery = canon, query
	}
	if c.ProbeTimeout <= 0 {
		p.add("rotation.probe_timeout", "must be positive")
	}
	return rp
}

// probeKey asks the upstream, with the rotation probe, whether k is valid.
// The probe is signed like any request if the key has a secret: over its
// path, without the query, as restlink checks it. It never goes through
// the workspace's breaker.
//
// restlink answers a replayed (timestamp, signature) pair as it answers a
// wrong signature, and an identical probe signed by another process in the
// same second (another sidecar without a shared store, or the keys verify
// command next to a running sidecar) is such a replay. So a signed probe
// refused with INVALID_SIGNATURE is made once more, in another second,
// before the key is found invalid.
func probeKey(ctx context.Context, up *upstream, rp rotationPlan, k *key, sign func(ctx context.Context, k *key, method, path string) (ts, sig string, err error)) verdict {
	v := probeOnce(ctx, up, rp, k, sign)
	if v.result == verdictInvalid && k.secret != nil && strings.HasSuffix(v.reason, " INVALID_SIGNATURE") {
		v = probeOnce(ctx, up, rp, k, sign)
	}
	return v
}

// probeOnce makes one probe.
func probeOnce(ctx context.Context, up *upstream, rp rotationPlan, k *key, sign func(ctx context.Context, k *key, method, path string) (ts, sig string, err error)) verdict {
	ctx, cancel := context.WithTimeout(ctx, rp.timeout)
	defer cancel()
	out := outbound{method: http.MethodGet, path: rp.probePath, query: rp.probeQuery, header: http.Header{"User-Agent": noUserAgent}}
	if k.secret != nil {
		ts, sig, err := sign(ctx, k, out.method, out.path)
		if err != nil {
			return verdict{result: verdictInconclusive, reason: "signing the probe: " + err.Error(), at: time.Now().UnixNano()}
		}
		out.header[headerTimestamp], out.header[headerSignature] = []string{ts}, []string{sig}
	}
	resp, err := out.send(ctx, up, k)
	if err != nil {
		return verdict{result: verdictInconclusive, reason: "no answer: " + describeTransportError(err), at: time.Now().UnixNano()}
	}
	code := readErrorCode(resp)
	drain(resp)
	v := verdict{result: verdictInconclusive, reason: statusText(resp.StatusCode), at: time.Now().UnixNano()}
	if code != "" {
		v.reason += " " + code
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299, resp.StatusCode == http.StatusForbidden && code == "FORBIDDEN":
		v.result = verdictValid
	case resp.StatusCode == http.StatusUnauthorized && condemnsKey(code):
		v.result = verdictInvalid
	}
	return v
}

// statusText is a status code in decimal, with no allocation for 200, the
// answer of nearly every probe: each verdict keeps its text.
func statusText(code int) string {
	if code == http.StatusOK {
		return "200"
	}
	return strconv.Itoa(code)
}

// describeTransportError names a transport failure without the URL, which
// holds nothing secret but makes the message long.
func describeTransportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}

// diagnose explains an invalid verdict: a signature refused after only one
// side of a key pair changed is a mismatched pair, not a revoked key.
func diagnose(k *key, v verdict) string {
	code := strings.TrimPrefix(v.reason, "401 ")
	switch {
	case misconfigured(code) && k.candidate && k.replaced != sideBoth:
		return fmt.Sprintf("mismatched pair: only the %s changed, and the upstream refused the signature; a key and its secret must rotate together", k.replaced)
	case code == "SIGNATURE_REQUIRED":
		return "the key requires HMAC signing: give it its secret (keys[].secret)"
	case code == "INVALID_SIGNATURE":
		return "the upstream refused the signature: the secret does not belong to this key"
	}
	return "the upstream refused the key (" + code + "): revoked, disabled, expired or mistyped"
}

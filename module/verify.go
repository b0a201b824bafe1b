package restlink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// rotationPlan is the compiled rotation section.
type rotationPlan struct {
	verify    bool
	probePath string // canonical path of the GET probe
	timeout   time.Duration
}

// compileRotation checks the rotation section.
func compileRotation(c RotationConfig, p *problems) rotationPlan {
	rp := rotationPlan{verify: c.Verify, timeout: c.ProbeTimeout}
	method, path, ok := strings.Cut(strings.TrimSpace(c.Probe), " ")
	switch canon, reason := canonicalPath(strings.TrimSpace(path)); {
	case !ok || method != http.MethodGet:
		p.add("rotation.probe", "must be \"GET <path>\": a probe is a read-only request")
	case reason != "":
		p.add("rotation.probe", "%s", reason)
	default:
		rp.probePath = canon
	}
	if c.ProbeTimeout <= 0 {
		p.add("rotation.probe_timeout", "must be positive")
	}
	return rp
}

// Verdicts of a probe.
const (
	verdictValid        = "valid"        // 2xx, or 403 FORBIDDEN: the key authenticated
	verdictInvalid      = "invalid"      // a 401 naming the key
	verdictInconclusive = "inconclusive" // anything else: retried
)

// verdicts lists them in the order of workspaceStats.verifications.
var verdicts = [...]string{verdictValid, verdictInvalid, verdictInconclusive}

// verdict is what a probe found about a key value.
type verdict struct {
	result string    // verdictValid, verdictInvalid or verdictInconclusive
	reason string    // what the upstream answered, e.g. "401 INVALID_API_KEY"; never key material
	at     time.Time // when
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
	attempts int       // inconclusive probes so far
	next     time.Time // no probe before
}

// needsProbe reports whether k has no verdict yet, or only an
// inconclusive one, and is due for a probe at now.
func (k *key) needsProbe(now time.Time) bool {
	if v := k.verification.Load(); v != nil && v.result != verdictInconclusive {
		return false
	}
	k.probe.mu.Lock()
	defer k.probe.mu.Unlock()
	return !now.Before(k.probe.next)
}

// backoff spaces the probes of a key that got no verdict: 1 s, 2 s, 4 s …
// up to a minute.
func (k *key) backoff(now time.Time) {
	k.probe.mu.Lock()
	defer k.probe.mu.Unlock()
	k.probe.attempts++
	k.probe.next = now.Add(min(time.Second<<min(k.probe.attempts-1, 6), time.Minute))
}

// probeKey asks the upstream, with the rotation probe, whether k is valid.
// The probe is signed like any request if the key has a secret. It never
// goes through the workspace's breaker.
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
	out := outbound{method: http.MethodGet, path: rp.probePath, header: http.Header{"User-Agent": noUserAgent}}
	if k.secret != nil {
		ts, sig, err := sign(ctx, k, out.method, out.path)
		if err != nil {
			return verdict{result: verdictInconclusive, reason: "signing the probe: " + err.Error(), at: time.Now()}
		}
		out.header[headerTimestamp], out.header[headerSignature] = []string{ts}, []string{sig}
	}
	resp, err := out.send(ctx, up, k)
	if err != nil {
		return verdict{result: verdictInconclusive, reason: "no answer: " + describeTransportError(err), at: time.Now()}
	}
	code := readErrorCode(resp)
	drain(resp)
	v := verdict{result: verdictInconclusive, reason: strconv.Itoa(resp.StatusCode), at: time.Now()}
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

// proberSpacing is the least time between two probes: at most ten a second
// reach restlink, however often key files change.
const proberSpacing = 100 * time.Millisecond

// prober verifies key values in the background, one probe at a time:
// new values (candidates) first, then values in use that were never
// verified. A valid candidate is promoted by a reload; an invalid one is
// logged and never used; an invalid value in use is demoted as if the
// upstream had refused it.
type prober struct {
	lc   *liveConfig
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

func newProber(lc *liveConfig) *prober {
	p := &prober{lc: lc, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

// kick asks for a pass over the keys (after a reload).
func (p *prober) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// close stops probing and waits for a probe in flight.
func (p *prober) close() {
	close(p.stop)
	<-p.done
}

func (p *prober) run() {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-p.wake:
		case <-timer.C:
		}
		retry := p.pass()
		if !retry.IsZero() {
			timer.Reset(max(time.Until(retry), proberSpacing))
		}
	}
}

// pass probes every key that is due, candidates first, and returns when
// the next retry is due (zero: none pending).
func (p *prober) pass() (nextRetry time.Time) {
	snap := p.lc.current.Load()
	if !snap.rotation.verify {
		return time.Time{}
	}
	var candidates, inUse []*workspaceKey
	for _, ws := range snap.workspaces {
		for _, k := range ws.keys {
			if k.candidate {
				candidates = append(candidates, &workspaceKey{ws, k})
			} else {
				inUse = append(inUse, &workspaceKey{ws, k})
			}
		}
	}
	promoted := false
	for _, wk := range append(candidates, inUse...) {
		now := time.Now()
		if !wk.key.needsProbe(now) || wk.key.probe.running.Swap(true) {
			if v := wk.key.verification.Load(); v == nil || v.result == verdictInconclusive {
				nextRetry = earliest(nextRetry, wk.key.nextProbe())
			}
			continue
		}
		promoted = p.probe(snap, wk) || promoted
		wk.key.probe.running.Store(false)
		if v := wk.key.verification.Load(); v != nil && v.result == verdictInconclusive {
			nextRetry = earliest(nextRetry, wk.key.nextProbe())
		}
		select {
		case <-p.stop:
			return time.Time{}
		case <-time.After(proberSpacing):
		}
	}
	if promoted {
		_ = p.lc.reload(caddy.Context{}, false)
	}
	return nextRetry
}

// workspaceKey is a key and its workspace.
type workspaceKey struct {
	ws  *workspace
	key *key
}

func (k *key) nextProbe() time.Time {
	k.probe.mu.Lock()
	defer k.probe.mu.Unlock()
	return k.probe.next
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// probe verifies one key and acts on the verdict; it reports whether a
// candidate proved valid (and must be promoted).
func (p *prober) probe(snap *snapshot, wk *workspaceKey) bool {
	ws, k := wk.ws, wk.key
	v := probeKey(context.Background(), snap.upstream, snap.rotation, k, p.lc.signProbe)
	k.verification.Store(&v)
	ws.stats.countVerification(v.result)
	log := p.lc.logger.Load()
	fields := []zap.Field{zap.String("workspace", ws.name), zap.String("key", k.fp), zap.String("verdict", v.result), zap.String("upstream_answer", v.reason)}
	if k.secretFP != "" {
		fields = append(fields, zap.String("secret", k.secretFP))
	}
	switch {
	case v.result == verdictValid && k.candidate:
		log.Info("new key value verified; it replaces the value in use", append(fields, zap.String("replaced", k.replaced))...)
		return true
	case v.result == verdictValid:
		log.Info("key verified", fields...)
	case v.result == verdictInvalid && k.candidate:
		log.Error("new key value is invalid; the value in use keeps serving", append(fields, zap.String("diagnosis", diagnose(k, v)))...)
	case v.result == verdictInvalid:
		reason := strings.TrimPrefix(v.reason, "401 ")
		if k.demote(reason) {
			ws.stats.countDemotion(reason)
		}
		log.Error("key is invalid; it is tried after the workspace's other keys until its material changes", append(fields, zap.String("diagnosis", diagnose(k, v)))...)
	default:
		k.backoff(time.Now())
		log.Warn("key verification inconclusive; retrying with backoff", fields...)
	}
	return false
}

// diagnose explains an invalid verdict: a signature refused after only one
// side of a key pair changed is a mismatched pair, not a revoked key.
func diagnose(k *key, v verdict) string {
	code := strings.TrimPrefix(v.reason, "401 ")
	switch {
	case misconfigured(code) && k.candidate && k.replaced != "key and secret":
		return fmt.Sprintf("mismatched pair: only the %s changed, and the upstream refused the signature; a key and its secret must rotate together", k.replaced)
	case code == "SIGNATURE_REQUIRED":
		return "the key requires HMAC signing: give it its secret (keys[].secret)"
	case code == "INVALID_SIGNATURE":
		return "the upstream refused the signature: the secret does not belong to this key"
	}
	return "the upstream refused the key (" + code + "): revoked, disabled, expired or mistyped"
}

// signProbe signs a probe as requests are signed.
func (lc *liveConfig) signProbe(ctx context.Context, k *key, method, path string) (string, string, error) {
	return signRequest(ctx, lc.current.Load().store, k, method, path, nil, time.Now())
}

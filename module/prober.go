package restlink

import (
	"context"
	"strings"
	"time"

	"go.uber.org/zap"
)

// proberSpacing is the least time between two probes: at most ten a second
// reach restlink, however often key files change.
const proberSpacing = 100 * time.Millisecond

// prober verifies key values in the background, one probe at a time:
// new values (candidates) first, then values in use that were never
// verified. A valid candidate is promoted by a reload; an invalid one is
// logged and never used; an invalid value in use is demoted as if the
// upstream had refused it.
type prober struct {
	current func() *snapshot   // the snapshot serving now
	promote func()             // reloads, to promote candidates found valid
	logger  func() *zap.Logger // the live config's logger
	*passes
}

// newProber starts a prober over the snapshots current returns; it calls
// promote when a candidate proved valid.
func newProber(current func() *snapshot, promote func(), logger func() *zap.Logger) *prober {
	p := &prober{current: current, promote: promote, logger: logger}
	p.passes = startPasses(p.pass)
	return p
}

// pass probes every key that is due, candidates first, and returns when
// the next retry is due (zero: none pending). It stops early once stop
// is closed.
func (p *prober) pass(stop <-chan struct{}) (nextRetry time.Time) {
	snap := p.current()
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
		case <-stop:
			return time.Time{}
		case <-time.After(proberSpacing):
		}
	}
	if promoted {
		p.promote()
	}
	return nextRetry
}

// workspaceKey is a key and its workspace.
type workspaceKey struct {
	ws  *workspace
	key *key
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// probe verifies one key and acts on the verdict; it reports whether a
// candidate proved valid (and must be promoted). A value another sidecar
// of the fleet verified is not probed: its shared verdict is taken (see
// keyverdicts.go).
func (p *prober) probe(snap *snapshot, wk *workspaceKey) bool {
	ws, k := wk.ws, wk.key
	var marker string
	var shared *verdict
	var claimed bool
	if snap.fleet != nil {
		marker = verdictMarker(snap.upstream.origin, snap.rotation, k)
		shared, claimed = claimVerdict(snap.fleet, marker, snap.rotation)
	}
	var v verdict
	switch {
	case shared != nil:
		v = *shared
	case awaitBackgroundSlot(context.Background(), snap.store, snap.pacing) != nil:
		v = verdict{result: verdictInconclusive, reason: "the store of the account's pacing bucket could not be reached", at: time.Now().UnixNano()}
	default:
		v = probeKey(context.Background(), snap.upstream, snap.rotation, k, p.sign)
	}
	if claimed {
		settleVerdict(snap.fleet, marker, v)
	}
	k.verification.Store(&v)
	ws.verified.get(newVerificationStats).count(v.result)
	log := p.logger()
	fields := []zap.Field{zap.String("workspace", ws.name), zap.String("key", k.fp), zap.String("verdict", v.result)}
	if v.fleet {
		fields = append(fields, zap.String("fleet", v.reason))
	} else {
		fields = append(fields, zap.String("upstream_answer", v.reason))
	}
	if fp := k.secretFingerprint(); fp != "" {
		fields = append(fields, zap.String("secret", fp))
	}
	switch {
	case v.result == verdictValid && k.candidate:
		log.Info("new key value verified; it replaces the value in use", append(fields, zap.Stringer("replaced", k.replaced))...)
		return true
	case v.result == verdictValid:
		log.Info("key verified", fields...)
	case v.result == verdictInvalid && k.candidate:
		log.Error("new key value is invalid; the value in use keeps serving", append(fields, zap.String("diagnosis", diagnose(k, v)))...)
	case v.result == verdictInvalid:
		reason := strings.TrimPrefix(v.reason, "401 ")
		if k.demote(reason) {
			ws.counters().countDemotion(reason)
		}
		log.Error("key is invalid; it is tried after the workspace's other keys until its material changes", append(fields, zap.String("diagnosis", diagnose(k, v)))...)
	case v.fleet:
		k.backoff(time.Now())
		log.Info("another sidecar of the fleet is verifying this key value; taking its verdict after a backoff", fields...)
	default:
		k.backoff(time.Now())
		log.Warn("key verification inconclusive; retrying with backoff", fields...)
	}
	return false
}

// sign signs a probe as requests are signed, claiming its second in the
// store serving now.
func (p *prober) sign(ctx context.Context, k *key, method, path string) (string, string, error) {
	return signRequest(ctx, p.current().store, k, method, path, nil, time.Now())
}

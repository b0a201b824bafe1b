package restlink

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// TestKeyVerdictSharedByFleet: two sidecars (two probers, each with its
// own snapshot and key state) sharing one store probe a valid key value
// once: the second takes the first one's verdict without a request to
// restlink. A value another sidecar is probing right now is not probed
// either, and an invalid value is not shared: each sidecar probes it.
func TestKeyVerdictSharedByFleet(t *testing.T) {
	const good, bad = "sk_prod_FLEETverdictFLEETv01", "sk_prod_FLEETrevokedFLEETr02"
	fake := restlinktest.NewServer(restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{good}})
	defer fake.Close()
	shared := store.NewMemory(store.MemoryOptions{})
	defer shared.Close()
	// sidecar is one sidecar of the fleet verifying material once.
	sidecar := func(material string) *key { return sidecarProbe(t, fake.URL, shared, shared, material) }
	probes := func() int {
		n := 0
		for _, r := range fake.Requests() {
			if r.Path == "/api/v1/user/balance" {
				n++
			}
		}
		return n
	}

	if k := sidecar(good); !k.isValid() || probes() != 1 {
		t.Fatalf("the first sidecar: verdict %+v after %d probes; want valid after 1", k.verification.Load(), probes())
	}
	second := sidecar(good)
	if v := second.verification.Load(); v == nil || v.result != verdictValid || v.reason != reasonVerifiedByFleet || !v.fleet {
		t.Errorf("the second sidecar's verdict: %+v; want valid, %q", v, reasonVerifiedByFleet)
	}
	if n := probes(); n != 1 {
		t.Errorf("restlink received %d probes of one value from two sidecars sharing a store; want 1", n)
	}

	// Another sidecar holds the claim of a new value: this one waits for
	// its verdict, with a backoff, and does not probe.
	other := &key{header: [1]string{good + "x"}, keyState: new(keyState)}
	if _, err := shared.ClaimMarker(t.Context(), verdictMarker(fakeOrigin(t, fake.URL), probeRotation, other), time.Minute); err != nil {
		t.Fatal(err)
	}
	waiting := sidecar(good + "x")
	if v := waiting.verification.Load(); v == nil || v.result != verdictInconclusive || v.reason != reasonFleetVerifying || probes() != 1 {
		t.Errorf("a value another sidecar is verifying: %+v after %d probes; want inconclusive, %q, and no probe", v, probes(), reasonFleetVerifying)
	}
	if !waiting.nextProbe().After(time.Now()) {
		t.Error("a value another sidecar is verifying is retried without a backoff")
	}

	// An invalid verdict is not shared.
	for i := range 2 {
		if k := sidecar(bad); !k.isInvalid() {
			t.Errorf("sidecar %d: the revoked value's verdict %+v", i, k.verification.Load())
		}
	}
	if n := probes(); n != 3 {
		t.Errorf("two sidecars found a value invalid after %d probes in all; want 1 + 2", n)
	}
}

// probeRotation is the rotation plan of sidecarProbe.
var probeRotation = rotationPlan{verify: true, probePath: "/api/v1/user/balance", timeout: 5 * time.Second}

// sidecarProbe is one sidecar verifying material once against the fake
// restlink at fakeURL, with a snapshot and key state of its own, over st;
// fleet is the store its fleet shares (nil: none).
func sidecarProbe(t *testing.T, fakeURL string, st store.Store, fleet store.Markers, material string) *key {
	t.Helper()
	k := &key{header: [1]string{material}, fp: "fp", keyState: new(keyState)}
	ws := &workspace{workspacePlan: &workspacePlan{name: "main", id: 16, main: true}, keys: []*key{k}, stats: new(lazy[workspaceStats]), verified: new(lazy[verificationStats])}
	snap := &snapshot{
		plan:       &plan{rotation: probeRotation},
		upstream:   &upstream{origin: fakeOrigin(t, fakeURL), transport: &http.Transport{}},
		store:      st,
		fleet:      fleet,
		workspaces: []*workspace{ws},
	}
	p := &prober{current: func() *snapshot { return snap }, logger: zap.NewNop}
	p.probe(snap, &workspaceKey{ws, k})
	return k
}

// fakeOrigin is the origin of the fake restlink at fakeURL.
func fakeOrigin(t *testing.T, fakeURL string) origin {
	t.Helper()
	u, err := url.Parse(fakeURL)
	if err != nil {
		t.Fatal(err)
	}
	return origin{scheme: "http", host: u.Host}
}

// TestSidecarAloneKeepsNoVerdictMarkers: a sidecar whose store no fleet
// shares probes a key without a marker in its memory store, where 10,000
// verified keys' markers took 2 MB for an hour.
func TestSidecarAloneKeepsNoVerdictMarkers(t *testing.T) {
	const good = "sk_prod_ALONEverdictALONEv01"
	fake := restlinktest.NewServer(restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{good}})
	defer fake.Close()
	memory := store.NewMemory(store.MemoryOptions{})
	defer memory.Close()
	k := sidecarProbe(t, fake.URL, memory, nil, good)
	if !k.isValid() {
		t.Fatalf("verdict %+v; want valid", k.verification.Load())
	}
	state, err := memory.ClaimMarker(t.Context(), verdictMarker(fakeOrigin(t, fake.URL), probeRotation, k), time.Minute)
	if err != nil || state != store.MarkerNew {
		t.Errorf("a sidecar alone left its verdict's marker in its store (state %v, %v)", state, err)
	}
}

// TestVerdictMarker: the marker names the verdict by everything it depends
// on, with the full HMAC, and never holds the key or its fingerprint.
func TestVerdictMarker(t *testing.T) {
	const material = "sk_prod_MARKERmarkerMARKERm1"
	o := origin{scheme: "https", host: "restlink23telecom.com"}
	rp := rotationPlan{probePath: "/api/v1/user/balance"}
	k := &key{header: [1]string{material}, fp: Fingerprint(material), keyState: new(keyState)}
	base := verdictMarker(o, rp, k)
	if !strings.HasPrefix(base, verdictMarkerPrefix) || len(base) != len(verdictMarkerPrefix)+64 {
		t.Errorf("marker %q: want %q and 64 hex digits", base, verdictMarkerPrefix)
	}
	if strings.Contains(base, material) || strings.Contains(base, k.fp) {
		t.Errorf("marker %q holds the key or its fingerprint", base)
	}
	if again := verdictMarker(o, rp, &key{header: [1]string{material}, keyState: new(keyState)}); again != base {
		t.Errorf("the same value names two markers: %q, %q", base, again)
	}
	query := rp
	query.probeQuery = "period=today"
	for name, other := range map[string]string{
		"another secret":   verdictMarker(o, rp, &key{header: [1]string{material}, keyState: &keyState{secret: []byte("whsec_one")}}),
		"another upstream": verdictMarker(origin{scheme: "https", host: "staging.restlink23telecom.com"}, rp, k),
		"another scheme":   verdictMarker(origin{scheme: "http", host: "restlink23telecom.com"}, rp, k),
		"another probe":    verdictMarker(o, rotationPlan{probePath: "/api/v1/sms/stats"}, k),
		"another query":    verdictMarker(o, query, k),
		"another key":      verdictMarker(o, rp, &key{header: [1]string{material + "2"}, keyState: new(keyState)}),
		// Fields are length-prefixed: moving bytes from the key to the
		// secret changes the marker.
		"the same bytes split otherwise": verdictMarker(o, rp, &key{header: [1]string{material[:len(material)-1]}, keyState: &keyState{secret: []byte("1")}}),
	} {
		if other == base {
			t.Errorf("%s: the same marker", name)
		}
	}
	one := verdictMarker(o, rp, &key{header: [1]string{material}, keyState: &keyState{secret: []byte("whsec_one")}})
	two := verdictMarker(o, rp, &key{header: [1]string{material}, keyState: &keyState{secret: []byte("whsec_two")}})
	if one == two {
		t.Error("two secrets of one key: the same marker")
	}
}

// TestRefusalWithdrawsSharedVerdict: once restlink refuses a key the fleet
// shares as verified (revoked since), the verdict is withdrawn, so that a
// sidecar loading the value probes it instead of trusting it for the rest
// of the hour.
func TestRefusalWithdrawsSharedVerdict(t *testing.T) {
	shared := store.NewMemory(store.MemoryOptions{})
	defer shared.Close()
	rp := rotationPlan{verify: true, probePath: "/api/v1/user/balance", timeout: 5 * time.Second}
	k := &key{header: [1]string{"sk_prod_WITHDRAWNwithdrawn01"}, fp: "fp", keyState: new(keyState)}
	ws := &workspace{workspacePlan: &workspacePlan{name: "main", id: 16}, keys: []*key{k}, stats: new(lazy[workspaceStats]), verified: new(lazy[verificationStats])}
	snap := &snapshot{plan: &plan{rotation: rp}, upstream: &upstream{origin: origin{scheme: "https", host: "restlink.example"}}, store: shared, fleet: shared}
	marker := verdictMarker(snap.upstream.origin, rp, k)
	if err := shared.ConfirmMarker(t.Context(), marker, sharedVerdictTTL); err != nil {
		t.Fatal(err)
	}
	(&Handler{logger: zap.NewNop()}).demote(snap, ws, k, "INVALID_API_KEY")
	deadline := time.Now().Add(5 * time.Second) // the withdrawal runs in its own goroutine
	for {
		state, err := shared.ClaimMarker(t.Context(), marker, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if state == store.MarkerNew {
			return // withdrawn: the next sidecar probes
		}
		if time.Now().After(deadline) {
			t.Fatalf("the verdict of a refused key is still shared (marker state %v)", state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package restlink

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// TestSignRequest: the signature is restlink's (checked against the fake's
// own implementation of the documented formula), and identical requests
// move to seconds of their own, never past the window.
func TestSignRequest(t *testing.T) {
	st := store.NewMemory(store.MemoryOptions{})
	k := newKey(&KeySource{}, "sk_prod_KEY", "s3cret", time.Time{}, map[keyID]*keyState{}, time.Now())
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"to":["+447700900123"]}`)
	seen := map[string]bool{}
	for i := range 3 {
		ts, sig, err := signRequest(context.Background(), st, k, "POST", "/api/v1/sms/send", body, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := strconv.FormatInt(now.Unix()+int64(i), 10); ts != want {
			t.Errorf("identical request %d signed at %s, want %s", i, ts, want)
		}
		if sig != restlinktest.Sign("s3cret", "POST", "/api/v1/sms/send", ts, body) {
			t.Errorf("signature %s is not restlink's", sig)
		}
		if seen[ts+sig] {
			t.Errorf("pair sent twice")
		}
		seen[ts+sig] = true
	}
	// Another body, path or method is another request: it takes now.
	if ts, _, _ := signRequest(context.Background(), st, k, "POST", "/api/v1/sms/send", []byte("{}"), now); ts != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("a different body was moved to %s", ts)
	}
	for i := 3; i <= int(signAhead/time.Second); i++ {
		if _, _, err := signRequest(context.Background(), st, k, "POST", "/api/v1/sms/send", body, now); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if _, _, err := signRequest(context.Background(), st, k, "POST", "/api/v1/sms/send", body, now); err != errReplayWindowFull {
		t.Errorf("past the window: %v, want errReplayWindowFull", err)
	}
}

// TestNextKeys: a new value waits for its verdict while the old one serves;
// a valid one is promoted, an invalid one never is; with verification off,
// or with nothing to keep, a value serves at once.
func TestNextKeys(t *testing.T) {
	states := map[keyID]*keyState{}
	now := time.Now()
	src := &KeySource{Source: Source{File: "/k"}, Secret: &Source{File: "/s"}}
	old := sourceKeys{active: newKey(src, "sk_prod_OLD", "s1", time.Time{}, states, now)}

	if got := nextKeys(src, "sk_prod_NEW", "s1", time.Time{}, nil, true, states, now); got.active.header[0] != "sk_prod_NEW" || got.candidate != nil {
		t.Errorf("start-up: %+v", got)
	}
	if got := nextKeys(src, "sk_prod_NEW", "s1", time.Time{}, &old, false, states, now); got.active.header[0] != "sk_prod_NEW" {
		t.Errorf("verification off: %+v", got)
	}
	got := nextKeys(src, "sk_prod_NEW", "s1", time.Time{}, &old, true, states, now)
	if got.active.keyState != old.active.keyState || got.candidate == nil || got.candidate.replaced.String() != "key" || !got.candidate.candidate {
		t.Fatalf("new key: %+v", got)
	}
	if again := nextKeys(src, "sk_prod_OLD", "s1", time.Time{}, &got, true, states, now); again.active.id != old.active.id || again.candidate != nil {
		t.Errorf("changed back: %+v", again)
	}
	if c := nextKeys(src, "sk_prod_OLD", "s2", time.Time{}, &old, true, states, now).candidate; c == nil || c.replaced.String() != "secret" {
		t.Errorf("secret alone: %+v", c)
	}
	got.candidate.verification.Store(&verdict{result: verdictInvalid})
	if again := nextKeys(src, "sk_prod_NEW", "s1", time.Time{}, &got, true, states, now); again.active.keyState != old.active.keyState || !again.candidate.isInvalid() {
		t.Errorf("invalid candidate: %+v", again)
	}
	got.candidate.verification.Store(&verdict{result: verdictValid})
	if promoted := nextKeys(src, "sk_prod_NEW", "s1", time.Time{}, &got, true, states, now); promoted.active.header[0] != "sk_prod_NEW" || promoted.candidate != nil {
		t.Errorf("valid candidate not promoted: %+v", promoted)
	}
}

// TestCheckEnvironment: a live workspace takes no sandbox key, a test
// workspace only sandbox keys.
func TestCheckEnvironment(t *testing.T) {
	for _, tc := range []struct {
		environment environment
		key         string
		ok          bool
	}{
		{environmentAny, "sk_prod_x", true}, {environmentAny, "sk_test_x", true}, {environmentAny, "other", true},
		{environmentLive, "sk_prod_x", true}, {environmentLive, "sk_test_x", false}, {environmentLive, "other", true},
		{environmentTest, "sk_test_x", true}, {environmentTest, "sk_prod_x", false}, {environmentTest, "other", false},
	} {
		if err := checkEnvironment(tc.environment, keyKind(tc.key)); (err == nil) != tc.ok {
			t.Errorf("%s workspace, key %s: %v", tc.environment, tc.key, err)
		}
	}
}

// claimTTLStore records the ttl of each signing-second claim.
type claimTTLStore struct {
	store.Store
	ttl time.Duration
}

func (s *claimTTLStore) ClaimSecond(ctx context.Context, key string, now time.Time, maxAhead, ttl time.Duration) (int64, bool, error) {
	s.ttl = ttl
	return s.Store.ClaimSecond(ctx, key, now, maxAhead, ttl)
}

// TestSigningClaimsEndWithTheirSecond: a claimed second is remembered for
// a clock's skew past it, not for restlink's whole replay window, so that
// a sidecar signing 1,000 distinct sends a second does not hold 600,000
// claims.
func TestSigningClaimsEndWithTheirSecond(t *testing.T) {
	st := &claimTTLStore{Store: store.NewMemory(store.MemoryOptions{})}
	k := newKey(&KeySource{}, "sk_prod_KEY", "s3cret", time.Time{}, map[keyID]*keyState{}, time.Now())
	if _, _, err := signRequest(context.Background(), st, k, "POST", "/api/v1/sms/send", []byte("{}"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if st.ttl <= 0 || st.ttl > 5*time.Second {
		t.Errorf("a claim is remembered %v past its second, want at most 5s", st.ttl)
	}
}

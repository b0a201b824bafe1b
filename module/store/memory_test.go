package store

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// memorySize counts every entry of a Memory store.
func memorySize(m *Memory) int {
	n := 0
	for i := range m.shards {
		n += m.shards[i].size()
	}
	m.holdsMu.Lock()
	defer m.holdsMu.Unlock()
	return n + len(m.holds)
}

// TestMemoryStaysBounded fills a store with entries of every kind, lets
// them expire, and checks that calls touching every shard sweep them.
func TestMemoryStaysBounded(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(MemoryOptions{SweepInterval: time.Minute})
	clock := base
	m.clock = func() time.Time { return clock }

	for i := range 2000 {
		rcpt := "rcpt:+4477009" + strconv.Itoa(100000+i)
		scope := "tenant" + strconv.Itoa(i%50)
		a := Admission{
			Scope:       scope,
			Idempotency: &IdempotencyClaim{Key: scope + ":k" + strconv.Itoa(i), TTL: time.Hour},
			Limits: []Limit{
				{Key: "rate:" + scope, Cost: 1, Max: 1 << 40, Window: time.Minute},
				{Key: rcpt, Cost: 1, Max: 5, Window: time.Hour},
				{Key: "daily:" + scope, Cost: 1, Max: 1 << 40},
			},
			Charge: true,
			Now:    at(time.Duration(i) * time.Millisecond),
		}
		if d := admit(t, m, a); d.Verdict != Admitted {
			t.Fatalf("admission %d: %v", i, d.Verdict)
		}
		if _, ok, _, err := m.Reserve(ctx, Pace{Key: "pace" + strconv.Itoa(i), Interval: time.Millisecond}, a.Now); !ok || err != nil {
			t.Fatalf("reserve %d: %v %v", i, ok, err)
		}
		if _, ok, err := m.ClaimSecond(ctx, "sig"+strconv.Itoa(i), a.Now, time.Second, 10*time.Minute); !ok || err != nil {
			t.Fatalf("claim second %d: %v %v", i, ok, err)
		}
		if _, err := m.ClaimMarker(ctx, "evt"+strconv.Itoa(i), time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := m.Attribute(ctx, []Attribution{{MessageID: "api_" + strconv.Itoa(i), Cost: 1}}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if n := memorySize(m); n < 2000*7 {
		t.Fatalf("the store holds %d entries after 2,000 requests; the test fills it wrong", n)
	}

	// A day later every entry has expired. Touch every shard, with an
	// admission and a marker claim, to give each its sweep.
	later := at(26 * time.Hour)
	clock = later
	touched := map[*memoryShard]bool{}
	for i := 0; len(touched) < memoryShards; i++ {
		key := "probe" + strconv.Itoa(i)
		s := m.shard(key)
		if touched[s] {
			continue
		}
		touched[s] = true
		admit(t, m, Admission{Scope: key, Now: later})
		if _, err := m.ClaimMarker(ctx, key, time.Nanosecond); err != nil {
			t.Fatal(err)
		}
	}
	if n := memorySize(m); n > memoryShards {
		t.Errorf("%d entries remain after everything expired; want at most the %d probe markers", n, memoryShards)
	}
}

// TestMemoryExpiry checks the TTLs that Redis enforces with PEXPIRE and
// Memory with its own clock.
func TestMemoryExpiry(t *testing.T) {
	ctx := context.Background()
	claim := &IdempotencyClaim{Key: "acme:k", BodyHash: [32]byte{1}, TTL: time.Hour}
	admission := func(now time.Duration) Admission {
		return Admission{Scope: "acme", Idempotency: claim, Now: at(now)}
	}
	cases := []struct {
		name   string
		settle *Settlement
		checks map[time.Duration]Verdict
	}{
		{"in_flight_record_lives_for_the_claim_ttl", nil, map[time.Duration]Verdict{
			59 * time.Minute: InProgress, time.Hour: Admitted,
		}},
		{"completed_record_lives_for_its_ttl", &Settlement{Outcome: Completed, TTL: 2 * time.Hour}, map[time.Duration]Verdict{
			119 * time.Minute: Replay, 2 * time.Hour: Admitted,
		}},
		{"unknown_record_lives_for_its_ttl", &Settlement{Outcome: Unknown, TTL: 3 * time.Hour}, map[time.Duration]Verdict{
			179 * time.Minute: OutcomeUnknown, 3 * time.Hour: Admitted,
		}},
		{"zero_ttl_keeps_the_claims_expiry", &Settlement{Outcome: Completed}, map[time.Duration]Verdict{
			59 * time.Minute: Replay, time.Hour: Admitted,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for at, want := range c.checks {
				m := NewMemory(MemoryOptions{})
				d := admit(t, m, admission(0))
				if c.settle != nil {
					st := *c.settle
					st.Now = base
					settle(t, m, d.Ticket, st)
				}
				if got := admit(t, m, admission(at)); got.Verdict != want {
					t.Errorf("at +%v: %v, want %v", at, got.Verdict, want)
				}
			}
		})
	}

	t.Run("settlement_without_now_uses_the_clock", func(t *testing.T) {
		m := NewMemory(MemoryOptions{})
		m.clock = func() time.Time { return at(time.Hour) }
		d := admit(t, m, admission(0))
		settle(t, m, d.Ticket, Settlement{Outcome: Completed, TTL: time.Hour})
		if got := admit(t, m, admission(119*time.Minute)); got.Verdict != Replay {
			t.Errorf("%v, want replay: the TTL did not start at the clock's time", got.Verdict)
		}
	})

	t.Run("markers_expire_on_the_clock", func(t *testing.T) {
		m := NewMemory(MemoryOptions{})
		now := base
		m.clock = func() time.Time { return now }
		steps := []struct {
			at     time.Duration
			do     string
			want   MarkerState
			wantOK bool
		}{
			{0, "claim", MarkerNew, true},
			{59 * time.Second, "claim", MarkerPending, true},
			{time.Minute, "claim", MarkerNew, true}, // the pending claim expired
			{time.Minute, "confirm", 0, false},
			{time.Minute + 23*time.Hour, "claim", MarkerDone, true},
			{time.Minute + 24*time.Hour, "claim", MarkerNew, true},
		}
		for i, st := range steps {
			now = at(st.at)
			switch st.do {
			case "claim":
				got, err := m.ClaimMarker(ctx, "evt", time.Minute)
				if err != nil || got != st.want {
					t.Fatalf("step %d: %v, %v; want %v", i, got, err, st.want)
				}
			case "confirm":
				if err := m.ConfirmMarker(ctx, "evt", 24*time.Hour); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// TestMemoryWindowChange: a limit whose window changes (a reloaded
// configuration) starts its counter anew rather than misreading steps of
// another length.
func TestMemoryWindowChange(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	l := Limit{Key: "rate:acme", Cost: 5, Max: 5, Window: time.Minute}
	admit(t, m, Admission{Scope: "acme", Limits: []Limit{l}, Charge: true, Now: base})
	l.Window = time.Hour
	if got := usage(t, m, "acme", []Limit{l}, base); got[0] != 0 {
		t.Errorf("usage under the new window %d, want 0", got[0])
	}
	if d := admit(t, m, Admission{Scope: "acme", Limits: []Limit{l}, Charge: true, Now: base}); d.Verdict != Admitted {
		t.Errorf("under the new window: %v", d.Verdict)
	}
}

// TestMemoryPeriodExpiry: a period counter counts until a day after its
// period's end, and is swept then.
func TestMemoryPeriodExpiry(t *testing.T) {
	m := NewMemory(MemoryOptions{SweepInterval: time.Minute})
	l := Limit{Key: "budget:acme:day", Cost: 7, Max: 10, Period: day2099}
	admit(t, m, Admission{Scope: "acme", Limits: []Limit{l}, Charge: true, Now: future})
	expires := day2099.Ends.Add(24 * time.Hour)
	if got := usage(t, m, "acme", []Limit{l}, expires.Add(-time.Nanosecond)); got[0] != 7 {
		t.Errorf("usage just before the expiry %d, want 7", got[0])
	}
	if got := usage(t, m, "acme", []Limit{l}, expires); got[0] != 0 {
		t.Errorf("usage at the expiry %d, want 0", got[0])
	}
	admit(t, m, Admission{Scope: "acme", Now: expires.Add(-time.Nanosecond)}) // a sweep before the expiry keeps it
	if n := memorySize(m); n != 1 {
		t.Fatalf("%d entries before the expiry, want the period counter", n)
	}
	admit(t, m, Admission{Scope: "acme", Now: expires.Add(time.Minute)}) // the next sweep is due
	if n := memorySize(m); n != 0 {
		t.Errorf("%d entries after the expiry, want 0: the period counter was not swept", n)
	}
}

// TestMemoryAttributionsBounded: a Memory store keeps at most its bound
// of attributions, dropping the oldest first, a sixteenth of a shard's
// share at a time.
func TestMemoryAttributionsBounded(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(MemoryOptions{})
	m.maxAttributions = memoryShards * 64
	const n = 20_000
	for i := range n {
		if err := m.Attribute(ctx, []Attribution{{MessageID: "api_" + strconv.Itoa(i), Cost: int64(i)}}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	held := 0
	for i := range m.shards {
		held += len(m.shards[i].attributions)
	}
	if held > m.maxAttributions || held < m.maxAttributions*3/4 {
		t.Errorf("%d attributions held, want at most %d and not far below", held, m.maxAttributions)
	}
	for i := n - 20; i < n; i++ { // the newest are kept
		if _, previous, found, err := m.Reconcile(ctx, "api_"+strconv.Itoa(i), 0); err != nil || !found || previous != int64(i) {
			t.Errorf("api_%d: %d, %v, %v; want kept", i, previous, found, err)
		}
	}
	if _, _, found, _ := m.Reconcile(ctx, "api_0", 0); found {
		t.Error("the oldest attribution is still held")
	}
	// Attributing one held again makes no room: it is not a new one.
	s := m.shard("api_" + strconv.Itoa(n-1))
	before := len(s.attributions)
	if err := m.Attribute(ctx, []Attribution{{MessageID: "api_" + strconv.Itoa(n-1), Cost: 1}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if len(s.attributions) != before {
		t.Errorf("attributing again changed the shard from %d to %d", before, len(s.attributions))
	}
}

// TestMemoryAttributionsExpire: attributions expire on the store's clock,
// and are dropped then.
func TestMemoryAttributionsExpire(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(MemoryOptions{SweepInterval: time.Minute})
	now := base
	m.clock = func() time.Time { return now }
	if err := m.Attribute(ctx, []Attribution{{MessageID: "api_1", Cost: 5}}, 4*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	now = base.Add(4*24*time.Hour - time.Nanosecond)
	if _, _, found, _ := m.Reconcile(ctx, "api_1", 5); !found {
		t.Error("not found just before its ttl")
	}
	now = base.Add(4 * 24 * time.Hour)
	if _, _, found, _ := m.Reconcile(ctx, "api_1", 5); found {
		t.Error("found at its ttl")
	}
	if n := memorySize(m); n != 0 {
		t.Errorf("%d entries after the expiry, want 0", n)
	}
}

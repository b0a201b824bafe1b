package store

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/23telecom/restlink-sidecar/internal/redistest"
)

// base is the suite's clock origin: noon UTC, on a step boundary of
// every window the tests use.
var base = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// at is base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// harness makes fresh, isolated stores of one implementation for the
// shared suite, and checks what only that implementation can.
type harness struct {
	name string
	// open returns an empty store.
	open func(t *testing.T) Store
	// check runs after each case: for Redis, that every key has a TTL.
	check func(t *testing.T, s Store)
}

func memoryHarness() harness {
	return harness{
		name: "memory",
		open: func(t *testing.T) Store { return NewMemory(MemoryOptions{}) },
	}
}

// redisHarness shares one redis-server between the cases of a test; each
// case gets its own key prefix.
func redisHarness(t *testing.T, srv *redistest.Server, cluster bool) harness {
	name := "redis"
	if cluster {
		name = "redis-cluster"
	}
	return harness{
		name: name,
		open: redisOpener(srv, cluster, "t"),
		check: func(t *testing.T, s Store) {
			assertAllKeysExpire(t, srv, s.(*Redis).prefix)
		},
	}
}

// redisOpener returns a function that opens a Redis store on srv under a
// new key prefix each time: kind, a number and a colon.
func redisOpener(srv *redistest.Server, cluster bool, kind string) func(t *testing.T) Store {
	var n atomic.Int64
	return func(t *testing.T) Store {
		opts := RedisOptions{KeyPrefix: kind + strconv.FormatInt(n.Add(1), 10) + ":", Timeout: time.Second}
		if cluster {
			opts.Addrs, opts.Cluster = []string{srv.Addr}, true
		} else {
			opts.URL = srv.URL
		}
		r, err := NewRedis(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
}

// fallbackHarness is a Fallback over a Redis of redisHarness (and a
// Memory it does not use while Redis answers): the suite's behaviours must
// hold through it.
func fallbackHarness(t *testing.T, srv *redistest.Server) harness {
	open := redisOpener(srv, false, "f")
	return harness{
		name: "fallback",
		open: func(t *testing.T) Store {
			f := NewFallback(open(t).(*Redis), NewMemory(MemoryOptions{}), FallbackOptions{})
			t.Cleanup(func() { f.Close() })
			return f
		},
		check: func(t *testing.T, s Store) {
			f := s.(*Fallback)
			if !f.Status().Available {
				t.Error("the fallback's Redis was found unavailable")
			}
			assertAllKeysExpire(t, srv, f.shared.(*Redis).prefix)
		},
	}
}

// assertAllKeysExpire fails the test if a key under prefix has no TTL.
func assertAllKeysExpire(t *testing.T, srv *redistest.Server, prefix string) {
	t.Helper()
	c := inspector(t, srv)
	ctx := context.Background()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl == -1 { // go-redis's reading of PTTL's -1: no expiry (-2: gone meanwhile)
			t.Errorf("key %q has no TTL", k)
		}
	}
}

// inspector is a plain client for looking at a test server's keys.
func inspector(t testing.TB, srv *redistest.Server) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// harnesses returns the implementations the suite runs against.
func harnesses(t *testing.T) []harness {
	srv := redistest.Start(t)
	return []harness{memoryHarness(), redisHarness(t, srv, false), fallbackHarness(t, srv)}
}

// runSuite runs fn as a subtest against every harness.
func runSuite(t *testing.T, hs []harness, fn func(t *testing.T, s Store)) {
	for _, h := range hs {
		t.Run(h.name, func(t *testing.T) {
			s := h.open(t)
			fn(t, s)
			if h.check != nil {
				h.check(t, s)
			}
		})
	}
}

// admit calls s.Admit and fails the test on an error.
func admit(t *testing.T, s Store, a Admission) Decision {
	t.Helper()
	d, err := s.Admit(context.Background(), a)
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	return d
}

// settle calls s.Settle and fails the test on an error.
func settle(t *testing.T, s Store, tk Ticket, st Settlement) {
	t.Helper()
	if err := s.Settle(context.Background(), tk, st); err != nil {
		t.Fatalf("Settle: %v", err)
	}
}

// usage calls s.Usage and fails the test on an error.
func usage(t *testing.T, s Store, scope string, limits []Limit, now time.Time) []int64 {
	t.Helper()
	v, err := s.Usage(context.Background(), scope, limits, now)
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	return v
}

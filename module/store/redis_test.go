package store

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/23telecom/restlink-sidecar/internal/redistest"
)

// newRedis opens a Redis store on srv and closes it with the test.
func newRedis(t testing.TB, opts RedisOptions) *Redis {
	t.Helper()
	r, err := NewRedis(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRedisCluster runs part of the suite on a one-node Redis Cluster:
// Cluster refuses a script whose keys are in different slots, so this
// checks the hash tags.
func TestRedisCluster(t *testing.T) {
	srv := redistest.StartCluster(t)
	hs := []harness{redisHarness(t, srv, true)}
	t.Run("all_or_nothing", func(t *testing.T) { testAllOrNothing(t, hs) })
	t.Run("refund", func(t *testing.T) { testRefund(t, hs) })
	t.Run("idempotency", func(t *testing.T) { testIdempotency(t, hs) })
	t.Run("pacing", func(t *testing.T) { testPacing(t, hs) })
	t.Run("signing_seconds", func(t *testing.T) { testSigningSeconds(t, hs) })
	t.Run("markers", func(t *testing.T) { testMarkers(t, hs) })
	t.Run("values", func(t *testing.T) { testValues(t, hs) })
	t.Run("costs", func(t *testing.T) { testCosts(t, hs) })
	t.Run("adjust", func(t *testing.T) { testAdjust(t, hs) })
	t.Run("attributions", func(t *testing.T) { testAttributions(t, hs) })
	t.Run("tallies", func(t *testing.T) { testTallies(t, hs) })
	t.Run("holds", func(t *testing.T) { testHolds(t, hs) })
}

// TestRedisTTLs checks the TTL each kind of key gets.
func TestRedisTTLs(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, RedisOptions{URL: srv.URL, Timeout: time.Second})
	c := inspector(t, srv)
	ctx := context.Background()
	now := at(90 * time.Minute)

	pttl := func(key string, lo, hi time.Duration) {
		t.Helper()
		got, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got < lo || got > hi {
			t.Errorf("PTTL %s = %v, want within [%v, %v]", key, got, lo, hi)
		}
	}
	limits := []Limit{
		{Key: "rate:acme", Cost: 1, Max: 10, Window: time.Minute},
		{Key: "daily:acme", Cost: 1, Max: 10},
	}
	claim := &IdempotencyClaim{Key: "k", BodyHash: [32]byte{1}, TTL: 24 * time.Hour}
	d := admit(t, r, Admission{Scope: "acme", Limits: limits, Idempotency: claim, Charge: true, Now: now.Add(250 * time.Millisecond)})
	pttl("restlink:{acme}:w:rate:acme", 59*time.Second, 60*time.Second-250*time.Millisecond)
	pttl("restlink:{acme}:d:20260314:daily:acme", 10*time.Hour+29*time.Minute, 10*time.Hour+30*time.Minute)
	pttl("restlink:{acme}:i:k", 24*time.Hour-time.Minute, 24*time.Hour)

	settle(t, r, d.Ticket, Settlement{Outcome: Completed, Record: &Record{Status: 202}, TTL: 2 * time.Hour})
	pttl("restlink:{acme}:i:k", 2*time.Hour-time.Minute, 2*time.Hour)

	d = admit(t, r, Admission{Scope: "acme", Idempotency: &IdempotencyClaim{Key: "k2", TTL: time.Hour}, Now: now})
	settle(t, r, d.Ticket, Settlement{Outcome: Unknown, TTL: 3 * time.Hour})
	pttl("restlink:{acme}:i:k2", 3*time.Hour-time.Minute, 3*time.Hour)

	if _, ok, _, err := r.Reserve(ctx, Pace{Key: "acct", Interval: time.Second, Burst: 1, MaxWait: 5 * time.Second}, time.Now()); !ok || err != nil {
		t.Fatal(ok, err)
	}
	pttl("restlink:{p:acct}", 1500*time.Millisecond, 2001*time.Millisecond) // the interval, and a second for clock differences

	if _, ok, err := r.ClaimSecond(ctx, "fp:digest", now, 2*time.Second, 10*time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	pttl("restlink:{s:fp:digest}", 10*time.Minute, 10*time.Minute+3*time.Second)

	if _, err := r.ClaimMarker(ctx, "evt", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	pttl("restlink:{m:evt}", 29*time.Second, 30*time.Second)
	if err := r.ConfirmMarker(ctx, "evt", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	pttl("restlink:{m:evt}", 24*time.Hour-time.Minute, 24*time.Hour)

	if err := r.Attribute(ctx, []Attribution{{MessageID: "api_1", Cost: 1}}, 4*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	pttl("restlink:att:api_1", 4*24*time.Hour-time.Minute, 4*24*time.Hour)

	// A tally lives for its ttl from its last call, a read included.
	tl := Tally{Key: "dlr:acme:NG", Add: []SlotCount{{1, 1}}, TTL: 10 * time.Minute}
	if _, err := r.Tally(ctx, []Tally{tl}); err != nil {
		t.Fatal(err)
	}
	pttl("restlink:{t:dlr:acme:NG}", 10*time.Minute-time.Minute, 10*time.Minute)
	tl.Add, tl.TTL = nil, 2*time.Hour
	if _, err := r.Tally(ctx, []Tally{tl}); err != nil {
		t.Fatal(err)
	}
	pttl("restlink:{t:dlr:acme:NG}", 2*time.Hour-time.Minute, 2*time.Hour)

	// The holds live until the last of them ends, and a minute more,
	// counted from the caller's now (here behind Redis's clock).
	if _, err := r.PlaceHold(ctx, "acme:NG", nil, now, now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PlaceHold(ctx, "acme:GH", nil, now.Add(time.Hour), now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	pttl("restlink:{h:holds}", 2*time.Hour+time.Minute-time.Minute, 2*time.Hour+time.Minute)

	// A period counter expires a day after its period's end, on Redis's
	// clock.
	admit(t, r, Admission{Scope: "acme", Limits: []Limit{{Key: "budget", Cost: 1, Max: 10, Period: day2099}}, Charge: true, Now: future})
	expireAt(t, c, "restlink:{acme}:p:2099-12-05:budget", day2099.Ends.Add(24*time.Hour))

	assertAllKeysExpire(t, srv, "restlink:")
}

// expireAt fails the test unless key expires at exactly when (to the ms).
func expireAt(t *testing.T, c *redis.Client, key string, when time.Time) {
	t.Helper()
	got, err := c.PExpireTime(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Duration(when.UnixMilli()) * time.Millisecond; got != want {
		t.Errorf("PEXPIRETIME %s = %v, want %v (%v)", key, got, want, when)
	}
}

// TestRedisWindowChange: steps left by a limit's earlier window length
// are neither counted nor kept.
func TestRedisWindowChange(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, RedisOptions{URL: srv.URL, Timeout: time.Second})
	for _, windows := range [][2]time.Duration{{time.Minute, time.Hour}, {time.Hour, time.Minute}} {
		scope := "acme" + windows[0].String()
		l := Limit{Key: "rate", Cost: 5, Max: 5, Window: windows[0]}
		admit(t, r, Admission{Scope: scope, Limits: []Limit{l}, Charge: true, Now: base})
		l.Window = windows[1]
		if d := admit(t, r, Admission{Scope: scope, Limits: []Limit{l}, Charge: true, Now: base}); d.Verdict != Admitted {
			t.Errorf("%v then %v: %v, want admitted", windows[0], windows[1], d.Verdict)
		}
		n, err := inspector(t, srv).HLen(context.Background(), "restlink:{"+scope+"}:w:rate").Result()
		if err != nil || n != 1 {
			t.Errorf("%v then %v: %d steps kept (%v), want 1", windows[0], windows[1], n, err)
		}
	}
}

// TestRedisCredentials checks authentication: a wrong password fails as
// unavailable without showing the password, and a rotated password is
// read again at the next connection.
func TestRedisCredentials(t *testing.T) {
	srv := redistest.Start(t)
	if _, err := srv.Do("CONFIG", "SET", "requirepass", "first-secret"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("wrong_password", func(t *testing.T) {
		for name, opts := range map[string]RedisOptions{
			"function": {URL: srv.URL, Credentials: func(context.Context) (string, string, error) { return "", "wrong-secret-1", nil }},
			"url":      {URL: "redis://:wrong-secret-1@" + srv.Addr},
		} {
			t.Run(name, func(t *testing.T) {
				r := newRedis(t, opts)
				err := r.Ping(ctx)
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("Ping with a wrong password: %v, want ErrUnavailable", err)
				}
				if strings.Contains(err.Error(), "wrong-secret-1") {
					t.Errorf("the error shows the password: %v", err)
				}
				_, err = r.Admit(ctx, Admission{Scope: "acme", Limits: []Limit{{Key: "k", Cost: 1, Max: 1}}, Now: base})
				if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "wrong-secret-1") {
					t.Errorf("Admit with a wrong password: %v", err)
				}
			})
		}
	})

	t.Run("credentials_function_error", func(t *testing.T) {
		r := newRedis(t, RedisOptions{URL: srv.URL, Credentials: func(context.Context) (string, string, error) {
			return "", "", errors.New("password file missing")
		}})
		if err := r.Ping(ctx); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "password file missing") {
			t.Errorf("Ping: %v", err)
		}
	})

	t.Run("rotation", func(t *testing.T) {
		var password atomic.Value
		password.Store("first-secret")
		var calls atomic.Int64
		r := newRedis(t, RedisOptions{URL: srv.URL, Timeout: time.Second, Credentials: func(context.Context) (string, string, error) {
			calls.Add(1)
			return "", password.Load().(string), nil
		}})
		if err := r.Ping(ctx); err != nil {
			t.Fatalf("with the first password: %v", err)
		}
		// The password changes on the server and in the "file"; the
		// connections are dropped, as a failover or restart would.
		admin := redis.NewClient(&redis.Options{Addr: srv.Addr, Password: "first-secret", DisableIdentity: true, PoolSize: 1})
		defer admin.Close()
		if err := admin.ConfigSet(ctx, "requirepass", "second-secret").Err(); err != nil {
			t.Fatal(err)
		}
		password.Store("second-secret")
		if err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal").Err(); err != nil {
			t.Fatal(err)
		}
		before := calls.Load()
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := r.Ping(ctx)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("with the rotated password: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if calls.Load() == before {
			t.Error("the credentials function was not called again at reconnection")
		}
	})

	t.Run("url_errors_hide_user_info", func(t *testing.T) {
		for _, u := range []string{
			"redis://user:url-secret-2@127.0.0.1:notaport",
			"redis://user:url-secret-2@[::1",
			"http://user:url-secret-2@127.0.0.1:6379",
			"redis://user:url-secret-2@127.0.0.1:6379/x/y",
		} {
			_, err := NewRedis(RedisOptions{URL: u})
			if err == nil {
				t.Errorf("%s: no error", strings.ReplaceAll(u, "url-secret-2", "…"))
				continue
			}
			if strings.Contains(err.Error(), "url-secret-2") {
				t.Errorf("the error shows the password: %v", err)
			}
		}
	})
}

// fakeRedis is a server that answers HELLO with an error (so that the
// client falls back and connects) and then treats each script it is sent
// as onScript says. It returns its address and a count of scripts.
func fakeRedis(t *testing.T, onScript func(c net.Conn)) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var scripts atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					in := strings.ToUpper(string(buf[:n]))
					if strings.Contains(in, "HELLO") {
						c.Write([]byte("-ERR unknown command 'HELLO'\r\n"))
					}
					if k := strings.Count(in, "EVAL"); k > 0 {
						scripts.Add(int64(k))
						onScript(c)
					}
				}
			}()
		}
	}()
	return l.Addr().String(), &scripts
}

// TestRedisTimeout: a Redis that accepts connections but never answers
// costs a call no more than Timeout (with a wide margin here for a busy
// test machine), and the error wraps ErrUnavailable; a call whose own
// context ended is not the store's fault.
func TestRedisTimeout(t *testing.T) {
	addr, _ := fakeRedis(t, func(net.Conn) {})
	r := newRedis(t, RedisOptions{URL: "redis://" + addr, Timeout: 50 * time.Millisecond})
	a := Admission{Scope: "acme", Limits: []Limit{{Key: "k", Cost: 1, Max: 1}}, Now: base}

	start := time.Now()
	_, err := r.Admit(context.Background(), a)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Admit blocked %v against a silent server", elapsed)
	}
	if !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(err.Error(), "admitting: ") {
		t.Errorf("Admit: %v, want an admitting error wrapping ErrUnavailable", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.Admit(ctx, a)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Errorf("Admit with a cancelled context: %v, want context.Canceled and not ErrUnavailable", err)
	}
}

// TestRedisNoRetry: a script whose answer was lost may have run, so it
// is never sent again: a second run could read its own idempotency claim
// as another request's.
func TestRedisNoRetry(t *testing.T) {
	addr, scripts := fakeRedis(t, func(c net.Conn) { c.Close() })
	r := newRedis(t, RedisOptions{URL: "redis://" + addr, Timeout: time.Second})
	_, err := r.Admit(context.Background(), Admission{Scope: "acme", Limits: []Limit{{Key: "k", Cost: 1, Max: 1}}, Now: base})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Admit: %v, want ErrUnavailable", err)
	}
	if n := scripts.Load(); n != 1 {
		t.Errorf("the script was sent %d times, want once", n)
	}
}

// TestRedisOptions checks the configuration errors.
func TestRedisOptions(t *testing.T) {
	cases := []struct {
		name string
		opts RedisOptions
		want string
	}{
		{"nothing", RedisOptions{}, "no url or addresses"},
		{"both", RedisOptions{URL: "redis://127.0.0.1:6379", Addrs: []string{"127.0.0.1:6379"}}, "not both"},
		{"braces_in_prefix", RedisOptions{URL: "redis://127.0.0.1:6379", KeyPrefix: "x{y}:"}, "braces"},
		{"scheme", RedisOptions{URL: "unix:///tmp/redis.sock"}, "scheme"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewRedis(c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	r, err := NewRedis(RedisOptions{URL: "rediss://user:pw@redis.example:6380/2", KeyPrefix: "fleet1:"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.scoped("acme") + "w:rate"; got != "fleet1:{acme}:w:rate" {
		t.Errorf("key %q", got)
	}
}

// TestRedisACL runs every kind of call as a user that has only the
// commands the Redis type's documentation lists (keep the two alike).
func TestRedisACL(t *testing.T) {
	srv := redistest.Start(t)
	acl := []string{"ACL", "SETUSER", "sidecar", "on", ">acl-secret", "resetkeys", "~restlink:*", "resetchannels", "-@all",
		"+select", "+ping", "+evalsha", "+eval", "+cluster|slots",
		"+get", "+set", "+del", "+incrby", "+decrby", "+pexpire", "+pexpireat", "+hget", "+hmget", "+hset", "+hdel",
		"+hgetall", "+hincrby", "+zadd", "+zscore", "+zremrangebyscore"}
	if _, err := srv.Do(acl...); err != nil {
		t.Fatal(err)
	}
	r := newRedis(t, RedisOptions{URL: srv.URL, Username: "sidecar", Timeout: time.Second,
		Credentials: func(context.Context) (string, string, error) { return "", "acl-secret", nil }})
	ctx := context.Background()
	if err := r.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	limits := []Limit{
		{Key: "rate:acme", Cost: 1, Max: 10, Window: time.Minute},
		{Key: "daily:acme", Cost: 1, Max: 10},
		{Key: "budget:acme", Cost: 1, Max: 10, Period: day2099},
	}
	a := Admission{Scope: "acme", Limits: limits, Idempotency: &IdempotencyClaim{Key: "k", TTL: time.Hour}, Charge: true, Now: time.Now()}
	d := admit(t, r, a)
	settle(t, r, d.Ticket, Settlement{Refund: true, Outcome: Completed, Record: &Record{Status: 202}, TTL: time.Hour})
	if d := admit(t, r, a); d.Verdict != Replay {
		t.Errorf("replay: %v", d.Verdict)
	}
	a.Idempotency = nil
	d = admit(t, r, a)
	settle(t, r, d.Ticket, Settlement{Refund: true})
	usage(t, r, "acme", limits, time.Now())
	if _, _, _, err := r.Reserve(ctx, Pace{Key: "acct", Interval: time.Millisecond}, time.Now()); err != nil {
		t.Error(err)
	}
	if _, _, err := r.ClaimSecond(ctx, "sig", time.Now(), time.Second, time.Minute); err != nil {
		t.Error(err)
	}
	if _, err := r.ClaimMarker(ctx, "evt", time.Minute); err != nil {
		t.Error(err)
	}
	if err := r.ConfirmMarker(ctx, "evt", time.Minute); err != nil {
		t.Error(err)
	}
	if err := r.ReleaseMarker(ctx, "evt"); err != nil {
		t.Error(err)
	}
	if _, err := r.Adjust(ctx, "acme", []Adjustment{{Key: "budget:acme", Period: day2099, Delta: 1}}, time.Now()); err != nil {
		t.Error(err)
	}
	if err := r.Attribute(ctx, []Attribution{{MessageID: "api_1", Data: []byte("d"), Cost: 1}}, time.Hour); err != nil {
		t.Error(err)
	}
	if _, _, found, err := r.Reconcile(ctx, "api_1", 2); err != nil || !found {
		t.Error(found, err)
	}
	if _, err := r.Tally(ctx, []Tally{{Key: "dlr:acme:NG", Add: []SlotCount{{1, 1}, {2, 1}}, From: 2, TTL: time.Hour}}); err != nil {
		t.Error(err)
	}
	for _, key := range []string{"acme:NG", "acme:GH"} {
		if _, err := r.PlaceHold(ctx, key, []byte("d"), time.Now(), time.Now().Add(time.Hour)); err != nil {
			t.Error(err)
		}
	}
	if _, err := r.Holds(ctx, time.Now().Add(2*time.Hour)); err != nil {
		t.Error(err)
	}
	if _, err := r.LiftHold(ctx, "acme:NG", time.Now()); err != nil {
		t.Error(err)
	}
}

// TestRedisAttributeUncachedScript: a pipeline of attributions whose
// script Redis does not have cached (a restarted or flushed server) is
// sent again with EVAL.
func TestRedisAttributeUncachedScript(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, RedisOptions{URL: srv.URL, Timeout: time.Second})
	ctx := context.Background()
	for round := range 2 {
		if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
			t.Fatal(err)
		}
		id := "api_" + strconv.Itoa(round)
		if err := r.Attribute(ctx, []Attribution{{MessageID: id + "a", Cost: 1}, {MessageID: id + "b", Cost: 2}}, time.Hour); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, previous, found, err := r.Reconcile(ctx, id+"b", 3); err != nil || !found || previous != 2 {
			t.Errorf("round %d: %d, %v, %v", round, previous, found, err)
		}
	}
}

// TestRedisPaceOutlivesClockLag: a pacing bucket is not forgotten while a
// sidecar's clock runs behind Redis's: a sidecar whose clock stands still
// for 20 ms of Redis's time is still refused its second slot. (The key
// expired 1 ms after its arrival time by Redis's clock, and the bucket
// read as new.)
func TestRedisPaceOutlivesClockLag(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, RedisOptions{URL: srv.URL, Timeout: time.Second})
	p := Pace{Key: "acct", Interval: 100 * time.Microsecond, Burst: 1}
	now := time.Now()
	if _, ok, _, err := r.Reserve(context.Background(), p, now); !ok || err != nil {
		t.Fatalf("first slot: ok %v, %v", ok, err)
	}
	time.Sleep(20 * time.Millisecond) // Redis's clock moves on; the sidecar's reads the same
	if _, ok, retry, err := r.Reserve(context.Background(), p, now); ok || err != nil || retry != time.Millisecond {
		t.Fatalf("second slot at the same instant: ok %v, retry %v, %v; want refused, retry 1ms", ok, retry, err)
	}
}

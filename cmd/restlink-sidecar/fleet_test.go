package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/23telecom/restlink-sidecar/internal/redistest"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// fleetYAML is the policy fixture with a shared Redis store.
const fleetYAML = policyYAML + `
store:
  redis:
    url: {{redis}}
    password_file: {{dir}}/redis.password
    timeout: 10s # 1,200 sends at once under the race detector queue for connections: none may time out here
    on_error: {{on_error}}
    fleet_size: 3
`

// fleet is three sidecars sharing one Redis, in front of one fake
// restlink.
type fleet struct {
	boxes []*blackBox
	fake  *restlinktest.Server
	redis *redistest.Server
}

// startFleet starts three sidecars; upstreamSettings go in their upstream
// section, onError is store.redis.on_error.
func startFleet(t *testing.T, upstreamSettings, onError string) *fleet {
	t.Helper()
	f := &fleet{redis: redistest.Start(t)}
	const password = "fleetQX7vZ9kPz2Lm4Nw8Rt5Yb11"
	if _, err := f.redis.Do("CONFIG", "SET", "requirepass", password); err != nil {
		t.Fatal(err)
	}
	f.fake = restlinktest.NewServer(restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{policyKey}})
	t.Cleanup(f.fake.Close)
	yaml := strings.NewReplacer("{{redis}}", "redis://"+f.redis.Addr, "{{on_error}}", onError,
		"  timeout: 1s\n", "  timeout: 10s\n"+upstreamSettings).Replace(fleetYAML)
	for range 3 {
		f.boxes = append(f.boxes, startBlackBoxWith(t, yaml, boxOptions{upstream: f.fake.URL,
			files: map[string]string{"policy.key": policyKey, "redis.password": password}}))
	}
	return f
}

// spread sends n requests at once, spread over the fleet, and counts the
// answers by status.
func (f *fleet) spread(n int, req func(i int) *http.Request) map[int]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status := 0
			if resp, err := client.Do(req(i)); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return statuses
}

// TestFleetSharesLimits: 3 × 400 concurrent sends against a tenant rate of
// 600 recipients a minute let exactly 600 through across the fleet; one
// idempotency key sent to all three at once reaches restlink once.
func TestFleetSharesLimits(t *testing.T) {
	f := startFleet(t, "", "local")
	f.fake.SetRecording(false)
	got := f.spread(1200, func(i int) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, f.boxes[i%3].app+"/api/v1/sms/send", strings.NewReader(sendTo("hi", fmt.Sprintf("+447400%06d", i))))
		req.Header.Set("X-Tenant", "burst")
		return req
	})
	if got[200] != 600 || got[429] != 600 || sendsReceived(f.fake) != 600 {
		t.Errorf("answers %v, restlink received %d; want exactly 600 through the fleet", got, sendsReceived(f.fake))
	}

	f.fake.Reset()
	f.fake.SetRecording(true)
	body := sendTo("once", "+447400123456")
	got = f.spread(60, func(i int) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, f.boxes[i%3].app+"/api/v1/sms/send", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", "fleet-order-1")
		return req
	})
	if n := sendsReceived(f.fake); n != 1 || got[200]+got[409] != 60 {
		t.Errorf("one key sent 60 times across the fleet: %v; restlink received %d", got, n)
	}
	for _, bb := range f.boxes {
		if strings.Contains(bb.logs(), "fleetQX7vZ9k") {
			t.Error("the Redis password is in a log")
		}
	}
}

// TestFleetPacing: three sidecars sharing the account's bucket hold its
// rate within 5%.
func TestFleetPacing(t *testing.T) {
	f := startFleet(t, "  rate_limit: 150/s\n  max_wait: 10s\n", "local")
	var wg sync.WaitGroup
	stop := time.Now().Add(3 * time.Second)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if resp, err := client.Get(f.boxes[i%3].app + "/api/v1/sms/messages?limit=1"); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	checkPaced(t, f.fake, 150)
}

// TestFleetRedisOutage: Redis killed under load; no sidecar crashes, sends
// go on from memory (on_error: local) or are refused with 503
// STORE_UNAVAILABLE (refuse), the outage is logged once, and Redis is used
// again within 2 s of its return.
func TestFleetRedisOutage(t *testing.T) {
	for _, mode := range []string{"local", "refuse"} {
		t.Run(mode, func(t *testing.T) {
			f := startFleet(t, "", mode)
			bb := f.boxes[0]
			send := func() int {
				return bb.post("/api/v1/sms/send", sendTo("hi", "+447400123456")+" ", "X-Tenant: burst").status
			}
			if s := send(); s != 200 {
				t.Fatalf("before the outage: %d", s)
			}
			f.redis.Kill()
			statuses := map[int]int{}
			for range 20 {
				statuses[send()]++
			}
			want := map[string]int{"local": 200, "refuse": 503}[mode]
			if statuses[want] != 20 {
				t.Errorf("during the outage: %v, want 20 × %d", statuses, want)
			}
			if resp, _ := bb.get("/api/v1/sms/messages"); resp.StatusCode != 200 {
				t.Errorf("a request that is not a send during the outage: %d", resp.StatusCode)
			}
			if n := strings.Count(bb.logs(), "the shared store (Redis) is unavailable"); n != 1 {
				t.Errorf("the outage was logged %d times", n)
			}
			if v := bb.metric("restlink_store_available"); v != "0" {
				t.Errorf("restlink_store_available %q during the outage", v)
			}
			f.redis.Restart()
			if _, err := f.redis.Do("CONFIG", "SET", "requirepass", "fleetQX7vZ9kPz2Lm4Nw8Rt5Yb11"); err != nil {
				t.Fatal(err)
			}
			back := time.Now()
			eventually(t, 2*time.Second, "the fleet did not use Redis again within 2 s", func() bool {
				return bb.metric("restlink_store_available") == "1"
			})
			t.Logf("Redis in use again %v after it returned", time.Since(back).Round(time.Millisecond))
			if s := send(); s != 200 {
				t.Errorf("after the outage: %d", s)
			}
			for _, b := range f.boxes {
				if b.cmd.ProcessState != nil {
					t.Error("a sidecar exited")
				}
			}
		})
	}
}

// TestRedisPasswordRotation: a new password in the password file is used
// at the next connection, without a restart; it never appears in any
// output.
func TestRedisPasswordRotation(t *testing.T) {
	f := startFleet(t, "", "refuse")
	bb := f.boxes[0]
	const rotated = "rotK3mW9qT2xV7nB4cZ8pL6sJ12"
	bb.write("redis.password", rotated)
	time.Sleep(600 * time.Millisecond) // the file is read within a second
	admin := redis.NewClient(&redis.Options{Addr: f.redis.Addr, Password: "fleetQX7vZ9kPz2Lm4Nw8Rt5Yb11"})
	defer admin.Close()
	ctx := context.Background()
	if err := admin.ConfigSet(ctx, "requirepass", rotated).Err(); err != nil {
		t.Fatal(err)
	}
	// Drop the sidecars' connections: the next ones log in anew.
	if err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "the sidecar did not reconnect with the rotated password", func() bool {
		return bb.post("/api/v1/sms/send", sendTo("hi", "+447400123456"), "X-Tenant: burst").status == 200 &&
			bb.metric("restlink_store_available") == "1"
	})
	status, _ := json.Marshal(bb.status())
	for _, out := range []string{bb.logs(), string(status), bb.metric("restlink_store_available")} {
		for _, secret := range []string{"fleetQX7vZ9kPz2Lm4Nw8Rt5Yb11", rotated} {
			for i := 0; i+8 <= len(secret); i++ {
				if at := strings.Index(out, secret[i:i+8]); at >= 0 {
					t.Fatalf("a piece of the Redis password is in the output: …%s…", out[max(0, at-60):min(len(out), at+20)])
				}
			}
		}
	}
}

// TestFleetVerifiesKeyOnce: two sidecars sharing Redis probe one key value
// once between them, at start-up and again after a rotation, and both
// serve it: the second takes the first one's verdict from Redis.
func TestFleetVerifiesKeyOnce(t *testing.T) {
	const rotated = "sk_prod_ROTATEDfleetROTATEDf1"
	rds := redistest.Start(t)
	fake := restlinktest.NewServer(restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{policyKey, rotated}})
	t.Cleanup(fake.Close)
	yaml := policyYAML + "store:\n  redis:\n    url: redis://" + rds.Addr + "\n    timeout: 10s\n"
	var boxes []*blackBox
	for range 2 {
		boxes = append(boxes, startBlackBoxWith(t, yaml, boxOptions{upstream: fake.URL, files: map[string]string{"policy.key": policyKey + "\n"}}))
	}
	// probes counts the probes restlink received (the default
	// rotation.probe), by the fake's own record.
	probes := func() int {
		n := 0
		for _, r := range fake.Requests() {
			if r.Method == http.MethodGet && r.Path == "/api/v1/user/balance" {
				n++
			}
		}
		return n
	}
	verified := func() bool {
		for _, bb := range boxes {
			if keys := bb.keyStatus("main"); len(keys) != 1 || keys[0]["verified"] != "true" {
				return false
			}
		}
		return true
	}
	serving := func(key string) bool {
		for _, bb := range boxes {
			if resp, _ := bb.get("/api/v1/sms/messages?limit=1"); resp.StatusCode != http.StatusOK || lastKeyUsed(fake, 16) != key {
				return false
			}
		}
		return true
	}

	eventually(t, 10*time.Second, "both sidecars to verify the key at start-up", verified)
	if n := probes(); n != 1 {
		t.Errorf("restlink received %d probes of one key value from two sidecars sharing Redis; want 1", n)
	}
	if !serving(policyKey) {
		t.Error("a sidecar does not serve the verified key")
	}

	for _, bb := range boxes {
		bb.write("policy.key", rotated+"\n")
	}
	eventually(t, 10*time.Second, "both sidecars to serve the rotated key", func() bool { return serving(rotated) && verified() })
	if n := probes(); n != 2 {
		t.Errorf("restlink received %d probes in all after a rotation across two sidecars sharing Redis; want 2, one per value", n)
	}
	fromFleet := 0
	for _, bb := range boxes {
		logs := bb.logs()
		fromFleet += strings.Count(logs, "verified by another sidecar of the fleet")
		for _, secret := range []string{policyKey, rotated} {
			if strings.Contains(logs, secret) {
				t.Error("a key is in a log")
			}
		}
	}
	if fromFleet != 2 {
		t.Errorf("%d log lines say a value was verified by another sidecar of the fleet; want 2, one per value", fromFleet)
	}
}

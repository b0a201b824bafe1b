package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/23telecom/restlink-sidecar/internal/redistest"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// redisPassword is the password of the Redis of a redisBox. Tests check
// that no piece of it reaches the sidecar's output.
const redisPassword = "outageP4ssW0rdRz8Kq2Vn7Tx13"

// redisBox is one sidecar with the policy fixture and a shared Redis
// store, in front of a fake restlink.
type redisBox struct {
	*blackBox
	fake  *restlinktest.Server
	redis *redistest.Server
}

// startRedisBox runs a redisBox. upstream is the fake's URL or that of
// something in front of it (see holdSend); onError and timeout are
// store.redis.on_error and store.redis.timeout.
func startRedisBox(t *testing.T, fake *restlinktest.Server, upstream, onError, timeout string) *redisBox {
	t.Helper()
	rb := &redisBox{fake: fake, redis: redistest.Start(t)}
	rb.requirePassword(t)
	yaml := strings.Replace(policyYAML, "  timeout: 1s\n", "  timeout: 10s\n", 1) + `
store:
  redis:
    url: redis://` + rb.redis.Addr + `
    password_file: {{dir}}/redis.password
    timeout: ` + timeout + `
    on_error: ` + onError + `
`
	rb.blackBox = startBlackBoxWith(t, yaml, boxOptions{upstream: upstream,
		files: map[string]string{"policy.key": policyKey, "redis.password": redisPassword}})
	return rb
}

// requirePassword sets the Redis password (again, after a restart).
func (rb *redisBox) requirePassword(t *testing.T) {
	t.Helper()
	if _, err := rb.redis.Do("CONFIG", "SET", "requirepass", redisPassword); err != nil {
		t.Fatal(err)
	}
}

// newPolicyFake starts the fake restlink of the policy fixture.
func newPolicyFake(t *testing.T) *restlinktest.Server {
	fake := restlinktest.NewServer(restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{policyKey}})
	t.Cleanup(fake.Close)
	return fake
}

// holdSend puts an upstream in front of next that holds the first send
// whose message is message until release is called: a send in flight for
// as long as the test needs. arrived is closed when it is held.
func holdSend(t *testing.T, next http.Handler, message string) (upstream string, arrived <-chan struct{}, release func()) {
	in, open := make(chan struct{}), make(chan struct{})
	var held, opened sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		first := false
		if strings.Contains(string(body), `"message":"`+message+`"`) {
			held.Do(func() { first = true })
		}
		if first {
			close(in)
			<-open
		}
		next.ServeHTTP(w, r)
	}))
	release = func() { opened.Do(func() { close(open) }) }
	t.Cleanup(srv.Close)
	t.Cleanup(release) // before srv.Close, which waits for the held request
	return srv.URL, in, release
}

// sendsOf counts the sends restlink received with message.
func sendsOf(fake *restlinktest.Server, message string) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Path == "/api/v1/sms/send" && strings.Contains(string(r.Body), `"message":"`+message+`"`) {
			n++
		}
	}
	return n
}

// idempotentSend sends message to one number as tenant burst (whose limits
// the tests stay far below) with an idempotency key.
func (rb *redisBox) idempotentSend(message, key string) answer {
	rb.t.Helper()
	return rb.post("/api/v1/sms/send", sendTo(message, "+447400123456"), "X-Tenant: burst", "Idempotency-Key: "+key)
}

// wantStoreUnavailable fails the test unless a is 503 STORE_UNAVAILABLE
// with Retry-After: 1.
func wantStoreUnavailable(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable || a.header.Get("X-Restlink-Sidecar-Error") != "STORE_UNAVAILABLE" || a.header.Get("Retry-After") != "1" {
		t.Errorf("%s: %d %s Retry-After %q %s, want 503 STORE_UNAVAILABLE with Retry-After: 1", what, a.status,
			a.header.Get("X-Restlink-Sidecar-Error"), a.header.Get("Retry-After"), a.body)
	}
}

// TestRedisSlowdownNeverDoublesASend: Redis stalls (DEBUG SLEEP) for longer
// than store.redis.timeout; an app's retry of a completed send, with its
// idempotency key, is answered 503 STORE_UNAVAILABLE with Retry-After: 1
// (on_error: local notwithstanding) instead of being sent again, and is
// replayed once Redis answers: restlink receives the send once.
func TestRedisSlowdownNeverDoublesASend(t *testing.T) {
	fake := newPolicyFake(t)
	rb := startRedisBox(t, fake, fake.URL, "local", "500ms")
	first := rb.idempotentSend("slow", "slow-1")
	if first.status != http.StatusOK {
		t.Fatalf("the first send: %d %s", first.status, first.body)
	}

	// The app retries until a retry meets the stall: before it, Redis
	// replays the answer.
	admin := redis.NewClient(&redis.Options{Addr: rb.redis.Addr, Password: redisPassword, ReadTimeout: 10 * time.Second})
	defer admin.Close()
	stalled := make(chan error, 1)
	go func() { stalled <- admin.Do(context.Background(), "DEBUG", "SLEEP", "3").Err() }()
	var during answer
	for {
		during = rb.idempotentSend("slow", "slow-1")
		if during.header.Get("Idempotent-Replayed") != "true" {
			break
		}
		select {
		case err := <-stalled:
			t.Fatalf("no retry met Redis's 3 s stall (DEBUG SLEEP: %v)", err)
		default:
		}
	}
	wantStoreUnavailable(t, "a retry while Redis stalls", during)
	if err := <-stalled; err != nil {
		t.Fatalf("DEBUG SLEEP: %v", err)
	}

	eventually(t, 5*time.Second, "the sidecar did not use Redis again after its stall", func() bool {
		return rb.metric("restlink_store_available") == "1"
	})
	after := rb.idempotentSend("slow", "slow-1")
	if after.status != http.StatusOK || after.header.Get("Idempotent-Replayed") != "true" || after.body != first.body {
		t.Errorf("a retry after the stall: %d replayed %q %s, want the first answer replayed", after.status, after.header.Get("Idempotent-Replayed"), after.body)
	}
	if n := sendsOf(fake, "slow"); n != 1 {
		t.Errorf("restlink received the send %d times, want 1", n)
	}
}

// TestRedisKillNeverDoublesASend: Redis is killed while one send is in
// flight and after another completed. Until it returns, a retry of the
// completed send is answered 503 STORE_UNAVAILABLE with Retry-After: 1, a
// new key too, and the send in flight is answered from this sidecar's own
// record (409 while in flight, then its answer replayed); a send without
// a key goes on (on_error: local). restlink receives each send once.
func TestRedisKillNeverDoublesASend(t *testing.T) {
	fake := newPolicyFake(t)
	upstream, arrived, release := holdSend(t, fake, "held")
	rb := startRedisBox(t, fake, upstream, "local", "1s")
	if a := rb.idempotentSend("done", "kill-done"); a.status != http.StatusOK {
		t.Fatalf("the first send: %d %s", a.status, a.body)
	}

	inflight := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, rb.app+"/api/v1/sms/send", strings.NewReader(sendTo("held", "+447400123456")))
		req.Header.Set("X-Tenant", "burst")
		req.Header.Set("Idempotency-Key", "kill-held")
		var a answer
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			a = answer{resp.StatusCode, resp.Header, string(b)}
		}
		inflight <- a
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the send to hold did not reach restlink")
	}
	rb.redis.Kill()

	if a := rb.idempotentSend("held", "kill-held"); a.status != http.StatusConflict || a.header.Get("X-Restlink-Sidecar-Error") != "IDEMPOTENCY_IN_PROGRESS" {
		t.Errorf("a retry of the send in flight: %d %s, want 409 IDEMPOTENCY_IN_PROGRESS", a.status, a.body)
	}
	release()
	held := <-inflight
	if held.status != http.StatusOK {
		t.Fatalf("the send in flight: %d %s", held.status, held.body)
	}
	for i := range 2 {
		replay := rb.idempotentSend("held", "kill-held")
		if replay.status != http.StatusOK || replay.header.Get("Idempotent-Replayed") != "true" || replay.body != held.body {
			t.Errorf("retry %d of the send answered during the outage: %d replayed %q %s, want its answer replayed", i, replay.status, replay.header.Get("Idempotent-Replayed"), replay.body)
		}
		wantStoreUnavailable(t, "a retry of the send completed before the outage", rb.idempotentSend("done", "kill-done"))
	}
	wantStoreUnavailable(t, "a new key", rb.idempotentSend("fresh", "kill-fresh"))
	if a := rb.post("/api/v1/sms/send", sendTo("plain", "+447400123456"), "X-Tenant: burst"); a.status != http.StatusOK {
		t.Errorf("a send without a key (on_error: local): %d %s", a.status, a.body)
	}
	for message, want := range map[string]int{"done": 1, "held": 1, "fresh": 0, "plain": 1} {
		if n := sendsOf(fake, message); n != want {
			t.Errorf("restlink received the send %q %d times, want %d", message, n, want)
		}
	}
}

// logLines splits the sidecar's output into its JSON log lines and the
// lines that are not JSON.
func (bb *blackBox) logLines() (lines []map[string]any, raw []string) {
	for _, line := range strings.Split(strings.TrimSpace(bb.logs()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			raw = append(raw, line)
			continue
		}
		lines = append(lines, m)
	}
	return lines, raw
}

// stop stops the sidecar as an orchestrator does (SIGTERM) and waits for
// it to exit.
func (bb *blackBox) stop() {
	bb.t.Helper()
	if err := bb.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		bb.t.Fatal(err)
	}
	select {
	case <-bb.exited:
	case <-time.After(10 * time.Second):
		bb.t.Fatal("the sidecar did not exit within 10 s of SIGTERM")
	}
}

// TestRedisOutageLoggedOnce: an outage is logged when it starts and when it
// ends, however many requests it refuses and however often the store comes
// back and fails again: Redis full (maxmemory, noeviction: PING answers,
// writes fail) under a flood of 300 sends and three recoveries, then
// killed and restarted, is one outage. The sidecar stops before Redis has
// answered for a minute: the end is logged then, with the requests the
// outage affected. No refused request is logged as an error, and the
// Redis client's own messages (a failed dial twice a second) are logged
// once, as JSON like every line of the sidecar.
func TestRedisOutageLoggedOnce(t *testing.T) {
	fake := newPolicyFake(t)
	rb := startRedisBox(t, fake, fake.URL, "refuse", "1s")
	if a := rb.idempotentSend("before", "log-before"); a.status != http.StatusOK {
		t.Fatalf("a send before the outage: %d %s", a.status, a.body)
	}
	admin := redis.NewClient(&redis.Options{Addr: rb.redis.Addr, Password: redisPassword})
	defer admin.Close()
	if err := admin.ConfigSet(context.Background(), "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}

	const flood = 300
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range flood {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, rb.app+"/api/v1/sms/send", strings.NewReader(sendTo("flood", "+447400123456")))
			req.Header.Set("X-Tenant", "burst")
			if i%2 == 0 {
				req.Header.Set("Idempotency-Key", fmt.Sprintf("flood-%d", i))
			}
			status := 0
			if resp, err := client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[http.StatusServiceUnavailable] != flood {
		t.Errorf("a flood of %d sends to a full Redis (on_error: refuse): %v, want all 503", flood, statuses)
	}
	// The store answers PING: the sidecar tries it again, and the next
	// send finds it failing again.
	for i := range 3 {
		eventually(t, 5*time.Second, "the sidecar did not try the full Redis again", func() bool {
			return rb.metric("restlink_store_available") == "1"
		})
		wantStoreUnavailable(t, fmt.Sprintf("a send after recovery %d", i), rb.idempotentSend("flap", fmt.Sprintf("flap-%d", i)))
	}

	// Killed, Redis makes the client report every failed dial of the
	// sidecar's probes, twice a second.
	failures := rb.metric("restlink_store_failures_total")
	rb.redis.Kill()
	eventually(t, 5*time.Second, "the sidecar's probes did not find Redis gone", func() bool {
		var before, now int
		fmt.Sscan(failures, &before)
		fmt.Sscan(rb.metric("restlink_store_failures_total"), &now)
		logs := rb.logs() // the client's messages, routed or (before the fix) raw
		return now >= before+3 && (strings.Contains(logs, "the Redis client reported") || strings.Contains(logs, "failed to dial"))
	})
	rb.redis.Restart()
	rb.requirePassword(t)
	eventually(t, 5*time.Second, "the sidecar did not use Redis again after its restart", func() bool {
		return rb.metric("restlink_store_available") == "1"
	})
	if a := rb.idempotentSend("after", "log-after"); a.status != http.StatusOK {
		t.Errorf("a send after the outage: %d %s", a.status, a.body)
	}
	rb.stop()

	lines, raw := rb.logLines()
	if len(raw) > 0 {
		t.Errorf("%d lines of the sidecar's output are not JSON, such as %q", len(raw), raw[0])
	}
	var starts, ends, clientLines []map[string]any
	for _, l := range lines {
		msg, _ := l["msg"].(string)
		switch {
		case strings.HasPrefix(msg, "the Redis client reported a problem"):
			clientLines = append(clientLines, l)
		case strings.HasPrefix(msg, "the shared store (Redis) is unavailable"):
			starts = append(starts, l)
		case strings.HasPrefix(msg, "this sidecar stopped using the shared store (Redis) during an outage"), strings.HasPrefix(msg, "the shared store (Redis) outage is over"):
			ends = append(ends, l)
		case msg == "the store could not decide a send" || strings.HasPrefix(msg, "the store could not settle"):
			t.Errorf("a request was logged on its own: %v", l)
		}
	}
	if len(starts) != 1 || len(ends) != 1 {
		t.Fatalf("the outage was logged %d times as started and %d times as ended, want once each", len(starts), len(ends))
	}
	if len(clientLines) != 1 || fmt.Sprint(clientLines[0]["message"]) == "" {
		t.Errorf("the Redis client's messages were logged %d times (%v), want once, with the first", len(clientLines), clientLines)
	}
	if affected, _ := ends[0]["affected"].(float64); affected < flood+3 {
		t.Errorf("the outage's end says %v requests affected, want at least %d: %v", ends[0]["affected"], flood+3, ends[0])
	}
	for i := 0; i+8 <= len(redisPassword); i++ {
		if strings.Contains(rb.logs(), redisPassword[i:i+8]) {
			t.Fatal("a piece of the Redis password is in the sidecar's output")
		}
	}
}

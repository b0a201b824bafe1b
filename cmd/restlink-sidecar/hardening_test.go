package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// get sends a GET through the sidecar with headers ("Name: value").
func (bb *blackBox) get(path string, headers ...string) (*http.Response, string) {
	bb.t.Helper()
	return bb.request(http.MethodGet, path, "", headers...)
}

// TestPathsAndMethods: the path reaches the upstream exactly as checked
// (its canonical form), dot segments hidden by escapes or parameters are
// refused, and only a REST API's methods are forwarded.
func TestPathsAndMethods(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML+"allow:\n  - GET /api/v1/sms/*\n  - POST /api/v1/sms/send\n")
	for _, tc := range []struct {
		name, target, forwarded, refusal string
	}{
		{"escapes next to characters Go re-escapes", "/api/v1/sms/%3B%3D%26%40%2B|^{\"é", "/api/v1/sms/%3B%3D%26%40%2B|^{\"é", ""},
		{"sub-delimiters", "/api/v1/sms/(a)!*'[b]", "/api/v1/sms/(a)!*'[b]", ""},
		{"an escaped unreserved character is normalised", "/api/v1/sms/%7Euser%2dx", "/api/v1/sms/~user-x", ""},
		{"lower-case hex is upper-cased", "/api/v1/sms/%3b", "/api/v1/sms/%3B", ""},
		{"query passes as sent", "/api/v1/sms/x?a=%2F&b=|", "/api/v1/sms/x?a=%2F&b=|", ""},
		{"dot-dot with an encoded parameter", "/api/v1/sms/..%3B/..%3B/user/workspaces", "", "400 INVALID_PATH"},
		{"dot-dot with an escaped space", "/api/v1/sms/..%20/user/workspaces", "", "400 INVALID_PATH"},
		{"overlong dot-dot", "/api/v1/sms/%c0%ae%c0%ae/user/workspaces", "", "400 INVALID_PATH"},
		{"escaped dots", "/api/v1/sms/%2e%2e/user/workspaces", "", "400 INVALID_PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bb.up.take()
			answer := bb.rawRequest("GET " + tc.target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
			got := bb.up.take()
			if tc.refusal != "" {
				if !strings.HasPrefix(answer, "HTTP/1.1 "+strings.Fields(tc.refusal)[0]) || !strings.Contains(answer, strings.Fields(tc.refusal)[1]) || len(got) != 0 {
					t.Errorf("want %s and nothing upstream; got %q, upstream %d", tc.refusal, firstLine(answer), len(got))
				}
				return
			}
			if len(got) != 1 || got[0].Target != tc.forwarded {
				t.Errorf("answer %q; upstream received %+v, want target %q", firstLine(answer), got, tc.forwarded)
			}
		})
	}

	for _, method := range []string{"TRACE", "CONNECT", "PROPFIND", "FOO"} {
		t.Run("method "+method, func(t *testing.T) {
			bb.up.take()
			answer := bb.rawRequest(method + " /api/v1/sms/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
			if !strings.HasPrefix(answer, "HTTP/1.1 405") || !strings.Contains(answer, "METHOD_NOT_ALLOWED") || !strings.Contains(answer, "Allow: GET, HEAD, POST") {
				t.Errorf("answer %q", answer)
			}
			if got := bb.up.take(); len(got) != 0 {
				t.Errorf("%s went upstream (with the key)", method)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// TestFraming: refusals of requests with unread bodies come at once and
// close the connection; an HTTP/1.0 request without Host is the
// sidecar's own; a request that was not forwarded always gets a sidecar
// error; h2c is refused on the plain listener.
func TestFraming(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML)

	t.Run("Expect 100-continue refused without waiting for the body", func(t *testing.T) {
		conn, err := net.Dial("tcp", bb.appAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/sms/send HTTP/1.1\r\nHost: localhost\r\nX-Tenant: nobody\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
		// The body is never sent: the answer must come anyway, and the
		// connection must close (the unread body cannot be the next request).
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		answer, err := io.ReadAll(conn)
		if err != nil || !strings.HasPrefix(string(answer), "HTTP/1.1 403") || !strings.Contains(string(answer), "UNKNOWN_TENANT") {
			t.Errorf("answer %q, %v", answer, err)
		}
	})
	t.Run("curl does not wait for 100 Continue", func(t *testing.T) {
		start := time.Now()
		out, err := exec.Command(needTool(t, "curl"), "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Tenant: nobody",
			"-H", "Expect: 100-continue", "--expect100-timeout", "30", "--data-binary", strings.Repeat("x", 100000), bb.app+"/api/v1/sms/send").CombinedOutput()
		if err != nil || string(out) != "403" || time.Since(start) > 20*time.Second {
			t.Errorf("curl: %v %s after %v (it waits up to 30 s for a 100 Continue that never comes)", err, out, time.Since(start))
		}
	})
	t.Run("HTTP/1.0 without Host", func(t *testing.T) {
		if answer := bb.rawRequest("GET /api/v1/x HTTP/1.0\r\n\r\n"); !strings.HasPrefix(answer, "HTTP/1.0 200") {
			t.Errorf("answer %q", firstLine(answer))
		}
	})
	t.Run("malformed chunked body", func(t *testing.T) {
		bb.up.take()
		answer := bb.rawRequest("POST /api/v1/sms/send HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
		if !strings.HasPrefix(answer, "HTTP/1.1 400") || !strings.Contains(answer, "X-Restlink-Sidecar-Error: REQUEST_BODY_INCOMPLETE") {
			t.Errorf("answer %q", answer)
		}
		if got := bb.up.take(); len(got) != 0 {
			t.Errorf("a malformed body went upstream")
		}
	})
	t.Run("short body then half-close", func(t *testing.T) {
		conn, err := net.Dial("tcp", bb.appAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/sms/send HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"to\":")
		_ = conn.(*net.TCPConn).CloseWrite()
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		answer, _ := io.ReadAll(conn)
		if !strings.HasPrefix(string(answer), "HTTP/1.1 400") || !strings.Contains(string(answer), "REQUEST_BODY_INCOMPLETE") {
			t.Errorf("answer %q: a request that was never forwarded must not look like a success", answer)
		}
	})
	t.Run("a trickled body times out", func(t *testing.T) {
		conn, err := net.Dial("tcp", bb.appAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/sms/send HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		answer, _ := io.ReadAll(conn) // body_timeout is 1s
		if !strings.HasPrefix(string(answer), "HTTP/1.1 408") || !strings.Contains(string(answer), "REQUEST_BODY_TIMEOUT") {
			t.Errorf("answer %q", answer)
		}
	})
	t.Run("h2c with prior knowledge is refused", func(t *testing.T) {
		out, err := exec.Command(needTool(t, "curl"), "-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", bb.app+"/api/v1/x").CombinedOutput()
		if err == nil {
			t.Errorf("h2c request answered: %s", out)
		}
	})
	t.Run("forwarding-header families stripped", func(t *testing.T) {
		bb.up.take()
		headers := []string{"X-Forwarded-Uri: /admin", "X-Forwarded-Path: /admin", "X-Forwarded-Scheme: https", "X-Forwarded-Ssl: on",
			"X-Original-Method: DELETE", "X-Original-Uri: /admin", "X-Original-Host: evil", "X-Host: evil", "Via: 1.1 evil",
			"X-Client-IP: 10.0.0.1", "True-Client-IP: 10.0.0.1", "X-Cluster-Client-IP: 10.0.0.1", "X-Real-IP: 10.0.0.1",
			"X-Http-Method-Override: DELETE", "X-Method-Override: DELETE", "Forwarded: host=evil", "X-Request-Id: kept"}
		if resp, _ := bb.get("/api/v1/x", headers...); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		got := bb.up.take()
		if len(got) != 1 || got[0].Header.Get("X-Request-Id") != "kept" {
			t.Fatalf("upstream got %+v", got)
		}
		for _, h := range headers[:len(headers)-1] {
			name, _, _ := strings.Cut(h, ":")
			if v := got[0].Header.Values(name); len(v) > 0 {
				t.Errorf("upstream received %s: %q", name, v)
			}
		}
	})
}

// TestStreamingAndSlowReaders: an event stream arrives as it is sent; an
// app reading a large answer slowly gets it whole, and its slowness never
// counts against the upstream's breaker.
func TestStreamingAndSlowReaders(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML)

	t.Run("server-sent events are flushed", func(t *testing.T) {
		resp, err := http.Get(bb.app + "/api/v1/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// The upstream holds its second event until the test has the first
		// (or 5 s): without flushing, the first never comes alone.
		got := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(resp.Body).ReadString('\n')
			got <- line
		}()
		select {
		case line := <-got:
			if line != "data: one\n" {
				t.Errorf("first line %q", line)
			}
		case <-time.After(3 * time.Second):
			t.Error("the first event did not arrive before the upstream sent the second")
		}
		close(bb.up.sseNext)
	})

	t.Run("slow readers get the whole answer and trip nothing", func(t *testing.T) {
		// upstream.timeout is 1 s and consecutive_failures 3: four readers
		// taking about 2 s each would have opened the breaker.
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, bb.app+"/api/v1/large", nil)
				req.Header.Set("X-Tenant", "slowread")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				n, buf := 0, make([]byte, 256<<10)
				for {
					k, err := resp.Body.Read(buf)
					n += k
					if err == io.EOF {
						break
					}
					if err != nil {
						errs <- fmt.Errorf("after %d bytes: %w", n, err)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
				if n != largeAnswer {
					errs <- fmt.Errorf("got %d of %d bytes", n, largeAnswer)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if v := bb.metric(`restlink_breaker_state{workspace="slowread"}`); v != "0" {
			t.Errorf("breaker state %q after slow readers, want 0 (closed)", v)
		}
		if v := bb.metric(`restlink_upstream_failures_total{reason="timeout",workspace="slowread"}`); v != "0" {
			t.Errorf("slow readers counted as %s upstream timeouts", v)
		}
	})
}

// TestSlowBodyHoldsNoProbe: a client trickling its body into a workspace
// whose breaker is half-open does not keep other requests out.
func TestSlowBodyHoldsNoProbe(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML)
	for range 3 { // consecutive_failures: 3
		if resp, _ := bb.get("/api/v1/fail", "X-Tenant: brk"); resp.StatusCode != 503 {
			t.Fatalf("failure answered %d", resp.StatusCode)
		}
	}
	time.Sleep(1100 * time.Millisecond) // open_timeout: 1s; the next request is the probe

	trickler, err := net.Dial("tcp", bb.appAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer trickler.Close()
	fmt.Fprintf(trickler, "POST /api/v1/sms/send HTTP/1.1\r\nHost: localhost\r\nX-Tenant: brk\r\nContent-Length: 100\r\n\r\n{")
	time.Sleep(100 * time.Millisecond)
	if resp, body := bb.get("/api/v1/x", "X-Tenant: brk"); resp.StatusCode != 200 {
		t.Errorf("with a body trickling in, another request got %d %s", resp.StatusCode, body)
	}
}

// TestUploadMemoryIsBounded: 400 connections that announce 1 MiB bodies
// and send nothing do not make the sidecar allocate 400 MiB.
func TestUploadMemoryIsBounded(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML)
	before := rssKiB(t, bb.cmd.Process.Pid)
	var conns []net.Conn
	for range 400 {
		c, err := net.Dial("tcp", bb.appAddr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /api/v1/sms/send HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\r\n")
	}
	time.Sleep(500 * time.Millisecond)
	after := rssKiB(t, bb.cmd.Process.Pid)
	for _, c := range conns {
		c.Close()
	}
	if grown := after - before; grown > 64<<10 {
		t.Errorf("RSS grew by %d MiB for 400 stalled uploads", grown>>10)
	}
}

// rssKiB is a process's resident set size.
func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestUpstreamFailuresAreVisible: an answer the upstream cuts short is
// logged as a failure and counted; 401s fail over only when the key is at
// fault.
func TestUpstreamFailuresAreVisible(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML)

	if _, err := http.Get(bb.app + "/api/v1/cut"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(bb.app + "/api/v1/cut")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("a cut answer reached the app as whole")
	}
	if v := bb.metric(`restlink_upstream_failures_total{reason="truncated",workspace="main"}`); v != "2" {
		t.Errorf("truncated answers counted %q, want 2", v)
	}
	if logs := bb.logs(); !strings.Contains(logs, `"upstream_failure":"truncated"`) || strings.Contains(logs, `"msg":"forwarded request","method":"GET","path":"/api/v1/cut"`) {
		t.Errorf("a cut answer was not logged as a failure:\n%s", logs)
	}

	// A JWT-only endpoint answers 401 whatever the key: no failover.
	bb.up.take()
	if resp, body := bb.get("/api/v1/user/workspaces", "X-Tenant: failover"); resp.StatusCode != 401 || !strings.Contains(body, "UNAUTHORIZED") {
		t.Errorf("JWT-only endpoint: %d %s", resp.StatusCode, body)
	}
	if got := bb.up.take(); len(got) != 2 || got[0].Header.Get("X-Api-Key") != badKey || got[1].Header.Get("X-Api-Key") != goodKey+"2" {
		t.Fatalf("upstream received %d requests", len(got))
	}
	// The bad key (INVALID_API_KEY) was demoted; the endpoint's own 401
	// demoted nothing: every later request goes upstream once.
	for range 3 {
		bb.get("/api/v1/user/workspaces", "X-Tenant: failover")
		if got := bb.up.take(); len(got) != 1 || got[0].Header.Get("X-Api-Key") != goodKey+"2" {
			t.Errorf("after the failover, upstream received %d requests", len(got))
		}
	}
	if resp, _ := bb.get("/api/v1/x", "X-Tenant: failover"); resp.StatusCode != 200 {
		t.Errorf("the good key no longer serves: %d", resp.StatusCode)
	}
}

// TestOperatorsSiteGuarded: /metrics, like /status, refuses foreign Host
// headers and browsers (a DNS-rebinding page must not read it).
func TestOperatorsSiteGuarded(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML)
	for _, path := range []string{"/metrics", "/status"} {
		for _, tc := range []struct {
			header string
			status int
		}{
			{"", 200},
			{"Host: evil.example", 421},
			{"Origin: http://evil.example", 403},
			{"Sec-Fetch-Site: cross-site", 403},
		} {
			req, _ := http.NewRequest(http.MethodGet, bb.ops+path, nil)
			if name, value, ok := strings.Cut(tc.header, ": "); ok {
				req.Header.Set(name, value)
				if name == "Host" {
					req.Host = value
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%s with %q: %d, want %d", path, tc.header, resp.StatusCode, tc.status)
			}
		}
	}
}

// TestHostileConfigReloads: a config file with a self-referring alias, a
// "billion laughs" of nested aliases, or an allow list whose rules are all
// commented out is rejected on reload, reported once, and the sidecar
// keeps serving with its last good config.
func TestHostileConfigReloads(t *testing.T) {
	bb := startBlackBox(t, blackBoxYAML)
	var laughs strings.Builder
	laughs.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for i := 'b'; i <= 'j'; i++ {
		fmt.Fprintf(&laughs, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	for _, tc := range []struct{ name, yaml string }{
		{"self-referring alias", blackBoxYAML + "routing: &r\n  x: *r\n"},
		{"billion laughs", blackBoxYAML + laughs.String()},
		{"allow list commented out", blackBoxYAML + "allow:\n  # - POST /api/v1/sms/send\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failures := strings.Count(bb.logs(), "config reload rejected")
			bb.write("config.yaml", bb.expand(tc.yaml))
			deadline := time.Now().Add(5 * time.Second)
			for strings.Count(bb.logs(), "config reload rejected") == failures && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(2500 * time.Millisecond) // at least one periodic check of the unchanged bad file
			if n := strings.Count(bb.logs(), "config reload rejected") - failures; n != 1 {
				t.Errorf("rejection logged %d times, want once", n)
			}
			if resp, _ := bb.get("/api/v1/x"); resp.StatusCode != 200 {
				t.Errorf("after the bad reload: %d", resp.StatusCode)
			}
			if rss := rssKiB(t, bb.cmd.Process.Pid); rss > 512<<10 {
				t.Errorf("RSS %d MiB", rss>>10)
			}
			// Back to the good config, so that the next case's rejection is
			// a new one (the same rejection is reported once).
			bb.write("config.yaml", bb.expand(blackBoxYAML))
			time.Sleep(2500 * time.Millisecond)
		})
	}
}

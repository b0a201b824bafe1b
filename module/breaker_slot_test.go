package restlink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEveryRequestReportsToTheBreakerOnce sends one request down each way
// a request can leave the handler once it holds a breaker slot, and checks
// that the breaker heard of it exactly once, with the right outcome: a
// breaker that is never told keeps its half-open probe slot taken forever,
// and one told twice counts a request twice.
func TestEveryRequestReportsToTheBreakerOnce(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/unauthorized":
			w.WriteHeader(http.StatusUnauthorized)
		case "/failure":
			w.WriteHeader(http.StatusBadGateway)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/cut":
			conn, buf, _ := http.NewResponseController(w).Hijack()
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
			_ = buf.Flush()
			_ = conn.Close()
		default:
			_, _ = w.Write([]byte(`{"ok":true}`))
		}
	}))
	t.Cleanup(upstream.Close)
	h := benchHandler(t, upstream.URL, 10)
	snap := h.live.current.Load()
	snap.Upstream.Timeout = 100 * time.Millisecond // this test's snapshot only

	type outcome int
	const (
		neither outcome = iota
		success
		failure
	)
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		want outcome
	}{
		{"success", func() *http.Request { return testRequest("/ok", benchBody) }, success},
		{"failure status", func() *http.Request { return testRequest("/failure", benchBody) }, failure},
		{"every key refused", func() *http.Request { return testRequest("/unauthorized", benchBody) }, success},
		{"upstream timeout", func() *http.Request { return testRequest("/slow", benchBody) }, failure},
		{"response cut short", func() *http.Request { return testRequest("/cut", benchBody) }, failure},
		{"body over the limit", func() *http.Request {
			r := testRequest("/ok", "")
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(strings.Repeat("x", 2<<20))), -1
			return r
		}, neither},
		{"client hung up while sending", func() *http.Request {
			r := testRequest("/ok", "")
			r.Body, r.ContentLength = io.NopCloser(io.MultiReader(strings.NewReader("{"), errReader{})), -1
			return r
		}, neither},
		{"client hung up while reading the answer", func() *http.Request {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return testRequest("/ok", benchBody).WithContext(ctx)
		}, success},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := snap.workspace("ws-0")
			ws.circuit = new(lazy[breaker]) // a fresh breaker for each case
			func() {
				defer func() { // a response cut short aborts the connection
					if v := recover(); v != nil && v != http.ErrAbortHandler {
						panic(v)
					}
				}()
				_ = h.ServeHTTP(&discardWriter{h: make(http.Header)}, tc.req(), nil)
			}()
			c, _ := ws.breakerCounts()
			reported := c.TotalSuccesses + c.TotalFailures + c.TotalExclusions
			if c.Requests != reported {
				t.Fatalf("breaker counts %+v: a request was reported %s", c, map[bool]string{true: "twice", false: "never"}[reported > c.Requests])
			}
			got := map[outcome]bool{
				neither: c.TotalSuccesses+c.TotalFailures == 0 && c.Requests <= 1,
				success: c.TotalSuccesses == 1 && c.Requests == 1,
				failure: c.TotalFailures == 1 && c.Requests == 1,
			}
			if !got[tc.want] {
				t.Errorf("breaker counts %+v, want outcome %d", c, tc.want)
			}
		})
	}
}

// testRequest is an app's POST to path for the main workspace.
func testRequest(path, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.RemoteAddr, r.Host = "127.0.0.1:40000", "localhost:8080"
	return r
}

// errReader fails as a connection that was reset.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

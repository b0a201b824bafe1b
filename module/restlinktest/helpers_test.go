package restlinktest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Keys of the standard fixture.
const (
	keyMain    = "sk_prod_MAINmain0001"
	keyTest    = "sk_prod_TESTtest0002"
	keySandbox = "sk_test_SANDBOXsb003"
	keySigned  = "sk_prod_SIGNEDsg0004"
	keyOther   = "sk_prod_OTHERacct005"
	secret     = "api-secret-for-tests"
	smsBody    = `{"to":["+14155551234"],"message":"hi","sender_id":"MyApp"}`
)

// fixture: workspaces 16 (main) and 18 in the default account, 30 in
// account 7.
func fixture() []Workspace {
	return []Workspace{
		{ID: 16, Name: "Main", Main: true, Keys: []string{keyMain, keySandbox}, APIKeys: []Key{{Value: keySigned, Secret: secret}}},
		{ID: 18, Name: "test-space", Keys: []string{keyTest}},
		{ID: 30, Name: "other", AccountID: 7, Keys: []string{keyOther}},
	}
}

// start serves the fixture until the test ends.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s := NewServer(fixture()...)
	s.SetOptions(opts)
	t.Cleanup(s.Close)
	return s
}

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *testClock {
	return &testClock{now: time.Date(2026, 2, 13, 10, 15, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// answer is what a client got.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// code is the answer's error_code, if it has restlink's error body.
func (a answer) code() string {
	var e ErrorBody
	_ = json.Unmarshal(a.body, &e)
	return e.ErrorCode
}

// decode decodes the answer's body into v, failing the test if it cannot.
func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decoding %d %s: %v", a.status, a.body, err)
	}
}

// do sends a request to the fake; headers are "Name: value". Redirects
// are not followed.
func do(t *testing.T, s *Server, method, target, body string, headers ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(name, strings.TrimSpace(value))
	}
	client := s.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

// send posts body to /api/v1/sms/send with a key.
func send(t *testing.T, s *Server, key, body string) answer {
	t.Helper()
	return do(t, s, http.MethodPost, "/api/v1/sms/send", body, "X-API-Key: "+key)
}

// signed sends a request signed with secret at the clock's time.
func signed(t *testing.T, s *Server, clock *testClock, method, path, query, body string) answer {
	t.Helper()
	ts := timestampOf(clock.Now())
	target := path
	if query != "" {
		target += "?" + query
	}
	return do(t, s, method, target, body, "X-API-Key: "+keySigned, "X-Timestamp: "+ts,
		"X-Signature: "+Sign(secret, method, path, ts, []byte(body)))
}

func timestampOf(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10)
}

// wantAnswer fails the test unless a has the status and error code.
func wantAnswer(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.err != nil {
		t.Fatalf("request failed: %v", a.err)
	}
	if a.status != status || a.code() != code {
		t.Fatalf("got %d %q (%s), want %d %q", a.status, a.code(), a.body, status, code)
	}
}

package restlinktest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, s *Server, path, key, body string) (int, ErrorBody) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	client := s.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return 0, ErrorBody{ErrorCode: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e ErrorBody
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e
}

const sms = `{"to":["+14155551234"],"message":"hi","sender_id":"MyApp"}`

func TestFake(t *testing.T) {
	s := NewServer(Workspace{ID: 16, Name: "Main", Main: true, Keys: []string{"k-main"}}, Workspace{ID: 18, Name: "test", Keys: []string{"k-test"}})
	defer s.Close()
	for _, tc := range []struct {
		name, path, key, body string
		status                int
		code                  string
	}{
		{"send", "/api/v1/sms/send", "k-test", sms, 200, ""},
		{"no key", "/api/v1/sms/send", "", sms, 401, "MISSING_API_KEY"},
		{"unknown key", "/api/v1/sms/send", "nope", sms, 401, "INVALID_API_KEY"},
		{"bad number", "/api/v1/sms/send", "k-test", `{"to":["12"],"message":"hi"}`, 400, "INVALID_PHONE_NUMBER"},
		{"no message", "/api/v1/sms/send", "k-test", `{"to":["+14155551234"]}`, 400, "VALIDATION_ERROR"},
		{"not JSON", "/api/v1/sms/send", "k-test", `hello`, 400, "INVALID_JSON"},
		{"unknown field", "/api/v1/sms/send", "k-test", `{"to":["+14155551234"],"message":"hi","x":1}`, 400, "INVALID_JSON"},
		{"workspaces list is JWT-only", "/api/v1/user/workspaces", "k-test", "", 403, "API_KEY_NOT_ALLOWED"},
		{"unknown path", "/api/v1/nothing", "k-test", "", 404, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, e := post(t, s, tc.path, tc.key, tc.body)
			if status != tc.status || e.ErrorCode != tc.code {
				t.Errorf("got %d %q, want %d %q", status, e.ErrorCode, tc.status, tc.code)
			}
		})
	}
	reqs := s.Requests()
	if len(reqs) != 9 || reqs[0].WorkspaceID != 18 || reqs[0].Key != "k-test" || string(reqs[0].Body) != sms {
		t.Errorf("recorded %d requests, first %+v", len(reqs), reqs[0])
	}

	s.RevokeKey("k-test")
	if status, e := post(t, s, "/api/v1/sms/send", "k-test", sms); status != 401 || e.ErrorCode != "API_KEY_REVOKED" {
		t.Errorf("revoked key: %d %s", status, e.ErrorCode)
	}
	s.AddKey("k-test", 18)
	if status, _ := post(t, s, "/api/v1/sms/send", "k-test", sms); status != 200 {
		t.Errorf("re-added key: %d", status)
	}
}

func TestFaults(t *testing.T) {
	s := NewServer(Workspace{ID: 16, Keys: []string{"a"}}, Workspace{ID: 18, Keys: []string{"b"}})
	defer s.Close()

	s.Inject(Fault{WorkspaceID: 18, Status: 503, ErrorCode: "DOWN", Times: 2})
	for i, want := range []int{503, 503, 200} {
		if status, _ := post(t, s, "/api/v1/sms/send", "b", sms); status != want {
			t.Errorf("request %d for the faulty workspace: %d, want %d", i, status, want)
		}
	}
	if status, _ := post(t, s, "/api/v1/sms/send", "a", sms); status != 200 {
		t.Errorf("the other workspace: %d", status)
	}

	remove := s.Inject(Fault{RedirectTo: "http://127.0.0.1:1/x"})
	if status, _ := post(t, s, "/api/v1/sms/send", "a", sms); status != http.StatusFound {
		t.Errorf("redirect: %d", status)
	}
	remove()

	s.Inject(Fault{CloseAfterRead: true, Times: 1})
	if status, e := post(t, s, "/api/v1/sms/send", "a", sms); status != 0 || !strings.Contains(e.ErrorCode, "EOF") {
		t.Errorf("close after read: %d %s", status, e.ErrorCode)
	}
	s.Inject(Fault{ResetAfterHeaders: true, Times: 1})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/sms/send", strings.NewReader(sms))
	req.Header.Set("X-API-Key", "a")
	if resp, err := s.Client().Do(req); err != nil {
		t.Errorf("reset after headers: no headers: %v", err)
	} else {
		_, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || err == nil {
			t.Errorf("reset after headers: %d, body error %v; want 200 and a cut body", resp.StatusCode, err)
		}
	}

	s.Inject(Fault{Delay: 200 * time.Millisecond, Times: 1})
	start := time.Now()
	if status, _ := post(t, s, "/api/v1/sms/send", "a", sms); status != 200 || time.Since(start) < 200*time.Millisecond {
		t.Errorf("delay: %d after %v", status, time.Since(start))
	}

	n := s.Count()
	s.SetRecording(false)
	post(t, s, "/api/v1/sms/send", "a", sms)
	if s.Count() != n {
		t.Error("recorded with recording off")
	}
	s.Reset()
	if s.Count() != 0 {
		t.Error("Reset kept requests")
	}
}

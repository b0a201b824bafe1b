package restlink

import (
	"net/url"
	"strings"
	"testing"
)

func TestSplitTarget(t *testing.T) {
	for _, tc := range []struct {
		target, path, query string
		ok                  bool
	}{
		{"/api/v1/sms/send", "/api/v1/sms/send", "", true},
		{"/api/v1/sms/send?a=1&b=%2F", "/api/v1/sms/send", "a=1&b=%2F", true},
		{"http://evil.example:1234/api/v1/sms/send?x", "/api/v1/sms/send", "x", true},
		{"https://127.0.0.1:9999/t/acme/x", "/t/acme/x", "", true},
		{"http://evil.example?x=/y", "", "", false},
		{"http://evil.example", "", "", false},
		{"*", "", "", false},
		{"evil.example:443", "", "", false},
		{"", "", "", false},
	} {
		path, query, ok := splitTarget(tc.target)
		if path != tc.path || query != tc.query || ok != tc.ok {
			t.Errorf("splitTarget(%q) = %q, %q, %v; want %q, %q, %v", tc.target, path, query, ok, tc.path, tc.query, tc.ok)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/api/v1/sms/send", true},
		{"/api/v1/sms/", true},
		{"/t/acme/api/v1/sms/send", true},
		{"/api/v1/messages/%20x", true},
		{"/api/v1/%C3%A9", true},
		{"/api/v1/a;b", true},
		{"/api/v1/..a/b.", true},
		{"/api/v1/...", true},
		{"", false},
		{"api/v1", false},
		{"//api/v1", false},
		{"/api//v1", false},
		{"/api/../user/workspaces", false},
		{"/api/./v1", false},
		{"/api/v1/..", false},
		{"/api/v1/.", false},
		{"/api/..;x/v1", false},
		{"/api/.;x/v1", false},
		{"/api/%2e%2e/v1", false},
		{"/api/%2E%2E/v1", false},
		{"/api/.%2e/v1", false},
		{"/api/%2e/v1", false},
		{"/t%2Facme/x", false},
		{"/t%2facme/x", false},
		{"/t/acme%5cx", false},
		{"/t/acme\\..\\x", false},
		{"/api/%252e%252e/v1", false},
		{"/api/%61pi", false},
		{"/api/%7e", false},
		{"/api/%00", false},
		{"/api/%0a", false},
		{"/api/\x00", false},
		{"/api/\x7f", false},
		{"/api/%", false},
		{"/api/%4", false},
		{"/api/%zz", false},
	} {
		reason := checkPath(tc.path)
		if (reason == "") != tc.ok {
			t.Errorf("checkPath(%q) = %q, want ok=%v", tc.path, reason, tc.ok)
		}
	}
}

// FuzzCheckPath checks the property the sidecar relies on: a path that
// passes has the same segments whether it is read raw or decoded, so the
// tenant prefix, the allow list and the upstream cannot disagree.
func FuzzCheckPath(f *testing.F) {
	for _, seed := range []string{
		"/api/v1/sms/send", "/t/acme/api/v1/sms/send", "/a/../b", "/a/%2e%2e/b", "/a%2fb", "//a",
		"/a/%252e", "/a;b/..;c", "/%41", "/a\\b", "/é/%C3%A9", "/a/", "/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if checkPath(path) != "" {
			return
		}
		decoded, err := url.PathUnescape(path)
		if err != nil {
			t.Fatalf("accepted %q, which does not decode: %v", path, err)
		}
		raw, dec := strings.Split(path, "/"), strings.Split(decoded, "/")
		if len(raw) != len(dec) {
			t.Fatalf("accepted %q: decoding changes its segments to %q", path, decoded)
		}
		for i, seg := range dec {
			name, _, _ := strings.Cut(seg, ";")
			if name == "." || name == ".." || strings.ContainsAny(seg, "\\%\x00") || (seg == "" && i > 0 && i < len(dec)-1) {
				t.Fatalf("accepted %q: decoded segment %d is %q", path, i, seg)
			}
		}
	})
}

package restlink

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
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

func TestCheckQuery(t *testing.T) {
	for _, tc := range []struct {
		query string
		ok    bool
	}{
		{"", true},
		{"a=1&b=%2F", true},
		{"to=%2B1&x=a;b", true},
		{"a=%23", true},
		{"a=1#x", false},
		{"#", false},
	} {
		if reason := checkQuery(tc.query); (reason == "") != tc.ok {
			t.Errorf("checkQuery(%q) = %q; want ok %v", tc.query, reason, tc.ok)
		}
	}
}

func TestCanonicalPath(t *testing.T) {
	for _, tc := range []struct {
		path, want string // want "": refused
	}{
		{"/", "/"},
		{"/api/v1/sms/send", "/api/v1/sms/send"},
		{"/api/v1/sms/", "/api/v1/sms/"},
		{"/t/acme/api/v1/sms/send", "/t/acme/api/v1/sms/send"},
		{"/api/v1/messages/%20x", "/api/v1/messages/%20x"},
		{"/api/v1/%C3%A9", "/api/v1/%C3%A9"},
		{"/api/v1/%c3%a9", "/api/v1/%C3%A9"},
		{"/api/v1/é", "/api/v1/é"},
		{"/api/v1/..a/b.c", "/api/v1/..a/b.c"},
		{"/api/v1/sms/send.json", "/api/v1/sms/send.json"},
		{"/api/v1/a%20b/.c", "/api/v1/a%20b/.c"},
		{"/api/v1/a%3Bb", "/api/v1/a%3Bb"},
		{"/api/%61pi", "/api/api"},
		{"/api/%7e/%7E", "/api/~/~"},
		{"/api/a%2Db%5f", "/api/a-b_"},
		{"/api/v1/sms/..%3B|/admin", ""},
		{"/api/v1/sms/%3B|^{\"/x", "/api/v1/sms/%3B|^{\"/x"},
		{"/api/v1/sms/%3b%3d%26%40%2b", "/api/v1/sms/%3B%3D%26%40%2B"},
		{"/api/v1/sms/(a)!*'[b]", "/api/v1/sms/(a)!*'[b]"},
		{"", ""},
		{"api/v1", ""},
		{"//api/v1", ""},
		{"/api//v1", ""},
		{"/api/../user/workspaces", ""},
		{"/api/./v1", ""},
		{"/api/v1/..", ""},
		{"/api/v1/.", ""},
		{"/api/v1/...", ""},
		{"/api/..;x/v1", ""},
		{"/api/.;x/v1", ""},
		{"/api/..%3B/..%3B/user/workspaces", ""},
		{"/api/..%3b/v1", ""},
		{"/api/..%20/v1", ""},
		{"/api/%20..%20/v1", ""},
		{"/api/%c0%ae%c0%ae/v1", ""},
		{"/api/%C0%AE/v1", ""},
		{"/api/%ff/v1", ""},
		{"/api/\xff/v1", ""},
		{"/api/%2e%2e/v1", ""},
		{"/api/%2E%2E/v1", ""},
		{"/api/.%2e/v1", ""},
		{"/api/%2e/v1", ""},
		{"/t%2Facme/x", ""},
		{"/t%2facme/x", ""},
		{"/t/acme%5cx", ""},
		{"/t/acme\\..\\x", ""},
		{"/api/%252e%252e/v1", ""},
		{"/api/%00", ""},
		{"/api/%0a", ""},
		{"/api/\x00", ""},
		{"/api/\x7f", ""},
		{"/api/%", ""},
		{"/api/v1/a;b", ""},
		{"/api/v1/sms/send;a;b", ""},
		{"/api/v1/sms/send;jsessionid=1;x=2", ""},
		{"/api/v1/sms;x/send", ""},
		{"/api;x/v1/sms/send", ""},
		{"/api/v1/sms/send/;x", ""},
		{"/api/v1/sms/send;", ""},
		{"/api/v1/sms/send#x", ""},
		{"/api/v1/sms/#", ""},
		{"/api/v1/sms/send.", ""},
		{"/api/v1/sms/send%2e", ""},
		{"/api/v1/sms/send%2E", ""},
		{"/api/v1/sms/send%20", ""},
		{"/api/v1/sms/send.%20", ""},
		{"/api/v1/sms/send./x", ""},
		{"/api/v1/sms/send%20/x", ""},
		{"/api/v1/sms/send.%3Bx", ""},
		{"/api/v1/sms/send%20%3bx", ""},
		{"/api/v1/a%3Bb.", ""},
		{"/api/v1/a..", ""},
		{"/api/v1/%20", ""},
		{"/api/%4", ""},
		{"/api/%zz", ""},
	} {
		got, reason := canonicalPath(tc.path)
		if got != tc.want || (reason == "") != (tc.want != "") {
			t.Errorf("canonicalPath(%q) = %q, %q; want %q", tc.path, got, reason, tc.want)
		}
	}
}

// FuzzCanonicalPath checks the properties the sidecar relies on for a path
// it accepts: its canonical form is canonical (canonicalising it again
// changes nothing); decoding it changes no segment boundary; and no
// segment decodes to a dot segment, a backslash, a %, a control character
// or invalid UTF-8; it has no raw ";" or "#"; and no decoded segment, nor
// its part before a ";", ends in a dot or a space. So the tenant prefix,
// the allow list, the send policy and the upstream cannot read it
// differently.
func FuzzCanonicalPath(f *testing.F) {
	for _, seed := range []string{
		"/api/v1/sms/send", "/t/acme/api/v1/sms/send", "/a/../b", "/a/%2e%2e/b", "/a%2fb", "//a",
		"/a/%252e", "/a;b/..;c", "/%41", "/a\\b", "/é/%C3%A9", "/a/", "/", "/a/..%3B/b", "/%c0%ae",
		"/api/v1/sms/send;a;b", "/a#b", "/a/send%2e", "/a/send%20", "/a/send.json", "/a/send.%3Bx",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		canon, reason := canonicalPath(path)
		if reason != "" {
			return
		}
		if again, reason := canonicalPath(canon); again != canon || reason != "" {
			t.Fatalf("canonical form %q of %q is not canonical: %q %q", canon, path, again, reason)
		}
		if strings.ContainsAny(canon, ";#") {
			t.Fatalf("accepted %q, whose canonical form %q has a raw ; or #", path, canon)
		}
		decoded, err := url.PathUnescape(canon)
		if err != nil {
			t.Fatalf("accepted %q, whose canonical form %q does not decode: %v", path, canon, err)
		}
		raw, dec := strings.Split(canon, "/"), strings.Split(decoded, "/")
		if len(raw) != len(dec) {
			t.Fatalf("accepted %q: decoding changes its segments to %q", path, decoded)
		}
		for i, seg := range dec {
			name, _, _ := strings.Cut(seg, ";")
			if strings.TrimRight(name, ". ") != name || strings.TrimRight(seg, ". ") != seg || strings.ContainsAny(seg, "\\%\x00") ||
				(seg == "" && i > 0 && i < len(dec)-1) || !utf8.ValidString(seg) {
				t.Fatalf("accepted %q: decoded segment %d is %q", path, i, seg)
			}
		}
	})
}

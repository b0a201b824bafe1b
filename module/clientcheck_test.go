package restlink

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientPolicy(t *testing.T) {
	snap := testSnapshot(t, routingYAML+"security:\n  max_body_bytes: 100\n")
	unix := context.WithValue(context.Background(), http.LocalAddrContextKey, &net.UnixAddr{Name: "/run/sidecar.sock", Net: "unix"})
	for _, tc := range []struct {
		name    string
		remote  string
		host    string
		headers map[string]string
		length  int64
		ctx     context.Context
		want    ErrorCode
	}{
		{"loopback v4", "127.0.0.1:5000", "localhost:8080", nil, 0, nil, ""},
		{"loopback v4 other", "127.0.0.2:5000", "127.0.0.1:8080", nil, 0, nil, ""},
		{"loopback v6", "[::1]:5000", "[::1]:8080", nil, 0, nil, ""},
		{"v4-mapped loopback", "[::ffff:127.0.0.1]:5000", "localhost", nil, 0, nil, ""},
		{"host without port", "127.0.0.1:5000", "localhost", nil, 0, nil, ""},
		{"host upper case", "127.0.0.1:5000", "LOCALHOST:8080", nil, 0, nil, ""},
		{"remote peer", "10.1.2.3:5000", "localhost", nil, 0, nil, CodeClientNotTrusted},
		{"unix socket", "@", "anything", nil, 0, unix, CodeMisdirectedHost},
		{"unix socket, good host", "@", "localhost", nil, 0, unix, ""},
		{"unparsable peer, not unix", "@", "localhost", nil, 0, nil, CodeClientNotTrusted},
		{"foreign host", "127.0.0.1:5000", "evil.example:8080", nil, 0, nil, CodeMisdirectedHost},
		{"rebinding host", "127.0.0.1:5000", "attacker.127.0.0.1.nip.io", nil, 0, nil, CodeMisdirectedHost},
		{"no host (HTTP/1.0)", "127.0.0.1:5000", "", nil, 0, nil, ""},
		{"origin", "127.0.0.1:5000", "localhost", map[string]string{"Origin": "http://localhost:3000"}, 0, nil, CodeBrowserRequestRejected},
		{"origin null", "127.0.0.1:5000", "localhost", map[string]string{"Origin": "null"}, 0, nil, CodeBrowserRequestRejected},
		{"sec-fetch-site", "127.0.0.1:5000", "localhost", map[string]string{"Sec-Fetch-Site": "cross-site"}, 0, nil, CodeBrowserRequestRejected},
		{"sec-fetch-site same-origin", "127.0.0.1:5000", "localhost", map[string]string{"Sec-Fetch-Site": "same-origin"}, 0, nil, CodeBrowserRequestRejected},
		{"sec-fetch-mode alone (Node's fetch)", "127.0.0.1:5000", "localhost", map[string]string{"Sec-Fetch-Mode": "cors"}, 0, nil, ""},
		{"sec-fetch-dest alone", "127.0.0.1:5000", "localhost", map[string]string{"Sec-Fetch-Dest": "empty"}, 0, nil, ""},
		{"body at limit", "127.0.0.1:5000", "localhost", nil, 100, nil, ""},
		{"body over limit", "127.0.0.1:5000", "localhost", nil, 101, nil, CodeBodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", nil)
			if tc.ctx != nil {
				r = r.WithContext(tc.ctx)
			}
			r.RemoteAddr, r.Host, r.ContentLength = tc.remote, tc.host, tc.length
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			rj := snap.client.check(r)
			if got := ErrorCode(""); rj != nil {
				got = rj.code
				if got != tc.want {
					t.Errorf("got %s (%s), want %q", got, rj.description, tc.want)
				}
			} else if tc.want != "" {
				t.Errorf("accepted, want %s", tc.want)
			}
		})
	}
}

func TestBrowserCheckCanBeDisabled(t *testing.T) {
	snap := testSnapshot(t, routingYAML+"security:\n  reject_browser_requests: false\n")
	r := httptest.NewRequest(http.MethodPost, "/x", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:1", "localhost"
	r.Header.Set("Origin", "http://localhost:3000")
	if rj := snap.client.check(r); rj != nil {
		t.Errorf("rejected: %s", rj.code)
	}
}

func TestHostWithoutPort(t *testing.T) {
	for in, want := range map[string]string{
		"localhost:8080": "localhost", "localhost": "localhost", "[::1]:8080": "[::1]", "[::1]": "[::1]",
		"127.0.0.1:1": "127.0.0.1", "::1": "::1", "[::1": "[::1", "": "",
	} {
		if got := hostWithoutPort(in); got != want {
			t.Errorf("hostWithoutPort(%q) = %q, want %q", in, got, want)
		}
	}
}

package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// runFunc makes one client run against a target; probe tags its requests.
type runFunc func(t *target, probe string) *observation

// testCase is one row of the matrix.
type testCase struct {
	group string
	name  string
	run   runFunc
	// design names the sidecar's deliberate difference on this row (a key
	// of deliberate), if it has one.
	design string
	// want is a check that holds on every column, the baseline included;
	// "" when it passes.
	want func(t *target, o *observation) string
	// only: want is the whole check (no comparison with the baseline, and
	// a sidecar error is not a failure by itself).
	only bool
	// relate is an extra comparison with the baseline.
	relate func(base, got *observation) string
}

// smsBody is the usual POST body.
const smsBody = `{"to":["+14155551234"],"message":"hi","sender_id":"MyApp"}`

var jsonType = []field{{"Content-Type", "application/json"}}

// get is a raw GET of target with extra headers.
func (h *harness) get(target string, header ...field) runFunc {
	return h.raw(rawRequest{method: "GET", target: target, header: header})
}

// raw sends one raw request.
func (h *harness) raw(r rawRequest) runFunc {
	return func(t *target, probe string) *observation { return h.exchange(t, r, probe) }
}

// cases is the whole matrix, in order.
func (h *harness) cases() []*testCase {
	var all []*testCase
	for _, group := range [][]*testCase{h.clientCases(), h.pathCases(), h.framingCases(), h.answerCases(), h.methodCases()} {
		all = append(all, group...)
	}
	return all
}

// clientCases: real client libraries with their default settings.
func (h *harness) clientCases() []*testCase {
	post := clientCall{method: "POST", path: "/api/v1/sms/send", header: jsonType, body: []byte(smsBody)}
	get := clientCall{method: "GET", path: "/api/v1/sms/42"}
	bulk := clientCall{method: "POST", path: "/api/v1/sms/bulk", header: jsonType, body: bulkBody()}
	g := "real clients, default settings"
	return []*testCase{
		{group: g, name: "curl GET with a query", run: h.curl(clientCall{method: "GET", path: "/api/v1/sms?status=delivered&limit=10"})},
		{group: g, name: "curl POST JSON", run: h.curl(post)},
		{group: g, name: "curl 1.5 MB POST (Expect: 100-continue)", run: h.curl(bulk), want: curlExpect},
		{group: g, name: "Go net/http POST JSON", run: h.goClient(post)},
		{group: g, name: "Python urllib.request POST", run: h.python("urllib", post)},
		{group: g, name: "Python http.client GET", run: h.python("http.client", get)},
		{group: g, name: "Node fetch POST JSON", run: h.node(post)},
		{group: g, name: "Java HttpURLConnection POST", run: h.java(post)},
	}
}

// bulkBody is a 1.5 MB JSON body: above curl's 1 MiB Expect threshold.
func bulkBody() []byte {
	var b bytes.Buffer
	b.WriteString(`{"messages":[`)
	for i := 0; b.Len() < 1536<<10; i++ {
		fmt.Fprintf(&b, `{"to":"+1415555%04d","message":"bulk message number %d"},`, i%10000, i)
	}
	b.WriteString(`{"to":"+14155550000","message":"last"}]}`)
	return b.Bytes()
}

// pathCases: request targets that must reach the upstream byte for byte.
func (h *harness) pathCases() []*testCase {
	g := "paths and queries, byte for byte"
	return []*testCase{
		{group: g, name: "sub-delims ( ) ! * ' [ ]", run: h.get("/api/v1/contacts/(a)!b*c'd[e]")},
		{group: g, name: `%3B %3D %26 %40 %2B with | ^ { } "`, run: h.get(`/api/v1/contacts/a%3Bb%3Dc%26d%40e%2Bf|g^h{i}"j`)},
		{group: g, name: "raw UTF-8 (José Müller)", run: h.get("/api/v1/contacts/Jos\xc3\xa9-M\xc3\xbcller")},
		{group: g, name: "%7E from Java's URLEncoder", run: h.get("/api/v1/contacts/john%7Edoe%40example.com"), design: "path"},
		{group: g, name: "query: %2B + ; repeated, empty, bare", run: h.get("/api/v1/sms?to=%2B14155551234&text=hi+there%21&tag=a&tag=b&empty=&flag&x=a;b")},
	}
}

// framingCases: how bodies, connections and versions are handled.
func (h *harness) framingCases() []*testCase {
	g := "framing and connections"
	return []*testCase{
		{group: g, name: "chunked upload", run: h.raw(rawRequest{method: "POST", target: "/api/v1/sms/send", header: jsonType, body: []byte(strings.Repeat(smsBody+"\n", 200)), chunked: true})},
		{group: g, name: "Expect: 100-continue, unknown tenant", run: h.expectEarly, only: true, want: answeredEarly},
		{group: g, name: "HTTP/1.0 without Host", run: h.raw(rawRequest{method: "GET", target: "/api/v1/sms/42", proto: "HTTP/1.0", noHost: true})},
		{group: g, name: "two pipelined requests", run: h.pipelined},
		{group: g, name: "keep-alive: 3 requests, 1 connection", run: h.keepAliveReuse},
		{group: g, name: "5 MB answer read slowly", run: h.slowRead},
	}
}

// answerCases: the upstream's answers must reach the client unchanged.
func (h *harness) answerCases() []*testCase {
	g := "answers, unchanged"
	return []*testCase{
		{group: g, name: "no Content-Type stays without one", run: h.get("/api/v1/compat/no-type")},
		{group: g, name: "no Server or Via header added", run: h.get("/api/v1/sms/42"), want: noProxyHeaders},
		{group: g, name: "SSE: first event before the second", run: h.firstEvent, want: firstEventEarly},
		{group: g, name: "chunked answer", run: h.get("/api/v1/compat/chunked")},
		{group: g, name: "204 to DELETE", run: h.raw(rawRequest{method: "DELETE", target: "/api/v1/compat/no-content"})},
		{group: g, name: "304 to If-None-Match", run: h.get("/api/v1/compat/cached", field{"If-None-Match", `"v1"`})},
		{group: g, name: "HEAD", run: h.raw(rawRequest{method: "HEAD", target: "/api/v1/sms/42"}), relate: sameContentLength},
		{group: g, name: "trailers", run: h.get("/api/v1/compat/trailers", field{"TE", "trailers"})},
		{group: g, name: "gzip passed through undecoded", run: h.get("/api/v1/compat/gzip", field{"Accept-Encoding", "gzip"})},
		{group: g, name: "no Accept-Encoding: none added upstream", run: h.get("/api/v1/compat/negotiated"), relate: noAddedAcceptEncoding},
		{group: g, name: "302 redirect passed back", run: h.get("/api/v1/compat/redirect")},
		{group: g, name: "401 INVALID_API_KEY passed back", run: h.raw(rawRequest{method: "POST", target: "/api/v1/compat/unauthorized", header: jsonType, body: []byte(smsBody)}), design: "401"},
		{group: g, name: "429 without a body", run: h.get("/api/v1/compat/rate-limited")},
	}
}

// methodCases: other methods, browsers, hosts and protocols.
func (h *harness) methodCases() []*testCase {
	g := "methods, hosts, protocols"
	return []*testCase{
		{group: g, name: "OPTIONS (no Origin)", run: h.raw(rawRequest{method: "OPTIONS", target: "/api/v1/sms/send"})},
		{group: g, name: "TRACE", run: h.raw(rawRequest{method: "TRACE", target: "/api/v1/sms/42"}), design: "method", only: true, want: h.traceSafe},
		{group: g, name: "CONNECT", run: h.raw(rawRequest{method: "CONNECT", target: "127.0.0.1:443", host: "127.0.0.1:443"}), design: "method"},
		{group: g, name: "browser request (Origin, Sec-Fetch-Site)", design: "browser", run: h.get("/api/v1/sms/42",
			field{"Origin", "http://evil.example"}, field{"Sec-Fetch-Site", "cross-site"}, field{"Sec-Fetch-Mode", "cors"})},
		{group: g, name: "foreign Host (DNS rebinding)", run: h.raw(rawRequest{method: "GET", target: "/api/v1/sms/42", host: "rebind.example"}), design: "host"},
		{group: g, name: "h2c with prior knowledge", run: h.h2cPriorKnowledge, design: "h2c", only: true, want: noH2C},
	}
}

// stallLimit: a latency above it means the client sat through its own
// 1 s wait (for 100 Continue, or for the next event).
const stallLimit = 700 * time.Millisecond

// notStalled fails a run that took as long as curl's 1 s Expect wait.
func notStalled(_ *target, o *observation) string {
	if o.wait >= stallLimit {
		return fmt.Sprintf("stalled %.1f s", o.wait.Seconds())
	}
	return ""
}

// curlExpect: curl sent Expect: 100-continue (else the case proves
// nothing: newer curl versions may change the threshold) and was not
// stalled.
func curlExpect(t *target, o *observation) string {
	if t.kind == kindDirect && (len(o.sent) == 0 || len(o.sent[0].values("Expect")) == 0) {
		return "curl sent no Expect header: case void"
	}
	return notStalled(t, o)
}

// answeredEarly: the final answer to the Expect request came before the
// client gave up waiting for 100 Continue.
func answeredEarly(t *target, o *observation) string {
	if o.err != nil {
		return shortError(o.err)
	}
	return notStalled(t, o)
}

// firstEventEarly: the first event arrived before the second was sent.
func firstEventEarly(_ *target, o *observation) string {
	switch {
	case o.wait == 0:
		return "no event arrived"
	case o.wait >= stallLimit:
		return fmt.Sprintf("first event after %.1f s", o.wait.Seconds())
	}
	return ""
}

// noProxyHeaders: the upstream sends no Server or Via header; none may
// appear.
func noProxyHeaders(_ *target, o *observation) string {
	var added []string
	for _, name := range proxyAnswerHeaders {
		if v := o.header.Get(name); v != "" {
			added = append(added, name+": "+v)
		}
	}
	if len(added) == 0 {
		return ""
	}
	return strings.Join(added, ", ") + " added"
}

// sameContentLength: a HEAD answer keeps the Content-Length of the GET.
func sameContentLength(base, got *observation) string {
	if b, g := base.header.Get("Content-Length"), got.header.Get("Content-Length"); b != g {
		return fmt.Sprintf("Content-Length %q, want %q", g, b)
	}
	return ""
}

// noAddedAcceptEncoding: a client that asks for no compression is not
// made to ask for it upstream (the proxy would then decode the answer, and
// the upstream sees a client that does not exist).
func noAddedAcceptEncoding(base, got *observation) string {
	if len(base.sent) == 0 || len(got.sent) == 0 || len(base.sent[0].values("Accept-Encoding")) > 0 {
		return ""
	}
	if ae := got.sent[0].values("Accept-Encoding"); len(ae) > 0 {
		return "Accept-Encoding: " + strings.Join(ae, ", ") + " added upstream"
	}
	return ""
}

// traceSafe: the upstream echoes TRACE; through a proxy, the echo must
// not show the client the workspace key the proxy injected.
func (h *harness) traceSafe(t *target, o *observation) string {
	switch {
	case o.err != nil:
		return shortError(o.err)
	case len(o.sent) == 0:
		return fmt.Sprintf("not forwarded: %d", o.status)
	case t.kind != kindDirect && bytes.Contains(o.body, []byte(h.key)):
		return "echoes the injected key to the client"
	}
	return ""
}

// noH2C: the plain listener must not speak HTTP/2 (the upstream does not).
func noH2C(_ *target, o *observation) string {
	if o.err == nil && o.proto == "HTTP/2.0" {
		return fmt.Sprintf("h2c accepted (HTTP/2 %d)", o.status)
	}
	return ""
}

package main

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// difference is one of the sidecar's deliberate differences from a plain
// proxy: a matrix cell that shows it reads "<verb> by design: <what>".
type difference struct {
	what  string   // for the legend
	codes []string // the sidecar error codes that show it; none: any sidecar error
	verb  string   // "refused" or "changed"
	// mustRefuse: not refusing is a failure even if the request then
	// goes through like the baseline.
	mustRefuse bool
	why        string // one line, for the legend
	// custom, if set, replaces the check for a sidecar error code.
	custom func(base, o *observation) (text, explains string, ok bool)
}

// deliberate names every deliberate difference; cases refer to them by key.
var deliberate = map[string]difference{
	"browser": {what: "browser requests (Origin, Sec-Fetch-Site)", codes: []string{"BROWSER_REQUEST_REJECTED"}, verb: "refused", mustRefuse: true,
		why: "a web page must not send SMS through localhost (cross-site request, DNS rebinding); page scripts cannot remove these headers"},
	"method": {what: "TRACE and CONNECT", verb: "refused", mustRefuse: true,
		why: "TRACE would echo the injected key back to the app; CONNECT asks for a tunnel; neither is a restlink call"},
	"h2c": {what: "h2c with prior knowledge", verb: "refused", mustRefuse: true, custom: notHTTP2,
		why: "the plain listener speaks HTTP/1.x only: no client sends h2c by default, and the restlink API has no clear-text HTTP/2"},
	"path": {what: "non-canonical paths", codes: []string{"INVALID_PATH"}, verb: "refused", custom: canonicalized,
		why: "needless escapes (%7E) are decoded as RFC 3986 6.2.2 allows, or refused: the sidecar, its allow list and the upstream read one path"},
	"host": {what: "a Host outside security.allowed_hosts", codes: []string{"MISDIRECTED_HOST"}, verb: "refused", mustRefuse: true,
		why: "a foreign Host on a loopback listener is what DNS rebinding sends"},
	"401": {what: "an upstream 401", codes: []string{"NO_USABLE_KEY"}, verb: "changed",
		why: "a 401 INVALID_API_KEY means the workspace's key was refused: the sidecar tries the workspace's other keys, then answers 503 NO_USABLE_KEY (the app holds no key to fix); other 401s pass through"},
}

// designOrder is the legend's order of deliberate.
var designOrder = []string{"browser", "method", "h2c", "path", "host", "401"}

// shows reports whether the observation shows the difference: the cell's
// text, and the problem (as problems words it) that the difference
// explains.
func (d difference) shows(base, o *observation) (text, explains string, ok bool) {
	if d.custom != nil {
		if text, explains, ok := d.custom(base, o); ok {
			return text, explains, true
		}
	}
	code := o.sidecarCode()
	if code == "" || (len(d.codes) > 0 && !slices.Contains(d.codes, code)) {
		return "", "", false
	}
	label := fmt.Sprintf("%d %s", o.status, code)
	return d.verb + " by design: " + label, label, true
}

// notHTTP2 shows an h2c request that was not served over HTTP/2.
func notHTTP2(_, o *observation) (string, string, bool) {
	if o.err == nil && o.proto == "HTTP/2.0" {
		return "", "", false
	}
	return "refused by design: no h2c", "", true
}

// canonicalized shows a path forwarded in its RFC 3986 normal form
// (escapes of unreserved characters decoded, hex digits upper-cased)
// instead of byte for byte.
func canonicalized(base, o *observation) (string, string, bool) {
	if len(base.sent) == 0 || len(o.sent) == 0 {
		return "", "", false
	}
	sent, _, _ := strings.Cut(base.sent[0].target, "?")
	got, _, _ := strings.Cut(o.sent[0].target, "?")
	if got == sent || got != normalizePath(sent) {
		return "", "", false
	}
	return "changed by design: " + describeNormalization(sent), "path became " + visible(got), true
}

// normalizePath applies RFC 3986 6.2.2.1 and 6.2.2.2 to a raw path:
// escapes of unreserved characters decoded, other escapes' hex digits
// upper-cased.
func normalizePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+2 >= len(p) {
			b.WriteByte(p[i])
			continue
		}
		d, err := strconv.ParseUint(p[i+1:i+3], 16, 8)
		switch {
		case err != nil:
			b.WriteByte(p[i])
			continue
		case isUnreserved(byte(d)):
			b.WriteByte(byte(d))
		default:
			b.WriteString("%" + strings.ToUpper(p[i+1:i+3]))
		}
		i += 2
	}
	return b.String()
}

// describeNormalization names the escapes normalizePath changes: "%7E
// sent as ~".
func describeNormalization(p string) string {
	var changes []string
	for i := 0; i+2 < len(p); i++ {
		if p[i] != '%' {
			continue
		}
		esc := p[i : i+3]
		if n := normalizePath(esc); n != esc && !slices.Contains(changes, esc+" sent as "+n) {
			changes = append(changes, esc+" sent as "+n)
		}
	}
	return strings.Join(changes, ", ")
}

// isUnreserved reports RFC 3986 unreserved characters.
func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// Cell kinds, for the summary.
const (
	cellOK = iota
	cellFailed
	cellByDesign
	cellSkipped
)

// cell is one matrix cell.
type cell struct {
	kind    int
	text    string
	reasons []string // every difference found, when failed
}

// judge decides one cell: the run o of case c on target t, against the
// baseline run base.
func (h *harness) judge(c *testCase, t *target, base, o *observation) cell {
	if o.skipped != "" {
		return cell{kind: cellSkipped, text: "skipped: " + o.skipped}
	}
	reasons := h.problems(c, t, base, o)
	if t.kind == kindSidecar && c.design != "" {
		d := deliberate[c.design]
		text, explains, ok := d.shows(base, o)
		switch {
		case ok:
			// A refusal explains everything; a change, the problem it names.
			reasons = slices.DeleteFunc(reasons, func(r string) bool { return r == explains })
			if len(o.sent) == 0 || len(reasons) == 0 {
				return cell{kind: cellByDesign, text: text}
			}
		case d.mustRefuse:
			if len(reasons) == 0 {
				reasons = []string{"forwarded"}
			}
			reasons[0] += " (should be refused)"
		}
	}
	if len(reasons) == 0 {
		return cell{kind: cellOK, text: "ok"}
	}
	return cell{kind: cellFailed, text: reasons[0], reasons: reasons}
}

// problems lists every difference of o from what the client should see
// and the upstream should get; the most telling first.
func (h *harness) problems(c *testCase, t *target, base, o *observation) []string {
	var rs []string
	add := func(r string) {
		if r != "" {
			rs = append(rs, r)
		}
	}
	if c.only {
		add(c.want(t, o))
		return rs
	}
	if o.err != nil {
		return []string{shortError(o.err)}
	}
	if code := o.sidecarCode(); code != "" {
		return []string{fmt.Sprintf("%d %s", o.status, code)}
	}
	add(o.finding)
	if c.want != nil {
		add(c.want(t, o))
	}
	if t.kind == kindDirect {
		return rs
	}
	if base.err != nil || base.skipped != "" {
		return append(rs, "no baseline")
	}
	rs = append(rs, h.compareSent(base, o)...)
	rs = append(rs, compareAnswer(base, o)...)
	if c.relate != nil {
		add(c.relate(base, o))
	}
	return rs
}

// compareSent compares what the upstream got through the proxy with what
// it got from the client directly.
func (h *harness) compareSent(base, o *observation) []string {
	if len(o.sent) == 0 && len(base.sent) > 0 {
		return []string{fmt.Sprintf("not forwarded: %d", o.status)}
	}
	var rs []string
	if len(o.sent) != len(base.sent) {
		rs = append(rs, fmt.Sprintf("upstream got %d requests, want %d", len(o.sent), len(base.sent)))
	}
	for i := range min(len(o.sent), len(base.sent)) {
		b, g := base.sent[i], o.sent[i]
		if g.method != b.method {
			rs = append(rs, "method became "+g.method)
		}
		rs = append(rs, targetChange(b.target, g.target)...)
		if !bytes.Equal(g.body, b.body) {
			rs = append(rs, fmt.Sprintf("body forwarded as %s, want %s", size(len(g.body)), size(len(b.body))))
		}
		rs = append(rs, h.credentialProblems(g)...)
		rs = append(rs, headerChanges(b, g)...)
	}
	return rs
}

// targetChange describes a request target that changed on the way.
func targetChange(want, got string) []string {
	if got == want {
		return nil
	}
	wp, wq, _ := strings.Cut(want, "?")
	gp, gq, _ := strings.Cut(got, "?")
	var rs []string
	if gp != wp {
		rs = append(rs, "path became "+visible(gp))
	}
	if gq != wq {
		rs = append(rs, "query became ?"+visible(gq))
	}
	return rs
}

// visible shortens a path for a cell: the part after /api/v1/, with bytes
// outside printable ASCII escaped.
func visible(s string) string {
	s = strings.TrimPrefix(s, "/api/v1")
	s = strconv.QuoteToASCII(s)
	return s[1 : len(s)-1]
}

// credentialProblems checks that the key was injected and the app's own
// credentials and tenant header are gone.
func (h *harness) credentialProblems(g *recorded) []string {
	var rs []string
	switch keys := g.values("X-API-Key"); {
	case len(keys) == 0:
		rs = append(rs, "no X-API-Key")
	case len(keys) > 1:
		rs = append(rs, fmt.Sprintf("X-API-Key sent %d times", len(keys)))
	case keys[0] == appOldKey:
		rs = append(rs, "app's own X-API-Key forwarded")
	case keys[0] != h.key:
		rs = append(rs, "wrong X-API-Key")
	}
	for _, name := range []string{"Authorization", "X-Tenant"} {
		if len(g.values(name)) > 0 {
			rs = append(rs, name+" forwarded")
		}
	}
	return rs
}

// notCompared are request headers that differ between a direct and a
// proxied request on purpose: identity, tag, and hop-by-hop framing.
var notCompared = []string{"host", "x-api-key", "authorization", "x-tenant", strings.ToLower(probeHeader),
	"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "content-length", "expect", "upgrade"}

// headerChanges lists the app's end-to-end request headers that did not
// reach the upstream unchanged.
func headerChanges(want, got *recorded) []string {
	var rs []string
	seen := map[string]bool{}
	for _, f := range want.header {
		name := strings.ToLower(f.name)
		if seen[name] || slices.Contains(notCompared, name) {
			continue
		}
		seen[name] = true
		w, g := strings.Join(want.values(name), ", "), strings.Join(got.values(name), ", ")
		switch {
		case len(got.values(name)) == 0:
			rs = append(rs, "request header "+f.name+" dropped")
		case g != w:
			rs = append(rs, fmt.Sprintf("request header %s became %q", f.name, g))
		}
	}
	return rs
}

// proxyAnswerHeaders name the proxy that answered; one case checks them,
// the others ignore them.
var proxyAnswerHeaders = []string{"Server", "Via"}

// notComparedAnswer are answer headers a proxy may set by itself.
var notComparedAnswer = append([]string{"Date", "Connection", "Keep-Alive", "Content-Length", "Transfer-Encoding", "Trailer", "Proxy-Connection"},
	proxyAnswerHeaders...)

// compareAnswer compares what the client saw through the proxy with what
// it saw directly.
func compareAnswer(base, o *observation) []string {
	var rs []string
	if o.status != base.status {
		rs = append(rs, fmt.Sprintf("status %d, want %d", o.status, base.status))
	}
	for _, name := range slices.Sorted(maps.Keys(base.header)) {
		if slices.Contains(notComparedAnswer, name) {
			continue
		}
		switch b, g := strings.Join(base.header[name], ", "), strings.Join(o.header[name], ", "); {
		case len(o.header[name]) == 0:
			rs = append(rs, name+" dropped")
		case g != b:
			rs = append(rs, fmt.Sprintf("%s became %s", name, g))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(o.header)) {
		if _, ok := base.header[name]; !ok && !slices.Contains(notComparedAnswer, name) {
			rs = append(rs, fmt.Sprintf("%s: %s added", name, o.header.Get(name)))
		}
	}
	if !bytes.Equal(o.body, base.body) {
		if len(o.body) != len(base.body) {
			rs = append(rs, fmt.Sprintf("body %s, want %s", size(len(o.body)), size(len(base.body))))
		} else {
			rs = append(rs, "body changed")
		}
	}
	return append(rs, trailerChanges(base.trailer, o.trailer)...)
}

// trailerChanges lists trailers that did not reach the client unchanged.
func trailerChanges(want, got http.Header) []string {
	var rs []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		switch g, vals := got[name], want[name]; {
		case len(g) == 0:
			rs = append(rs, "trailer "+name+" dropped")
		case !slices.Equal(g, vals):
			rs = append(rs, "trailer "+name+" changed")
		}
	}
	return rs
}

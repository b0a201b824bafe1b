package restlink

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// splitTarget splits a raw request target into its path and query, as the
// client wrote them. An absolute-form target (http://host/path) gives its
// path: the host in it never decides where a request goes. ok is false for
// targets without a path ("*", authority-form).
func splitTarget(target string) (path, query string, ok bool) {
	if !strings.HasPrefix(target, "/") {
		i := strings.Index(target, "://")
		if i <= 0 {
			return "", "", false
		}
		rest := target[i+3:]
		j := strings.IndexAny(rest, "/?")
		if j < 0 || rest[j] != '/' {
			return "", "", false
		}
		target = rest[j:]
	}
	path, query, _ = strings.Cut(target, "?")
	return path, query, true
}

// canonicalPath decides whether a raw request path is safe to route and
// forward, and returns its canonical form, the one form that the tenant
// prefix, the allow list, the send policy and the upstream all see. The
// rule:
//
//   - Percent-escapes of unreserved characters (A-Z a-z 0-9 - . _ ~) are
//     decoded, as RFC 3986 section 6.2.2.2 allows (%7E from Java's
//     URLEncoder becomes ~), and the hex digits of the other escapes are
//     upper-cased (section 6.2.2.1). Nothing else changes: sub-delimiters,
//     other escapes and raw UTF-8 stay as the app sent them.
//   - Refused: a path not starting with /; an empty segment (//; a
//     trailing / is fine); a raw ";" (path parameters, which servers such
//     as Tomcat and Spring cut off before routing, so that send;x is
//     routed as send) and a raw "#" (a fragment, which a request never
//     carries); a segment that, percent-decoded and cut at its first ";",
//     is made of dots and spaces only (".", "..", "..%3B", "..%20",
//     "%2e%2e%3Bx"); a segment that, decoded, ends in a dot or a space, or
//     whose part before its first ";" does ("send.", "send%2e",
//     "send%20", "send.%3Bx"), which some servers strip before routing;
//     escapes of a separator or of the escape character itself (%2F, %5C,
//     %25); backslashes; control characters, raw or escaped; malformed
//     escapes; and a segment whose decoded bytes are not valid UTF-8
//     (overlong forms such as %c0%ae, which some decoders read as ".").
//
// It returns the canonical path and "", or "" and the reason for refusing.
func canonicalPath(raw string) (canon, reason string) {
	if raw == "" || raw[0] != '/' {
		return "", "the path must start with /"
	}
	var out []byte    // the canonical form once it differs from raw; nil until then
	var seg [256]byte // the current segment, decoded, for the UTF-8 and dot checks
	decoded := seg[:0]
	needsUTF8 := false
	for i := 1; i <= len(raw); i++ {
		if i == len(raw) || raw[i] == '/' {
			if len(decoded) == 0 && i < len(raw) {
				return "", "the path has an empty segment (//)"
			}
			if isDotSegment(decoded) {
				return "", "the path has a dot segment (. or .., also when percent-encoded or followed by %3B or spaces)"
			}
			if endsInDotOrSpace(decoded) {
				return "", "the path has a segment ending in a dot or a space (such as send. or send%20), which some servers strip before routing"
			}
			if needsUTF8 && !utf8.Valid(decoded) {
				return "", "the path has bytes that are not valid UTF-8 (such as an overlong %c0%ae)"
			}
			decoded, needsUTF8 = seg[:0], false
			if out != nil && i < len(raw) {
				out = append(out, '/')
			}
			continue
		}
		switch c := raw[i]; {
		case c == '\\':
			return "", "the path has a backslash"
		case c == ';':
			return "", "the path has a ; (path parameters, which some servers cut off before routing)"
		case c == '#':
			return "", "the path has a raw # (a fragment, which a request never carries)"
		case c < 0x20 || c == 0x7f:
			return "", "the path has a control character"
		case c == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "", "the path has a malformed percent-escape"
			}
			d := unhex(raw[i+1])<<4 | unhex(raw[i+2])
			switch {
			case d == '/' || d == '\\' || d == '%':
				return "", "the path percent-encodes a separator (%2F, %5C or %25)"
			case d < 0x20 || d == 0x7f:
				return "", "the path percent-encodes a control character"
			}
			decoded = append(decoded, d)
			needsUTF8 = needsUTF8 || d >= 0x80
			canonical := isUnreserved(d) || isLowerHex(raw[i+1]) || isLowerHex(raw[i+2])
			if canonical && out == nil {
				out = append(make([]byte, 0, len(raw)), raw[:i]...)
			}
			if out != nil {
				if isUnreserved(d) {
					out = append(out, d)
				} else {
					out = append(out, '%', upperHex[d>>4], upperHex[d&15])
				}
			}
			i += 2
		default:
			decoded = append(decoded, c)
			needsUTF8 = needsUTF8 || c >= 0x80
			if out != nil {
				out = append(out, c)
			}
		}
	}
	if out == nil {
		return raw, ""
	}
	return string(out), ""
}

// isDotSegment reports a decoded segment whose name (before its first ";")
// is made of dots and spaces only, with at least one dot: what some server
// or other reads as a "." or ".." segment.
func isDotSegment(seg []byte) bool {
	dots := 0
	for _, c := range seg {
		switch c {
		case '.':
			dots++
		case ' ':
		case ';':
			return dots > 0
		default:
			return false
		}
	}
	return dots > 0
}

// endsInDotOrSpace reports a decoded segment that ends in a dot or a
// space, or whose part before its first ";" does: what Windows servers,
// and some others, strip before routing (send. and send%20 reach send).
func endsInDotOrSpace(seg []byte) bool {
	name := seg
	if i := bytes.IndexByte(seg, ';'); i >= 0 {
		name = seg[:i]
	}
	for _, s := range [...][]byte{name, seg} {
		if n := len(s); n > 0 && (s[n-1] == '.' || s[n-1] == ' ') {
			return true
		}
	}
	return false
}

// checkQuery decides whether a raw query may go upstream as the app sent
// it, and returns "" or the reason for refusing: a raw "#" is refused, as
// a request never carries a fragment and servers disagree on whether one
// ends the query.
func checkQuery(query string) (reason string) {
	if strings.IndexByte(query, '#') >= 0 {
		return "the query has a raw # (a fragment, which a request never carries)"
	}
	return ""
}

const upperHex = "0123456789ABCDEF"

func isLowerHex(c byte) bool { return c >= 'a' && c <= 'f' }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// isUnreserved reports RFC 3986 unreserved characters: they never need
// percent-encoding, so an escaped one means the same as the character.
func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

package restlink

import "strings"

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

// checkPath decides whether a raw path is canonical, so that the sidecar,
// its allow list and the upstream cannot read it differently. It refuses
// dot segments ("..", ".", also before a ";"), empty segments ("//";
// a trailing "/" is fine), backslashes, control characters, and
// percent-escapes that are malformed, needless (an unreserved character
// such as %2e or %61) or that hide a separator (%2f, %5c, %25, controls).
// It returns "" for a canonical path, else the reason.
func checkPath(path string) string {
	if path == "" || path[0] != '/' {
		return "the path must start with /"
	}
	segStart := 1
	for i := 1; i <= len(path); i++ {
		if i == len(path) || path[i] == '/' {
			seg := path[segStart:i]
			if seg == "" && i < len(path) {
				return "the path has an empty segment (//)"
			}
			if name, _, _ := strings.Cut(seg, ";"); name == "." || name == ".." {
				return "the path has a dot segment (. or ..)"
			}
			segStart = i + 1
			continue
		}
		switch c := path[i]; {
		case c == '\\':
			return "the path has a backslash"
		case c < 0x20 || c == 0x7f:
			return "the path has a control character"
		case c == '%':
			if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
				return "the path has a malformed percent-escape"
			}
			d := unhex(path[i+1])<<4 | unhex(path[i+2])
			switch {
			case isUnreserved(d):
				return "the path percent-encodes a character that needs no encoding (such as %2e for .)"
			case d == '/' || d == '\\' || d == '%':
				return "the path percent-encodes a separator (%2f, %5c or %25)"
			case d < 0x20 || d == 0x7f:
				return "the path percent-encodes a control character"
			}
			i += 2
		}
	}
	return ""
}

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
// percent-encoding, so an escaped one can only be an attempt to disguise.
func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

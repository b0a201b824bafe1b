package restlink

import (
	"fmt"
	"slices"
	"strings"
)

// allowList is the compiled `allow` setting: which method and path
// combinations may be forwarded. A nil *allowList allows everything.
type allowList struct {
	exact    map[string][]string // path -> methods ("*" = any)
	prefixes []allowPrefix
}

type allowPrefix struct {
	method string // "*" = any
	prefix string
}

// compileAllowList compiles the allow section: rules of the form
// "METHOD /path" or "METHOD /path/prefix*", METHOD an upper-case method
// name or "*". Absent (nil), it allows everything and compiles to nil.
func compileAllowList(rules []string, p *problems) *allowList {
	if rules == nil {
		return nil
	}
	a, err := parseAllowList(rules)
	if err != nil {
		p.add("allow", "%v", err)
	}
	return a
}

// parseAllowList parses the rules of a present allow list.
func parseAllowList(rules []string) (*allowList, error) {
	if len(rules) == 0 {
		return nil, fmt.Errorf("the list is empty, so no request could pass; remove it to allow every request")
	}
	a := &allowList{exact: make(map[string][]string)}
	for i, rule := range rules {
		fields := strings.Fields(rule)
		if len(fields) != 2 {
			return nil, fmt.Errorf("rule %d (%q) must be \"METHOD /path\"", i, rule)
		}
		method, path := fields[0], fields[1]
		if method != "*" && (strings.ToUpper(method) != method || !isMethodName(method)) {
			return nil, fmt.Errorf("rule %d (%q): method must be an upper-case HTTP method or *", i, rule)
		}
		prefix, isPrefix := strings.CutSuffix(path, "*")
		if strings.Contains(prefix, "*") {
			return nil, fmt.Errorf("rule %d (%q): * may only end the path", i, rule)
		}
		check := path
		if isPrefix {
			check = prefix + "x" // a prefix may end mid-segment: check a path it matches
		}
		canon, reason := canonicalPath(check)
		if reason != "" {
			return nil, fmt.Errorf("rule %d (%q): %s", i, rule, reason)
		}
		if isPrefix {
			a.prefixes = append(a.prefixes, allowPrefix{method: method, prefix: strings.TrimSuffix(canon, "x")})
		} else {
			a.exact[canon] = append(a.exact[canon], method)
		}
	}
	return a, nil
}

// allows reports whether method and path (as forwarded) may pass.
func (a *allowList) allows(method, path string) bool {
	if a == nil {
		return true
	}
	if methods, ok := a.exact[path]; ok && (slices.Contains(methods, method) || slices.Contains(methods, "*")) {
		return true
	}
	for _, p := range a.prefixes {
		if (p.method == "*" || p.method == method) && strings.HasPrefix(path, p.prefix) {
			return true
		}
	}
	return false
}

// isMethodName reports whether s is made of letters, as method names are.
func isMethodName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return s != ""
}

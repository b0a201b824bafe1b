package policy

import "strings"

// For returns the rules of a tenant: its own entry, else the default, else
// nil (no policy).
func (p *Policy) For(tenant string) *Rules {
	if p == nil {
		return nil
	}
	if r, ok := p.tenants[tenant]; ok {
		return r
	}
	return p.defaults
}

// SendPath returns the path whose POST requests are sends.
func (p *Policy) SendPath() string {
	if p == nil {
		return DefaultSendPath
	}
	return p.sendPath
}

// AppliesTo reports whether a request, by its method and the path it is
// forwarded with, is a send. It errs on the side of checking: the method
// and path are compared without regard to letter case, and a trailing "/"
// or ";parameters" on the last segment is ignored, in case the upstream
// routes such variants to the send endpoint too.
func (p *Policy) AppliesTo(method, path string) bool {
	if !strings.EqualFold(method, "POST") {
		return false
	}
	path = strings.TrimSuffix(path, "/")
	if i := strings.LastIndexByte(path, ';'); i > strings.LastIndexByte(path, '/') {
		path = path[:i]
	}
	return strings.EqualFold(path, p.SendPath())
}

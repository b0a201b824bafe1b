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
// and path are compared without regard to letter case, a trailing "/" is
// ignored, and so is an extension of the last segment (send.json,
// send.xml), in case the upstream routes such variants to the send
// endpoint too. The path is canonical, so it has no ";parameters".
func (p *Policy) AppliesTo(method, path string) bool {
	if !strings.EqualFold(method, "POST") {
		return false
	}
	path = strings.TrimSuffix(path, "/")
	send := p.SendPath()
	i, j := strings.LastIndexByte(path, '/')+1, strings.LastIndexByte(send, '/')+1
	if !strings.EqualFold(path[:i], send[:j]) {
		return false
	}
	for last := path[i:]; ; {
		if strings.EqualFold(last, send[j:]) {
			return true
		}
		dot := strings.LastIndexByte(last, '.')
		if dot < 0 {
			return false
		}
		last = last[:dot]
	}
}

// anyRules reports whether the default or a tenant's rules satisfy f.
func (p *Policy) anyRules(f func(*Rules) bool) bool {
	if p == nil {
		return false
	}
	if p.defaults != nil && f(p.defaults) {
		return true
	}
	for _, r := range p.tenants {
		if f(r) {
			return true
		}
	}
	return false
}

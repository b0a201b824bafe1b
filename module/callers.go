package restlink

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// callerPlan is the callers section compiled: the tenants each uid and
// each gid may use. nil: any local caller may name any tenant.
type callerPlan struct {
	byUID, byGID map[uint32][]string
}

// compileCallers checks the callers section against the config's tenants.
func compileCallers(callers []CallerConfig, tenants map[string]string, p *problems) *callerPlan {
	if callers == nil {
		return nil
	}
	cp := &callerPlan{byUID: make(map[uint32][]string), byGID: make(map[uint32][]string)}
	for i, c := range callers {
		field := fmt.Sprintf("callers[%d]", i)
		if (c.UID == nil) == (c.GID == nil) {
			p.add(field, "set uid or gid (one of them)")
		}
		if len(c.Tenants) == 0 {
			p.add(field+".tenants", "at least one tenant is required")
		}
		for j, t := range c.Tenants {
			if _, ok := tenants[t]; !ok {
				p.add(fmt.Sprintf("%s.tenants[%d]", field, j), "%q is not a configured tenant", t)
			}
		}
		switch {
		case c.UID != nil:
			cp.byUID[*c.UID] = append(cp.byUID[*c.UID], c.Tenants...)
		case c.GID != nil:
			cp.byGID[*c.GID] = append(cp.byGID[*c.GID], c.Tenants...)
		}
	}
	return cp
}

// allowed returns the tenants a caller may use, sorted, each once.
func (cp *callerPlan) allowed(c peerCred) []string {
	tenants := append(slices.Clone(cp.byUID[c.uid]), cp.byGID[c.gid]...)
	slices.Sort(tenants)
	return slices.Compact(tenants)
}

// routeRequest routes a request as the router does and, on a unix socket
// with callers configured, holds it to the tenants its caller may use:
// however the request names its tenant (header, path, a workspace id
// resolved to its tenant, a pinned site), that tenant must be the
// caller's; a caller of one tenant is pinned to it; a caller of several
// must name one.
func routeRequest(snap *snapshot, r *http.Request, path, pinned string) (selection, *rejection) {
	cred, onSocket := peerCredOf(r.Context())
	if snap.callers == nil || !onSocket {
		return snap.router.route(r.Header, path, pinned)
	}
	if !cred.known {
		return selection{path: path}, reject(CodeCallerNotAllowed, "the caller's identity could not be read from the kernel on this system")
	}
	who := fmt.Sprintf("uid %d, gid %d, pid %d", cred.uid, cred.gid, cred.pid)
	allowed := snap.callers.allowed(cred)
	if len(allowed) == 0 {
		return selection{path: path}, reject(CodeCallerNotAllowed, "the caller ("+who+") has no entry in callers")
	}
	sel, rj := snap.router.route(r.Header, path, pinned)
	namedNone := rj != nil && (rj.code == CodeTenantRequired || rj.code == CodeNoMainWorkspace) || rj == nil && sel.by == byMain
	switch {
	case rj != nil && !namedNone:
		return sel, rj
	case sel.tenant != "" && !slices.Contains(allowed, sel.tenant):
		return sel, reject(CodeCallerNotAllowed, fmt.Sprintf("the caller (%s) may not use tenant %q", who, sel.tenant))
	case sel.tenant != "":
		return sel, nil
	case !namedNone:
		return sel, reject(CodeCallerNotAllowed, fmt.Sprintf("the caller (%s) may use only its tenants, and workspace %s is not one tenant's", who, sel.ws.name))
	case len(allowed) == 1:
		return snap.router.route(r.Header, path, allowed[0])
	}
	return sel, reject(CodeTenantRequired, fmt.Sprintf("the caller (%s) may use tenants %s: name one", who, strings.Join(allowed, ", ")))
}

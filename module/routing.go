package restlink

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// How a request's workspace was chosen, as logged.
const (
	byPath        = "path"
	byHeader      = "tenant_header"
	byWorkspaceID = "workspace_id_header"
	byPinned      = "pinned"
	byMain        = "main"
)

// router picks the workspace of a request (SPEC §5 step 2). Its cost per
// request is a few map lookups, whatever the number of tenants.
type router struct {
	tenants       map[string]*workspace // tenant name -> workspace
	byID          map[int64]*workspace
	main          *workspace // nil when no workspace is main
	prefix        string     // path prefix before the tenant segment, e.g. "/t/"; "" disabled
	tenantHeader  string     // canonical header name; "" disabled
	wsIDHeader    string     // canonical header name; "" disabled
	rejectMissing bool       // on_missing: reject
}

// route is where a request goes.
type route struct {
	ws     *workspace
	tenant string // the configured tenant name that chose ws; "" when none did
	by     string // which rule chose ws (byPath, …)
	path   string // the raw path to forward (prefix removed)
}

// parsePathPrefix turns a routing.path_prefix such as "/t/{tenant}" into
// the literal part before the tenant segment ("/t/"); "" stays disabled.
func parsePathPrefix(tmpl string) (string, error) {
	if tmpl == "" {
		return "", nil
	}
	literal, ok := strings.CutSuffix(tmpl, "/{tenant}")
	if !ok || literal == "" {
		return "", errors.New("must be of the form /<segments>/{tenant}, with {tenant} as its last segment, e.g. /t/{tenant}")
	}
	if strings.ContainsAny(literal, "{}*%") {
		return "", errors.New("only the last segment may be a placeholder, and it must be {tenant}")
	}
	if reason := checkPath(literal + "/"); reason != "" {
		return "", errors.New(reason)
	}
	return literal + "/", nil
}

// route picks the workspace for a request whose raw path has passed
// checkPath. pinned is the site's tenant ("" if not pinned). A tenant that
// is named but not configured is refused: it never falls back to main.
func (rt *router) route(h http.Header, path, pinned string) (route, *rejection) {
	sel := route{path: path}
	var pinnedWS *workspace
	if pinned != "" {
		if pinnedWS = rt.tenants[pinned]; pinnedWS == nil {
			return sel, reject(CodeUnknownTenant, fmt.Sprintf("this listener's tenant %q is no longer configured", pinned))
		}
	}

	// name records that a selector named workspace ws (tenant is "" when
	// it was named by id, and ws nil when the name is not configured).
	// Selectors must agree with each other and with the pinned tenant.
	name := func(by, tenant string, ws *workspace) *rejection {
		if pinnedWS != nil && (ws != pinnedWS || tenant != "" && tenant != pinned) {
			return reject(CodeConflictingTenant, fmt.Sprintf("this listener serves tenant %q only, but the request's %s names another", pinned, by))
		}
		if ws == nil && tenant != "" {
			return reject(CodeUnknownTenant, fmt.Sprintf("tenant %q (from the %s) is not configured", truncate(tenant), by))
		}
		if ws == nil {
			return reject(CodeCrossTenantWorkspace, "the workspace named by the "+rt.wsIDHeader+" header is not one of the configured workspaces")
		}
		if sel.ws != nil && sel.ws != ws {
			return reject(CodeConflictingTenant, fmt.Sprintf("the request's %s and %s name different workspaces", sel.by, by))
		}
		if sel.ws == nil {
			sel.ws, sel.by = ws, by
		}
		if sel.tenant == "" {
			sel.tenant = tenant
		}
		return nil
	}

	if rt.prefix != "" && strings.HasPrefix(path, rt.prefix) {
		tenant, rest, _ := strings.Cut(path[len(rt.prefix):], "/")
		if tenant == "" {
			return sel, reject(CodeInvalidPath, "the path prefix "+rt.prefix+" is not followed by a tenant name")
		}
		sel.path = "/" + rest
		if rj := name(byPath, tenant, rt.tenants[tenant]); rj != nil {
			return sel, rj
		}
	}
	if rt.tenantHeader != "" {
		v, present, rj := singleValue(h, rt.tenantHeader)
		switch {
		case rj != nil || !present:
		case v == "":
			rj = reject(CodeUnknownTenant, "the "+rt.tenantHeader+" header is present but empty")
		default:
			rj = name(byHeader, v, rt.tenants[v])
		}
		if rj != nil {
			return sel, rj
		}
	}
	if rt.wsIDHeader != "" {
		v, present, rj := singleValue(h, rt.wsIDHeader)
		if rj == nil && present {
			if id, ok := parseWorkspaceID(v); ok {
				rj = name(byWorkspaceID, "", rt.byID[id])
			} else {
				rj = reject(CodeInvalidWorkspaceHeader, "the "+rt.wsIDHeader+" header must be a positive integer")
			}
		}
		if rj != nil {
			return sel, rj
		}
	}

	switch {
	case pinnedWS != nil:
		sel.ws, sel.tenant, sel.by = pinnedWS, pinned, byPinned
	case sel.ws != nil:
	case rt.rejectMissing:
		return sel, reject(CodeTenantRequired, "the request names no tenant; "+rt.selectors())
	case rt.main == nil:
		return sel, reject(CodeNoMainWorkspace, "the request names no tenant and no workspace is configured as main")
	default:
		sel.ws, sel.by = rt.main, byMain
	}
	return sel, nil
}

// singleValue returns a header's value. A header sent twice with different
// values is a conflict.
func singleValue(h http.Header, name string) (v string, present bool, rj *rejection) {
	vals := h[name]
	if len(vals) == 0 {
		return "", false, nil
	}
	for _, other := range vals[1:] {
		if other != vals[0] {
			return "", true, reject(CodeConflictingTenant, "the "+name+" header is sent more than once with different values")
		}
	}
	return vals[0], true, nil
}

// parseWorkspaceID accepts a positive decimal integer, digits only.
func parseWorkspaceID(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n > 0
}

// selectors says how a request can name its tenant, for error messages.
func (rt *router) selectors() string {
	var ways []string
	if rt.prefix != "" {
		ways = append(ways, "the path prefix "+rt.prefix+"<tenant>")
	}
	if rt.tenantHeader != "" {
		ways = append(ways, "the "+rt.tenantHeader+" header")
	}
	if rt.wsIDHeader != "" {
		ways = append(ways, "the "+rt.wsIDHeader+" header")
	}
	if len(ways) == 0 {
		return "no tenant selector is enabled in routing"
	}
	return "name one with " + strings.Join(ways, " or ")
}

// truncate shortens request input echoed in an error description.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

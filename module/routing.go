package restlink

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/23telecom/restlink-sidecar/internal/names"
)

// How a request's workspace was chosen, as logged.
const (
	byPath        = "path"
	byHeader      = "tenant_header"
	byWorkspaceID = "workspace_id_header"
	byPinned      = "pinned"
	byMain        = "main"
)

// Values of routing.on_missing.
const (
	onMissingMain   = "main"
	onMissingReject = "reject"
)

// routingPlan is the compiled routing and tenants sections.
type routingPlan struct {
	prefix            string           // path prefix before the tenant segment, e.g. "/t/"; "" disabled
	tenantHeader      string           // canonical header name; "" disabled
	workspaceIDHeader string           // canonical header name; "" disabled
	rejectMissing     bool             // on_missing: reject
	tenants           map[string]int32 // tenant name -> its workspace's index in plan.workspaces
	// byID are the indices in plan.workspaces in the order of the
	// workspaces' ids: 4 bytes a workspace, where a map by id took 29.
	byID []int32
}

// compileRouting checks the routing and tenants sections; tenants must
// name configured workspaces.
func compileRouting(c RoutingConfig, tenants map[string]string, workspaces []workspacePlan, p *problems) routingPlan {
	tenantWorkspace := make(map[string]int32, len(tenants))
	for _, tenant := range slices.Sorted(maps.Keys(tenants)) {
		field := "tenants." + tenant
		if err := names.Check(tenant); err != nil {
			p.add(field, "tenant name %v", err)
		}
		i, ok := slices.BinarySearchFunc(workspaces, tenants[tenant], func(wp workspacePlan, name string) int { return strings.Compare(wp.name, name) })
		if !ok {
			p.add(field, "names workspace %q, which is not configured", tenants[tenant])
			continue
		}
		tenantWorkspace[tenant] = int32(i)
	}
	if err := checkHeaderName(c.TenantHeader); err != nil {
		p.add("routing.tenant_header", "%v", err)
	}
	if err := checkHeaderName(c.WorkspaceIDHeader); err != nil {
		p.add("routing.workspace_id_header", "%v", err)
	}
	if c.TenantHeader != "" && strings.EqualFold(c.TenantHeader, c.WorkspaceIDHeader) {
		p.add("routing.workspace_id_header", "must differ from routing.tenant_header")
	}
	prefix, err := parsePathPrefix(c.PathPrefix)
	if err != nil {
		p.add("routing.path_prefix", "%v", err)
	}
	if c.OnMissing != onMissingMain && c.OnMissing != onMissingReject {
		p.add("routing.on_missing", "must be %q or %q, not %q", onMissingMain, onMissingReject, c.OnMissing)
	}
	byID := make([]int32, len(workspaces))
	for i := range byID {
		byID[i] = int32(i)
	}
	slices.SortFunc(byID, func(a, b int32) int { return cmp.Compare(workspaces[a].id, workspaces[b].id) })
	return routingPlan{
		byID:              byID,
		prefix:            prefix,
		tenantHeader:      http.CanonicalHeaderKey(c.TenantHeader),
		workspaceIDHeader: http.CanonicalHeaderKey(c.WorkspaceIDHeader),
		rejectMissing:     c.OnMissing == onMissingReject,
		tenants:           tenantWorkspace,
	}
}

// router picks the workspace of a request. Its cost per request is a map
// lookup for a tenant, and a binary search of the workspaces for an id
// (66 ns at 10,000 workspaces, BenchmarkRoute), whatever their number.
type router struct {
	routingPlan
	workspaces []*workspace // the snapshot's, in the order of plan.workspaces
	main       *workspace   // nil when no workspace is main
}

// newRouter links a routing plan to the snapshot's workspaces, and sets
// their soleTenant: it is called while the snapshot is built.
func newRouter(rp routingPlan, workspaces []*workspace) router {
	rtr := router{
		routingPlan: rp,
		workspaces:  workspaces,
	}
	for _, ws := range workspaces {
		if ws.main {
			rtr.main = ws
		}
	}
	tenantsOf := make(map[*workspace]int)
	for tenant, i := range rp.tenants {
		ws := workspaces[i]
		ws.soleTenant = tenant
		tenantsOf[ws]++
	}
	for ws, n := range tenantsOf {
		if n > 1 {
			ws.soleTenant = ""
		}
	}
	return rtr
}

// tenant is the workspace of a tenant; nil if the tenant is not
// configured.
func (rtr *router) tenant(name string) *workspace {
	if i, ok := rtr.tenants[name]; ok {
		return rtr.workspaces[i]
	}
	return nil
}

// workspaceByID is the workspace with that id; nil if none has it.
func (rtr *router) workspaceByID(id int64) *workspace {
	i, ok := slices.BinarySearchFunc(rtr.byID, id, func(i int32, id int64) int { return cmp.Compare(rtr.workspaces[i].id, id) })
	if !ok {
		return nil
	}
	return rtr.workspaces[rtr.byID[i]]
}

// selection is where the router sends a request.
type selection struct {
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
	canon, reason := canonicalPath(literal + "/")
	if reason != "" {
		return "", errors.New(reason)
	}
	return canon, nil
}

// route picks the workspace for a request whose raw path has passed
// checkPath. pinned is the site's tenant ("" if not pinned). A tenant that
// is named but not configured is refused: it never falls back to main.
func (rtr *router) route(h http.Header, path, pinned string) (selection, *rejection) {
	sel := selection{path: path}
	var pinnedWS *workspace
	if pinned != "" {
		if pinnedWS = rtr.tenant(pinned); pinnedWS == nil {
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
			return reject(CodeCrossTenantWorkspace, "the workspace named by the "+rtr.workspaceIDHeader+" header is not one of the configured workspaces")
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

	if rtr.prefix != "" && strings.HasPrefix(path, rtr.prefix) {
		tenant, rest, _ := strings.Cut(path[len(rtr.prefix):], "/")
		if tenant == "" {
			return sel, reject(CodeInvalidPath, "the path prefix "+rtr.prefix+" is not followed by a tenant name")
		}
		sel.path = "/" + rest
		if rj := name(byPath, tenant, rtr.tenant(tenant)); rj != nil {
			return sel, rj
		}
	}
	if rtr.tenantHeader != "" {
		v, present, rj := singleValue(h, rtr.tenantHeader)
		switch {
		case rj != nil || !present:
		case v == "":
			rj = reject(CodeUnknownTenant, "the "+rtr.tenantHeader+" header is present but empty")
		default:
			rj = name(byHeader, v, rtr.tenant(v))
		}
		if rj != nil {
			return sel, rj
		}
	}
	if rtr.workspaceIDHeader != "" {
		v, present, rj := singleValue(h, rtr.workspaceIDHeader)
		if rj == nil && present {
			if id, ok := parseWorkspaceID(v); ok {
				rj = name(byWorkspaceID, "", rtr.workspaceByID(id))
			} else {
				rj = reject(CodeInvalidWorkspaceHeader, "the "+rtr.workspaceIDHeader+" header must be a positive integer")
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
	case rtr.rejectMissing:
		return sel, reject(CodeTenantRequired, "the request names no tenant; "+rtr.selectors())
	case rtr.main == nil:
		return sel, reject(CodeNoMainWorkspace, "the request names no tenant and no workspace is configured as main")
	default:
		sel.ws, sel.by = rtr.main, byMain
	}
	if sel.tenant == "" && sel.by == byWorkspaceID {
		// Named by id, a workspace of one tenant is that tenant's, policy
		// and all; one of several tenants, or none, is nobody's.
		sel.tenant = sel.ws.soleTenant
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
func (rtr *router) selectors() string {
	var ways []string
	if rtr.prefix != "" {
		ways = append(ways, "the path prefix "+rtr.prefix+"<tenant>")
	}
	if rtr.tenantHeader != "" {
		ways = append(ways, "the "+rtr.tenantHeader+" header")
	}
	if rtr.workspaceIDHeader != "" {
		ways = append(ways, "the "+rtr.workspaceIDHeader+" header")
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

// policySubject names whose policy counters and idempotency records a
// request uses: its tenant, or, for a request that named none, its
// workspace ("@main"), which no tenant name can be.
func policySubject(sel selection) string {
	if sel.tenant != "" {
		return sel.tenant
	}
	return "@" + sel.ws.name
}

package restlink

import (
	"maps"
	"slices"

	"github.com/23telecom/restlink-sidecar/module/policy"
)

// plan is a config compiled for serving: every setting parsed and checked
// exactly once, by compileConfig. A snapshot is a plan plus key material and
// the live state that outlasts reloads (breakers, counters). The Config it
// was compiled from stays embedded, for status pages and commands.
type plan struct {
	*Config
	upstream    origin
	client      *clientPolicy
	callers     *callerPlan // nil: any local caller may name any tenant
	allow       *allowList  // nil: every request may pass
	routing     routingPlan
	breaker     breakerPlan
	rotation    rotationPlan
	policy      *policy.Policy
	idempotency idempotencyPlan
	pacing      pacePlan
	store       storePlan
	webhooks    webhookPlan
	money       *moneyPlan // nil: no ledger, no budgets
	strip       headerSet  // request headers never forwarded
	workspaces  []workspacePlan
}

// compileConfig is the config compiler: it turns a decoded Config into a
// plan in one pass, each section compiled by the file that serves it, and
// reports every problem found, each prefixed with the field it concerns.
// New config sections plug in here.
func compileConfig(c *Config) (*plan, error) {
	var p problems
	pl := &plan{Config: c}
	pl.upstream = compileUpstream(c.Upstream, &p)
	pl.workspaces = compileWorkspaces(c.Workspaces, &p)
	pl.routing = compileRouting(c.Routing, c.Tenants, pl.workspaces, &p)
	pl.allow = compileAllowList(c.Allow, &p)
	pl.breaker = compileBreaker(c.Breaker, &p)
	pl.client = compileSecurity(c.Security, &p)
	pl.callers = compileCallers(c.Callers, c.Tenants, &p)
	pl.rotation = compileRotation(c.Rotation, &p)
	pl.idempotency = compileIdempotency(c.Idempotency, &p)
	pl.pacing = compileRateLimit(c.Upstream, &p)
	pl.store = compileStore(c.Store, &p)
	pl.webhooks = compileWebhooks(c.Webhooks, c.Workspaces, pl.workspaces, &p)
	var err error
	if pl.policy, err = policy.Compile(c.Policy, slices.Collect(maps.Keys(c.Tenants))); err != nil {
		p.errs = append(p.errs, err)
	}
	pl.money = compileMoney(c, pl.policy.Budgeted(), pl.policy.Watched(), &p)
	pl.strip = strippedHeaders(pl.routing.tenantHeader, pl.routing.workspaceIDHeader)
	if err := p.err(); err != nil {
		return nil, err
	}
	return pl, nil
}

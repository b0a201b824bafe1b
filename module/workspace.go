package restlink

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sony/gobreaker/v2"

	"github.com/23telecom/restlink-sidecar/internal/names"
)

// workspace is one configured workspace, ready to serve: its keys and the
// live state that outlasts reloads while it stays configured.
type workspace struct {
	// workspacePlan is its name, id and sources, as configured; its key
	// sources are ws.workspacePlan.keys, which keys below shadows.
	*workspacePlan
	keys []*key // usable keys in config order; empty: NO_USABLE_KEY
	// soleTenant is the tenant of the workspace if exactly one tenant maps
	// to it ("" if none or several): a request naming the workspace by id
	// is that tenant's. Set by newRouter.
	soleTenant string
	// stats are the workspace's counters, shared with the workspace of
	// the same name in every snapshot of its live config; circuit is its
	// breaker, shared while its settings stay the same (see
	// buildSnapshot). Both are made by their first use (see lazy).
	stats    *lazy[workspaceStats]
	verified *lazy[verificationStats] // like stats
	circuit  *lazy[breaker]
	breakers *breakerMaker // what circuit's breaker is made from
}

// counters returns the workspace's counters, making them on first use.
func (ws *workspace) counters() *workspaceStats { return ws.stats.get(newWorkspaceStats) }

// breaker returns the workspace's breaker, making it on first use.
func (ws *workspace) breaker() *breaker { return ws.circuit.get(ws.newBreaker) }

// newBreaker makes the workspace's breaker.
func (ws *workspace) newBreaker() *breaker {
	settings := breakerSettings{breakerPlan: ws.breakers.plan, workspaceID: ws.id}
	return newBreaker(ws.name, settings, ws.stats, ws.breakers.onChange)
}

// breakerCounts are the counts and state of the workspace's breaker (see
// breaker.Counts): closed, with nothing counted, while no request has
// made it.
func (ws *workspace) breakerCounts() (gobreaker.Counts, gobreaker.State) {
	if b := ws.circuit.peek(); b != nil {
		return b.Counts()
	}
	return gobreaker.Counts{}, gobreaker.StateClosed
}

// breakerState is the state of the workspace's breaker: closed while no
// request has made it.
func (ws *workspace) breakerState() gobreaker.State {
	if b := ws.circuit.peek(); b != nil {
		return b.State()
	}
	return gobreaker.StateClosed
}

// workspacePlan is one workspace as compiled from the config.
type workspacePlan struct {
	name        string
	id          int64
	main        bool
	environment environment
	keys        []KeySource
	// webhookSecrets are the sources of the workspace's webhook signing
	// secrets; empty: it receives no webhooks.
	webhookSecrets []Source
}

// maxKeysPerWorkspace bounds a workspace's keys.
const maxKeysPerWorkspace = 8

// compileWorkspaces checks the workspaces section and returns the
// workspaces in name order.
func compileWorkspaces(c map[string]WorkspaceConfig, p *problems) []workspacePlan {
	if len(c) == 0 {
		p.add("workspaces", "at least one workspace is required")
	}
	var mains []string
	ids := make(map[int64]string, len(c))
	out := make([]workspacePlan, 0, len(c))
	// The workspaces' key sources share one array: a slice of its own
	// took 64 bytes for the 56 of one source.
	sources := 0
	for _, wc := range c {
		sources += len(wc.Keys)
	}
	keySources := make([]KeySource, 0, sources)
	for _, name := range slices.Sorted(maps.Keys(c)) {
		wc := c[name]
		field := "workspaces." + name
		if err := names.Check(name); err != nil {
			p.add(field, "workspace name %v", err)
		}
		if wc.ID <= 0 {
			p.add(field+".id", "must be a positive integer")
		} else if other, dup := ids[wc.ID]; dup {
			p.add(field+".id", "id %d is also the id of workspace %q", wc.ID, other)
		} else {
			ids[wc.ID] = name
		}
		if wc.Main {
			mains = append(mains, name)
		}
		switch n := len(wc.Keys); {
		case n == 0:
			p.add(field+".keys", "at least one key source is required")
		case n > maxKeysPerWorkspace:
			p.add(field+".keys", "at most %d key sources are allowed", maxKeysPerWorkspace)
		}
		for i, ks := range wc.Keys {
			if err := ks.validate(); err != nil {
				p.add(fmt.Sprintf("%s.keys[%d]", field, i), "%v", err)
			}
		}
		environment, ok := parseEnvironment(wc.Environment)
		if !ok {
			p.add(field+".environment", "must be %q, %q or %q, not %q", environmentLive, environmentTest, environmentAny, wc.Environment)
		}
		keySources = append(keySources, wc.Keys...)
		keys := keySources[len(keySources)-len(wc.Keys) : len(keySources) : len(keySources)]
		out = append(out, workspacePlan{name: name, id: wc.ID, main: wc.Main, keys: keys, environment: environment})
	}
	if len(mains) > 1 {
		p.add("workspaces", "only one workspace may be main, found %d: %s", len(mains), strings.Join(mains, ", "))
	}
	return out
}

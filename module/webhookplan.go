package restlink

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/names"
	"github.com/23telecom/restlink-sidecar/module/webhook"
)

// webhookPlan is the webhooks section compiled, with the workspaces that
// receive webhooks.
type webhookPlan struct {
	route         webhookRoute
	maxSkew       time.Duration
	spoolDir      string
	retryFor      time.Duration
	events        []string // accepted event types, sorted
	maxBodyBytes  int64
	maxConcurrent int
	// maxUnverified bounds the bodies one client may have in flight
	// before verification; bodyTimeout, how long one may take.
	maxUnverified int
	bodyTimeout   time.Duration
	// targets are the delivery targets of the workspaces with
	// webhook_secrets, by workspace name; empty: no workspace receives
	// webhooks.
	targets map[string]webhook.Target
}

// Limits of the webhook settings.
const (
	maxWebhookSecrets = 8
	// maxWebhookSkew bounds webhooks.max_skew: a wider window is a longer
	// replay window for a captured webhook, and restlink suggests 5 min.
	maxWebhookSkew = time.Hour
)

// accepts reports whether event is a configured event type.
func (hp *webhookPlan) accepts(event string) bool {
	_, ok := slices.BinarySearch(hp.events, event)
	return ok
}

// compileWebhooks checks the webhooks section and the webhook settings of
// the workspaces, and records each workspace's secret sources in ws.
func compileWebhooks(c WebhooksConfig, workspaces map[string]WorkspaceConfig, ws []workspacePlan, p *problems) webhookPlan {
	hp := webhookPlan{
		maxSkew:       c.MaxSkew,
		spoolDir:      c.SpoolDir,
		retryFor:      c.RetryFor,
		maxBodyBytes:  c.MaxBodyBytes,
		maxConcurrent: c.MaxConcurrent,
		maxUnverified: c.MaxUnverifiedPerClient,
		bodyTimeout:   c.BodyTimeout,
		targets:       make(map[string]webhook.Target),
	}
	var err error
	if hp.route, err = parseWebhookRoute(c.Path); err != nil {
		p.add("webhooks.path", "%v", err)
	}
	if c.DeliverTo != "" {
		if err := checkDeliverTo(c.DeliverTo); err != nil {
			p.add("webhooks.deliver_to", "%v", err)
		}
	}
	if c.MaxSkew <= 0 || c.MaxSkew > maxWebhookSkew {
		p.add("webhooks.max_skew", "must be more than 0 and at most %v", maxWebhookSkew)
	}
	if c.RetryFor <= 0 {
		p.add("webhooks.retry_for", "must be more than 0")
	}
	if c.MaxBodyBytes <= 0 {
		p.add("webhooks.max_body_bytes", "must be more than 0")
	}
	if c.MaxConcurrent <= 0 {
		p.add("webhooks.max_concurrent", "must be more than 0")
	}
	if c.MaxUnverifiedPerClient <= 0 {
		p.add("webhooks.max_unverified_per_client", "must be more than 0")
	}
	if c.BodyTimeout <= 0 {
		p.add("webhooks.body_timeout", "must be more than 0")
	}
	if len(c.Events) == 0 {
		p.add("webhooks.events", "at least one event type is required")
	}
	for i, event := range c.Events {
		if err := names.Check(event); err != nil {
			p.add(fmt.Sprintf("webhooks.events[%d]", i), "event type %v", err)
		}
	}
	hp.events = slices.Compact(slices.Sorted(slices.Values(c.Events)))
	for i := range ws {
		name := ws[i].name
		wc := workspaces[name]
		field := "workspaces." + name
		if len(wc.WebhookSecrets) > maxWebhookSecrets {
			p.add(field+".webhook_secrets", "at most %d secrets are allowed", maxWebhookSecrets)
		}
		for j, src := range wc.WebhookSecrets {
			if err := src.validate(); err != nil {
				p.add(fmt.Sprintf("%s.webhook_secrets[%d]", field, j), "%v", err)
			}
		}
		if own := wc.Webhooks.DeliverTo; own != "" {
			if err := checkDeliverTo(own); err != nil {
				p.add(field+".webhooks.deliver_to", "%v", err)
			}
		}
		if len(wc.WebhookSecrets) == 0 {
			if wc.Webhooks.DeliverTo != "" {
				p.add(field+".webhooks.deliver_to", "the workspace has no webhook_secrets, so it receives no webhooks to deliver")
			}
			continue
		}
		ws[i].webhookSecrets = wc.WebhookSecrets
		target := webhook.Target{URL: cmp.Or(wc.Webhooks.DeliverTo, c.DeliverTo), WorkspaceID: wc.ID, RetryFor: c.RetryFor}
		if target.URL == "" {
			p.add(field+".webhook_secrets", "webhooks.deliver_to (or the workspace's webhooks.deliver_to) is required to receive webhooks: the app's receiver the events are delivered to")
		}
		hp.targets[name] = target
	}
	if len(hp.targets) > 0 && c.SpoolDir == "" {
		p.add("webhooks.spool_dir", "is required when a workspace has webhook_secrets: the directory where events wait for the app")
	}
	return hp
}

// checkDeliverTo accepts an app's receiver: an absolute http or https URL
// with a host and no credentials (they would show in status and logs).
func checkDeliverTo(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", raw)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("%q must be an absolute http or https URL", raw)
	case u.User != nil:
		return fmt.Errorf("%q must not hold credentials", u.Redacted())
	case u.Fragment != "":
		return fmt.Errorf("%q must not have a fragment", raw)
	}
	return nil
}

// webhookRoute is webhooks.path parsed: its segments, with the positions of
// the {workspace} and {event} placeholders.
type webhookRoute struct {
	segments  []string // after the leading "/"; placeholders as written
	workspace int      // index of {workspace} in segments
	event     int      // index of {event}
}

// parseWebhookRoute parses a path with {workspace} and {event} as whole
// segments, each exactly once, and literal segments of unreserved
// characters.
func parseWebhookRoute(path string) (webhookRoute, error) {
	r := webhookRoute{workspace: -1, event: -1}
	if !strings.HasPrefix(path, "/") {
		return r, fmt.Errorf("%q must start with /", path)
	}
	r.segments = strings.Split(path[1:], "/")
	for i, seg := range r.segments {
		switch seg {
		case "{workspace}", "{event}":
			at := &r.workspace
			if seg == "{event}" {
				at = &r.event
			}
			if *at >= 0 {
				return r, fmt.Errorf("%q holds %s twice", path, seg)
			}
			*at = i
		default:
			if err := names.Check(seg); err != nil {
				return r, fmt.Errorf("%q: segment %v, or be {workspace} or {event}", path, err)
			}
		}
	}
	if r.workspace < 0 || r.event < 0 {
		return r, fmt.Errorf("%q must hold {workspace} and {event}, each as a whole segment", path)
	}
	return r, nil
}

// match returns the workspace and event a request path names, if it has
// the route's shape. The path is the raw one: names hold no character
// that would be escaped, so an escaped one matches nothing.
func (r webhookRoute) match(path string) (workspace, event string, ok bool) {
	rest, found := strings.CutPrefix(path, "/")
	if !found {
		return "", "", false
	}
	for i, want := range r.segments {
		seg, after, more := strings.Cut(rest, "/")
		if more != (i < len(r.segments)-1) {
			return "", "", false
		}
		switch i {
		case r.workspace:
			workspace = seg
		case r.event:
			event = seg
		default:
			if seg != want {
				return "", "", false
			}
		}
		rest = after
	}
	return workspace, event, workspace != "" && event != ""
}

// example is the path of workspace's event, for docs and messages.
func (r webhookRoute) example(workspace, event string) string {
	segs := slices.Clone(r.segments)
	segs[r.workspace], segs[r.event] = workspace, event
	return "/" + strings.Join(segs, "/")
}

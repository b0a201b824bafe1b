// Package webhookreceiver is the http.handlers.restlink_webhook Caddy
// module: it receives restlink's signed webhooks on the sidecar's public
// site, spools them and delivers them to the apps. It reads the config
// through the core's small exported surface (restlink.ConfigRef,
// restlink.Live and the per-snapshot restlink.Webhooks view) and uses the
// webhook engine in module/webhook.
package webhookreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	restlink "github.com/23telecom/restlink-sidecar/module"
	"github.com/23telecom/restlink-sidecar/module/store"
	"github.com/23telecom/restlink-sidecar/module/webhook"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// eventDelivery is restlink's delivery report event: its cost goes into
// the ledger.
const eventDelivery = "delivery"

// reconcileTimeout bounds the store and ledger work of one delivery
// report's reconciliation.
const reconcileTimeout = 5 * time.Second

// Handler receives restlink's webhooks, on the one site meant to be
// reached from outside the host. It verifies each webhook's signature with
// its workspace's webhook secret, writes the event to a spool on local disk
// and only then answers restlink 200; a deliverer then posts the event to
// the app's receiver until the app takes it. Apps hold no webhook secret
// and lose no event while they are down.
//
// It answers every request that reaches it itself. Refusals carry no body
// and no sidecar detail: 404 for a path, workspace or event type it does
// not receive, 405 for a method other than POST, 401 for a missing or
// wrong signature or a stale timestamp, 413 for a body over the limit, and
// 503 while it cannot take the event (restlink tries again).
type Handler struct {
	restlink.ConfigRef

	receiver *receiver
	logger   *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.restlink_webhook",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision loads the config file (or attaches to the live config serving
// it) and opens the webhook spool, starting delivery to the apps.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := h.ConfigRef.Provision(ctx); err != nil {
		return err
	}
	rc, err := acquireReceiver(h.Live(), h.logger)
	if err != nil {
		return err
	}
	h.receiver = rc
	if err := registerMetrics(ctx.GetMetricsRegistry(), rc); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	return nil
}

// Cleanup releases the spool (the last handler closes it) and the live
// config.
func (h *Handler) Cleanup() error {
	var err error
	if h.receiver != nil {
		h.receiver = nil
		_, err = receivers.Delete(h.Live().Path())
	}
	return errors.Join(err, h.ConfigRef.Cleanup())
}

// markerPending bounds how long a replica's claim on an event it is
// spooling keeps other replicas from spooling it; spooling takes
// milliseconds, and restlink waits 10 s before it tries again.
const markerPending = 10 * time.Second

// ServeHTTP receives one webhook.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	start := time.Now()
	hooks := h.Live().Webhooks()
	limits := hooks.Limits()
	ctl := limitBody(w, limits)
	name, event, ok := hooks.Match(r.URL.EscapedPath())
	if !ok {
		h.refuse(w, r, http.StatusNotFound, "not_found", "")
		return nil
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, r, http.StatusMethodNotAllowed, "method", name)
		return nil
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		// restlink posts plain JSON; an encoded body would be delivered
		// to the app without its Content-Encoding.
		h.refuse(w, r, http.StatusUnsupportedMediaType, "content_encoding", name)
		return nil
	}
	body, refused := h.receiver.readBody(w, r, ctl, limits)
	if refused != nil {
		h.refuse(w, r, refused.status, refused.reason, name)
		return nil
	}
	err := webhook.Verify(hooks.Secrets(name), r.Header.Get(webhook.TimestampHeader),
		r.Header.Get(webhook.SignatureHeader), body, start, limits.MaxSkew)
	if err != nil {
		h.refuse(w, r, http.StatusUnauthorized, verifyRefusal(err), name)
		return nil
	}
	if !h.receiver.enter(limits.MaxConcurrent) {
		h.refuse(w, r, http.StatusServiceUnavailable, "overloaded", name)
		return nil
	}
	defer h.receiver.leave()
	ev := &webhook.Event{
		Workspace:   name,
		WorkspaceID: hooks.Targets()[name].WorkspaceID,
		Type:        event,
		Body:        body,
		ContentType: r.Header.Get("Content-Type"),
		DedupKey:    webhook.DedupKey(name, event, body),
	}
	ev.ID = webhook.EventID(ev.DedupKey)
	duplicate, refusal := h.spoolEvent(r.Context(), hooks, ev)
	if refusal != "" {
		h.refuse(w, r, http.StatusServiceUnavailable, refusal, name)
		return nil
	}
	st := h.receiver.stats.of(name)
	outcome := "spooled"
	if duplicate {
		st.duplicates.Add(1)
		outcome = "duplicate"
	} else {
		st.received.Add(1)
	}
	w.WriteHeader(http.StatusOK)
	h.logger.Info("webhook received", zap.String("workspace", name), zap.String("event", event),
		zap.String("event_id", ev.ID), zap.String("outcome", outcome), zap.Duration("took", time.Since(start)))
	if event == eventDelivery && !duplicate {
		// Safely spooled and acknowledged (the answer flushed, so that
		// restlink's 5 s deadline does not wait for it): the ledger
		// takes the report's cost now.
		_ = http.NewResponseController(w).Flush()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), reconcileTimeout)
		defer cancel()
		h.Live().ReconcileDelivery(ctx, name, body)
	}
	return nil
}

// spoolEvent writes a verified event to the spool, synced, unless it was
// received before. With a shared store, a marker per event keeps a fleet
// from spooling (and delivering) one event once per replica: the first
// replica claims it, spools it and confirms the marker; the others
// acknowledge it as a duplicate, or are refused while the first is still
// spooling it. If the store does not answer, the event is spooled anyway:
// a second delivery, with the same event id, is better than none.
// refusal names why the event was not taken; "" if it was.
func (h *Handler) spoolEvent(ctx context.Context, hooks *restlink.Webhooks, ev *webhook.Event) (duplicate bool, refusal string) {
	retryFor := hooks.Limits().RetryFor
	markers := hooks.Markers()
	marked := false
	if markers != nil {
		state, err := markers.ClaimMarker(ctx, ev.ID, markerPending)
		switch {
		case err != nil:
			h.logger.Debug("webhook marker not claimed; spooling without it", zap.String("event_id", ev.ID), zap.Error(err))
		case state == store.MarkerDone:
			return true, ""
		case state == store.MarkerPending:
			return false, "in_progress"
		default:
			marked = true
		}
	}
	duplicate, err := h.receiver.spool.Enqueue(ev, retryFor)
	if err != nil {
		h.logger.Error("webhook not spooled; answered 503 so that restlink tries again",
			zap.String("workspace", ev.Workspace), zap.String("event_id", ev.ID), zap.Error(err))
		if marked {
			_ = markers.ReleaseMarker(context.WithoutCancel(ctx), ev.ID)
		}
		return false, "spool_failed"
	}
	if marked {
		_ = markers.ConfirmMarker(context.WithoutCancel(ctx), ev.ID, retryFor)
	}
	return duplicate, ""
}

// refuse answers a refused webhook with status alone, counts it and logs
// it: at most one line per reason a minute, with the count since the last.
// workspace is the configured workspace the request was for, "" if none.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason, workspace string) {
	h.receiver.stats.refuse(reason)
	w.WriteHeader(status)
	n := h.receiver.refusals.note(reason, time.Now())
	if n == 0 {
		return
	}
	fields := []zap.Field{zap.Int("status", status), zap.String("reason", reason), zap.String("remote_ip", clientIP(r)), zap.Int("count", n)}
	if workspace == "" || status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		h.logger.Debug("webhook refused", fields...)
		return
	}
	h.logger.Info("webhook refused", append(fields, zap.String("workspace", workspace))...)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)

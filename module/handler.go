// Package restlink is the restlink-sidecar Caddy module,
// http.handlers.restlink: it routes each local request to a 23 Telecom
// workspace, injects that workspace's API key and forwards the request to
// the restlink API, with a circuit breaker per workspace. Apps never hold
// keys; keys are rotated in files the module watches.
//
// The module is configured with a YAML file (see Config); the Caddy config
// only says where that file is, so that no key is ever part of Caddy's
// config (which the admin API would show).
package restlink

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/23telecom/restlink-sidecar/module/store"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler forwards each request to the restlink API with the API key of
// the request's workspace. It answers every request itself (it never calls
// the next handler): with the upstream's response, or with a sidecar error
// (JSON with error_code, and the X-Restlink-Sidecar-Error header).
type Handler struct {
	ConfigRef

	// Pins every request of this site to one tenant of the config, so that
	// an app given its own listener cannot send as another tenant: a
	// request naming a different tenant or workspace by header or path is
	// answered 400 CONFLICTING_TENANT. Default: not pinned.
	Tenant string `json:"tenant,omitempty"`

	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.restlink",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision loads the config file, or attaches to the live config already
// serving it (keeping breakers and keys across Caddy config reloads), and
// has the site's server record who connects over a unix socket.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	registerPeerCreds(ctx)
	return h.ConfigRef.Provision(ctx)
}

// Validate checks that a pinned tenant is configured.
func (h *Handler) Validate() error {
	if h.Tenant == "" {
		return nil
	}
	if h.live.current.Load().router.tenant(h.Tenant) == nil {
		return fmt.Errorf("tenant: %q is not a tenant in %s", h.Tenant, h.live.path)
	}
	return nil
}

// exchange is what happened to one request, for its log line and metrics.
type exchange struct {
	start      time.Time
	sel        selection
	bodyRead   bool // the request body was read whole
	key        *key
	attempts   int
	status     int       // answered to the app (the upstream's, or the sidecar's error)
	code       ErrorCode // set when the sidecar answered itself
	reason     string    // its description
	failure    string    // why the upstream round trip failed, if it did (failConnect, …)
	upstream   time.Duration
	clientGone bool // the app hung up before it had the whole answer
	shared     bool // answered with an identical request's upstream answer (see collapser)
	replayed   bool // answered from an idempotency record
	dryRun     bool // answered locally: the tenant's policy is a dry run
	policyRule string
}

// ServeHTTP forwards the request or answers it with a sidecar error.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	x := exchange{start: time.Now()}
	snap := h.live.current.Load()
	rj, abort := h.serve(w, r, snap, &x)
	if rj != nil {
		unread := !x.bodyRead && r.ContentLength != 0
		if unread {
			w.Header().Set("Connection", "close")
		}
		delete(w.Header(), "Server")
		writeRejection(w, rj)
		if unread {
			// The body was not read: close the connection after the answer
			// instead of reading the body (net/http would, and a client
			// waiting for 100 Continue would then wait in vain; a large
			// unwanted body is not uploaded either).
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		}
		x.status, x.code, x.reason = rj.code.Status(), rj.code, rj.description
	}
	h.observe(r, snap, &x)
	if abort {
		// The response was cut short after its headers were sent: close
		// the connection so that the client cannot take it for whole.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// serve checks the request, reads its body and forwards it. It returns the
// sidecar error to answer, if any, and whether the connection must be
// aborted because a response was cut short.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, snap *snapshot, x *exchange) (rj *rejection, abort bool) {
	if rj := snap.client.check(r); rj != nil {
		return rj, false
	}
	raw, query, ok := splitTarget(r.RequestURI)
	if !ok {
		return reject(CodeInvalidPath, "the request target has no path"), false
	}
	x.sel.path = raw
	path, reason := canonicalPath(raw)
	if reason == "" {
		reason = checkQuery(query)
	}
	if reason != "" {
		return reject(CodeInvalidPath, reason), false
	}
	sel, rj := routeRequest(snap, r, path, h.Tenant)
	x.sel = sel // also on rejection: the log shows what was matched
	if rj != nil {
		return rj, false
	}
	if !snap.allow.allows(r.Method, sel.path) {
		return reject(CodeRouteNotAllowed, r.Method+" "+sel.path+" is not in the allow list"), false
	}
	ws := sel.ws
	if len(ws.keys) == 0 {
		return reject(CodeNoUsableKey, "no key of workspace "+ws.name+" could be loaded"), false
	}
	body, rj := readBody(w, r, snap.client, &h.live.bodies)
	defer body.release(&h.live.bodies)
	if rj != nil {
		return rj, false
	}
	x.bodyRead = true
	claim, rj := snap.idempotency.claim(r, policySubject(sel), sel.path, body.data, inFlightFor(snap.Upstream))
	if rj != nil {
		return rj, false
	}
	if claim == nil {
		// An open breaker would refuse the request after the send policy,
		// budgets and pacing: refuse it now (a GET that would have shared
		// an identical one's answer too). A request with an idempotency
		// key takes the whole path, so that a completed send is replayed
		// whatever the breaker, and so does a dry run, which is answered
		// without the upstream. The breaker is read first: a closed one,
		// or one no request has made yet, costs an atomic load, and the
		// policy is not looked up.
		if b := ws.circuit.peek(); b != nil {
			if rj := b.refusesNow(); rj != nil && !answeredLocally(snap, r, sel) {
				return rj, false
			}
		}
	}
	out := outbound{method: r.Method, path: sel.path, query: query, body: body.data, header: upstreamHeader(r.Header, snap.strip, r.Method)}

	if r.Method == http.MethodPost {
		g, answered, refused := h.admit(w, r, snap, sel, &out, claim, x)
		if refused != nil || answered {
			return refused, false
		}
		if g != nil {
			cw := &capturingWriter{ResponseWriter: w}
			w = cw
			defer func() { h.settle(g, cw, rj, x) }() // rj: the request's final answer, named result
		}
	}

	if collapsible(ws, &out) {
		k := collapseKey(ws, &out)
		call, leader := h.live.collapse.join(k)
		if !leader {
			if answer := call.wait(r.Context()); answer != nil {
				answer.write(w)
				x.status, x.shared = answer.status, true
				return nil, false
			}
		} else {
			cw := &capturingWriter{ResponseWriter: w}
			w = cw
			defer func() {
				var answer *sharedAnswer
				if rj == nil && !abort && x.failure == "" && !x.clientGone {
					answer = cw.answer()
				}
				h.live.collapse.finish(k, call, answer)
			}()
		}
	}

	if rj := awaitSlot(r.Context(), snap.store, snap.pacing); rj != nil {
		return rj, false
	}
	// Nothing is taken from the breaker before the whole body is in: a
	// slow client cannot hold a half-open breaker's probe slot.
	slot, rj := ws.breaker().enter()
	if rj != nil {
		return rj, false
	}
	defer slot.finish()
	return h.forward(w, r, snap, ws, &out, x, &slot)
}

// collapsible reports a request that may share an identical one's upstream
// request (see collapser): a GET or HEAD with no body, for a workspace
// whose key signs.
func collapsible(ws *workspace, out *outbound) bool {
	if out.method != http.MethodGet && out.method != http.MethodHead || len(out.body) > 0 {
		return false
	}
	k := activeKey(ws.keys)
	return k != nil && k.secret != nil
}

// forward sends the request upstream with each of the workspace's keys in
// turn until one is not refused, and copies the answer to the app.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, snap *snapshot, ws *workspace, out *outbound, x *exchange, slot *slot) (*rejection, bool) {
	clock := newUpstreamClock(snap.Upstream.Timeout)
	defer clock.stop()
	var buf [maxKeysPerWorkspace * 2]*key // active keys, then candidates
	keys := orderKeys(ws.keys, buf[:0])
	resigned := false // a signed key refused once with INVALID_SIGNATURE was tried again
	for i := 0; i < len(keys); i++ {
		k := keys[i]
		if x.attempts > 0 && !resigned {
			ws.counters().trouble().keyFailovers.Add(1)
		}
		x.key = k
		x.attempts++
		if rj := h.sign(clock, snap.store, out, k); rj != nil {
			return rj, false
		}
		sent := time.Now()
		clock.wait()
		resp, err := out.send(clock.ctx, snap.upstream, k)
		clock.pause()
		x.upstream += time.Since(sent)
		if err != nil {
			x.failure = classifyFailure(err, clock, false)
			ws.counters().countUpstreamFailure(x.failure)
			slot.outcome = err
			return upstreamError(x.failure, snap.Upstream.Timeout), false
		}
		resp.Body = &timedBody{ReadCloser: resp.Body, clock: clock}
		if resp.StatusCode == http.StatusUnauthorized {
			code := readErrorCode(resp)
			if code == "INVALID_SIGNATURE" && k.secret != nil && !resigned {
				// restlink answers a replayed (timestamp, signature) pair
				// so too, and another process without a shared store may
				// have sent an identical request in the same second: sign
				// it afresh, in another second, before blaming the key.
				drain(resp)
				resigned = true
				i--
				continue
			}
			resigned = false
			if condemnsKey(code) {
				// The upstream refused this key and did not act on the
				// request: demote the key and send it with the next one.
				drain(resp)
				h.demote(snap, ws, k, code)
				continue
			}
			// Any other 401 (a JWT-only endpoint, an address not allowed)
			// is not the key's fault: the app gets it as it came.
		}
		readErr, writeErr := copyResponse(w, resp)
		_ = resp.Body.Close()
		// A write to a client that hung up may succeed into the server's
		// buffer; the request's context tells.
		x.status, x.clientGone = resp.StatusCode, writeErr != nil || r.Context().Err() != nil
		switch {
		case readErr != nil:
			x.failure = classifyFailure(readErr, clock, true)
			ws.counters().countUpstreamFailure(x.failure)
			slot.outcome = readErr
		case ws.breaker().isFailureStatus(resp.StatusCode):
			slot.outcome = errFailureStatus
		default:
			slot.outcome = nil
		}
		return nil, readErr != nil && writeErr == nil
	}
	slot.outcome = nil // the upstream answered every attempt: it is healthy
	return reject(CodeNoUsableKey, "the upstream refused every key of workspace "+ws.name+" (401)"), false
}

// sign sets an attempt's signing headers: those of k's signature if it
// signs, none otherwise. Every attempt is signed afresh.
func (h *Handler) sign(clock *upstreamClock, st store.Store, out *outbound, k *key) *rejection {
	if k.secret == nil {
		delete(out.header, headerTimestamp)
		delete(out.header, headerSignature)
		return nil
	}
	ts, sig, err := signRequest(clock.ctx, st, k, out.method, out.path, out.body, time.Now())
	switch {
	case errors.Is(err, errReplayWindowFull):
		rj := reject(CodeReplayWindowFull, "more identical signed requests than restlink's 5-minute replay window has seconds for; retry after the time in Retry-After")
		rj.retryAfter = 1
		return rj
	case err != nil:
		h.logger.Error("signing a request failed", zap.String("key", k.fp), zap.Error(err))
		return reject(CodeStoreUnavailable, "the store of signing timestamps could not be reached; nothing was sent")
	}
	out.header[headerTimestamp], out.header[headerSignature] = []string{ts}, []string{sig}
	return nil
}

// demote tries a key refused by the upstream last, from now on, and says
// why, once; the verdict the fleet shares for it, if any, is withdrawn.
func (h *Handler) demote(snap *snapshot, ws *workspace, k *key, code string) {
	if !k.demote(code) {
		return
	}
	if snap.fleet != nil {
		go withdrawVerdict(snap.fleet, verdictMarker(snap.upstream.origin, snap.rotation, k))
	}
	ws.counters().countDemotion(code)
	msg := "upstream refused a key; it will be tried after the workspace's other keys until its material changes"
	if misconfigured(code) {
		msg = "upstream refused a key's signature (the key is misconfigured); it will be tried after the workspace's other keys until its material changes"
	}
	fields := []zap.Field{zap.String("workspace", ws.name), zap.String("key", k.fp), zap.String("upstream_error_code", code)}
	if fp := k.secretFingerprint(); fp != "" {
		fields = append(fields, zap.String("secret", fp))
	}
	h.logger.Warn(msg, fields...)
}

// observe counts the request and writes its log line.
func (h *Handler) observe(r *http.Request, snap *snapshot, x *exchange) {
	wsName, wsStats := noWorkspace, &snap.stats.unrouted
	if ws := x.sel.ws; ws != nil {
		wsName, wsStats = ws.name, ws.counters()
		if x.attempts > 0 {
			wsStats.upstreamLatency.Observe(x.upstream)
		}
	}
	if x.status != 0 {
		wsStats.countRequest(x.status)
	}
	if x.code != "" {
		snap.stats.countRejection(x.code)
	}

	msg, level := "forwarded request", zapcore.InfoLevel
	switch {
	case x.failure == failTruncated:
		msg, level = "the upstream cut its answer short; the app got it truncated", zapcore.ErrorLevel
	case x.failure == failTimeout && x.code == "":
		msg, level = "the upstream stalled mid-answer for upstream.timeout; the app got it truncated", zapcore.ErrorLevel
	case x.clientGone:
		msg = "forwarded request; the client closed the connection before the answer"
	case x.code == CodeCircuitOpen:
		// While a breaker is open every request is refused alike: the state
		// change is logged once, the refusals are counted in metrics.
		msg, level = "sidecar answered with an error", zapcore.DebugLevel
	case x.code != "":
		msg = "sidecar answered with an error"
	case x.replayed:
		msg = "answered from an idempotency record; nothing sent"
	case x.dryRun:
		msg = "answered a dry run; nothing sent"
	}
	ce := h.logger.Check(level, msg)
	if ce == nil {
		return
	}
	pooled := logFields.Get().(*[]zap.Field)
	defer logFields.Put(pooled)
	fields := append((*pooled)[:0],
		zap.String("method", r.Method),
		zap.String("path", x.sel.path),
		zap.String("tenant", x.sel.tenant),
		zap.String("workspace", wsName),
	)
	if ws := x.sel.ws; ws != nil {
		fields = append(fields, zap.Int64("workspace_id", ws.id), zap.String("routed_by", x.sel.by),
			zap.String("breaker", ws.breakerState().String()))
	}
	if x.key != nil {
		fields = append(fields, zap.String("key", x.key.fp), zap.Int("attempts", x.attempts),
			zap.Duration("upstream_duration", x.upstream))
	}
	if x.code != "" {
		fields = append(fields, zap.String("error_code", string(x.code)), zap.String("reason", x.reason))
	}
	if x.failure != "" {
		fields = append(fields, zap.String("upstream_failure", x.failure))
	}
	if x.shared {
		fields = append(fields, zap.Bool("shared_answer", true))
	}
	if x.replayed {
		fields = append(fields, zap.Bool("idempotent_replay", true))
	}
	if x.dryRun {
		fields = append(fields, zap.Bool("dry_run", true))
	}
	if x.policyRule != "" {
		fields = append(fields, zap.String("policy_rule", x.policyRule))
	}
	fields = append(fields, zap.Int("status", x.status), zap.Duration("duration", time.Since(x.start)))
	ce.Write(fields...) // cores encode fields when written; none keeps them
	*pooled = fields
}

// logFields recycles the field slices of request log lines, which would
// otherwise be the largest allocation of a request.
var logFields = sync.Pool{New: func() any { s := make([]zap.Field, 0, 16); return &s }}

// Interface guards
var (
	_ caddy.Module                = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Destructor            = (*liveConfig)(nil)
)

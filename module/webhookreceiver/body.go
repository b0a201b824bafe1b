package webhookreceiver

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	restlink "github.com/23telecom/restlink-sidecar/module"
)

// unverified counts the webhook bodies each client address has in flight
// before their signature is verified. Anyone on the internet can open
// such a request, so it holds only its client's share, never a slot a
// verified event needs. An address is forgotten when its last body is
// done: the map holds at most one entry per connection.
type unverified struct {
	mu       sync.Mutex
	byClient map[string]int
}

// enter admits one more body from client, if it has fewer than limit in
// flight.
func (u *unverified) enter(client string, limit int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byClient[client] >= limit {
		return false
	}
	if u.byClient == nil {
		u.byClient = make(map[string]int)
	}
	u.byClient[client]++
	return true
}

// leave ends a body entered for client.
func (u *unverified) leave(client string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byClient[client]--; u.byClient[client] <= 0 {
		delete(u.byClient, client)
	}
}

// bodyRefusal says why a body was not read: the status and the refusal's
// reason.
type bodyRefusal struct {
	status int
	reason string
}

// limitBody gives the request's body limits.BodyTimeout to arrive, from
// now: any body, so that a stranger cannot trickle one into a path the site
// refuses either (net/http reads what a handler left, to reuse the
// connection). It returns the controller that set the deadline.
func limitBody(w http.ResponseWriter, limits restlink.WebhookLimits) *http.ResponseController {
	ctl := http.NewResponseController(w)
	_ = ctl.SetReadDeadline(time.Now().Add(limits.BodyTimeout))
	return ctl
}

// readBody reads a webhook's body whole within its deadline (limitBody) and
// limits.MaxBodyBytes, counted against its client's unverified bodies. A
// body refused before it is read ends its connection at once.
func (rc *receiver) readBody(w http.ResponseWriter, r *http.Request, ctl *http.ResponseController, limits restlink.WebhookLimits) ([]byte, *bodyRefusal) {
	refuseUnread := func(status int, reason string) *bodyRefusal {
		w.Header().Set("Connection", "close")
		_ = ctl.SetReadDeadline(time.Now())
		return &bodyRefusal{status, reason}
	}
	if r.ContentLength > limits.MaxBodyBytes {
		return nil, refuseUnread(http.StatusRequestEntityTooLarge, "too_large")
	}
	client := clientIP(r)
	if !rc.unverified.enter(client, limits.MaxUnverifiedPerClient) {
		return nil, refuseUnread(http.StatusServiceUnavailable, "client_limit")
	}
	defer rc.unverified.leave(client)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limits.MaxBodyBytes))
	switch _, tooLarge := errors.AsType[*http.MaxBytesError](err); {
	case err == nil:
		_ = ctl.SetReadDeadline(time.Time{}) // for the connection's next request
		return body, nil
	case tooLarge:
		return nil, &bodyRefusal{http.StatusRequestEntityTooLarge, "too_large"}
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		return nil, &bodyRefusal{http.StatusRequestTimeout, "body_timeout"}
	}
	return nil, &bodyRefusal{http.StatusBadRequest, "unreadable"}
}

// clientIP is the client's address as Caddy determined it (honouring the
// server's trusted_proxies), else the connection's peer, without a port.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	return remoteIP(r)
}

// remoteIP is the address of the connection's peer, without its port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

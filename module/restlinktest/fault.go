package restlinktest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Fault makes the fake misbehave for the requests it matches. Matching
// requests are recorded like any other. Exactly one action is applied, in
// the order of the fields below; a Delay may precede any of them.
type Fault struct {
	// Which requests: a workspace (0: any) and a path (empty: any), as
	// the fake sees them before authenticating: the workspace is the one
	// the X-API-Key is bound to, whatever the key's state.
	WorkspaceID int64
	Path        string
	// How many matching requests it applies to; 0: all until removed.
	Times int

	// Delay waits before acting (or before answering normally), unless the
	// client goes away first.
	Delay time.Duration
	// CloseAfterRead reads the whole request, then closes the connection
	// without answering: the sender cannot know whether it was acted on.
	CloseAfterRead bool
	// ResetAfterHeaders sends a response's headers and part of its body,
	// then resets the connection.
	ResetAfterHeaders bool
	// RedirectTo answers 302 with this Location.
	RedirectTo string
	// Bare429 answers 429 with no body, as restlink's per-IP limiter does.
	Bare429 bool
	// HTML429 answers 429 with an HTML page, as the edge proxy in front of
	// restlink does.
	HTML429 bool
	// Status answers with this status and restlink's error body with
	// ErrorCode ("FAULT_INJECTED" if empty).
	Status    int
	ErrorCode string
	// EchoKeyIn answers normally, with the request's X-API-Key copied into
	// this response header: an upstream (or a proxy on the way) that
	// echoes credentials.
	EchoKeyIn string
	// DBError makes sends that passed validation and the balance check
	// answer 500 DB_ERROR, as when restlink cannot queue them: nothing is
	// queued or charged. Only such sends match it and count towards Times;
	// every other request is answered normally.
	DBError bool

	// The faults of restlink's account cache, which balance, pricing and
	// payments are served from. Like DBError, each matches only the
	// requests of its endpoints that passed authentication and the
	// permission check, and only those count towards Times; Delay does
	// not apply to them.
	//
	// AccountSetup makes GET and POST /user/pricing and GET /user/payments
	// answer 200 {"status": false, "error": "Account is in setup
	// process"}, as restlink does while the account is being set up.
	AccountSetup bool
	// PricingDegraded makes GET and POST /user/pricing answer 200 [] with
	// X-Sms-Gateway-Status: unavailable and X-Sms-Gateway-Reason:
	// cache_miss_refresh_failed, as restlink does when the cache is
	// degraded.
	PricingDegraded bool
	// BalanceDegraded makes GET /user/balance answer 200 {"balance": 0,
	// "currency": …, "unavailable": true, "reason":
	// "cache_miss_refresh_failed"} with the same two headers.
	BalanceDegraded bool

	used int
}

// faultStage is where, in answering a request, a fault may act.
type faultStage int

const (
	onArrival  faultStage = iota // before authentication
	onQueue                      // a send about to be queued
	onPricing                    // an authorized GET or POST /user/pricing
	onPayments                   // an authorized GET /user/payments
	onBalance                    // an authorized GET /user/balance
)

// actsOn reports whether the fault acts at the stage.
func (fault *Fault) actsOn(stage faultStage) bool {
	switch stage {
	case onQueue:
		return fault.DBError
	case onPricing:
		return fault.AccountSetup || fault.PricingDegraded
	case onPayments:
		return fault.AccountSetup
	case onBalance:
		return fault.BalanceDegraded
	}
	return !fault.DBError && !fault.AccountSetup && !fault.PricingDegraded && !fault.BalanceDegraded
}

// The headers and reason of restlink's degraded account cache.
const (
	gatewayStatusHeader = "X-Sms-Gateway-Status"
	gatewayReasonHeader = "X-Sms-Gateway-Reason"
	gatewayUnavailable  = "unavailable"
	cacheRefreshFailed  = "cache_miss_refresh_failed"
)

// degradedHeader is the header of an answer from a degraded cache.
func degradedHeader() http.Header {
	return http.Header{gatewayStatusHeader: {gatewayUnavailable}, gatewayReasonHeader: {cacheRefreshFailed}}
}

// accountAnswer is the answer of a fault of the account cache at a
// pricing or payments request.
func (fault *Fault) accountAnswer() response {
	if fault.AccountSetup {
		return okResponse(struct {
			Status bool   `json:"status"`
			Error  string `json:"error"`
		}{false, "Account is in setup process"})
	}
	resp := okResponse([]struct{}{})
	resp.header = degradedHeader()
	return resp
}

// Inject adds a fault; the returned function removes it.
func (f *Fake) Inject(fault Fault) (remove func()) {
	p := &fault
	f.mu.Lock()
	f.faults = append(f.faults, p)
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, q := range f.faults {
			if q == p {
				f.faults = append(f.faults[:i], f.faults[i+1:]...)
				return
			}
		}
	}
}

// matchFault finds the first fault for the request that acts at the
// stage, and uses it up once. f.mu is held.
func (f *Fake) matchFault(path string, wsID int64, stage faultStage) *Fault {
	for i, fault := range f.faults {
		if !fault.actsOn(stage) || (fault.WorkspaceID != 0 && fault.WorkspaceID != wsID) || (fault.Path != "" && fault.Path != path) {
			continue
		}
		fault.used++
		if fault.Times > 0 && fault.used >= fault.Times {
			f.faults = append(f.faults[:i], f.faults[i+1:]...)
		}
		return fault
	}
	return nil
}

// edgeRateLimitPage is the kind of page an edge proxy answers 429 with.
const edgeRateLimitPage = "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n</body>\r\n</html>\r\n"

// apply acts out the fault. It returns the answer to write, or nil to
// answer normally; answered is false if it dropped the connection.
func (fault *Fault) apply(w http.ResponseWriter, r *http.Request) (resp *response, answered bool) {
	if fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			return nil, false
		}
	}
	if fault.EchoKeyIn != "" {
		w.Header().Set(fault.EchoKeyIn, r.Header.Get("X-Api-Key"))
	}
	switch {
	case fault.CloseAfterRead:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return nil, false
	case fault.ResetAfterHeaders:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return nil, false
		}
		writePartialResponse(buf)
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // close with RST
		}
		_ = conn.Close()
		return nil, false
	case fault.RedirectTo != "":
		return &response{status: http.StatusFound, header: http.Header{"Location": {fault.RedirectTo}}}, true
	case fault.Bare429:
		return &response{status: http.StatusTooManyRequests}, true
	case fault.HTML429:
		return &response{status: http.StatusTooManyRequests, header: http.Header{"Content-Type": {"text/html"}},
			raw: []byte(edgeRateLimitPage)}, true
	case fault.Status != 0:
		code := fault.ErrorCode
		if code == "" {
			code = "FAULT_INJECTED"
		}
		return refusal(fault.Status, code, "fault injected by restlinktest"), true
	}
	return nil, true
}

// writePartialResponse writes the start of a success answer that never
// ends: headers promising more body than follows.
func writePartialResponse(buf *bufio.ReadWriter) {
	fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"status\":true,\"messages\":")
	_ = buf.Flush()
}

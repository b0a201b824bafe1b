package restlink

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/23telecom/restlink-sidecar/internal/jsontext"
	"github.com/23telecom/restlink-sidecar/module/policy"
)

// ErrorCode is an error_code that the sidecar itself answers with.
// Clients match on it, never on the description text. Every sidecar error
// also carries the header X-Restlink-Sidecar-Error with the same code, so
// that it can be told apart from an error the upstream returned.
type ErrorCode string

// The sidecar's own error codes.
const (
	CodeInvalidWorkspaceHeader ErrorCode = "INVALID_WORKSPACE_HEADER"
	CodeCrossTenantWorkspace   ErrorCode = "CROSS_TENANT_WORKSPACE"
	CodeNoMainWorkspace        ErrorCode = "NO_MAIN_WORKSPACE"
	CodeTenantRequired         ErrorCode = "TENANT_REQUIRED"
	CodeUnknownTenant          ErrorCode = "UNKNOWN_TENANT"
	CodeConflictingTenant      ErrorCode = "CONFLICTING_TENANT"
	CodeInvalidPath            ErrorCode = "INVALID_PATH"
	CodeRouteNotAllowed        ErrorCode = "ROUTE_NOT_ALLOWED"
	CodeClientNotTrusted       ErrorCode = "CLIENT_NOT_TRUSTED"
	CodeCallerNotAllowed       ErrorCode = "CALLER_NOT_ALLOWED"
	CodeBrowserRequestRejected ErrorCode = "BROWSER_REQUEST_REJECTED"
	CodeMisdirectedHost        ErrorCode = "MISDIRECTED_HOST"
	CodeBodyTooLarge           ErrorCode = "BODY_TOO_LARGE"
	CodeCircuitOpen            ErrorCode = "CIRCUIT_OPEN"
	CodeNoUsableKey            ErrorCode = "NO_USABLE_KEY"
	CodeUpstreamUnavailable    ErrorCode = "UPSTREAM_UNAVAILABLE"
	CodeUpstreamTimeout        ErrorCode = "UPSTREAM_TIMEOUT"
	CodeMethodNotAllowed       ErrorCode = "METHOD_NOT_ALLOWED"
	CodeRequestBodyTimeout     ErrorCode = "REQUEST_BODY_TIMEOUT"
	CodeRequestBodyIncomplete  ErrorCode = "REQUEST_BODY_INCOMPLETE"
	CodeSidecarOverloaded      ErrorCode = "SIDECAR_OVERLOADED"
	CodeReplayWindowFull       ErrorCode = "REPLAY_WINDOW_FULL"
	CodeStoreUnavailable       ErrorCode = "STORE_UNAVAILABLE"
	CodeUpstreamRateLimited    ErrorCode = "UPSTREAM_RATE_LIMITED"
	CodeInvalidIdempotencyKey  ErrorCode = "INVALID_IDEMPOTENCY_KEY"
	CodeIdempotencyInProgress  ErrorCode = "IDEMPOTENCY_IN_PROGRESS"
	CodeIdempotencyKeyReused   ErrorCode = "IDEMPOTENCY_KEY_REUSED"
	CodeSendOutcomeUnknown     ErrorCode = "SEND_OUTCOME_UNKNOWN"
	CodeDestinationNotAllowed  ErrorCode = policy.CodeDestinationNotAllowed
	CodeSendRateLimited        ErrorCode = policy.CodeSendRateLimited
	CodeDailySegmentCap        ErrorCode = policy.CodeDailySegmentCap
	CodeRecipientFlood         ErrorCode = policy.CodeRecipientFlood
	CodeBudgetExceeded         ErrorCode = policy.CodeBudgetExceeded
	CodeSenderNotAllowed       ErrorCode = policy.CodeSenderNotAllowed
	CodeLinkNotAllowed         ErrorCode = policy.CodeLinkNotAllowed
	CodeDestinationQuarantined ErrorCode = policy.CodeDestinationQuarantined
	CodePriceUnknown           ErrorCode = "PRICE_UNKNOWN"
	CodeLedgerUnavailable      ErrorCode = "LEDGER_UNAVAILABLE"
	// restlink's own codes, for sends restlink would refuse as malformed;
	// the sidecar answers them itself when a send policy applies.
	CodeInvalidBody       ErrorCode = policy.CodeInvalidBody
	CodeInvalidTo         ErrorCode = policy.CodeInvalidTo
	CodeTooManyRecipients ErrorCode = policy.CodeTooManyRecipients
	CodeInvalidMessage    ErrorCode = policy.CodeInvalidMessage
	CodeInvalidSender     ErrorCode = policy.CodeInvalidSender
)

// ErrorCodes lists every code the sidecar can answer with.
var ErrorCodes = [...]ErrorCode{
	CodeInvalidWorkspaceHeader, CodeCrossTenantWorkspace, CodeNoMainWorkspace,
	CodeTenantRequired, CodeUnknownTenant, CodeConflictingTenant, CodeInvalidPath,
	CodeRouteNotAllowed, CodeClientNotTrusted, CodeCallerNotAllowed, CodeBrowserRequestRejected,
	CodeMisdirectedHost, CodeBodyTooLarge, CodeCircuitOpen, CodeNoUsableKey,
	CodeUpstreamUnavailable, CodeUpstreamTimeout, CodeMethodNotAllowed,
	CodeRequestBodyTimeout, CodeRequestBodyIncomplete, CodeSidecarOverloaded,
	CodeReplayWindowFull, CodeStoreUnavailable, CodeUpstreamRateLimited, CodeInvalidIdempotencyKey,
	CodeIdempotencyInProgress, CodeIdempotencyKeyReused, CodeSendOutcomeUnknown,
	CodeDestinationNotAllowed, CodeSendRateLimited, CodeDailySegmentCap, CodeRecipientFlood,
	CodeBudgetExceeded, CodeSenderNotAllowed, CodeLinkNotAllowed, CodeDestinationQuarantined, CodePriceUnknown, CodeLedgerUnavailable, CodeInvalidBody, CodeInvalidTo, CodeTooManyRecipients, CodeInvalidMessage, CodeInvalidSender,
}

// Status is the HTTP status the sidecar answers with for the code.
func (c ErrorCode) Status() int {
	switch c {
	case CodeInvalidWorkspaceHeader, CodeTenantRequired, CodeConflictingTenant, CodeInvalidPath,
		CodeRequestBodyIncomplete, CodeInvalidIdempotencyKey, CodeInvalidBody, CodeInvalidTo,
		CodeTooManyRecipients, CodeInvalidMessage, CodeInvalidSender:
		return http.StatusBadRequest
	case CodeIdempotencyInProgress:
		return http.StatusConflict
	case CodeIdempotencyKeyReused:
		return http.StatusUnprocessableEntity
	case CodeSendOutcomeUnknown:
		return http.StatusBadGateway
	case CodeSendRateLimited, CodeDailySegmentCap, CodeRecipientFlood, CodeUpstreamRateLimited:
		return http.StatusTooManyRequests
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeRequestBodyTimeout:
		return http.StatusRequestTimeout
	case CodeCrossTenantWorkspace, CodeNoMainWorkspace, CodeUnknownTenant,
		CodeRouteNotAllowed, CodeClientNotTrusted, CodeCallerNotAllowed, CodeBrowserRequestRejected, CodeDestinationNotAllowed,
		CodeSenderNotAllowed, CodeLinkNotAllowed, CodeDestinationQuarantined:
		return http.StatusForbidden
	case CodeMisdirectedHost:
		return http.StatusMisdirectedRequest
	case CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeBudgetExceeded:
		return http.StatusPaymentRequired
	case CodeCircuitOpen, CodeNoUsableKey, CodeSidecarOverloaded, CodeStoreUnavailable, CodePriceUnknown, CodeLedgerUnavailable:
		return http.StatusServiceUnavailable
	case CodeReplayWindowFull:
		return http.StatusTooManyRequests
	case CodeUpstreamUnavailable:
		return http.StatusBadGateway
	case CodeUpstreamTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// ErrorHeader names the response header that marks a sidecar error.
const ErrorHeader = "X-Restlink-Sidecar-Error"

// rejection is a request the sidecar answers itself instead of forwarding.
// Its description is written for the app's developer; it never holds key
// material or file content, only names from the config and request facts.
type rejection struct {
	code        ErrorCode
	description string
	retryAfter  int            // seconds; 0: no Retry-After
	allow       string         // the Allow header of a 405
	budget      *budgetRefusal // the fields of a 402 BUDGET_EXCEEDED
}

func reject(code ErrorCode, description string) *rejection {
	return &rejection{code: code, description: description}
}

// errorBody is the JSON body of every sidecar error: restlink's own error
// shape, so that apps' error handling reads both alike.
type errorBody struct {
	Status      bool      `json:"status"` // always false
	ErrorCode   ErrorCode `json:"error_code"`
	Description string    `json:"description"`
	*budgetRefusal
}

// writeRejection is the one place that writes a sidecar error response.
func writeRejection(w http.ResponseWriter, rj *rejection) {
	body := appendErrorBody(make([]byte, 0, 64+len(rj.description)), rj)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set(ErrorHeader, string(rj.code))
	if rj.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(rj.retryAfter))
	}
	if rj.allow != "" {
		h.Set("Allow", rj.allow)
	}
	w.WriteHeader(rj.code.Status())
	_, _ = w.Write(body)
}

// appendErrorBody appends rj's errorBody as encoding/json writes it, and
// a newline. Every refusal writes one, so the three fields of most are
// appended by hand; a budget refusal's many are left to encoding/json.
func appendErrorBody(b []byte, rj *rejection) []byte {
	if rj.budget != nil {
		body, err := json.Marshal(errorBody{ErrorCode: rj.code, Description: rj.description, budgetRefusal: rj.budget})
		if err != nil { // cannot happen for strings and numbers; keep the answer well-formed anyway
			body = []byte(`{"status":false,"error_code":"` + string(rj.code) + `","description":""}`)
		}
		return append(append(b, body...), '\n')
	}
	b = append(b, `{"status":false,"error_code":`...)
	b = jsontext.AppendString(b, string(rj.code))
	b = append(b, `,"description":`...)
	b = jsontext.AppendString(b, rj.description)
	return append(b, "}\n"...)
}

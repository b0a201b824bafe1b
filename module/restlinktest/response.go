package restlinktest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ErrorBody is restlink's error body. Clients branch on ErrorCode; the
// Description is for people and may change.
type ErrorBody struct {
	Status      bool   `json:"status"`
	ErrorCode   string `json:"error_code"`
	Description string `json:"description"`
}

// InsufficientBalanceBody is the body of a 402 INSUFFICIENT_BALANCE
// answer: restlink's error body plus the cost breakdown of the refused
// send.
type InsufficientBalanceBody struct {
	ErrorBody
	// Balance and EstimatedCost are JSON numbers with the amounts' exact
	// decimal text.
	Balance            json.Number `json:"balance"`
	EstimatedCost      json.Number `json:"estimated_cost"`
	Currency           string      `json:"currency"`
	TotalRecipients    int         `json:"total_recipients"`
	BillableRecipients int         `json:"billable_recipients"`
	// Segments is the number of segments of the message, per recipient.
	Segments int `json:"segments"`
}

// response is an answer the fake has decided on but not yet written, so
// that the record of a request holds the answer before the client sees it.
type response struct {
	status int
	code   string      // error_code of an error answer
	body   any         // written as JSON
	raw    []byte      // written as is, when body is nil
	header http.Header // added to the answer's headers
}

// errorResponse is restlink's error answer.
func errorResponse(status int, code, description string) response {
	return response{status: status, code: code, body: ErrorBody{ErrorCode: code, Description: description}}
}

// okResponse is a 200 with a JSON body.
func okResponse(body any) response {
	return response{status: http.StatusOK, body: body}
}

// write sends the answer.
func (resp response) write(w http.ResponseWriter) {
	for name, values := range resp.header {
		w.Header()[name] = values
	}
	switch {
	case resp.body != nil:
		writeJSON(w, resp.status, resp.body)
	case resp.raw != nil:
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.raw)))
		w.WriteHeader(resp.status)
		_, _ = w.Write(resp.raw)
	default:
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(resp.status)
	}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the fake's own types are written; this cannot happen.
		panic("restlinktest: encoding an answer: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Error codes the fake answers with, as restlink names them.
const (
	codeUnauthorized        = "UNAUTHORIZED"
	codeInvalidToken        = "INVALID_TOKEN"
	codeInvalidAPIKey       = "INVALID_API_KEY"
	codeKeyInactive         = "API_KEY_INACTIVE"
	codeKeyExpired          = "API_KEY_EXPIRED"
	codeIPNotAllowed        = "IP_NOT_ALLOWED"
	codeSignatureRequired   = "SIGNATURE_REQUIRED"
	codeInvalidSignature    = "INVALID_SIGNATURE"
	codeForbidden           = "FORBIDDEN"
	codeNotFound            = "NOT_FOUND"
	codeInvalidBody         = "INVALID_BODY"
	codeInvalidParams       = "INVALID_PARAMS"
	codeInvalidTo           = "INVALID_TO"
	codeTooManyRecipients   = "TOO_MANY_RECIPIENTS"
	codeInvalidMessage      = "INVALID_MESSAGE"
	codeInvalidSender       = "INVALID_SENDER"
	codeInsufficientBalance = "INSUFFICIENT_BALANCE"
	codeRateLimited         = "RATE_LIMIT_EXCEEDED"
	codeDBError             = "DB_ERROR"
	codeInternalError       = "INTERNAL_ERROR"
	codeInvalidURL          = "INVALID_URL"
	codeInvalidSecret       = "INVALID_SECRET"
	codeInvalidFields       = "INVALID_FIELDS"
	codeInvalidToggle       = "INVALID_TOGGLE"
	codeConflictingFields   = "CONFLICTING_FIELDS"
)

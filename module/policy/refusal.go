package policy

import "time"

// Refusal is a send the policy does not let through: the caller answers it
// with restlink's error shape, {"status": false, "error_code": Code,
// "description": Description}, and status Status. Descriptions are written
// for the app's developer and never quote a phone number (a numeric
// sender_id included) or the message: a sender refusal names an
// alphanumeric sender_id, and a link refusal the domains of the links it
// refuses, nothing else of the text.
type Refusal struct {
	// Status is the HTTP status to answer with: 400, 402, 403 or 429.
	Status int
	// Code is the error_code. Malformed sends get restlink's own codes
	// (INVALID_BODY, INVALID_TO, …) so that apps' existing error handling
	// keeps working; policy refusals get the sidecar's codes.
	Code string
	// Description says what was refused and why.
	Description string
	// RetryAfter is set on 429 and quarantine refusals: when the request could pass,
	// rounded up to whole seconds, at least 1s. Zero otherwise.
	RetryAfter time.Duration
	// Rule is a short label of the rule that refused, safe to use as a
	// metric label: one of the Rule constants.
	Rule string
}

// Error codes of refused sends. The first five are restlink's own, for
// sends restlink would refuse too; the others are the sidecar's.
const (
	CodeInvalidBody            = "INVALID_BODY"
	CodeInvalidTo              = "INVALID_TO"
	CodeTooManyRecipients      = "TOO_MANY_RECIPIENTS"
	CodeInvalidMessage         = "INVALID_MESSAGE"
	CodeInvalidSender          = "INVALID_SENDER"
	CodeDestinationNotAllowed  = "DESTINATION_NOT_ALLOWED"
	CodeSendRateLimited        = "SEND_RATE_LIMITED"
	CodeDailySegmentCap        = "DAILY_SEGMENT_CAP"
	CodeRecipientFlood         = "RECIPIENT_FLOOD"
	CodeBudgetExceeded         = "BUDGET_EXCEEDED"
	CodeSenderNotAllowed       = "SENDER_NOT_ALLOWED"
	CodeLinkNotAllowed         = "LINK_NOT_ALLOWED"
	CodeDestinationQuarantined = "DESTINATION_QUARANTINED"
)

// Rule labels, as in Refusal.Rule. They name the config field that
// refused, except RuleBody: a send restlink itself would refuse.
const (
	RuleBody          = "body"
	RuleMaxRecipients = "max_recipients"
	RuleCountries     = "countries"
	RuleDenyPrefixes  = "deny_prefixes"
	RuleRate          = "rate"
	RuleDailySegments = "daily_segments"
	RulePerRecipient  = "per_recipient"
	RuleBudget        = "budget"
	RuleSenders       = "senders"
	RuleLinks         = "links"
	RuleQuarantine    = "quarantine"
)

// bodyRefusal is a 400 refusal of a malformed send.
func bodyRefusal(code, description string) *Refusal {
	return &Refusal{Status: 400, Code: code, Description: description, Rule: RuleBody}
}

// roundRetryAfter rounds d up to whole seconds, at least one: what a
// Retry-After header can say without promising too early a retry.
func roundRetryAfter(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	if s < 1 {
		s = 1
	}
	return s * time.Second
}

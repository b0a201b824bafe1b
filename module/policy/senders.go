package policy

import (
	"strconv"
	"strings"
)

// senderSet is a compiled senders list: the alphanumeric senders as
// written, the numeric ones in the numbering plan's E.164 form.
type senderSet map[string]struct{}

// allows reports whether a send may use sender, a sender_id that
// ParseSend accepted: an alphanumeric sender exactly as listed, a number
// if its E.164 form is listed.
func (set senderSet) allows(sender string) bool {
	if _, ok := set[sender]; ok {
		return true
	}
	if sender == "" || sender[0] != '+' {
		return false
	}
	// The same number spelled with its trunk 0 kept (+44 07…) is the
	// number the list holds; the plan is asked only when the send's
	// spelling is not listed as it is.
	_, ok := set[e164(sender)]
	return ok
}

// checkSender refuses a send whose sender_id the tenant may not use. The
// description names an alphanumeric sender, never a number.
func (r *Rules) checkSender(s *Send) *Refusal {
	if r.senders == nil || r.senders.allows(s.Sender) {
		return nil
	}
	var description string
	if strings.HasPrefix(s.Sender, "+") {
		description = "sender not allowed by this tenant's send policy: this numeric sender_id is not among the allowed senders (numbers are compared by their E.164 form)"
	} else {
		description = "sender not allowed by this tenant's send policy: the sender_id " + strconv.Quote(s.Sender) +
			" is not among the allowed senders (alphanumeric senders are compared exactly, letter case included)"
	}
	if len(r.senders) == 0 {
		description += "; the policy allows no sender at all"
	}
	return &Refusal{Status: 403, Code: CodeSenderNotAllowed, Rule: RuleSenders, Description: description}
}

// compileSenders compiles a senders list. Each entry must be a sender_id
// restlink accepts, or no send could ever match it. The values are never
// quoted in errors: a numeric sender is a phone number.
func compileSenders(list []string, field string, p *problems) senderSet {
	set := make(senderSet, len(list))
	for i, sender := range list {
		switch {
		case isE164(sender):
			set[e164(sender)] = struct{}{}
		case validSender(sender):
			set[sender] = struct{}{}
		case len(sender) >= 8 && len(sender) <= 15 && strings.Trim(sender, "0123456789") == "":
			p.add(field+"["+strconv.Itoa(i)+"]", "a number without its \"+\": write a numeric sender in E.164 (+447700900123)")
		default:
			p.add(field+"["+strconv.Itoa(i)+"]", "not a sender_id restlink accepts: 3 to 11 letters and digits, "+
				"not starting with a digit, or an E.164 number (\"+\" and 8 to 15 digits, the first not 0)")
		}
	}
	return set
}

package policy

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Check applies the static rules to a send, in this order:
//
//   - more recipients than max_recipients: 400 TOO_MANY_RECIPIENTS;
//   - a recipient outside countries, or under a denied prefix: 403
//     DESTINATION_NOT_ALLOWED. The description names the countries and
//     prefixes concerned (a recipient in no country as "no country"),
//     never the numbers. Rule is countries if any recipient is outside
//     them, else deny_prefixes;
//   - a sender_id not in senders: 403 SENDER_NOT_ALLOWED, naming an
//     alphanumeric sender, never a number;
//   - a link in the message to a domain outside links.allow, to an IP
//     address, or to no domain: 403 LINK_NOT_ALLOWED, naming the domains
//     and nothing else of the text.
//
// A send is atomic: one recipient or link refused refuses the whole send,
// as restlink's own batches are all or nothing. It returns nil if the
// send passes. Without a links policy, a send that passes costs no
// allocation.
func (r *Rules) Check(s *Send) *Refusal {
	if n := len(s.Recipients); n > r.maxRecipients {
		return &Refusal{
			Status: 400, Code: CodeTooManyRecipients, Rule: RuleMaxRecipients,
			Description: "to has " + strconv.Itoa(n) + " numbers; this tenant's send policy allows at most " +
				strconv.Itoa(r.maxRecipients) + " per send",
		}
	}
	if refusal := r.checkDestinations(s); refusal != nil {
		return refusal
	}
	if refusal := r.checkSender(s); refusal != nil {
		return refusal
	}
	return r.checkLinks(s)
}

// checkDestinations refuses a send with a recipient outside countries or
// under a denied prefix.
func (r *Rules) checkDestinations(s *Send) *Refusal {
	if r.countries == nil && len(r.denyPrefixes) == 0 {
		return nil
	}
	var regions, prefixes []string // refused; allocated only on a refusal
	for _, rc := range s.Recipients {
		if r.countries != nil && !r.countries.has(rc.Region) {
			regions = appendNew(regions, rc.Region)
		}
		if prefix := r.deniedPrefix(rc.Number); prefix != "" {
			prefixes = appendNew(prefixes, displayPrefix(prefix))
		} else if len(r.denyPrefixes) > 0 {
			// The same number with its trunk 0 kept (+44 07…) is denied
			// as the plan's E.164 form is.
			if prefix := r.deniedPrefix(e164(rc.Number)); prefix != "" {
				prefixes = appendNew(prefixes, displayPrefix(prefix))
			}
		}
	}
	if regions == nil && prefixes == nil {
		return nil
	}
	rule := RuleCountries
	if regions == nil {
		rule = RuleDenyPrefixes
	}
	return &Refusal{
		Status: 403, Code: CodeDestinationNotAllowed, Rule: rule,
		Description: destinationDescription(regions, prefixes),
	}
}

// deniedPrefix returns the deny prefix number starts with, or "".
func (r *Rules) deniedPrefix(number string) string {
	if len(r.denyPrefixes) == 0 {
		return ""
	}
	// The prefixes are sorted and none starts with another, so the only
	// one number can start with is the last one not after it.
	i := sort.SearchStrings(r.denyPrefixes, number)
	if i < len(r.denyPrefixes) && r.denyPrefixes[i] == number {
		return number
	}
	if i > 0 && strings.HasPrefix(number, r.denyPrefixes[i-1]) {
		return r.denyPrefixes[i-1]
	}
	return ""
}

// displayPrefix shows a deny prefix in a description. A prefix of 8
// digits or more could be a whole number: it is cut to its first 6 digits.
func displayPrefix(prefix string) string {
	if len(prefix) > 8 {
		return prefix[:7] + "…"
	}
	return prefix
}

// appendNew appends s to list unless it is there already.
func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// destinationDescription says which countries and prefixes refused a
// send, each list sorted.
func destinationDescription(regions, prefixes []string) string {
	var b strings.Builder
	b.WriteString("destination not allowed by this tenant's send policy: ")
	if regions != nil {
		// "" is a number in no country: an international network or a
		// number the numbering plan cannot place.
		noCountry := slices.Contains(regions, "")
		regions = slices.DeleteFunc(regions, func(s string) bool { return s == "" })
		slices.Sort(regions)
		switch len(regions) {
		case 0:
		case 1:
			b.WriteString("the destination country " + regions[0] + " is not among the allowed countries")
		default:
			b.WriteString("the destination countries " + strings.Join(regions, ", ") + " are not among the allowed countries")
		}
		switch {
		case noCountry && len(regions) > 0:
			b.WriteString(", nor is a destination in no country")
		case noCountry:
			b.WriteString("a destination in no country is not allowed")
		}
	}
	if prefixes != nil {
		if regions != nil {
			b.WriteString("; ")
		}
		slices.Sort(prefixes)
		if len(prefixes) == 1 {
			b.WriteString("the prefix ")
		} else {
			b.WriteString("the prefixes ")
		}
		b.WriteString(strings.Join(prefixes, ", "))
		if len(prefixes) == 1 {
			b.WriteString(" is denied")
		} else {
			b.WriteString(" are denied")
		}
	}
	b.WriteString(" (a send is refused whole if any recipient is)")
	return b.String()
}

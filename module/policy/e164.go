package policy

import (
	"fmt"
	"regexp"

	"github.com/nyaruka/phonenumbers"
)

// trunkPrefixes maps every country calling code (1 to 999) to its
// national (trunk) prefix as the numbering plan parses it: the pattern of
// the code's main region, anchored at the start of the national number,
// as the library applies it; nil when the code has none. An app may keep
// that prefix after the calling code (+44 07400 123456 for
// +44 7400 123456): the plan drops or transforms it. Built once from the
// library's metadata and never changed.
var trunkPrefixes = buildTrunkPrefixes()

func buildTrunkPrefixes() *[1000]*regexp.Regexp {
	var t [1000]*regexp.Regexp
	plan, err := phonenumbers.MetadataCollection()
	if err != nil {
		// The library loaded this metadata when it started, or panicked.
		panic(fmt.Sprintf("policy: reading the numbering plan's metadata: %v", err))
	}
	for _, md := range plan.GetMetadata() {
		cc := int(md.GetCountryCode())
		if cc < 1 || cc >= len(t) || md.GetNationalPrefixForParsing() == "" ||
			md.GetId() != phonenumbers.GetRegionCodeForCountryCode(cc) {
			continue
		}
		t[cc] = regexp.MustCompile("^(?:" + md.GetNationalPrefixForParsing() + ")")
	}
	return &t
}

// e164 returns the numbering plan's E.164 form of an E.164 number (as
// checked by isE164): what per_recipient counts on, so that one phone
// spelled two ways is one recipient. It is the number itself unless the
// digits after its calling code begin with the code's trunk prefix; then
// the plan decides, at the cost of its regular expressions, whether to
// drop it (+4407400123456 is +447400123456). A number the plan cannot
// parse, or whose form would not be E.164, is kept as sent.
func e164(number string) string {
	cc, digits := callingCodeOf(number)
	trunk := trunkPrefixes[cc]
	if trunk == nil {
		return number
	}
	// The library changes nothing on an empty match: only a prefix it
	// can strip matters (Argentina's pattern matches the empty string).
	if m := trunk.FindStringIndex(number[1+digits:]); m == nil || m[1] == 0 {
		return number
	}
	n, err := phonenumbers.Parse(number, "")
	if err != nil {
		return number
	}
	if form := phonenumbers.Format(n, phonenumbers.E164); isE164(form) {
		return form
	}
	return number
}

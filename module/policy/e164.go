package policy

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// trunkPrefixes maps every country calling code (1 to 999) to its
// national (trunk) prefix as the numbering plan parses it: the pattern of
// the code's main region, anchored at the start of the national number,
// as the library applies it; nil when the code has none. An app may keep
// that prefix after the calling code (+44 07400 123456 for
// +44 7400 123456): the plan drops or transforms it. Built from the
// library's metadata on first use (a sidecar without a send policy never
// builds it) and never changed.
var trunkPrefixes = sync.OnceValue(buildTrunkPrefixes)

// trunkPrefix is a calling code's trunk prefix pattern.
type trunkPrefix struct {
	re *regexp.Regexp
	// first holds the bytes a non-empty match of re can begin with ('0'
	// for most codes): a number whose national part begins otherwise is
	// passed over without running re, which costs nothing.
	first [256]bool
	// matchesEmpty: the pattern can match nothing at all (Argentina's), so
	// a match says nothing until its length is known, which costs an
	// allocation; other patterns are tested with MatchString, which does
	// not allocate.
	matchesEmpty bool
}

func buildTrunkPrefixes() *[1000]*trunkPrefix {
	var t [1000]*trunkPrefix
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
		re := regexp.MustCompile("^(?:" + md.GetNationalPrefixForParsing() + ")")
		t[cc] = &trunkPrefix{re: re, first: firstBytes(re.String()), matchesEmpty: re.MatchString("")}
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
	trunk := trunkPrefixes()[cc]
	if trunk == nil {
		return number
	}
	// The library changes nothing on an empty match: only a prefix it
	// can strip matters (Argentina's pattern matches the empty string).
	national := number[1+digits:]
	if national == "" || !trunk.first[national[0]] && !trunk.matchesEmpty || !trunk.re.MatchString(national) {
		return number
	}
	if trunk.matchesEmpty {
		if m := trunk.re.FindStringIndex(national); m[1] == 0 {
			return number
		}
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

// firstBytes returns the bytes a match of pattern can begin with (every
// byte, if the pattern cannot be read). Only what a byte-wise test needs
// is exact: a character class or a rune past ASCII counts every byte.
func firstBytes(pattern string) [256]bool {
	var set [256]bool
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		for i := range set {
			set[i] = true
		}
		return set
	}
	addFirst(re.Simplify(), &set)
	return set
}

// addFirst adds to set the bytes a match of re can begin with, and
// reports whether re can match the empty string (then what follows it can
// begin a match too).
func addFirst(re *syntax.Regexp, set *[256]bool) (nullable bool) {
	all := func() bool {
		for i := range set {
			set[i] = true
		}
		return false
	}
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return true
		}
		if r := re.Rune[0]; r < 0x80 && re.Flags&syntax.FoldCase == 0 {
			set[r] = true
			return false
		}
		return all()
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1] && r < 0x80; r++ {
				set[r] = true
			}
			if re.Rune[i+1] >= 0x80 {
				return all()
			}
		}
		return false
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return all()
	case syntax.OpCapture, syntax.OpPlus:
		return addFirst(re.Sub[0], set)
	case syntax.OpStar, syntax.OpQuest:
		addFirst(re.Sub[0], set)
		return true
	case syntax.OpRepeat:
		return addFirst(re.Sub[0], set) || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !addFirst(sub, set) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if addFirst(sub, set) {
				nullable = true
			}
		}
		return nullable
	case syntax.OpNoMatch:
		return false
	}
	return true // empty matches and assertions (^, $, \b) consume nothing
}

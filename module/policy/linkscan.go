package policy

import (
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	"mvdan.cc/xurls/v2"
)

// Finding the links of a message, and the host each one leads to.
//
// restlink shortens and tracks the links of API sends, and a phone renders
// links with or without a scheme, so anything that reads as a link
// counts. The finder is xurls' relaxed one (schemes, emails, IP
// addresses, and host names ending in a top-level domain of IANA's list
// or a pseudo-domain such as .example or .local), completed by the rules
// it does not cover: a word that starts with www., has the form user@host,
// or follows a scheme it does not know, and a host name ending in an ICANN
// public suffix it does not know yet. A host is then read as the URL
// Standard reads it (the last @ of the authority, a backslash ending it,
// percent-decoding, UTS #46 mapping), so that the host checked is the one
// a browser would visit:
//
//	https://example.com@evil.com/   evil.com
//	https://evil.com\@example.com   evil.com (and example.com)
//	EXÄMPLE.com. ｅｘａｍｐｌｅ。com  xn--exmple-cua.com, example.com
//	http://0x7f.1/ [::1] 1.2.3.4    IP addresses
//	tel:+447700900123               a link without a host
//
// Links never span white space, so the finder reads only the words that
// could hold one: most messages cost it a byte scan and no allocation.

// maxLinkScan bounds the bytes of words that could hold links that the
// finder reads in one message: its regular expression costs about 3 µs a
// byte, so a message of links costs at most about 12 ms. A message with
// more is refused as not checked. It is far above any SMS: ten segments
// are 1,530 characters, and a link-bearing word is rarely 100 bytes.
const maxLinkScan = 4 << 10

// linkKind is what a link leads to.
type linkKind uint8

const (
	linkDomain  linkKind = iota // a domain name: host in lower-case punycode
	linkIP                      // an IP address, or a host the URL Standard reads as one; host is ""
	linkNoHost                  // a scheme without a host (tel:, sms:); host is the scheme and ":"
	linkInvalid                 // host, as written, is not a valid domain name
)

// link is a link of a message.
type link struct {
	host string
	kind linkKind
}

// hostProfile maps a host to lower-case punycode as browsers do: the URL
// Standard's "domain to ASCII" (UTS #46, nontransitional, without the
// STD3 rules, so that an underscore is valid; with the bidi and joiner
// checks). Full-width letters, upper case and the ideographic full stop
// map to ASCII; a label in punycode is decoded and encoded again, so that
// both spellings of a name compare equal.
var hostProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.StrictDomainName(false), idna.CheckHyphens(false))

// linkFinder is xurls' relaxed regular expression and the index of its
// email group. Compiling it takes some 50 ms and 2 MiB, so it is done
// once, when a links policy is first compiled.
var linkFinder = sync.OnceValues(func() (*regexp.Regexp, int) {
	re := xurls.Relaxed()
	return re, re.SubexpIndex("relaxedEmail")
})

// warmLinkFinder compiles the finder, so that no send waits for it.
func warmLinkFinder() { linkFinder() }

// altDots are the characters UTS #46 maps to a full stop, which a browser
// reads as one in a host: the ideographic, full-width and half-width full
// stops, the one dot leader and the small full stop.
var altDots = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".", "\u2024", ".", "\ufe52", ".")

// findLinks returns the links of text. complete is false when text has
// more than maxLinkScan bytes of words that could hold links: the links
// of the rest are not known.
func findLinks(text string) (links []link, complete bool) {
	budget := maxLinkScan
	for i := 0; i < len(text); {
		if size := spaceAt(text, i); size > 0 {
			i += size
			continue
		}
		start := i
		for i < len(text) && spaceAt(text, i) == 0 {
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
		}
		word := text[start:i]
		if !mayHoldLink(word) {
			continue
		}
		if budget -= len(word); budget < 0 {
			return links, false
		}
		links = scanWord(word, links)
	}
	return links, true
}

// spaceAt returns the length of the white space character at text[i],
// or 0 if there is none. xurls never matches across one.
func spaceAt(text string, i int) int {
	if c := text[i]; c < utf8.RuneSelf {
		if c == ' ' || c >= '\t' && c <= '\r' {
			return 1
		}
		return 0
	}
	r, size := utf8.DecodeRuneInString(text[i:])
	if unicode.IsSpace(r) {
		return size
	}
	return 0
}

// mayHoldLink reports whether a word could hold a link: a dot before a
// letter (a host name) or after www, an @ before something (user@host),
// :/ or :\ (a scheme), a scheme without authority (tel:, mailto:), three
// dots (an IP address) or two colons (an IPv6 address), or a full stop
// other than ".". Other words ("shipped.", "£12.50", "10:30") are not read
// further.
func mayHoldLink(w string) bool {
	dots, colons := 0, 0
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case '.':
			dots++
			if i+1 < len(w) && (isASCIILetter(w[i+1]) || w[i+1] >= utf8.RuneSelf || i >= 3 && strings.EqualFold(w[i-3:i], "www")) {
				return true
			}
		case '@':
			if i+1 < len(w) {
				return true
			}
		case ':':
			colons++
			if i+1 < len(w) && (w[i+1] == '/' || w[i+1] == '\\' || schemeWithoutAuthorityBefore(w[:i])) {
				return true
			}
		case 0xE2, 0xE3, 0xEF: // the lead bytes of altDots
			if isAltDot(w[i:min(i+3, len(w))]) {
				return true
			}
		}
	}
	return dots >= 3 || colons >= 2
}

// isAltDot reports whether s is one of altDots.
func isAltDot(s string) bool {
	switch s {
	case "\u3002", "\uff0e", "\uff61", "\u2024", "\ufe52":
		return true
	}
	return false
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// schemeWithoutAuthorityBefore reports whether s ends in a scheme that
// xurls knows without "//" (mailto, tel, sms, geo, …).
func schemeWithoutAuthorityBefore(s string) bool {
	j := len(s)
	for j > 0 && isASCIILetter(s[j-1]) {
		j--
	}
	return isSchemeWithoutAuthority(s[j:])
}

func isSchemeWithoutAuthority(scheme string) bool {
	for _, known := range xurls.SchemesNoAuthority {
		if strings.EqualFold(scheme, known) {
			return true
		}
	}
	return false
}

// scanWord appends the links of a word, a run of text without white
// space, to links.
func scanWord(word string, links []link) []link {
	if strings.ContainsAny(word, "\u3002\uff0e\uff61\u2024\ufe52") {
		word = altDots.Replace(word)
	}
	re, emailGroup := linkFinder()
	prev := 0 // the end of the previous match
	for _, m := range re.FindAllStringSubmatchIndex(word, -1) {
		start, end := m[0], m[1]
		match := word[start:end]
		email := m[2*emailGroup] >= 0
		scheme, rest, hasScheme := cutScheme(match)
		hostFirst := !email && !hasScheme && match[0] != '[' // a host name or an IPv4 address
		if hostFirst {
			start = extendHost(word, prev, start)
		}
		links = scanGap(word, prev, start, links)
		switch {
		case email: // user@host
			links = append(links, hostLink(match[strings.LastIndexByte(match, '@')+1:]))
		case hasScheme:
			links = appendSchemeLinks(links, scheme, rest)
		case hostFirst:
			links = append(links, webLink(word[start:end]))
		default: // [IPv6]
			links = append(links, link{kind: linkIP})
		}
		prev = end
	}
	return scanGap(word, prev, len(word), links)
}

// cutScheme splits a match with a scheme into the scheme and the rest
// after its colon: a scheme followed by "//", or one xurls knows without
// it (mailto:). example.com:8080 has none.
func cutScheme(match string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(match, ':')
	if i <= 0 || !isASCIILetter(match[0]) {
		return "", "", false
	}
	scheme, rest = match[:i], match[i+1:]
	for j := 1; j < len(scheme); j++ {
		if c := scheme[j]; !isASCIILetter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
			return "", "", false
		}
	}
	if !strings.HasPrefix(rest, "//") && !isSchemeWithoutAuthority(scheme) {
		return "", "", false
	}
	return scheme, rest, true
}

// appendSchemeLinks appends the links of a match with a scheme.
func appendSchemeLinks(links []link, scheme, rest string) []link {
	noHost := link{host: strings.ToLower(scheme) + ":", kind: linkNoHost}
	if strings.HasPrefix(rest, "//") {
		// As the URL Standard reads http and https: any slashes and
		// backslashes, then the authority up to /, \, ? or #; the host
		// follows its last @. Other schemes do not end it at a backslash:
		// when the two readings differ, both hosts are checked.
		authority := strings.TrimLeft(rest, `/\`)
		if i := strings.IndexAny(authority, "/?#"); i >= 0 {
			authority = authority[:i]
		}
		hostOf := func(authority string) link {
			if host := authorityHost(authority); host != "" {
				return hostLink(host)
			}
			return noHost
		}
		if i := strings.IndexByte(authority, '\\'); i >= 0 {
			links = append(links, hostOf(authority[:i]))
		}
		return append(links, hostOf(authority))
	}
	// mailto:a@example.com,b@example.org?subject=…, xmpp:user@host: the
	// host of each address; tel:, sms:, geo: and the like have none.
	addresses := rest
	if i := strings.IndexAny(addresses, "?#"); i >= 0 {
		addresses = addresses[:i]
	}
	if decoded, err := url.PathUnescape(addresses); err == nil {
		addresses = decoded
	}
	found := false
	for address := range strings.SplitSeq(addresses, ",") {
		if at := strings.LastIndexByte(address, '@'); at >= 0 {
			links = append(links, hostLink(address[at+1:]))
			found = true
		}
	}
	if !found {
		links = append(links, noHost)
	}
	return links
}

// authorityHost returns the host of an authority: after its last @,
// without a port. An IPv6 address keeps its brackets.
func authorityHost(authority string) string {
	host := authority[strings.LastIndexByte(authority, '@')+1:]
	if strings.HasPrefix(host, "[") {
		return host
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return host
}

// webLink is the link of a match without a scheme: a host name or an IP
// address, maybe with a port and a path.
func webLink(match string) link {
	if _, err := netip.ParseAddr(match); err == nil {
		return link{kind: linkIP}
	}
	host := match
	if i := strings.IndexAny(host, ":/"); i >= 0 {
		host = host[:i]
	}
	return hostLink(host)
}

// extendHost moves the start of a host name that xurls matched back over
// the characters it leaves out but a host may hold: ev_il.com is one
// host, not il.com. It stops at prev, the end of the previous match.
func extendHost(word string, prev, start int) int {
	for start > prev {
		r, size := utf8.DecodeLastRuneInString(word[prev:start])
		if !isHostRune(r) {
			break
		}
		start -= size
	}
	for word[start] == '.' || word[start] == '-' {
		start++
	}
	return start
}

// isHostRune reports whether a host name, as a phone or browser reads it,
// may hold r: letters, marks, digits, - _ ., and the format characters
// (soft hyphen, joiners) that UTS #46 drops, keeps or refuses.
func isHostRune(r rune) bool {
	if r < utf8.RuneSelf {
		c := byte(r)
		return isASCIILetter(c) || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || unicode.Is(unicode.Cf, r)
}

// scanGap appends the links in word[from:to], text xurls did not match:
// runs of host characters that start with www., follow user@ or a
// scheme's "://", or end in an ICANN public suffix.
func scanGap(word string, from, to int, links []link) []link {
	for i := from; i < to; {
		r, size := utf8.DecodeRuneInString(word[i:to])
		if !isHostRune(r) {
			i += size
			continue
		}
		start := i
		for i < to {
			r, size := utf8.DecodeRuneInString(word[i:to])
			if !isHostRune(r) {
				break
			}
			i += size
		}
		run := strings.TrimLeft(word[start:i], ".-")
		at := i - len(run)
		run = strings.TrimRight(run, ".-")
		if run != "" && isGapLink(word, at, run) {
			links = append(links, hostLink(run))
		}
	}
	return links
}

// isGapLink reports whether run, a run of host characters at word[at:]
// that xurls did not match, is a link.
func isGapLink(word string, at int, run string) bool {
	switch {
	case at >= 3 && word[at-3:at] == "://":
		return true
	case len(run) > 4 && strings.EqualFold(run[:4], "www."):
		return true
	case !strings.Contains(run, "."):
		return false
	case at >= 2 && word[at-1] == '@':
		return true
	}
	ascii, err := hostProfile.ToASCII(run)
	if err != nil {
		// Not a valid host name: a link all the same if it ends in an
		// ICANN suffix (evil\u202e.com), refused as invalid.
		ascii, err = hostProfile.ToASCII(run[strings.LastIndexByte(run, '.')+1:])
		if err != nil {
			return false
		}
		_, icann := publicsuffix.PublicSuffix(ascii)
		return icann
	}
	suffix, icann := publicsuffix.PublicSuffix(ascii)
	return icann && len(suffix) < len(ascii)
}

// hostLink is the link to a host as written in the message.
func hostLink(raw string) link {
	host, kind := normalizeHost(raw)
	return link{host: host, kind: kind}
}

// forbiddenInDomain reports whether s holds a character the URL Standard
// forbids in a domain, after percent-decoding: a control character, a
// space, or one of # % / : < > ? @ [ \ ] ^ |.
func forbiddenInDomain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || strings.IndexByte("#%/:<>?@[\\]^|", c) >= 0 {
			return true
		}
	}
	return false
}

// normalizeHost reads a host as a browser would: percent-decoded, mapped
// to lower-case punycode, without the root's trailing dot. An IP address,
// or a name ending in a number (which the URL Standard reads as an IPv4
// address: 0x7f.1, 2130706433), is linkIP; a host that is not a valid
// domain name is linkInvalid, with host as written but in lower case.
func normalizeHost(raw string) (string, linkKind) {
	if strings.HasPrefix(raw, "[") {
		return "", linkIP
	}
	invalid := func() (string, linkKind) { return strings.ToLower(raw), linkInvalid }
	h := raw
	if strings.IndexByte(h, '%') >= 0 {
		decoded, err := url.PathUnescape(h)
		if err != nil {
			return invalid()
		}
		h = decoded
	}
	if h == "" || !utf8.ValidString(h) || forbiddenInDomain(h) { // a mailto: address comes percent-decoded
		return invalid()
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return "", linkIP
	}
	ascii, err := hostProfile.ToASCII(h)
	if err != nil {
		return invalid()
	}
	ascii = strings.TrimSuffix(ascii, ".")
	if ascii == "" || ascii[0] == '.' || strings.HasSuffix(ascii, ".") || strings.Contains(ascii, "..") || !hostnameChars(ascii) {
		return invalid()
	}
	if endsInNumber(ascii) {
		return "", linkIP
	}
	return ascii, linkDomain
}

// hostnameChars reports whether s holds only what a host name the DNS
// resolves is written with: a-z, 0-9, "-", "_" and ".". The URL Standard
// lets a host hold more (http://%60/ is the host "`"), which no registrar
// sells; such a host is invalid, never a domain to allow.
func hostnameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// endsInNumber reports whether the URL Standard reads host as an IPv4
// address: its last label is decimal digits, or 0x and hex digits.
func endsInNumber(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if rest, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

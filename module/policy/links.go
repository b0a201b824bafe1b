package policy

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// linkPolicy is a compiled links section: the hosts links may lead to.
type linkPolicy struct {
	// hosts are the domains allowed as they are, in lower-case punycode.
	hosts map[string]struct{}
	// parents are the wildcard entries' domains with a dot before them
	// (".example.org" for "*.example.org"): a host that ends in one, with
	// at least one label before it, is allowed.
	parents []string
}

// allows reports whether a link may lead to host, a domain in lower-case
// punycode.
func (lp *linkPolicy) allows(host string) bool {
	if _, ok := lp.hosts[host]; ok {
		return true
	}
	for _, parent := range lp.parents {
		if len(host) > len(parent) && strings.HasSuffix(host, parent) {
			return true
		}
	}
	return false
}

// maxNamedDomains is how many refused domains a description names; it
// counts the rest.
const maxNamedDomains = 5

// checkLinks refuses a send whose message links to a domain outside the
// allow list, to an IP address, or to no domain at all (tel:). The
// description names the domains refused, and nothing else of the text.
func (r *Rules) checkLinks(s *Send) *Refusal {
	if r.links == nil {
		return nil
	}
	links, complete := findLinks(s.Message)
	var domains, schemes []string
	ip := false
	for _, l := range links {
		switch l.kind {
		case linkIP:
			ip = true
		case linkNoHost:
			schemes = appendNew(schemes, l.host)
		case linkInvalid:
			domains = appendNew(domains, displayHost(l.host, true))
		default:
			if !r.links.allows(l.host) {
				domains = appendNew(domains, displayHost(l.host, false))
			}
		}
	}
	if domains == nil && schemes == nil && !ip && complete {
		return nil
	}
	return &Refusal{Status: 403, Code: CodeLinkNotAllowed, Rule: RuleLinks,
		Description: linkDescription(domains, schemes, ip, complete)}
}

// linkDescription says which links refused a send.
func linkDescription(domains, schemes []string, ip, complete bool) string {
	var parts []string
	if domains != nil {
		slices.Sort(domains)
		named := domains
		if len(named) > maxNamedDomains {
			named = named[:maxNamedDomains]
		}
		part := "the domain " + named[0] + " is"
		if len(domains) > 1 {
			part = "the domains " + strings.Join(named, ", ")
			if len(domains) > len(named) {
				part += " and " + strconv.Itoa(len(domains)-len(named)) + " more"
			}
			part += " are"
		}
		parts = append(parts, part+" not among the allowed domains")
	}
	if ip {
		parts = append(parts, "a link to an IP address is never allowed")
	}
	if schemes != nil {
		slices.Sort(schemes)
		parts = append(parts, "a link without a domain ("+strings.Join(schemes, ", ")+") is not allowed")
	}
	if !complete {
		parts = append(parts, "the message holds more than "+strconv.Itoa(maxLinkScan)+
			" bytes of words that could be links, more than the policy reads")
	}
	return "link not allowed by this tenant's send policy: " + strings.Join(parts, "; ") +
		" (a send is refused whole if any link is)"
}

// displayHost shows a refused host in a description: quoted if it is not
// a valid domain name, cut short if long, and with any run of 7 digits or
// more cut to its first 3, as a host can hold a phone number. An invalid
// host's other characters are written \u{hex}: its braces keep an escape's
// digits from joining the digits around it into a number ("\u{2186}0000",
// not "\u21860000").
func displayHost(host string, invalid bool) string {
	const maxLen = 80
	var b strings.Builder
	for i := 0; i < len(host); {
		switch n := runOfDigits(host[i:]); {
		case n >= 7:
			b.WriteString(host[i:i+3] + "…")
			i += n
		case n > 0:
			b.WriteString(host[i : i+n])
			i += n
		default:
			b.WriteByte(host[i])
			i++
		}
	}
	shown := b.String()
	if len(shown) > maxLen {
		shown = strings.ToValidUTF8(shown[:maxLen], "") + "…"
	}
	if invalid {
		return quoteHost(shown)
	}
	return shown
}

// quoteHost quotes s in printable ASCII: '"' and '\\' escaped with a
// backslash, any other character outside printable ASCII as \u{hex}.
func quoteHost(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= ' ' && r <= '~':
			b.WriteRune(r)
		default:
			b.WriteString(`\u{` + strconv.FormatInt(int64(r), 16) + "}")
		}
	}
	b.WriteByte('"')
	return b.String()
}

// runOfDigits returns how many ASCII digits s begins with.
func runOfDigits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// compileLinks checks and compiles a links section. Each entry is a
// domain, or "*." and a domain; neither may be an IP address or a public
// suffix (com, co.uk, github.io), under which anyone may register a name.
func compileLinks(c LinksConfig, field string, p *problems) *linkPolicy {
	if c.Allow == nil {
		p.add(field+".allow", "is required: the domains links may lead to (an empty list allows no links; remove links to allow any)")
		return nil
	}
	lp := &linkPolicy{hosts: make(map[string]struct{}, len(c.Allow))}
	for i, entry := range c.Allow {
		f := field + ".allow[" + strconv.Itoa(i) + "]"
		domain, wildcard := strings.CutPrefix(entry, "*.")
		host, reason := allowedDomain(domain)
		if reason != "" {
			p.add(f, "%q %s", entry, reason)
			continue
		}
		if wildcard {
			lp.parents = appendNew(lp.parents, "."+host)
		} else {
			lp.hosts[host] = struct{}{}
		}
	}
	slices.Sort(lp.parents)
	warmLinkFinder()
	return lp
}

// allowedDomain checks a domain of the allow list and returns it in
// lower-case punycode, or why it cannot be listed.
func allowedDomain(domain string) (string, string) {
	if domain == "" {
		return "", "is not a domain"
	}
	if strings.ContainsAny(domain, "*") {
		return "", `is not a domain: a wildcard is "*." and a domain, and allows every subdomain of that domain`
	}
	if i := strings.IndexAny(domain, "/:@?# "); i >= 0 {
		if _, err := netip.ParseAddr(strings.Trim(domain, "[]")); err == nil {
			return "", "is an IP address: links to IP addresses are never allowed"
		}
		return "", "is not a domain: write the host alone, without a scheme, port or path (example.com)"
	}
	host, kind := normalizeHost(strings.TrimSuffix(domain, "."))
	switch {
	case kind == linkIP:
		return "", "is an IP address: links to IP addresses are never allowed"
	case kind == linkInvalid || strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != "" || len(host) > 253:
		return "", "is not a valid domain name"
	}
	if suffix, _ := publicsuffix.PublicSuffix(host); suffix == host {
		return "", "is a public suffix, under which anyone may register a domain: list your own domains"
	}
	return host, ""
}

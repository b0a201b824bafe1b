package policy

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// linkStrings shows links as tests write them: a domain as itself, "IP",
// a link without a host as its scheme ("tel:"), an invalid host quoted
// after "invalid ".
func linkStrings(links []link) []string {
	out := []string{}
	for _, l := range links {
		switch l.kind {
		case linkIP:
			out = append(out, "IP")
		case linkInvalid:
			out = append(out, "invalid "+strconv.QuoteToASCII(l.host))
		default:
			out = append(out, l.host)
		}
	}
	return out
}

func TestFindLinks(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		// No links: words that only look a little like them.
		{"plain text", "Your code is 123456. It expires in 10 minutes.", nil},
		{"prices, times, abbreviations", "£12.50 at 10:30, e.g. Mr.Smith v1.2.3 or 1.5kg", nil},
		{"a handle and a word with @ but no host", "@acme: meet me@home", nil},
		{"a dot before a space", "shipped. Thanks.", nil},

		// With a scheme.
		{"https", "Track it at https://example.com/t/AbC123 today", []string{"example.com"}},
		{"upper-case scheme and host", "HTTPS://EXAMPLE.COM/A", []string{"example.com"}},
		{"port, path, query and fragment", "https://shop.example.org:8443/a/b?c=d&e=evil.com#f", []string{"shop.example.org"}},
		{"a domain in the query is not the host", "https://example.com/r?next=https://evil.com", []string{"example.com"}},
		{"user info before the host", "https://example.com@evil.com/", []string{"evil.com"}},
		{"user and password before the host", "https://example.com:443@evil.com/x", []string{"evil.com"}},
		{"the last @ of the authority", "https://a@example.com@evil.com", []string{"evil.com"}},
		{"a backslash ends the authority", `https://evil.com\@example.com`, []string{"evil.com", "example.com"}},
		{"extra slashes", "https:///evil.com/x", []string{"evil.com"}},
		{"percent-encoded host", "https://%65vil.com/", []string{"evil.com"}},
		{"a scheme xurls does not know", "hxxp://evil.com/x foo://evil.zzz", []string{"evil.com", "evil.zzz"}},
		{"mailto, every address", "mailto:info@example.com,x@evil.com?subject=hi", []string{"example.com", "evil.com"}},
		{"tel has no host", "Call tel:+447700900123", []string{"tel:"}},
		{"sms has no host", "sms:+447700900123?body=STOP", []string{"sms:"}},

		// Without a scheme.
		{"a host alone", "Visit example.com now", []string{"example.com"}},
		{"a host and a path", "Visit evil.example/x now", []string{"evil.example"}},
		{"a host, a port and a path", "evil.com:8080/x?y=1#z", []string{"evil.com"}},
		{"www. with any ending", "www.evil.zzz www.Evil", []string{"www.evil.zzz", "www.evil"}},
		{"www. before a digit", "www.0evil.zzz WWW.1A.2", []string{"www.0evil.zzz", "IP"}},
		{"user@host", "write to a.b@evil.com", []string{"evil.com"}},
		{"user@host with a domain xurls does not know", "user@evil.zzz", []string{"evil.zzz"}},
		{"upper case", "EVIL.COM Evil.Co.Uk", []string{"evil.com", "evil.co.uk"}},
		{"trailing full stop", "see evil.com.", []string{"evil.com"}},
		{"in parentheses", "(evil.com)", []string{"evil.com"}},
		{"trailing punctuation", `evil.com, evil.net! evil.org? "evil.io"; evil.me:`, []string{"evil.com", "evil.net", "evil.org", "evil.io", "evil.me"}},
		{"a path's trailing full stop", "evil.com/x.", []string{"evil.com"}},
		{"a file name ending in a country code is a host", "readme.md", []string{"readme.md"}},
		{"a missing space before an ICANN top-level domain", "Done.Call me", []string{"done.call"}},
		{"a pseudo top-level domain", "file.local", []string{"file.local"}},
		{"a trailing dot of the host", "https://example.com./x", []string{"example.com"}},
		{"an underscore xurls leaves out", "ev_il.com ab_cd.example.org", []string{"ev_il.com", "ab_cd.example.org"}},
		{"a path holds what follows", "example.com/evil.com,evil.net", []string{"example.com"}},
		{"two links in one word", "example.com|evil.net", []string{"example.com", "evil.net"}},
		{"a link xurls does not know before one it does", "www.evil.zzz|example.com,user@evil.zzz", []string{"www.evil.zzz", "example.com", "evil.zzz"}},

		// Internationalized names.
		{"IDN", "exämple.com", []string{"xn--exmple-cua.com"}},
		{"punycode", "xn--exmple-cua.com", []string{"xn--exmple-cua.com"}},
		{"punycode in upper case", "XN--EXMPLE-CUA.COM", []string{"xn--exmple-cua.com"}},
		{"IDN in upper case", "EXÄMPLE.COM", []string{"xn--exmple-cua.com"}},
		{"a Cyrillic а is another name", "exаmple.com", []string{"xn--exmple-4nf.com"}},
		{"full-width letters", "ｅｖｉｌ.com Ｅｖｉｌ.ＣＯＭ", []string{"evil.com", "evil.com"}},
		{"ideographic full stop", "evil。com evil．com evil｡com", []string{"evil.com", "evil.com", "evil.com"}},
		{"soft hyphen dropped", "exam\u00adple.com", []string{"example.com"}},
		{"zero-width space dropped", "evil\u200b.com", []string{"evil.com"}},
		{"zero-width joiner refused", "https://exam\u200dple.com", []string{`invalid "exam\u200dple.com"`}},
		{"right-to-left override refused", "evil\u202e.com", []string{`invalid "evil\u202e.com"`}},
		{"invalid punycode", "https://xn--zz.com/", []string{`invalid "xn--zz.com"`}},
		{"a mailto: host percent-decoded to invalid UTF-8", "mailto:a@%80", []string{`invalid "\ufffd"`}},
		{"a character no host name holds", "http://%60 http://a~b.com/", []string{`invalid "%60"`, `invalid "a~b.com"`}},

		// IP addresses.
		{"IPv4", "1.2.3.4", []string{"IP"}},
		{"IPv4 with a port and a path", "http://1.2.3.4:8080/x 10.0.0.1/admin", []string{"IP", "IP"}},
		{"IPv6", "http://[::1]/ [2001:db8::1]:443/x fe80::1", []string{"IP", "IP", "IP"}},
		{"hex IPv4", "http://0x7f.1/", []string{"IP"}},
		{"decimal IPv4", "http://2130706433/", []string{"IP"}},
		{"full-width digits", "https://１２７.０.０.１/", []string{"IP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			links, complete := findLinks(tc.text)
			if !complete {
				t.Error("incomplete")
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if got := linkStrings(links); !slices.Equal(got, want) {
				t.Errorf("findLinks(%q) = %q, want %q", tc.text, got, want)
			}
		})
	}
}

func TestCheckLinks(t *testing.T) {
	allow := []string{"example.com", "*.example.org", "exämple.net"}
	const refusedPrefix, refusedSuffix = "link not allowed by this tenant's send policy: ", " (a send is refused whole if any link is)"
	tests := []struct {
		name    string
		allow   []string // nil: allow
		message string
		// want: "" passes; else the description between the prefix and
		// suffix above.
		want string
	}{
		{name: "no links", message: "Your code is 123456."},
		{name: "an allowed host", message: "Track it: https://example.com/t/AbC123?x=evil.com"},
		{name: "an allowed host without a scheme, in any case", message: "EXAMPLE.COM/a, Example.com."},
		{name: "an allowed host with a port", message: "https://example.com:8443/x example.com:80"},
		{name: "a subdomain of a wildcard", message: "https://shop.example.org/x a.b.example.org"},
		{name: "an address at an allowed host", message: "mail info@example.com or mailto:a@example.com"},
		{name: "IDN listed in Unicode, sent in punycode", message: "xn--exmple-cua.net/x"},
		{name: "IDN listed in Unicode, sent in Unicode", message: "EXÄMPLE.NET"},
		{name: "IDN listed in punycode, sent in Unicode", allow: []string{"xn--exmple-cua.net"}, message: "exämple.net"},
		{name: "no links with allow: []", allow: []string{}, message: "Reply STOP. Thanks."},

		{name: "scheme-less with a path", message: "evil.com/x", want: "the domain evil.com is not among the allowed domains"},
		{name: "the wildcard's apex", message: "https://example.org", want: "the domain example.org is not among the allowed domains"},
		{name: "a subdomain of an exact entry", message: "www.example.com", want: "the domain www.example.com is not among the allowed domains"},
		{name: "an allowed name inside another", message: "example.com.evil.com evilexample.com notexample.org",
			want: "the domains evilexample.com, example.com.evil.com, notexample.org are not among the allowed domains"},
		{name: "an allowed and a disallowed link", message: "https://example.com/a then https://evil.com/b",
			want: "the domain evil.com is not among the allowed domains"},
		{name: "upper case", message: "EVIL.COM", want: "the domain evil.com is not among the allowed domains"},
		{name: "trailing punctuation", message: "Go to (evil.com). Or evil.net.", want: "the domains evil.com, evil.net are not among the allowed domains"},
		{name: "user@host", message: "write to example.com@evil.com", want: "the domain evil.com is not among the allowed domains"},
		{name: "user info", message: "https://example.com@evil.com/", want: "the domain evil.com is not among the allowed domains"},
		{name: "www.", message: "www.evil.zzz", want: "the domain www.evil.zzz is not among the allowed domains"},
		{name: "a Cyrillic а", message: "exаmple.com", want: "the domain xn--exmple-4nf.com is not among the allowed domains"},
		{name: "IDN", allow: []string{"example.com"}, message: "exämple.com", want: "the domain xn--exmple-cua.com is not among the allowed domains"},
		{name: "IPv4", message: "http://93.184.215.14/x", want: "a link to an IP address is never allowed"},
		{name: "IPv6 with a port", message: "[2001:db8::1]:443/x", want: "a link to an IP address is never allowed"},
		{name: "a link without a host", message: "tel:+447700900123", want: "a link without a domain (tel:) is not allowed"},
		{name: "allow: [] allows no link", allow: []string{}, message: "https://example.com", want: "the domain example.com is not among the allowed domains"},
		{name: "an invalid host is quoted", message: "https://exam\u200dple.com", want: `the domain "exam\u{200d}ple.com" is not among the allowed domains`},
		{name: "an escape's digits never join a number", message: "https://\u2186" + "0000\u202e.ac",
			want: `the domain "\u{2186}0000\u{202e}.ac" is not among the allowed domains`},
		{name: "a long number in a host is cut", message: "07700900123.co", want: "the domain 077….co is not among the allowed domains"},
		{name: "at most five domains named", message: "a.com b.com c.com d.com e.com f.com g.com 1.2.3.4 sms:1",
			want: "the domains a.com, b.com, c.com, d.com, e.com and 2 more are not among the allowed domains; a link to an IP address is never allowed; a link without a domain (sms:) is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := tt.allow
			if list == nil {
				list = allow
			}
			r := mustRules(t, RulesConfig{Links: &LinksConfig{Allow: list}})
			ref := r.Check(sendFrom(t, "MyApp", tt.message))
			if tt.want == "" {
				if ref != nil {
					t.Fatalf("Check = %+v, want nil", ref)
				}
				return
			}
			if ref == nil {
				t.Fatal("Check = nil, want LINK_NOT_ALLOWED")
			}
			if ref.Status != 403 || ref.Code != CodeLinkNotAllowed || ref.Rule != RuleLinks || ref.RetryAfter != 0 {
				t.Errorf("Check = %d %s (rule %q, retry %v), want 403 %s (rule %q)", ref.Status, ref.Code, ref.Rule, ref.RetryAfter, CodeLinkNotAllowed, RuleLinks)
			}
			if want := refusedPrefix + tt.want + refusedSuffix; ref.Description != want {
				t.Errorf("description:\n%s\nwant:\n%s", ref.Description, want)
			}
			assertNoNumber(t, "description", ref.Description)
		})
	}
}

// TestNoLinksPolicyAllowsAnyLink: without links, a send's text is not read.
func TestNoLinksPolicyAllowsAnyLink(t *testing.T) {
	r := mustRules(t, RulesConfig{Countries: []string{"GB"}})
	if ref := r.Check(sendFrom(t, "MyApp", "http://1.2.3.4 evil.com tel:+447700900123")); ref != nil {
		t.Errorf("Check = %+v, want nil", ref)
	}
}

// TestLinkScanLimit: a message with more words that could be links than
// the finder reads is refused; any number of other words is read at no
// cost.
func TestLinkScanLimit(t *testing.T) {
	r := mustRules(t, RulesConfig{Links: &LinksConfig{Allow: []string{"example.com"}}})
	within := strings.Repeat("example.com ", maxLinkScan/len("example.com"))
	if ref := r.Check(sendFrom(t, "MyApp", within)); ref != nil {
		t.Fatalf("%d bytes of allowed links: %+v", maxLinkScan, ref)
	}
	ref := r.Check(sendFrom(t, "MyApp", within+"example.com"))
	want := "link not allowed by this tenant's send policy: the message holds more than 4096 bytes of words that could be links, more than the policy reads (a send is refused whole if any link is)"
	if ref == nil || ref.Code != CodeLinkNotAllowed || ref.Description != want {
		t.Errorf("over the limit: %+v", ref)
	}
	if ref := r.Check(sendFrom(t, "MyApp", strings.Repeat("Thanks. £12.50 at 10:30 ", 2000))); ref != nil {
		t.Errorf("words that cannot be links count against the limit: %+v", ref)
	}
}

func TestCompileLinks(t *testing.T) {
	p, err := Compile(Config{Default: &RulesConfig{Links: &LinksConfig{Allow: []string{
		"Example.COM.", "*.example.org", "EXÄMPLE.net", "xn--exmple-cua.net", "*.Sub.Example.Org", "my_host.example.io",
	}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lp := p.defaults.links
	var hosts []string
	for h := range lp.hosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	if want := []string{"example.com", "my_host.example.io", "xn--exmple-cua.net"}; !slices.Equal(hosts, want) {
		t.Errorf("hosts = %q, want %q", hosts, want)
	}
	if want := []string{".example.org", ".sub.example.org"}; !slices.Equal(lp.parents, want) {
		t.Errorf("parents = %q, want %q", lp.parents, want)
	}

	_, err = Compile(Config{
		Default: &RulesConfig{Links: &LinksConfig{Allow: []string{
			"", "https://example.com", "example.com/x", "example.com:443", "1.2.3.4", "[::1]", "::1", "127.1",
			"com", "co.uk", "*.co.uk", "*.github.io", "localhost", "ex*ample.com", "*.*.example.com", "*", "exa mple.com", "a..b.com", "exam\u200dple.com",
		}}},
		Tenants: map[string]RulesConfig{"acme": {Links: &LinksConfig{}}},
	}, definedTenants)
	const notDomain = "is not a domain: write the host alone, without a scheme, port or path (example.com)"
	const ip = "is an IP address: links to IP addresses are never allowed"
	const suffix = "is a public suffix, under which anyone may register a domain: list your own domains"
	const wildcard = `is not a domain: a wildcard is "*." and a domain, and allows every subdomain of that domain`
	want := []string{
		`policy.default.links.allow[0]: "" is not a domain`,
		`policy.default.links.allow[1]: "https://example.com" ` + notDomain,
		`policy.default.links.allow[2]: "example.com/x" ` + notDomain,
		`policy.default.links.allow[3]: "example.com:443" ` + notDomain,
		`policy.default.links.allow[4]: "1.2.3.4" ` + ip,
		`policy.default.links.allow[5]: "[::1]" ` + ip,
		`policy.default.links.allow[6]: "::1" ` + ip,
		`policy.default.links.allow[7]: "127.1" ` + ip,
		`policy.default.links.allow[8]: "com" ` + suffix,
		`policy.default.links.allow[9]: "co.uk" ` + suffix,
		`policy.default.links.allow[10]: "*.co.uk" ` + suffix,
		`policy.default.links.allow[11]: "*.github.io" ` + suffix,
		`policy.default.links.allow[12]: "localhost" ` + suffix,
		`policy.default.links.allow[13]: "ex*ample.com" ` + wildcard,
		`policy.default.links.allow[14]: "*.*.example.com" ` + wildcard,
		`policy.default.links.allow[15]: "*" ` + wildcard,
		`policy.default.links.allow[16]: "exa mple.com" ` + notDomain,
		`policy.default.links.allow[17]: "a..b.com" is not a valid domain name`,
		`policy.default.links.allow[18]: "exam\u200dple.com" is not a valid domain name`,
		`policy.tenants.acme.links.allow: is required: the domains links may lead to (an empty list allows no links; remove links to allow any)`,
	}
	if err == nil || !slices.Equal(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

// FuzzFindLinks checks the link finder on any text: it never panics; the
// hosts it finds are lower-case punycode that it finds again as they are;
// case, the white space around a word, and a sentence's full stop after
// it change nothing; and a refusal's description is short, holds no
// phone number, and names hosts only.
func FuzzFindLinks(f *testing.F) {
	for _, seed := range []string{
		"Track it at https://example.com/t/AbC123 today", "https://example.com@evil.com/", `https://evil.com\@example.com`,
		"evil.example/x", "www.evil.zzz", "user@evil.zzz", "exämple.com", "XN--EXMPLE-CUA.COM", "ｅｖｉｌ。com", "(evil.com).",
		"http://0x7f.1/ [::1]:80 fe80::1 1.2.3.4", "tel:+447700900123 mailto:a@b.com,c@d.org", "ev_il.com", "evil\u202e.com",
		"£12.50 at 10:30, e.g. Mr.Smith", "https://%65vil.com/", "07700900123.co", "a.b.c.d.e.f.g.h", "\u2186" + "0000\u202e.ac", "http://%60", "mAilto:@%80",
	} {
		f.Add(seed)
	}
	r := mustRules(f, RulesConfig{Links: &LinksConfig{Allow: []string{}}})
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) || len(text) > 1024 {
			return // a send's message is valid UTF-8; long texts only cost time
		}
		links, complete := findLinks(text)
		if !complete {
			t.Fatalf("a text of %d bytes is incomplete", len(text))
		}
		hosts := hostsOf(links)
		for _, l := range links {
			switch l.kind {
			case linkDomain:
				if l.host == "" || l.host != strings.ToLower(l.host) || !isASCII(l.host) || strings.HasSuffix(l.host, ".") {
					t.Fatalf("host %q is not lower-case punycode", l.host)
				}
				if again, _ := findLinks("https://" + l.host + "/"); len(again) != 1 || again[0] != l {
					t.Fatalf("host %q found again as %+v", l.host, again)
				}
			case linkIP:
				if l.host != "" {
					t.Fatalf("an IP link has a host %q", l.host)
				}
			case linkNoHost:
				if !strings.HasSuffix(l.host, ":") {
					t.Fatalf("a link without a host shows %q", l.host)
				}
			}
		}
		for _, variant := range []string{" " + text + " ", text + ".", upperASCII(text)} {
			again, _ := findLinks(variant)
			if got := hostsOf(again); !slices.Equal(got, hosts) {
				t.Fatalf("findLinks(%q) = %q, findLinks(%q) = %q", text, hosts, variant, got)
			}
		}
		ref := r.Check(&Send{Message: text})
		if (ref == nil) != (len(links) == 0) {
			t.Fatalf("allow: [] and %d links: refusal %+v", len(links), ref)
		}
		if ref != nil {
			if len(ref.Description) > 1024 {
				t.Errorf("a description of %d bytes", len(ref.Description))
			}
			assertNoNumber(t, "description", ref.Description)
		}
	})
}

// hostsOf lists the hosts of links, sorted, IP addresses as "IP".
func hostsOf(links []link) []string {
	hosts := linkStrings(links)
	slices.Sort(hosts)
	return hosts
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// upperASCII upper-cases the ASCII letters of s.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

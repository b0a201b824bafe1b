package policy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// DefaultSendPath is the path of restlink's send endpoint.
const DefaultSendPath = "/api/v1/sms/send"

// Policy is a compiled policy section: the rules of every tenant. It is
// immutable apart from its region cache, and safe for concurrent use.
// A nil *Policy has no rules.
type Policy struct {
	sendPath string
	defaults *Rules // nil: tenants without an entry have no policy
	tenants  map[string]*Rules
	resolver *resolver // nil when there are no rules
}

// Compile checks a policy section and compiles it, in one pass: the
// sidecar's validate-config command and its reloads share this one path.
// tenants are the tenant names the sidecar's config defines; a policy
// entry for any other name is an error. Every problem is reported, each
// naming its field (policy.tenants.acme.countries[1]: …), joined with
// errors.Join.
func Compile(c Config, tenants []string) (*Policy, error) {
	var p problems
	pol := &Policy{sendPath: compileSendPath(c.SendPath, &p)}

	base := Rules{maxRecipients: MaxRecipients}
	if c.Default != nil {
		pol.defaults = compileRules(*c.Default, base, "policy.default", &p)
		base = *pol.defaults
	}
	if len(c.Tenants) > 0 {
		defined := make(map[string]bool, len(tenants))
		for _, t := range tenants {
			defined[t] = true
		}
		pol.tenants = make(map[string]*Rules, len(c.Tenants))
		for _, name := range sortedKeys(c.Tenants) {
			path := "policy.tenants." + name
			if !defined[name] {
				p.add(path, "there is no tenant %q in tenants", name)
			}
			pol.tenants[name] = compileRules(c.Tenants[name], base, path, &p)
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if pol.defaults != nil || len(pol.tenants) > 0 {
		pol.resolver = newResolver(defaultCacheSlots)
	}
	return pol, nil
}

// compileRules compiles a rules entry over base, the rules it inherits:
// every field the entry sets replaces base's.
func compileRules(c RulesConfig, base Rules, path string, p *problems) *Rules {
	r := base
	switch c.Mode {
	case "":
	case "enforce":
		r.shadow = false
	case "shadow":
		r.shadow = true
	default:
		p.add(path+".mode", "%q is not a mode: use enforce or shadow", c.Mode)
	}
	if c.Countries != nil {
		r.countries = compileCountries(c.Countries, path+".countries", p)
	}
	if c.DenyPrefixes != nil {
		r.denyPrefixes = compileDenyPrefixes(c.DenyPrefixes, path+".deny_prefixes", p)
	}
	if c.MaxRecipients != nil {
		if n := *c.MaxRecipients; n < 1 || n > MaxRecipients {
			p.add(path+".max_recipients", "%d is out of range: 1 to %d", n, MaxRecipients)
		} else {
			r.maxRecipients = n
		}
	}
	if c.Rate != nil {
		r.rate = compileWindow(c.Rate.Recipients, c.Rate.Per, "rate/", path+".rate", "recipients", p)
	}
	if c.DailySegments != nil {
		if n := *c.DailySegments; n < 1 {
			p.add(path+".daily_segments", "%d is out of range: at least 1", n)
		} else {
			r.dailySegments = n
		}
	}
	if c.PerRecipient != nil {
		r.perRecipient = compileWindow(c.PerRecipient.Messages, c.PerRecipient.Per, "recipient/", path+".per_recipient", "messages", p)
	}
	if c.Senders != nil {
		r.senders = compileSenders(c.Senders, path+".senders", p)
	}
	if c.Links != nil {
		r.links = compileLinks(*c.Links, path+".links", p)
	}
	if c.Budget != nil {
		r.budget = compileBudget(*c.Budget, path+".budget", p)
	}
	if c.Anomaly != nil {
		r.anomaly = compileAnomaly(*c.Anomaly, path+".anomaly", p)
	}
	if c.TrustedNumbers != nil {
		if r.trustedNumbers = c.TrustedNumbers.File; r.trustedNumbers == "" {
			p.add(path+".trusted_numbers.file", "is required: the path of a file of E.164 numbers, one a line")
		}
	}
	if c.DryRun != nil {
		r.dryRun = *c.DryRun
	}
	return &r
}

// compileCountries compiles a countries list into a set. An empty list
// gives an empty set: no destination is allowed.
func compileCountries(list []string, field string, p *problems) *regionSet {
	supported := phonenumbers.GetSupportedRegions() // the library's own map: read only
	set := new(regionSet)
	for i, c := range list {
		if idx := regionIndex(c); idx >= 0 && supported[c] {
			set[idx] = true
			continue
		}
		hint := ""
		if upper := strings.ToUpper(c); upper != c && supported[upper] {
			hint = fmt.Sprintf(" (region codes are upper case: %q)", upper)
		}
		p.add(field+"["+strconv.Itoa(i)+"]", "%q is not an ISO 3166-1 alpha-2 region code known to the numbering plan%s", c, hint)
	}
	return set
}

// compileDenyPrefixes checks, sorts and de-duplicates deny prefixes, and
// drops those that a shorter one already covers. The values are never
// quoted in errors: a 15-digit "prefix" is a whole phone number.
func compileDenyPrefixes(list []string, field string, p *problems) []string {
	prefixes := make([]string, 0, len(list))
	for i, prefix := range list {
		if !isPrefix(prefix) {
			p.add(field+"["+strconv.Itoa(i)+"]", "not an E.164 prefix: \"+\" and 1 to 15 digits")
			continue
		}
		prefixes = append(prefixes, prefix)
	}
	slices.Sort(prefixes)
	kept := prefixes[:0]
	for _, prefix := range prefixes {
		// Sorted, a prefix follows the entries it starts with.
		if len(kept) > 0 && strings.HasPrefix(prefix, kept[len(kept)-1]) {
			continue
		}
		kept = append(kept, prefix)
	}
	return slices.Clip(kept)
}

// isPrefix reports whether s is "+" and 1 to 15 digits.
func isPrefix(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compileWindow checks and compiles a sliding-window limit.
func compileWindow(max int64, per time.Duration, keyKind, field, amountName string, p *problems) *window {
	ok := true
	if max < 1 {
		p.add(field+"."+amountName, "%d is out of range: at least 1", max)
		ok = false
	}
	if per < time.Second {
		p.add(field+".per", "%s is too short: at least 1s", formatDuration(per))
		ok = false
	}
	if !ok {
		return nil
	}
	return &window{max: max, per: per, keyPrefix: keyKind + formatDuration(per) + ":"}
}

// compileSendPath checks the send path; "" is the default.
func compileSendPath(path string, p *problems) string {
	const prefix = "/api/v1/"
	if path == "" {
		return DefaultSendPath
	}
	if !strings.HasPrefix(path, prefix) || len(path) == len(prefix) || strings.HasSuffix(path, "/") {
		p.add("policy.send_path", "must be a path under %s, without a trailing /, e.g. %s", prefix, DefaultSendPath)
		return ""
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			p.add("policy.send_path", "must not have empty or dot segments")
			return ""
		}
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/-._~", c) >= 0) {
			p.add("policy.send_path", "may hold only letters, digits and / - . _ ~")
			return ""
		}
	}
	return path
}

// formatDuration writes a duration the way a config would: 1m, 1h30m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// sortedKeys returns the keys of m in order, for reports that read the
// same at every run.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// problems collects a compile's errors, each naming its field.
type problems struct{ errs []error }

// add records a problem with field.
func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

// err joins the problems; nil if there are none.
func (p *problems) err() error { return errors.Join(p.errs...) }

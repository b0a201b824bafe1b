package policy

import (
	"slices"
	"strings"
	"testing"
)

// sendFrom parses a send to a GB number with sender and message.
func sendFrom(t testing.TB, sender, message string) *Send {
	t.Helper()
	s, ref := parseSend([]byte(sendBody(`["`+gb+`"]`, quoteJSON(message), `"`+sender+`"`)), nil)
	if ref != nil {
		t.Fatalf("ParseSend: %+v", ref)
	}
	return s
}

// quoteJSON writes s as a JSON string.
func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestCheckSenders(t *testing.T) {
	const (
		number        = "+447700900123"
		trunk0        = "+4407700900123" // the same number with its trunk 0 kept
		otherPhone    = "+447700900124"
		refusedAlnum  = "sender not allowed by this tenant's send policy: the sender_id %q is not among the allowed senders (alphanumeric senders are compared exactly, letter case included)"
		refusedNumber = "sender not allowed by this tenant's send policy: this numeric sender_id is not among the allowed senders (numbers are compared by their E.164 form)"
	)
	tests := []struct {
		name    string
		senders []string // nil: no senders rule
		sender  string
		// want: "" passes; else the exact description.
		want string
	}{
		{name: "no rule allows any sender", sender: "Whoever"},
		{name: "listed alphanumeric", senders: []string{"MyApp", number}, sender: "MyApp"},
		{name: "alphanumeric in another case", senders: []string{"MyApp"}, sender: "MYAPP",
			want: strings.Replace(refusedAlnum, "%q", `"MYAPP"`, 1)},
		{name: "alphanumeric not listed", senders: []string{"MyApp", number}, sender: "Other",
			want: strings.Replace(refusedAlnum, "%q", `"Other"`, 1)},
		{name: "listed number", senders: []string{"MyApp", number}, sender: number},
		{name: "listed number, sent with its trunk 0", senders: []string{number}, sender: trunk0},
		{name: "number listed with its trunk 0, sent without", senders: []string{trunk0}, sender: number},
		{name: "another number", senders: []string{"MyApp", number}, sender: otherPhone, want: refusedNumber},
		{name: "a number is not its digits as a name", senders: []string{"A447700900"}, sender: number, want: refusedNumber},
		{name: "an empty list allows no sender", senders: []string{}, sender: "MyApp",
			want: strings.Replace(refusedAlnum, "%q", `"MyApp"`, 1) + "; the policy allows no sender at all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRules(t, RulesConfig{Senders: tt.senders})
			ref := r.Check(sendFrom(t, tt.sender, "hi"))
			if tt.want == "" {
				if ref != nil {
					t.Fatalf("Check = %+v, want nil", ref)
				}
				return
			}
			if ref == nil {
				t.Fatal("Check = nil, want SENDER_NOT_ALLOWED")
			}
			if ref.Status != 403 || ref.Code != CodeSenderNotAllowed || ref.Rule != RuleSenders || ref.RetryAfter != 0 {
				t.Errorf("Check = %d %s (rule %q, retry %v), want 403 %s (rule %q)", ref.Status, ref.Code, ref.Rule, ref.RetryAfter, CodeSenderNotAllowed, RuleSenders)
			}
			if ref.Description != tt.want {
				t.Errorf("description:\n%s\nwant:\n%s", ref.Description, tt.want)
			}
			assertNoNumber(t, "description", ref.Description, number, otherPhone)
		})
	}
}

// TestCheckOrder: a send that breaks several rules is
// refused by the first, in Check's documented order.
func TestCheckOrder(t *testing.T) {
	r := mustRules(t, RulesConfig{Countries: []string{"IE"}, Senders: []string{"Other"}, Links: &LinksConfig{Allow: []string{}}})
	if ref := r.Check(sendFrom(t, "MyApp", "see evil.com")); ref == nil || ref.Rule != RuleCountries {
		t.Errorf("countries, senders and links broken: %+v, want countries first", ref)
	}
	r = mustRules(t, RulesConfig{Senders: []string{"Other"}, Links: &LinksConfig{Allow: []string{}}})
	if ref := r.Check(sendFrom(t, "MyApp", "see evil.com")); ref == nil || ref.Rule != RuleSenders {
		t.Errorf("senders and links broken: %+v, want senders first", ref)
	}
}

func TestCompileSenders(t *testing.T) {
	p, err := Compile(Config{Default: &RulesConfig{Senders: []string{"MyApp", "+4407700900123", "MyApp", "+12025550123"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for s := range p.defaults.senders {
		got = append(got, s)
	}
	slices.Sort(got)
	if want := []string{"+12025550123", "+447700900123", "MyApp"}; !slices.Equal(got, want) {
		t.Errorf("senders = %q, want %q (numbers in E.164 form, duplicates once)", got, want)
	}

	_, err = Compile(Config{Default: &RulesConfig{Senders: []string{"447700900123", "1Acme", "ABCDEFGHIJKL", "My App", "", "+0447700900"}}}, nil)
	want := []string{
		`policy.default.senders[0]: a number without its "+": write a numeric sender in E.164 (+447700900123)`,
		`policy.default.senders[1]: not a sender_id restlink accepts: 3 to 11 letters and digits, not starting with a digit, or an E.164 number ("+" and 8 to 15 digits, the first not 0)`,
		`policy.default.senders[2]: not a sender_id restlink accepts: 3 to 11 letters and digits, not starting with a digit, or an E.164 number ("+" and 8 to 15 digits, the first not 0)`,
		`policy.default.senders[3]: not a sender_id restlink accepts: 3 to 11 letters and digits, not starting with a digit, or an E.164 number ("+" and 8 to 15 digits, the first not 0)`,
		`policy.default.senders[4]: not a sender_id restlink accepts: 3 to 11 letters and digits, not starting with a digit, or an E.164 number ("+" and 8 to 15 digits, the first not 0)`,
		`policy.default.senders[5]: not a sender_id restlink accepts: 3 to 11 letters and digits, not starting with a digit, or an E.164 number ("+" and 8 to 15 digits, the first not 0)`,
	}
	if err == nil || !slices.Equal(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if err != nil && strings.Contains(err.Error(), "ABCDEFGH") {
		t.Error("an error quotes a sender")
	}
}

// TestSendersAndLinksInheritance: a tenant entry that sets senders or
// links replaces the default's whole; one that does not inherits it.
func TestSendersAndLinksInheritance(t *testing.T) {
	p, err := Compile(Config{
		Default: &RulesConfig{Senders: []string{"MyApp", "Other"}, Links: &LinksConfig{Allow: []string{"example.com", "*.example.org"}}},
		Tenants: map[string]RulesConfig{
			"acme":        {Senders: []string{"Acme"}, Links: &LinksConfig{Allow: []string{"acme.example"}}},
			"staging-app": {Countries: []string{"GB"}},
		},
	}, definedTenants)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tenant, sender, message string
		rule                    string // "": passes
	}{
		{"staging-app", "MyApp", "see https://example.com and a.example.org", ""},
		{"staging-app", "Acme", "hi", RuleSenders},
		{"acme", "Acme", "see https://acme.example/x", ""},
		{"acme", "MyApp", "hi", RuleSenders},                     // not merged with the default's list
		{"acme", "Acme", "see https://example.com", RuleLinks},   // nor the links
		{"acme", "Acme", "see https://a.example.org", RuleLinks}, // wildcards included
	} {
		ref := p.For(tc.tenant).Check(sendFrom(t, tc.sender, tc.message))
		if got := ""; ref != nil {
			got = ref.Rule
			if got != tc.rule {
				t.Errorf("%s, %s, %q: refused by %s, want %q", tc.tenant, tc.sender, tc.message, got, tc.rule)
			}
		} else if tc.rule != "" {
			t.Errorf("%s, %s, %q: passes, want refused by %s", tc.tenant, tc.sender, tc.message, tc.rule)
		}
	}
}

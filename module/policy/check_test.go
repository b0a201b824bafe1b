package policy

import (
	"testing"
)

// mustRules compiles a default-only policy and returns its rules.
func mustRules(t testing.TB, c RulesConfig) *Rules {
	t.Helper()
	p, err := Compile(Config{Default: &c}, nil)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p.For("any")
}

// mustSend parses a send to numbers.
func mustSend(t testing.TB, numbers ...string) *Send {
	t.Helper()
	s, ref := parseSend([]byte(sendBody(quoteAll(numbers), `"hi"`, `"Acme"`)), nil)
	if ref != nil {
		t.Fatalf("ParseSend: %+v", ref)
	}
	return s
}

func quoteAll(numbers []string) string {
	list := "["
	for i, n := range numbers {
		if i > 0 {
			list += ","
		}
		list += `"` + n + `"`
	}
	return list + "]"
}

const (
	us  = "+12025550123"
	do  = "+18095550123"
	ca  = "+14165550123"
	gb  = "+447924123456"
	gg  = "+447781123456"
	je  = "+441534123456"
	ie  = "+353871234567"
	fr  = "+33612345678"
	net = "+882123456789"
	sat = "+881612345678"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		rules   RulesConfig
		numbers []string
		// want: "" passes; else the code, rule and exact description.
		code, rule, description string
	}{
		{
			name:    "no rules",
			numbers: []string{us, do, net},
		},
		{
			name:    "within max_recipients",
			rules:   RulesConfig{MaxRecipients: ptr(2)},
			numbers: []string{gb, gb},
		},
		{
			name:        "over max_recipients",
			rules:       RulesConfig{MaxRecipients: ptr(2)},
			numbers:     []string{gb, gb, ie},
			code:        CodeTooManyRecipients,
			rule:        RuleMaxRecipients,
			description: "to has 3 numbers; this tenant's send policy allows at most 2 per send",
		},
		{
			name:    "allowed countries",
			rules:   RulesConfig{Countries: []string{"GB", "US", "IE"}},
			numbers: []string{us, gb, ie},
		},
		{
			name:        "DO shares +1 with US but is not US",
			rules:       RulesConfig{Countries: []string{"US"}},
			numbers:     []string{us, do},
			code:        CodeDestinationNotAllowed,
			rule:        RuleCountries,
			description: "destination not allowed by this tenant's send policy: the destination country DO is not among the allowed countries (a send is refused whole if any recipient is)",
		},
		{
			name:        "GG and JE share +44 with GB, sorted and de-duplicated",
			rules:       RulesConfig{Countries: []string{"GB"}},
			numbers:     []string{je, gb, gg, je, gg},
			code:        CodeDestinationNotAllowed,
			rule:        RuleCountries,
			description: "destination not allowed by this tenant's send policy: the destination countries GG, JE are not among the allowed countries (a send is refused whole if any recipient is)",
		},
		{
			name:        "a number in no country is refused under a countries list",
			rules:       RulesConfig{Countries: []string{"GB"}},
			numbers:     []string{net, ca, gb},
			code:        CodeDestinationNotAllowed,
			rule:        RuleCountries,
			description: "destination not allowed by this tenant's send policy: the destination country CA is not among the allowed countries, nor is a destination in no country (a send is refused whole if any recipient is)",
		},
		{
			name:        "a number in no country alone",
			rules:       RulesConfig{Countries: []string{"GB"}},
			numbers:     []string{net, gb},
			code:        CodeDestinationNotAllowed,
			rule:        RuleCountries,
			description: "destination not allowed by this tenant's send policy: a destination in no country is not allowed (a send is refused whole if any recipient is)",
		},
		{
			name:        "empty countries allows nothing",
			rules:       RulesConfig{Countries: []string{}},
			numbers:     []string{gb},
			code:        CodeDestinationNotAllowed,
			rule:        RuleCountries,
			description: "destination not allowed by this tenant's send policy: the destination country GB is not among the allowed countries (a send is refused whole if any recipient is)",
		},
		{
			name:    "no countries list allows numbers in no country",
			rules:   RulesConfig{DenyPrefixes: []string{"+883"}},
			numbers: []string{net, fr},
		},
		{
			name:        "denied prefix whatever the country",
			rules:       RulesConfig{DenyPrefixes: []string{"+882", "+4479"}},
			numbers:     []string{fr, gb},
			code:        CodeDestinationNotAllowed,
			rule:        RuleDenyPrefixes,
			description: "destination not allowed by this tenant's send policy: the prefix +4479 is denied (a send is refused whole if any recipient is)",
		},
		{
			name:        "covered prefixes report the shorter one",
			rules:       RulesConfig{DenyPrefixes: []string{"+8821", "+88", "+979"}},
			numbers:     []string{sat, net, fr},
			code:        CodeDestinationNotAllowed,
			rule:        RuleDenyPrefixes,
			description: "destination not allowed by this tenant's send policy: the prefix +88 is denied (a send is refused whole if any recipient is)",
		},
		{
			name:        "several prefixes, sorted",
			rules:       RulesConfig{DenyPrefixes: []string{"+882", "+881", "+1809"}},
			numbers:     []string{net, do, sat, net},
			code:        CodeDestinationNotAllowed,
			rule:        RuleDenyPrefixes,
			description: "destination not allowed by this tenant's send policy: the prefixes +1809, +881, +882 are denied (a send is refused whole if any recipient is)",
		},
		{
			name:        "a prefix that is a whole number is not shown whole",
			rules:       RulesConfig{DenyPrefixes: []string{gb, "+4478"}},
			numbers:     []string{gb},
			code:        CodeDestinationNotAllowed,
			rule:        RuleDenyPrefixes,
			description: "destination not allowed by this tenant's send policy: the prefix +447924… is denied (a send is refused whole if any recipient is)",
		},
		{
			name:    "a prefix longer than the number does not match",
			rules:   RulesConfig{DenyPrefixes: []string{gb + "1"}},
			numbers: []string{gb},
		},
		{
			name:    "numbers between prefixes pass",
			rules:   RulesConfig{DenyPrefixes: []string{"+1", "+33", "+882"}},
			numbers: []string{gb, ie, "+34612345678", "+881612345678"},
		},
		{
			name:        "countries and prefixes together",
			rules:       RulesConfig{Countries: []string{"GB", "US"}, DenyPrefixes: []string{"+882", "+1202"}},
			numbers:     []string{gb, us, net, ie},
			code:        CodeDestinationNotAllowed,
			rule:        RuleCountries,
			description: "destination not allowed by this tenant's send policy: the destination country IE is not among the allowed countries, nor is a destination in no country; the prefixes +1202, +882 are denied (a send is refused whole if any recipient is)",
		},
		{
			name:        "max_recipients comes first",
			rules:       RulesConfig{MaxRecipients: ptr(1), Countries: []string{}},
			numbers:     []string{gb, gb},
			code:        CodeTooManyRecipients,
			rule:        RuleMaxRecipients,
			description: "to has 2 numbers; this tenant's send policy allows at most 1 per send",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRules(t, tt.rules)
			ref := r.Check(mustSend(t, tt.numbers...))
			if tt.code == "" {
				if ref != nil {
					t.Fatalf("Check = %+v, want nil", ref)
				}
				return
			}
			if ref == nil {
				t.Fatalf("Check = nil, want %s", tt.code)
			}
			wantStatus := 403
			if tt.code == CodeTooManyRecipients {
				wantStatus = 400
			}
			if ref.Status != wantStatus || ref.Code != tt.code || ref.Rule != tt.rule || ref.RetryAfter != 0 {
				t.Errorf("Check = %d %s (rule %q, retry %v), want %d %s (rule %q)",
					ref.Status, ref.Code, ref.Rule, ref.RetryAfter, wantStatus, tt.code, tt.rule)
			}
			if ref.Description != tt.description {
				t.Errorf("description:\n%s\nwant:\n%s", ref.Description, tt.description)
			}
			assertNoNumber(t, "description", ref.Description, tt.numbers...)
		})
	}
}

// TestCheckNoAllocations checks that a send that passes costs no
// allocation.
func TestCheckNoAllocations(t *testing.T) {
	r := mustRules(t, RulesConfig{Countries: []string{"GB", "IE"}, DenyPrefixes: []string{"+882", "+883"}, MaxRecipients: ptr(10)})
	s := mustSend(t, gb, ie, gb)
	if n := testing.AllocsPerRun(100, func() {
		if r.Check(s) != nil {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Errorf("Check allocates %v times per passing send, want 0", n)
	}
}

// TestDenyPrefixesSeeTheE164Form: a denied range cannot be reached by
// keeping the national trunk 0 after the calling code.
func TestDenyPrefixesSeeTheE164Form(t *testing.T) {
	rules := mustRules(t, RulesConfig{DenyPrefixes: []string{"+4470090099"}})
	for _, number := range []string{"+447009009912", "+4407009009912"} {
		s := &Send{Recipients: []Recipient{{Number: number, Region: "GB"}}}
		if rf := rules.Check(s); rf == nil || rf.Rule != RuleDenyPrefixes {
			t.Errorf("%s: %+v, want refused under deny_prefixes", number, rf)
		}
	}
}

// TestCheckNoAllocationsWithSendersAndLinks: a listed sender, and a
// message without a word that could be a link, cost no allocation either.
func TestCheckNoAllocationsWithSendersAndLinks(t *testing.T) {
	r := mustRules(t, RulesConfig{Countries: []string{"GB"}, Senders: []string{"Acme", "+447700900123"},
		Links: &LinksConfig{Allow: []string{"example.com"}}})
	for _, sender := range []string{"Acme", "+447700900123"} {
		s := sendFrom(t, sender, "Your code is 123456. It costs £12.50 and expires at 10:30. Thanks!")
		if n := testing.AllocsPerRun(100, func() {
			if ref := r.Check(s); ref != nil {
				t.Fatal(ref)
			}
		}); n != 0 {
			t.Errorf("sender %s…: Check allocates %v times per passing send, want 0", sender[:3], n)
		}
	}
}

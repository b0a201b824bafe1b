package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

var definedTenants = []string{"acme", "staging-app", "other"}

// regionsOf lists the regions of a compiled set, sorted; nil for no set.
func regionsOf(s *regionSet) []string {
	if s == nil {
		return nil
	}
	list := []string{}
	for i, ok := range s {
		if ok {
			list = append(list, string([]byte{byte('A' + i/26), byte('A' + i%26)}))
		}
	}
	return list
}

func TestCompileInheritance(t *testing.T) {
	c := Config{
		Default: &RulesConfig{
			Mode:          "shadow",
			Countries:     []string{"IE", "GB", "GB"},
			DenyPrefixes:  []string{"+883", "+882", "+8821", "+979"},
			MaxRecipients: ptr(50),
			Rate:          &RateConfig{Recipients: 600, Per: time.Minute},
			DailySegments: ptr[int64](50000),
			PerRecipient:  &PerRecipientConfig{Messages: 5, Per: time.Hour},
			DryRun:        ptr(true),
		},
		Tenants: map[string]RulesConfig{
			"acme":        {Countries: []string{"GB"}, DailySegments: ptr[int64](2000), Mode: "enforce"},
			"staging-app": {DryRun: ptr(false), Countries: []string{}, DenyPrefixes: []string{}},
		},
	}
	p, err := Compile(c, definedTenants)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}

	def := p.For("other") // no entry: the default
	if def != p.defaults || def == nil {
		t.Fatalf("For(other) = %p, want the default rules %p", def, p.defaults)
	}
	if !def.Shadow() || !def.DryRun() {
		t.Errorf("default: Shadow() = %v, DryRun() = %v, want true, true", def.Shadow(), def.DryRun())
	}
	if got, want := regionsOf(def.countries), []string{"GB", "IE"}; !slices.Equal(got, want) {
		t.Errorf("default countries = %v, want %v", got, want)
	}
	if got, want := def.denyPrefixes, []string{"+882", "+883", "+979"}; !slices.Equal(got, want) {
		t.Errorf("default deny prefixes = %v, want %v (sorted, +8821 covered by +882)", got, want)
	}
	if def.maxRecipients != 50 || def.dailySegments != 50000 {
		t.Errorf("default max_recipients, daily_segments = %d, %d, want 50, 50000", def.maxRecipients, def.dailySegments)
	}
	if def.rate == nil || def.rate.max != 600 || def.rate.per != time.Minute || def.rate.keyPrefix != "rate/1m:" {
		t.Errorf("default rate = %+v, want 600 per 1m, key prefix rate/1m:", def.rate)
	}
	if def.perRecipient == nil || def.perRecipient.max != 5 || def.perRecipient.per != time.Hour || def.perRecipient.keyPrefix != "recipient/1h:" {
		t.Errorf("default per_recipient = %+v, want 5 per 1h, key prefix recipient/1h:", def.perRecipient)
	}

	acme := p.For("acme")
	if acme.Shadow() {
		t.Error("acme: Shadow() = true, want its own mode enforce")
	}
	if !acme.DryRun() {
		t.Error("acme: DryRun() = false, want dry_run inherited from default")
	}
	if got, want := regionsOf(acme.countries), []string{"GB"}; !slices.Equal(got, want) {
		t.Errorf("acme countries = %v, want its own %v", got, want)
	}
	if acme.dailySegments != 2000 {
		t.Errorf("acme daily_segments = %d, want its own 2000", acme.dailySegments)
	}
	if !slices.Equal(acme.denyPrefixes, def.denyPrefixes) || acme.maxRecipients != 50 ||
		acme.rate != def.rate || acme.perRecipient != def.perRecipient {
		t.Errorf("acme does not inherit deny_prefixes, max_recipients, rate, per_recipient from default: %+v", acme)
	}

	staging := p.For("staging-app")
	if staging.DryRun() {
		t.Error("staging-app: DryRun() = true, want its own false over the default's true")
	}
	if got := regionsOf(staging.countries); got == nil || len(got) != 0 {
		t.Errorf("staging-app countries = %v, want an empty set (countries: [] allows nothing)", got)
	}
	if len(staging.denyPrefixes) != 0 {
		t.Errorf("staging-app deny prefixes = %v, want none (deny_prefixes: [] lifts the inherited list)", staging.denyPrefixes)
	}
}

func TestCompileWithoutDefault(t *testing.T) {
	p, err := Compile(Config{Tenants: map[string]RulesConfig{"acme": {Countries: []string{"GB"}}}}, definedTenants)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if r := p.For("other"); r != nil {
		t.Errorf("For(other) = %+v, want nil: no default, no entry", r)
	}
	acme := p.For("acme")
	if acme == nil {
		t.Fatal("For(acme) = nil")
	}
	if acme.Shadow() || acme.DryRun() || acme.rate != nil || acme.perRecipient != nil ||
		acme.dailySegments != 0 || acme.denyPrefixes != nil || acme.maxRecipients != MaxRecipients {
		t.Errorf("acme inherits something without a default: %+v", acme)
	}
	if p.resolver == nil {
		t.Error("a policy with rules has no region cache")
	}
}

func TestCompileEmpty(t *testing.T) {
	p, err := Compile(Config{}, nil)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if r := p.For("acme"); r != nil {
		t.Errorf("For(acme) = %+v, want nil: no policy", r)
	}
	if got := p.SendPath(); got != DefaultSendPath {
		t.Errorf("SendPath() = %q, want %q", got, DefaultSendPath)
	}
	var nilPolicy *Policy
	if r := nilPolicy.For("acme"); r != nil {
		t.Errorf("nil Policy: For(acme) = %+v, want nil", r)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want []string // each a line of the error, in order
	}{
		{
			name: "unknown country and lower case",
			c:    Config{Default: &RulesConfig{Countries: []string{"GB", "XX", "gb", "GBR", ""}}},
			want: []string{
				`policy.default.countries[1]: "XX" is not an ISO 3166-1 alpha-2 region code known to the numbering plan`,
				`policy.default.countries[2]: "gb" is not an ISO 3166-1 alpha-2 region code known to the numbering plan (region codes are upper case: "GB")`,
				`policy.default.countries[3]: "GBR" is not an ISO 3166-1 alpha-2 region code known to the numbering plan`,
				`policy.default.countries[4]: "" is not an ISO 3166-1 alpha-2 region code known to the numbering plan`,
			},
		},
		{
			name: "non-geographical entity is no country",
			c:    Config{Tenants: map[string]RulesConfig{"acme": {Countries: []string{"001"}}}},
			want: []string{`policy.tenants.acme.countries[0]: "001" is not an ISO 3166-1 alpha-2 region code known to the numbering plan`},
		},
		{
			name: "bad mode",
			c:    Config{Default: &RulesConfig{Mode: "Enforce"}},
			want: []string{`policy.default.mode: "Enforce" is not a mode: use enforce or shadow`},
		},
		{
			name: "bad deny prefixes, values never quoted",
			c:    Config{Default: &RulesConfig{DenyPrefixes: []string{"882", "+", "+1234567890123456", "+44 7", "+882"}}},
			want: []string{
				`policy.default.deny_prefixes[0]: not an E.164 prefix: "+" and 1 to 15 digits`,
				`policy.default.deny_prefixes[1]: not an E.164 prefix: "+" and 1 to 15 digits`,
				`policy.default.deny_prefixes[2]: not an E.164 prefix: "+" and 1 to 15 digits`,
				`policy.default.deny_prefixes[3]: not an E.164 prefix: "+" and 1 to 15 digits`,
			},
		},
		{
			name: "max_recipients out of range",
			c: Config{Default: &RulesConfig{MaxRecipients: ptr(0)},
				Tenants: map[string]RulesConfig{"acme": {MaxRecipients: ptr(101)}}},
			want: []string{
				`policy.default.max_recipients: 0 is out of range: 1 to 100`,
				`policy.tenants.acme.max_recipients: 101 is out of range: 1 to 100`,
			},
		},
		{
			name: "rate and per_recipient",
			c: Config{Default: &RulesConfig{
				Rate:         &RateConfig{Recipients: 0, Per: 500 * time.Millisecond},
				PerRecipient: &PerRecipientConfig{Messages: -1},
			}},
			want: []string{
				`policy.default.rate.recipients: 0 is out of range: at least 1`,
				`policy.default.rate.per: 500ms is too short: at least 1s`,
				`policy.default.per_recipient.messages: -1 is out of range: at least 1`,
				`policy.default.per_recipient.per: 0s is too short: at least 1s`,
			},
		},
		{
			name: "daily_segments",
			c:    Config{Tenants: map[string]RulesConfig{"acme": {DailySegments: ptr[int64](0)}}},
			want: []string{`policy.tenants.acme.daily_segments: 0 is out of range: at least 1`},
		},
		{
			name: "undefined tenants, sorted",
			c:    Config{Tenants: map[string]RulesConfig{"zeta": {}, "acme": {}, "beta": {Mode: "x"}}},
			want: []string{
				`policy.tenants.beta: there is no tenant "beta" in tenants`,
				`policy.tenants.beta.mode: "x" is not a mode: use enforce or shadow`,
				`policy.tenants.zeta: there is no tenant "zeta" in tenants`,
			},
		},
		{
			name: "send_path outside the API",
			c:    Config{SendPath: "/sms/send"},
			want: []string{`policy.send_path: must be a path under /api/v1/, without a trailing /, e.g. /api/v1/sms/send`},
		},
		{
			name: "send_path with a trailing slash",
			c:    Config{SendPath: "/api/v1/sms/send/"},
			want: []string{`policy.send_path: must be a path under /api/v1/, without a trailing /, e.g. /api/v1/sms/send`},
		},
		{
			name: "send_path is the prefix",
			c:    Config{SendPath: "/api/v1/"},
			want: []string{`policy.send_path: must be a path under /api/v1/, without a trailing /, e.g. /api/v1/sms/send`},
		},
		{
			name: "send_path with a dot segment",
			c:    Config{SendPath: "/api/v1/../send"},
			want: []string{`policy.send_path: must not have empty or dot segments`},
		},
		{
			name: "send_path with an empty segment",
			c:    Config{SendPath: "/api/v1//send"},
			want: []string{`policy.send_path: must not have empty or dot segments`},
		},
		{
			name: "send_path with a query",
			c:    Config{SendPath: "/api/v1/sms/send?x=1"},
			want: []string{`policy.send_path: may hold only letters, digits and / - . _ ~`},
		},
		{
			name: "a default problem is reported once, not per tenant",
			c: Config{Default: &RulesConfig{Mode: "bogus"},
				Tenants: map[string]RulesConfig{"acme": {}, "other": {}}},
			want: []string{`policy.default.mode: "bogus" is not a mode: use enforce or shadow`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.c, definedTenants)
			if err == nil {
				t.Fatalf("Compile = %+v, nil; want errors %q", p, tt.want)
			}
			if p != nil {
				t.Errorf("Compile returned a policy with an error")
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestCompileGoodSendPaths(t *testing.T) {
	for _, path := range []string{"/api/v1/sms/send", "/api/v1/sms/send-v2", "/api/v1/x"} {
		t.Run(path, func(t *testing.T) {
			p, err := Compile(Config{SendPath: path}, nil)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if p.SendPath() != path {
				t.Errorf("SendPath() = %q, want %q", p.SendPath(), path)
			}
		})
	}
}

func TestAppliesTo(t *testing.T) {
	p, err := Compile(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		want         bool
	}{
		{"POST", "/api/v1/sms/send", true},
		{"post", "/api/v1/sms/send", true},
		{"POST", "/api/v1/sms/send/", true},
		{"POST", "/API/V1/SMS/SEND", true},
		{"POST", "/api/v1/sms/send.json", true},
		{"POST", "/api/v1/sms/SEND.XML/", true},
		{"POST", "/api/v1/sms/send.tar.gz", true},
		{"POST", "/api/v1/sms/send.", true},
		{"GET", "/api/v1/sms/send", false},
		{"GET", "/api/v1/sms/send.json", false},
		{"PUT", "/api/v1/sms/send", false},
		{"POST", "/api/v1/sms/sendx", false},
		{"POST", "/api/v1/sms/sendx.json", false},
		{"POST", "/api/v1/sms/x.send", false},
		{"POST", "/api/v1/sms/send/x", false},
		{"POST", "/api/v1/sms/send.json/x", false},
		{"POST", "/api/v1/sms", false},
		{"POST", "/api/v1/sms.json/send", false},
		{"POST", "/api/v2/sms/send.json", false},
		{"POST", "/", false},
		{"POST", "", false},
		// Canonical paths have no ;parameters: the path rule refuses them.
		{"POST", "/api/v1/sms/send;jsessionid=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			if got := p.AppliesTo(tt.method, tt.path); got != tt.want {
				t.Errorf("AppliesTo(%q, %q) = %v, want %v", tt.method, tt.path, got, tt.want)
			}
		})
	}

	// A send path whose last segment has a dot of its own.
	v2, err := Compile(Config{SendPath: "/api/v1/sms/send.v2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"/api/v1/sms/send.v2": true, "/api/v1/sms/send.v2.json": true, "/api/v1/sms/send": false, "/api/v1/sms/send.json": false,
	} {
		if got := v2.AppliesTo("POST", path); got != want {
			t.Errorf("with send_path /api/v1/sms/send.v2: AppliesTo(POST, %q) = %v, want %v", path, got, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		time.Second:                    "1s",
		90 * time.Second:               "1m30s",
		time.Minute:                    "1m",
		time.Hour:                      "1h",
		90 * time.Minute:               "1h30m",
		24 * time.Hour:                 "24h",
		time.Hour + time.Second:        "1h0m1s",
		1500 * time.Millisecond:        "1.5s",
		10*time.Minute + 0*time.Second: "10m",
	}
	for d, want := range tests {
		t.Run(want, func(t *testing.T) {
			if got := formatDuration(d); got != want {
				t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
			}
		})
	}
}

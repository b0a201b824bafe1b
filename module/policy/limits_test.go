package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/store"
)

// allLimits sets every dynamic limit.
var allLimits = RulesConfig{
	Rate:          &RateConfig{Recipients: 600, Per: time.Minute},
	DailySegments: ptr[int64](50000),
	PerRecipient:  &PerRecipientConfig{Messages: 5, Per: time.Hour},
}

func TestLimits(t *testing.T) {
	r := mustRules(t, allLimits)
	// A 2-segment message to 4 entries, 3 distinct numbers.
	body := sendBody(quoteAll([]string{gb, us, gb, net}), `"`+strings.Repeat("a", 161)+`"`, `"Acme"`)
	s, ref := parseSend([]byte(body), nil)
	if ref != nil {
		t.Fatal(ref)
	}
	limits := r.Limits("acme", s)

	gbKey := recipientKey("recipient/1h:", "acme", gb)
	want := []store.Limit{
		{Key: "rate/1m:acme", Cost: 4, Max: 600, Window: time.Minute},
		{Key: "segments/day:acme", Cost: 8, Max: 50000, Window: 0},
		{Key: gbKey, Cost: 2, Max: 5, Window: time.Hour},
		{Key: recipientKey("recipient/1h:", "acme", us), Cost: 1, Max: 5, Window: time.Hour},
		{Key: recipientKey("recipient/1h:", "acme", net), Cost: 1, Max: 5, Window: time.Hour},
	}
	if len(limits) != len(want) {
		t.Fatalf("Limits = %+v, want %+v", limits, want)
	}
	for i := range want {
		if limits[i] != want[i] {
			t.Errorf("limit %d = %+v, want %+v", i, limits[i], want[i])
		}
	}
	if !strings.HasPrefix(gbKey, "recipient/1h:acme:") || len(gbKey) != len("recipient/1h:acme:")+16 {
		t.Errorf("recipient key %q: want recipient/1h:acme: and 16 characters of hash", gbKey)
	}
	for _, l := range limits {
		assertNoNumber(t, "key", l.Key, gb, us, net)
	}
	seen := map[string]bool{}
	for _, l := range limits {
		if seen[l.Key] {
			t.Errorf("key %q appears twice", l.Key)
		}
		seen[l.Key] = true
	}
}

// TestLimitsCountTheE164Form: one number spelled with and without its
// trunk prefix is one recipient, within a send and across sends.
func TestLimitsCountTheE164Form(t *testing.T) {
	r := mustRules(t, RulesConfig{PerRecipient: &PerRecipientConfig{Messages: 5, Per: time.Hour}})
	const kept, canonical = "+4407400123402", "+447400123402"
	limits := r.Limits("acme", mustSend(t, kept, canonical, us))
	key := recipientKey("recipient/1h:", "acme", canonical)
	if len(limits) != 2 || limits[0].Key != key || limits[0].Cost != 2 {
		t.Fatalf("Limits = %+v, want one limit at cost 2, then another", limits)
	}
	for _, number := range []string{kept, canonical} {
		if got := r.Limits("acme", mustSend(t, number)); len(got) != 1 || got[0].Key != key {
			t.Errorf("a send to %s… is counted under %+v, want %q", number[:6], got, key)
		}
	}
}

func TestLimitsSelection(t *testing.T) {
	s := mustSend(t, gb, ie)
	tests := []struct {
		name  string
		rules RulesConfig
		keys  []string // key prefixes, in order
	}{
		{"none", RulesConfig{Countries: []string{"GB"}}, nil},
		{"rate only", RulesConfig{Rate: &RateConfig{Recipients: 1, Per: 90 * time.Second}}, []string{"rate/1m30s:t"}},
		{"daily only", RulesConfig{DailySegments: ptr[int64](1)}, []string{"segments/day:t"}},
		{"per_recipient only", RulesConfig{PerRecipient: &PerRecipientConfig{Messages: 1, Per: time.Second}}, []string{"recipient/1s:t:", "recipient/1s:t:"}},
		{"rate and per_recipient", RulesConfig{
			PerRecipient: &PerRecipientConfig{Messages: 1, Per: time.Second},
			Rate:         &RateConfig{Recipients: 1, Per: time.Second},
		}, []string{"rate/1s:t", "recipient/1s:t:", "recipient/1s:t:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limits := mustRules(t, tt.rules).Limits("t", s)
			if len(limits) != len(tt.keys) {
				t.Fatalf("Limits = %+v, want keys %q", limits, tt.keys)
			}
			if tt.keys == nil && limits != nil {
				t.Errorf("Limits = %#v, want nil", limits)
			}
			for i, prefix := range tt.keys {
				if !strings.HasPrefix(limits[i].Key, prefix) {
					t.Errorf("key %d = %q, want prefix %q", i, limits[i].Key, prefix)
				}
			}
		})
	}
}

// TestLimitsLongList checks the indexed path for long recipient lists
// (more than 8) against the searched one.
func TestLimitsLongList(t *testing.T) {
	r := mustRules(t, RulesConfig{PerRecipient: &PerRecipientConfig{Messages: 5, Per: time.Hour}})
	numbers := []string{gb, us, gb, ie, fr, do, ca, je, gg, net, gb, sat, us}
	limits := r.Limits("acme", mustSend(t, numbers...))
	want := map[string]int64{gb: 3, us: 2, ie: 1, fr: 1, do: 1, ca: 1, je: 1, gg: 1, net: 1, sat: 1}
	order := []string{gb, us, ie, fr, do, ca, je, gg, net, sat}
	if len(limits) != len(order) {
		t.Fatalf("%d limits, want %d", len(limits), len(order))
	}
	for i, n := range order {
		if key := recipientKey("recipient/1h:", "acme", n); limits[i].Key != key || limits[i].Cost != want[n] {
			t.Errorf("limit %d = %+v, want key %q cost %d", i, limits[i], key, want[n])
		}
	}
}

func TestRecipientKey(t *testing.T) {
	a := recipientKey("recipient/1h:", "acme", gb)
	tests := []struct {
		name string
		key  string
		same bool
	}{
		{"same inputs", recipientKey("recipient/1h:", "acme", gb), true},
		{"another number", recipientKey("recipient/1h:", "acme", "+447924123457"), false},
		{"another tenant", recipientKey("recipient/1h:", "acme2", gb), false},
		{"another window", recipientKey("recipient/1m:", "acme", gb), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.key == a) != tt.same {
				t.Errorf("key %q vs %q: same = %v, want %v", tt.key, a, tt.key == a, tt.same)
			}
		})
	}
	// Fleet-wide stable: the salt and the hash are fixed. Changing either
	// resets every per_recipient count in running fleets.
	if want := "recipient/1h:acme:" + "7AYyChy1oNX4scqy"; a != want {
		t.Errorf("recipientKey = %q, want the stable %q", a, want)
	}
}

func TestLimitRefusal(t *testing.T) {
	r := mustRules(t, allLimits)
	s := mustSend(t, gb, us, gb)
	limits := r.Limits("acme", s)
	tests := []struct {
		name        string
		index       int
		current     int64
		retryAfter  time.Duration
		code, rule  string
		wantRetry   time.Duration
		description string
	}{
		{
			name: "rate", index: 0, current: 598, retryAfter: 2300 * time.Millisecond,
			code: CodeSendRateLimited, rule: RuleRate, wantRetry: 3 * time.Second,
			description: "send rate limit reached: this tenant may send to 600 recipients per 1m; 598 counted in the current window, and this send has 3; retry in 3s",
		},
		{
			name: "daily segments", index: 1, current: 49999, retryAfter: 5 * time.Hour,
			code: CodeDailySegmentCap, rule: RuleDailySegments, wantRetry: 5 * time.Hour,
			description: "daily segment cap reached: this tenant may send 50000 segments per UTC day; 49999 sent today, and this send needs 3; retry in 5h",
		},
		{
			name: "per recipient, a repeated number", index: 2, current: 4, retryAfter: time.Nanosecond,
			code: CodeRecipientFlood, rule: RulePerRecipient, wantRetry: time.Second,
			description: "recipient flood limit reached: this tenant may send 5 messages per 1h to one number; a number of this send has had 4, and this send adds 2; retry in 1s",
		},
		{
			name: "per recipient, retry after zero", index: 3, current: 5, retryAfter: 0,
			code: CodeRecipientFlood, rule: RulePerRecipient, wantRetry: time.Second,
			description: "recipient flood limit reached: this tenant may send 5 messages per 1h to one number; a number of this send has had 5, and this send adds 1; retry in 1s",
		},
		{
			name: "whole seconds stay", index: 0, current: 600, retryAfter: 61 * time.Second,
			code: CodeSendRateLimited, rule: RuleRate, wantRetry: 61 * time.Second,
			description: "send rate limit reached: this tenant may send to 600 recipients per 1m; 600 counted in the current window, and this send has 3; retry in 1m1s",
		},
		{
			name: "index out of range", index: 9, current: 1, retryAfter: -time.Second,
			code: CodeSendRateLimited, rule: RuleRate, wantRetry: time.Second,
			description: "send rate limit reached: this tenant may send to 0 recipients per 0s; 1 counted in the current window, and this send has 0; retry in 1s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := r.LimitRefusal(limits, tt.index, tt.current, tt.retryAfter)
			if ref.Status != 429 || ref.Code != tt.code || ref.Rule != tt.rule || ref.RetryAfter != tt.wantRetry {
				t.Errorf("LimitRefusal = %d %s (rule %q, retry %v), want 429 %s (rule %q, retry %v)",
					ref.Status, ref.Code, ref.Rule, ref.RetryAfter, tt.code, tt.rule, tt.wantRetry)
			}
			if ref.Description != tt.description {
				t.Errorf("description:\n%s\nwant:\n%s", ref.Description, tt.description)
			}
			assertNoNumber(t, "description", ref.Description, gb, us)
		})
	}
}

func TestRoundRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want time.Duration
	}{
		{"negative", -time.Hour, time.Second},
		{"zero", 0, time.Second},
		{"a nanosecond", time.Nanosecond, time.Second},
		{"one second", time.Second, time.Second},
		{"just over", time.Second + time.Nanosecond, 2 * time.Second},
		{"a day", 24 * time.Hour, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roundRetryAfter(tt.in); got != tt.want {
				t.Errorf("roundRetryAfter(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestQuotas: the tenant-wide limits, with the keys Limits charges.
func TestQuotas(t *testing.T) {
	r := mustRules(t, allLimits)
	send, refusal := parseSend([]byte(sendBody(quoteAll([]string{gb}), `"hi"`, `"Acme"`)), nil)
	if refusal != nil {
		t.Fatal(refusal)
	}
	charged := r.Limits("acme", send)
	q := r.Quotas("acme")
	if len(q) != 2 || q[0].Rule != RuleRate || q[1].Rule != RuleDailySegments ||
		q[0].Limit.Key != charged[0].Key || q[1].Limit.Key != charged[1].Key || q[0].Limit.Cost != 0 || q[1].Limit.Max != 50000 {
		t.Errorf("quotas %+v, charged %+v", q, charged)
	}
}

package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// The senders and links fixture: acme enforces both rules, shadow has the
// same rules in shadow mode, and nolinks allows no link at all.
const (
	linksKey  = "sk_prod_LINKSlinksLINKSlinks10"
	linksYAML = `
upstream:
  url: {{upstream}}
  timeout: 1s
workspaces:
  main:
    id: 16
    main: true
    keys: [{file: {{dir}}/links.key}]
tenants:
  acme: main
  shadow: main
  nolinks: main
policy:
  tenants:
    acme:
      senders: [MyApp, "+447700900123"]
      links: {allow: [example.com, "*.example.org"]}
    shadow:
      mode: shadow
      senders: [MyApp, "+447700900123"]
      links: {allow: [example.com, "*.example.org"]}
    nolinks:
      links: {allow: []}
`
)

// startLinksBox runs the sidecar with the senders and links fixture in
// front of a fake restlink.
func startLinksBox(t *testing.T) (*blackBox, *restlinktest.Server) {
	t.Helper()
	fake := restlinktest.NewServer(restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{linksKey}})
	t.Cleanup(fake.Close)
	bb := startBlackBoxWith(t, linksYAML, boxOptions{upstream: fake.URL, files: map[string]string{"links.key": linksKey}})
	return bb, fake
}

// sendAs is a send from sender with message to one GB number.
func sendAs(sender, message string) string {
	body, _ := json.Marshal(map[string]any{"to": []string{linksRecipient}, "message": message, "sender_id": sender})
	return string(body)
}

const (
	linksRecipient = "+447400123456"
	otherSender    = "+447700900124" // a number not among the senders
	// marker is in every message: a log that holds it holds a message.
	marker = "Zebra42"
)

// TestSendersAndLinksBlackBox: the senders and links rules refuse, in
// enforce mode, every case of the issue (evasions included) with their
// codes, naming the domain and never the text; allowed senders and links
// pass; in shadow mode the same sends are forwarded, logged and counted;
// and no message text or phone number reaches the log.
func TestSendersAndLinksBlackBox(t *testing.T) {
	bb, fake := startLinksBox(t)
	const notSender, notLink = "SENDER_NOT_ALLOWED", "LINK_NOT_ALLOWED"
	refused := []struct {
		name, sender, message, code string
		names                       string // what the description must name; "" for nothing in particular
	}{
		{"alphanumeric sender not listed", "OtherApp", "hi " + marker, notSender, `\"OtherApp\"`},
		{"sender in another case", "MYAPP", "hi " + marker, notSender, `\"MYAPP\"`},
		{"numeric sender not listed", otherSender, "hi " + marker, notSender, ""},
		{"scheme-less link with a path", "MyApp", marker + " see evil.com/x", notLink, "evil.com"},
		{"scheme-less pseudo-domain", "MyApp", marker + " see evil.example/x", notLink, "evil.example"},
		{"upper case", "MyApp", marker + " HTTPS://EVIL.COM/A", notLink, "evil.com"},
		{"trailing punctuation", "MyApp", marker + " go to (evil.com).", notLink, "evil.com"},
		{"IDN", "MyApp", marker + " exämple.com", notLink, "xn--exmple-cua.com"},
		{"punycode", "MyApp", marker + " https://xn--exmple-cua.com/x", notLink, "xn--exmple-cua.com"},
		{"a Cyrillic а", "MyApp", marker + " https://exаmple.com/", notLink, "xn--exmple-4nf.com"},
		{"full-width letters and full stop", "MyApp", marker + " ｅｖｉｌ。com", notLink, "evil.com"},
		{"user info before the host", "MyApp", marker + " https://example.com@evil.com/login", notLink, "evil.com"},
		{"user@host", "MyApp", marker + " write to help@evil.com", notLink, "evil.com"},
		{"www.", "MyApp", marker + " www.evil.zzz", notLink, "www.evil.zzz"},
		{"the wildcard's apex", "MyApp", marker + " https://example.org/", notLink, "example.org"},
		{"IPv4 with a port and a path", "MyApp", marker + " http://93.184.215.14:8080/x", notLink, "IP address"},
		{"IPv6", "MyApp", marker + " http://[2001:db8::1]/x", notLink, "IP address"},
		{"an allowed and a disallowed link", "MyApp", marker + " https://example.com/a and https://evil.net/b", notLink, "evil.net"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			fake.Reset()
			a := bb.post("/api/v1/sms/send", sendAs(tc.sender, tc.message), "X-Tenant: acme")
			if a.status != 403 || a.header.Get("X-Restlink-Sidecar-Error") != tc.code || !strings.Contains(a.body, `"error_code":"`+tc.code+`"`) {
				t.Errorf("enforce: %d %s %s", a.status, a.header.Get("X-Restlink-Sidecar-Error"), a.body)
			}
			if !strings.Contains(a.body, tc.names) {
				t.Errorf("the description does not name %s: %s", tc.names, a.body)
			}
			if strings.Contains(a.body, marker) || strings.Contains(a.body, "447700900124") {
				t.Errorf("the description quotes the message or the sender's number: %s", a.body)
			}
			if sendsReceived(fake) != 0 {
				t.Error("a refused send reached restlink")
			}
			shadow := bb.post("/api/v1/sms/send", sendAs(tc.sender, tc.message), "X-Tenant: shadow")
			if shadow.status != 200 || shadow.header.Get("X-Restlink-Sidecar-Error") != "" || sendsReceived(fake) != 1 {
				t.Errorf("shadow: %d %s, %d sends reached restlink", shadow.status, shadow.body, sendsReceived(fake))
			}
		})
	}

	for _, tc := range []struct{ tenant, sender, message string }{
		{"acme", "MyApp", marker + " track it at https://example.com/t/AbC123?next=evil.com"},
		{"acme", "MyApp", marker + " EXAMPLE.COM/help, or shop.example.org."},
		{"acme", "MyApp", marker + " mail info@example.com"},
		{"acme", "+447700900123", marker + " no link. Costs £12.50 at 10:30."},
		{"acme", "+4407700900123", marker + " the allowed number with its trunk 0"},
		{"nolinks", "AnyApp", marker + " no link at all."},
	} {
		fake.Reset()
		if a := bb.post("/api/v1/sms/send", sendAs(tc.sender, tc.message), "X-Tenant: "+tc.tenant); a.status != 200 || sendsReceived(fake) != 1 {
			t.Errorf("%s, %q: %d %s", tc.tenant, tc.message, a.status, a.body)
		}
	}
	if a := bb.post("/api/v1/sms/send", sendAs("AnyApp", marker+" https://example.com"), "X-Tenant: nolinks"); a.status != 403 || a.header.Get("X-Restlink-Sidecar-Error") != notLink {
		t.Errorf("links: {allow: []} and a link: %d %s", a.status, a.body)
	}

	senders, links := 0, 0
	for _, tc := range refused {
		if tc.code == notSender {
			senders++
		} else {
			links++
		}
	}
	for series, want := range map[string]int{
		`restlink_policy_decisions_total{outcome="refused",rule="senders",tenant="acme"}`:        senders,
		`restlink_policy_decisions_total{outcome="refused",rule="links",tenant="acme"}`:          links,
		`restlink_policy_decisions_total{outcome="would_refuse",rule="senders",tenant="shadow"}`: senders,
		`restlink_policy_decisions_total{outcome="would_refuse",rule="links",tenant="shadow"}`:   links,
		`restlink_policy_decisions_total{outcome="refused",rule="links",tenant="nolinks"}`:       1,
	} {
		if got := bb.metric(series); got != strconv.Itoa(want) {
			t.Errorf("%s = %q, want %d", series, got, want)
		}
	}

	logs := bb.logs()
	if !strings.Contains(logs, "send would be refused by policy (shadow mode: forwarded)") || !strings.Contains(logs, `"rule":"links"`) {
		t.Error("the log has no shadow-mode link refusal")
	}
	for _, secret := range []string{marker, "447700900124", "7700900124", "447400123456", "7400123456", "AbC123"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q: a message text or a phone number", secret)
		}
	}
}

package restlinktest

import (
	"strings"
	"testing"
)

// TestPermissions: each endpoint needs its permission, "*" and an empty
// list grant all, and a key with other permissions gets 403 FORBIDDEN.
func TestPermissions(t *testing.T) {
	endpoints := []struct {
		method, path, body, permission string
	}{
		{"POST", "/api/v1/sms/send", smsBody, "sms.send"},
		{"GET", "/api/v1/sms/messages", "", "sms.read"},
		{"GET", "/api/v1/sms/stats", "", "sms.read"},
		{"GET", "/api/v1/sms/status/api_42_1_0000000000000000", "", "sms.read"},
		{"GET", "/api/v1/user/balance", "", "balance.read"},
		{"GET", "/api/v1/user/pricing", "", "pricing.read"},
		{"POST", "/api/v1/user/pricing", "{}", "pricing.read"},
		{"GET", "/api/v1/user/pricing/7", "", "pricing.read"},
		{"GET", "/api/v1/user/payments", "", "payments.read"},
		{"GET", "/api/v1/user/webhooks", "", "webhooks.read"},
		{"GET", "/api/v1/user/webhooks/logs", "", "webhooks.read"},
		{"PUT", "/api/v1/user/webhooks", `{"unique_clicks_only":true}`, "webhooks.write"},
		{"POST", "/api/v1/user/webhooks/test", "", "webhooks.write"},
	}
	perms := []string{"sms.send", "sms.read", "balance.read", "pricing.read", "payments.read", "webhooks.read", "webhooks.write"}
	var keys []Key
	for _, p := range perms {
		keys = append(keys, Key{Value: "sk_prod_only_" + p, Permissions: []string{p}})
	}
	keys = append(keys,
		Key{Value: "sk_prod_star", Permissions: []string{"*"}},
		Key{Value: "sk_prod_default"},
		Key{Value: "sk_prod_none", Permissions: []string{"none"}},
		Key{Value: "sk_prod_bundle", Permissions: []string{"sms.send", "sms.read"}},
	)
	s := NewServer(Workspace{ID: 16, APIKeys: keys})
	defer s.Close()

	for _, ep := range endpoints {
		for _, k := range keys {
			t.Run(ep.method+" "+ep.path+" with "+k.Value, func(t *testing.T) {
				granted := len(k.Permissions) == 0 || k.Permissions[0] == "*" || strings.Contains(strings.Join(k.Permissions, ","), ep.permission)
				a := do(t, s, ep.method, ep.path, ep.body, "X-API-Key: "+k.Value)
				if a.err != nil {
					t.Fatal(a.err)
				}
				switch {
				case !granted && (a.status != 403 || a.code() != "FORBIDDEN"):
					t.Errorf("got %d %s, want 403 FORBIDDEN", a.status, a.body)
				case granted && a.status == 403:
					t.Errorf("got %d %s, want the endpoint's answer", a.status, a.body)
				}
			})
		}
	}
}

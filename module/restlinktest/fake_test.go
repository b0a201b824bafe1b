package restlinktest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// recipients returns n distinct valid numbers as a JSON list.
func recipients(n int) string {
	list := make([]string, n)
	for i := range list {
		list[i] = fmt.Sprintf("%q", fmt.Sprintf("+4420%08d", i))
	}
	return "[" + strings.Join(list, ",") + "]"
}

// TestErrorCodes holds every error restlink documents for API-key
// requests, each with the request that provokes it, and the successes
// next to each boundary.
func TestErrorCodes(t *testing.T) {
	clock := newClock()
	s := NewServer(append(fixture(), Workspace{ID: 20, Name: "options", APIKeys: []Key{
		{Value: "sk_prod_disabled", Disabled: true},
		{Value: "sk_prod_expired", ExpiresAt: clock.Now().Add(-time.Second)},
		{Value: "sk_prod_expires_now", ExpiresAt: clock.Now()},
		{Value: "sk_prod_expires_later", ExpiresAt: clock.Now().Add(time.Hour)},
		{Value: "sk_prod_private_net", AllowedIPs: []string{"10.0.0.0/8", "::1"}},
		{Value: "sk_prod_loopback_ip", AllowedIPs: []string{"127.0.0.1"}},
		{Value: "sk_prod_loopback_net", AllowedIPs: []string{"192.168.0.0/16", "127.0.0.0/8"}},
		{Value: "sk_prod_read_only", Permissions: []string{"sms.read"}},
	}})...)
	s.SetOptions(Options{Now: clock.Now})
	defer s.Close()

	const send = "/api/v1/sms/send"
	sms := func(to, message, sender string) string {
		return fmt.Sprintf(`{"to":%s,"message":%s,"sender_id":%s}`, to, message, sender)
	}
	for _, tc := range []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		code                     string
	}{
		// Authentication.
		{"no credentials", "POST", send, smsBody, nil, 401, "UNAUTHORIZED"},
		{"empty key", "POST", send, smsBody, []string{"X-API-Key:"}, 401, "UNAUTHORIZED"},
		{"bearer token only", "POST", send, smsBody, []string{"Authorization: Bearer some.jwt.token"}, 401, "INVALID_TOKEN"},
		{"unknown key", "POST", send, smsBody, []string{"X-API-Key: sk_prod_nobody"}, 401, "INVALID_API_KEY"},
		{"disabled key", "POST", send, smsBody, []string{"X-API-Key: sk_prod_disabled"}, 401, "API_KEY_INACTIVE"},
		{"expired key", "POST", send, smsBody, []string{"X-API-Key: sk_prod_expired"}, 401, "API_KEY_EXPIRED"},
		{"key expiring this instant", "POST", send, smsBody, []string{"X-API-Key: sk_prod_expires_now"}, 401, "API_KEY_EXPIRED"},
		{"key expiring later", "POST", send, smsBody, []string{"X-API-Key: sk_prod_expires_later"}, 200, ""},
		{"client IP not allowed", "POST", send, smsBody, []string{"X-API-Key: sk_prod_private_net"}, 401, "IP_NOT_ALLOWED"},
		{"client IP allowed by address", "POST", send, smsBody, []string{"X-API-Key: sk_prod_loopback_ip"}, 200, ""},
		{"client IP allowed by prefix", "POST", send, smsBody, []string{"X-API-Key: sk_prod_loopback_net"}, 200, ""},
		{"signing key without signature", "POST", send, smsBody, []string{"X-API-Key: " + keySigned}, 401, "SIGNATURE_REQUIRED"},
		{"signing key with a wrong signature", "POST", send, smsBody, []string{"X-API-Key: " + keySigned, "X-Timestamp: 1770977700", "X-Signature: 00"}, 401, "INVALID_SIGNATURE"},
		{"missing permission", "POST", send, smsBody, []string{"X-API-Key: sk_prod_read_only"}, 403, "FORBIDDEN"},
		{"JWT-only workspaces list", "GET", "/api/v1/user/workspaces", "", []string{"X-API-Key: " + keyMain}, 401, "UNAUTHORIZED"},
		{"JWT-only profile", "GET", "/api/v1/user/profile", "", []string{"X-API-Key: " + keyMain}, 401, "UNAUTHORIZED"},
		// Routing.
		{"unknown path", "GET", "/api/v1/nothing", "", []string{"X-API-Key: " + keyMain}, 404, "NOT_FOUND"},
		{"unknown method", "GET", send, "", []string{"X-API-Key: " + keyMain}, 404, "NOT_FOUND"},
		{"outside the API", "GET", "/sms/send", "", []string{"X-API-Key: " + keyMain}, 404, "NOT_FOUND"},
		{"old message path", "GET", "/api/v1/sms/msg_1", "", []string{"X-API-Key: " + keyMain}, 404, "NOT_FOUND"},
		{"unknown message", "GET", "/api/v1/sms/status/api_42_1_0000000000000000", "", []string{"X-API-Key: " + keyMain}, 404, "NOT_FOUND"},
		{"unknown path before credentials", "GET", "/api/v1/nothing", "", nil, 401, "UNAUTHORIZED"},
		{"bad page", "GET", "/api/v1/sms/messages?page=0", "", []string{"X-API-Key: " + keyMain}, 400, "INVALID_PARAMS"},
		{"bad limit", "GET", "/api/v1/sms/messages?limit=ten", "", []string{"X-API-Key: " + keyMain}, 400, "INVALID_PARAMS"},
		// Send validation, in restlink's order: body, to, count, message, sender.
		{"body not JSON", "POST", send, "hello", []string{"X-API-Key: " + keyMain}, 400, "INVALID_BODY"},
		{"empty body", "POST", send, "", []string{"X-API-Key: " + keyMain}, 400, "INVALID_BODY"},
		{"body null", "POST", send, "null", []string{"X-API-Key: " + keyMain}, 400, "INVALID_BODY"},
		{"body a list", "POST", send, "[]", []string{"X-API-Key: " + keyMain}, 400, "INVALID_BODY"},
		{"to a string", "POST", send, sms(`"+14155551234"`, `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_BODY"},
		{"trailing data", "POST", send, smsBody + "{}", []string{"X-API-Key: " + keyMain}, 400, "INVALID_BODY"},
		{"to missing", "POST", send, `{"message":"hi","sender_id":"MyApp"}`, []string{"X-API-Key: " + keyMain}, 400, "INVALID_TO"},
		{"to empty", "POST", send, sms(`[]`, `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_TO"},
		{"number without plus", "POST", send, sms(`["14155551234"]`, `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_TO"},
		{"number of 7 digits", "POST", send, sms(`["+1234567"]`, `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_TO"},
		{"number of 8 digits", "POST", send, sms(`["+12345678"]`, `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 200, ""},
		{"number of 15 digits", "POST", send, sms(`["+123456789012345"]`, `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 200, ""},
		{"number of 16 digits", "POST", send, sms(`["+1234567890123456"]`, `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_TO"},
		{"number starting with 0", "POST", send, sms(`["+04155551234"]`, `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_TO"},
		{"number with a space", "POST", send, sms(`["+1 4155551234"]`, `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_TO"},
		{"one bad number among good", "POST", send, sms(`["+14155551234","+1"]`, `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_TO"},
		{"100 recipients", "POST", send, sms(recipients(100), `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 200, ""},
		{"101 recipients", "POST", send, sms(recipients(101), `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "TOO_MANY_RECIPIENTS"},
		{"message missing", "POST", send, `{"to":["+14155551234"],"sender_id":"MyApp"}`, []string{"X-API-Key: " + keyMain}, 400, "INVALID_MESSAGE"},
		{"message empty", "POST", send, sms(`["+14155551234"]`, `""`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_MESSAGE"},
		{"sender missing", "POST", send, `{"to":["+14155551234"],"message":"hi"}`, []string{"X-API-Key: " + keyMain}, 400, "INVALID_SENDER"},
		{"sender of 2", "POST", send, sms(`["+14155551234"]`, `"hi"`, `"My"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_SENDER"},
		{"sender of 3", "POST", send, sms(`["+14155551234"]`, `"hi"`, `"Abc"`), []string{"X-API-Key: " + keyMain}, 200, ""},
		{"sender of 11", "POST", send, sms(`["+14155551234"]`, `"hi"`, `"Abcdefghij1"`), []string{"X-API-Key: " + keyMain}, 200, ""},
		{"sender of 12", "POST", send, sms(`["+14155551234"]`, `"hi"`, `"Abcdefghij12"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_SENDER"},
		{"sender starting with a digit", "POST", send, sms(`["+14155551234"]`, `"hi"`, `"1App"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_SENDER"},
		{"sender with a dash", "POST", send, sms(`["+14155551234"]`, `"hi"`, `"My-App"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_SENDER"},
		{"sender with a non-ASCII letter", "POST", send, sms(`["+14155551234"]`, `"hi"`, `"Café"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_SENDER"},
		{"sender a phone number", "POST", send, sms(`["+14155551234"]`, `"hi"`, `"+447700900123"`), []string{"X-API-Key: " + keyMain}, 200, ""},
		{"unknown fields are ignored", "POST", send, `{"to":["+14155551234"],"message":"hi","sender_id":"MyApp","x":1}`, []string{"X-API-Key: " + keyMain}, 200, ""},
		{"order: bad number before count", "POST", send, sms(strings.Replace(recipients(101), "+", "", 1), `"hi"`, `"MyApp"`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_TO"},
		{"order: count before message", "POST", send, sms(recipients(101), `""`, `""`), []string{"X-API-Key: " + keyMain}, 400, "TOO_MANY_RECIPIENTS"},
		{"order: message before sender", "POST", send, sms(`["+14155551234"]`, `""`, `""`), []string{"X-API-Key: " + keyMain}, 400, "INVALID_MESSAGE"},
		{"order: credentials before validation", "POST", send, "hello", []string{"X-API-Key: sk_prod_nobody"}, 401, "INVALID_API_KEY"},
		{"order: permission before validation", "POST", send, "hello", []string{"X-API-Key: sk_prod_read_only"}, 403, "FORBIDDEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Reset()
			a := do(t, s, tc.method, tc.path, tc.body, tc.headers...)
			wantAnswer(t, a, tc.status, tc.code)
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var shape map[string]any
			a.decode(t, &shape)
			if tc.code != "" && (shape["status"] != false || shape["description"] == "" || len(shape) != 3) {
				t.Errorf("error body %s, want exactly status false, error_code and description", a.body)
			}
			reqs := s.Requests()
			if len(reqs) != 1 || reqs[0].Status != tc.status || reqs[0].ErrorCode != tc.code {
				t.Errorf("recorded %+v, want one request answered %d %q", reqs, tc.status, tc.code)
			}
		})
	}
}

// TestKeyLifecycle: revoking, expiring and re-adding keys, as a rotation
// does.
func TestKeyLifecycle(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	wantAnswer(t, send(t, s, keyTest, smsBody), 200, "")

	s.RevokeKey(keyTest)
	wantAnswer(t, send(t, s, keyTest, smsBody), 401, "API_KEY_INACTIVE")
	s.AddKey(keyTest, 18)
	wantAnswer(t, send(t, s, keyTest, smsBody), 200, "")

	s.ExpireKey(keyTest)
	wantAnswer(t, send(t, s, keyTest, smsBody), 401, "API_KEY_EXPIRED")
	s.AddAPIKey(18, Key{Value: keyTest, ExpiresAt: clock.Now().Add(time.Minute)})
	wantAnswer(t, send(t, s, keyTest, smsBody), 200, "")
	clock.Add(time.Minute)
	wantAnswer(t, send(t, s, keyTest, smsBody), 401, "API_KEY_EXPIRED")

	// A key for a workspace New was not given serves an empty one.
	s.AddKey("sk_prod_new", 99)
	a := send(t, s, "sk_prod_new", smsBody)
	wantAnswer(t, a, 200, "")
	if reqs := s.Requests(); reqs[len(reqs)-1].WorkspaceID != 99 {
		t.Errorf("recorded workspace %d, want 99", reqs[len(reqs)-1].WorkspaceID)
	}
	s.RevokeKey("sk_prod_never_added") // ignored
}

// TestKeyOptionsAreNotPrinted: a key or webhook settings printed in a test
// failure show neither the secret nor the whole key.
func TestKeyOptionsAreNotPrinted(t *testing.T) {
	k := Key{Value: "sk_prod_ABCDEFGHIJKLMNOP", Secret: "hmac-secret-value"}
	w := WebhookSettings{DeliveryURL: "https://example.com/h", SigningSecret: "webhook-secret-value"}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), fmt.Sprint(w), fmt.Sprintf("%#v", w),
		fmt.Sprintf("%v", Workspace{APIKeys: []Key{k}, Webhooks: w})} {
		if strings.Contains(s, "secret-value") || strings.Contains(s, "hmac-secret") || strings.Contains(s, "ABCDEFGHIJKLMNOP") {
			t.Errorf("printed %s", s)
		}
	}
}

// TestAllowedIPsMustParse: a bad allow-list entry is a setup error.
func TestAllowedIPsMustParse(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "not-an-ip") {
			t.Errorf("recovered %v, want a panic naming the entry", r)
		}
	}()
	New(Workspace{ID: 1, APIKeys: []Key{{Value: "k", AllowedIPs: []string{"not-an-ip"}}}})
}

// TestErrorBodyShape pins restlink's error body field names.
func TestErrorBodyShape(t *testing.T) {
	b, err := json.Marshal(ErrorBody{ErrorCode: "X", Description: "y"})
	if err != nil || string(b) != `{"status":false,"error_code":"X","description":"y"}` {
		t.Errorf("got %s %v", b, err)
	}
}

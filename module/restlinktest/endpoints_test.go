package restlinktest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMessageStatus: a workspace sees its own messages only, with the
// documented fields.
func TestMessageStatus(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	var resp SendResponse
	send(t, s, keyMain, sendBody("hello", "+14155551234")).decode(t, &resp)
	id := resp.Messages[0].MessageID

	a := do(t, s, "GET", "/api/v1/sms/status/"+id, "", "X-API-Key: "+keyMain)
	wantAnswer(t, a, 200, "")
	var got struct {
		Status  bool          `json:"status"`
		Message MessageStatus `json:"message"`
	}
	a.decode(t, &got)
	m := got.Message
	if !got.Status || m.MessageID != id || m.Recipient != "+14155551234" || m.Message != "hello" || m.SenderID != "MyApp" ||
		m.Segments != 1 || m.Cost != DefaultPricePerSegment || m.Status != "sent" || m.CreatedAt != "2026-02-13T10:15:00Z" ||
		m.DeliveredAt != nil || !strings.HasPrefix(m.TelecomMessageID, "tm_") {
		t.Errorf("status %s", a.body)
	}
	if !strings.Contains(string(a.body), `"delivered_at":null`) {
		t.Errorf("delivered_at missing or not null: %s", a.body)
	}
	for _, key := range []string{keyTest, keyOther} {
		wantAnswer(t, do(t, s, "GET", "/api/v1/sms/status/"+id, "", "X-API-Key: "+key), 404, "NOT_FOUND")
	}
}

// TestMessageList: newest first, paged, at most 100 a page.
func TestMessageList(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	var ids []string
	for i := range 130 {
		clock.Add(time.Second)
		var resp SendResponse
		send(t, s, keyMain, sendBody(fmt.Sprint("message ", i), "+14155551234")).decode(t, &resp)
		ids = append(ids, resp.Messages[0].MessageID)
	}
	send(t, s, keyTest, sendBody("another workspace", "+14155551234"))

	for _, tc := range []struct {
		query                 string
		page, limit, n, pages int
		firstIndex            int // index in ids of the first message listed
	}{
		{"", 1, 25, 25, 6, 129},
		{"?page=2&limit=50", 2, 50, 50, 3, 79},
		{"?page=3&limit=50", 3, 50, 30, 3, 29},
		{"?page=4&limit=50", 4, 50, 0, 3, -1},
		{"?limit=500", 1, 100, 100, 2, 129},
		{"?limit=100&page=2&status=delivered&period=30d", 2, 100, 30, 2, 29},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var list MessageList
			a := do(t, s, "GET", "/api/v1/sms/messages"+tc.query, "", "X-API-Key: "+keyMain)
			a.decode(t, &list)
			if !list.Status || list.Total != 130 || list.Page != tc.page || list.Limit != tc.limit || list.TotalPages != tc.pages || len(list.Messages) != tc.n {
				t.Fatalf("got total %d page %d limit %d pages %d with %d messages", list.Total, list.Page, list.Limit, list.TotalPages, len(list.Messages))
			}
			if tc.n > 0 {
				first := list.Messages[0]
				if first.ClientMessageID != ids[tc.firstIndex] || first.Message != fmt.Sprint("message ", tc.firstIndex) || first.ID != int64(tc.firstIndex+1) {
					t.Errorf("first listed %+v, want message %d", first, tc.firstIndex)
				}
			}
			if tc.n == 0 && !strings.Contains(string(a.body), `"messages":[]`) {
				t.Errorf("empty page %s, want an empty list", a.body)
			}
		})
	}
}

// TestStats: totals of the workspace's messages.
func TestStats(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	a := do(t, s, "GET", "/api/v1/sms/stats?period=today", "", "X-API-Key: "+keyMain)
	wantAnswer(t, a, 200, "")
	for _, field := range []string{"total_sent", "sent", "delivered", "undelivered", "pending", "expired", "not_billed", "failed",
		"click_count", "unique_click_count", "action_count", "sent_rate", "delivery_rate", "total_cost", "avg_cost_per_msg", "currency"} {
		if !strings.Contains(string(a.body), `"`+field+`":`) {
			t.Errorf("stats lack %s: %s", field, a.body)
		}
	}
	send(t, s, keyMain, sendBody(strings.Repeat("a", 161), "+14155551234", "+14155551235"))
	var got struct {
		Status bool              `json:"status"`
		Stats  Stats             `json:"stats"`
		Period map[string]string `json:"period"`
	}
	do(t, s, "GET", "/api/v1/sms/stats", "", "X-API-Key: "+keyMain).decode(t, &got)
	want := Stats{TotalSent: 2, Sent: 2, Pending: 2, SentRate: 100, TotalCost: "0.034", AvgCostPerMsg: 0.017, Currency: "EUR"}
	if !got.Status || got.Stats != want || got.Period["from"] != "2026-02-07" || got.Period["to"] != "2026-02-13" {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestBalance: the documented fields, credit_blocked at 0 or below.
func TestBalance(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	for _, tc := range []struct {
		balance string
		want    string
	}{
		{"1250.50", `{"balance":1250.5,"currency":"EUR","updated":"2026.02.13 10:15:00"}`},
		{"0.000001", `{"balance":0.000001,"currency":"EUR","updated":"2026.02.13 10:15:00"}`},
		{"9223372036854.775807", `{"balance":9223372036854.775807,"currency":"EUR","updated":"2026.02.13 10:15:00"}`},
		{"0", `{"balance":0,"currency":"EUR","updated":"2026.02.13 10:15:00","credit_blocked":true}`},
		{"-3", `{"balance":-3,"currency":"EUR","updated":"2026.02.13 10:15:00","credit_blocked":true}`},
	} {
		t.Run(tc.balance, func(t *testing.T) {
			s.SetBalance(DefaultAccountID, tc.balance)
			a := do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+keyMain)
			if a.status != 200 || string(a.body) != tc.want {
				t.Errorf("got %d %s, want %s", a.status, a.body, tc.want)
			}
		})
	}
}

// TestPricingAndPayments: the fake's empty lists and the stub.
func TestPricingAndPayments(t *testing.T) {
	s := start(t, Options{})
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/api/v1/user/pricing", "[]"},
		{"POST", "/api/v1/user/pricing", "[]"},
		{"GET", "/api/v1/user/pricing/12", "{}"},
		{"GET", "/api/v1/user/payments", "[]"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			a := do(t, s, tc.method, tc.path, "", "X-API-Key: "+keyMain)
			if a.status != 200 || string(a.body) != tc.want {
				t.Errorf("got %d %s, want 200 %s", a.status, a.body, tc.want)
			}
		})
	}
}

// TestWebhookSettingsAPI: GET never shows the secret; PUT changes only
// the fields sent, checks them all before changing any, and answers
// restlink's codes.
func TestWebhookSettingsAPI(t *testing.T) {
	s := start(t, Options{})
	put := func(body string) answer { return do(t, s, "PUT", "/api/v1/user/webhooks", body, "X-API-Key: "+keyMain) }
	get := func() WebhookSettingsResponse {
		var r WebhookSettingsResponse
		do(t, s, "GET", "/api/v1/user/webhooks", "", "X-API-Key: "+keyMain).decode(t, &r)
		return r
	}

	initial := get()
	if !initial.Status || initial.DeliveryURL != "" || initial.SigningSecretSet || strings.Join(initial.DeliveryFields, ",") !=
		"message_id,recipient,sender_id,status,status_code,num_parts,cost,timestamp" {
		t.Errorf("initial settings %+v", initial)
	}

	a := put(`{"delivery_url":"https://hooks.example.com/dlr","signing_secret":"0123456789abcdef0123456789abcdef","delivery_fields":["message_id","status","workspace_id"]}`)
	wantAnswer(t, a, 200, "")
	if strings.Contains(string(a.body), "0123456789abcdef") {
		t.Errorf("PUT answer shows the secret: %s", a.body)
	}
	if ws := s.Webhooks(16); ws.DeliveryURL != "https://hooks.example.com/dlr" || ws.SigningSecret != "0123456789abcdef0123456789abcdef" {
		t.Errorf("settings %v", ws)
	}
	after := get()
	if !after.SigningSecretSet || after.DeliveryURL != "https://hooks.example.com/dlr" || strings.Join(after.DeliveryFields, ",") != "message_id,status,workspace_id" {
		t.Errorf("settings after PUT %+v", after)
	}
	if other := s.Webhooks(18); other.DeliveryURL != "" {
		t.Errorf("another workspace changed: %v", other)
	}

	// Partial updates.
	wantAnswer(t, put(`{"click_url":"https://hooks.example.com/click","signing_secret":null}`), 200, "")
	if ws := s.Webhooks(16); ws.DeliveryURL != "https://hooks.example.com/dlr" || ws.ClickURL == "" || ws.SigningSecret == "" {
		t.Errorf("a partial update changed other fields: %v", ws)
	}
	wantAnswer(t, put(`{"click_url":null,"delivery_url":""}`), 200, "")
	if ws := s.Webhooks(16); ws.DeliveryURL != "" || ws.ClickURL != "" {
		t.Errorf("null and empty did not disable: %v", ws)
	}
	wantAnswer(t, put(`{"clear_signing_secret":true}`), 200, "")
	if get().SigningSecretSet {
		t.Error("the secret was not cleared")
	}
	wantAnswer(t, put(`{"unique_clicks_only":true,"impression_url":"https://[2001:db8::1]/i"}`), 200, "")
	if ws := get(); !ws.UniqueClicksOnly || ws.ImpressionURL == "" {
		t.Errorf("settings %+v", ws)
	}

	before := s.Webhooks(16)
	for _, tc := range []struct{ name, body, code string }{
		{"not JSON", `{`, "INVALID_BODY"},
		{"not an object", `[]`, "INVALID_BODY"},
		{"http URL", `{"delivery_url":"http://hooks.example.com/x"}`, "INVALID_URL"},
		{"relative URL", `{"delivery_url":"/x"}`, "INVALID_URL"},
		{"URL with credentials", `{"delivery_url":"https://u:p@hooks.example.com/x"}`, "INVALID_URL"},
		{"private address", `{"delivery_url":"https://10.0.0.1/x"}`, "INVALID_URL"},
		{"link-local address", `{"click_url":"https://169.254.169.254/x"}`, "INVALID_URL"},
		{"URL not a string", `{"conversion_url":5}`, "INVALID_URL"},
		{"empty secret", `{"signing_secret":""}`, "INVALID_SECRET"},
		{"secret of 65", `{"signing_secret":"` + strings.Repeat("s", 65) + `"}`, "INVALID_SECRET"},
		{"secret not a string", `{"signing_secret":123}`, "INVALID_SECRET"},
		{"unknown delivery field", `{"delivery_fields":["message_id","colour"]}`, "INVALID_FIELDS"},
		{"empty field list", `{"click_fields":[]}`, "INVALID_FIELDS"},
		{"null field list", `{"delivery_fields":null}`, "INVALID_FIELDS"},
		{"toggle not a boolean", `{"unique_clicks_only":"yes"}`, "INVALID_TOGGLE"},
		{"toggle null", `{"unique_clicks_only":null}`, "INVALID_TOGGLE"},
		{"set and clear the secret", `{"signing_secret":"abc","clear_signing_secret":true}`, "CONFLICTING_FIELDS"},
		{"a good field before a bad one", `{"delivery_url":"https://ok.example.com/x","signing_secret":""}`, "INVALID_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantAnswer(t, put(tc.body), 400, tc.code)
			if after := s.Webhooks(16); after.String() != before.String() || after.UniqueClicksOnly != before.UniqueClicksOnly {
				t.Errorf("a refused PUT changed the settings: %v", after)
			}
		})
	}
	wantAnswer(t, put(`{"signing_secret":"`+strings.Repeat("é", 64)+`"}`), 200, "") // 64 characters
}

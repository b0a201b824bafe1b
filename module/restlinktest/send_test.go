package restlinktest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// sendBody is a send's JSON body.
func sendBody(message string, to ...string) string {
	return fmt.Sprintf(`{"to":["%s"],"message":%q,"sender_id":"MyApp"}`, strings.Join(to, `","`), message)
}

// TestSendResponse: segments and encoding from the text, cost per
// segment and recipient, restlink's message IDs, the documented shape.
func TestSendResponse(t *testing.T) {
	clock := newClock()
	for _, tc := range []struct {
		name     string
		message  string
		to       []string
		encoding string
		segments int
	}{
		{"one GSM-7 segment", "hi", []string{"+14155551234"}, "GSM-7", 1},
		{"161 GSM-7 characters", strings.Repeat("a", 161), []string{"+14155551234", "+447700900123"}, "GSM-7", 2},
		{"extension characters count twice", strings.Repeat("€", 81), []string{"+14155551234"}, "GSM-7", 2},
		{"one emoji makes UCS-2", "hi 🙂", []string{"+14155551234", "+447700900123", "+33612345678"}, "UCS-2", 1},
		{"71 Cyrillic characters", strings.Repeat("Ж", 71), []string{"+14155551234"}, "UCS-2", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{Now: clock.Now})
			a := send(t, s, keyMain, sendBody(tc.message, tc.to...))
			wantAnswer(t, a, 200, "")
			var raw map[string]any
			a.decode(t, &raw)
			if _, ok := raw["sandbox"]; ok || raw["status"] != true || len(raw) != 4 {
				t.Errorf("top-level fields %v, want status, messages, results, summary", raw)
			}
			var resp SendResponse
			a.decode(t, &resp)
			n := len(tc.to)
			cost := micros(8_500 * tc.segments * n) // DefaultPricePerSegment is 0.0085
			want := SendSummary{TotalRecipients: n, TotalSegments: tc.segments * n, TotalCost: cost.number(),
				Encoding: tc.encoding, AcceptedCount: n}
			if resp.Summary != want {
				t.Errorf("summary %+v, want %+v", resp.Summary, want)
			}
			if len(resp.Messages) != n || len(resp.Results) != n {
				t.Fatalf("%d messages, %d results for %d recipients", len(resp.Messages), len(resp.Results), n)
			}
			id := regexp.MustCompile(fmt.Sprintf(`^api_42_%d_[0-9a-f]{16}$`, clock.Now().UnixNano()))
			for i, m := range resp.Messages {
				r := resp.Results[i]
				if m.DNIS != tc.to[i] || m.SegmentNum != tc.segments || !id.MatchString(m.MessageID) ||
					r != (SendResult{DNIS: tc.to[i], MessageID: m.MessageID, Segments: tc.segments, Status: "accepted"}) {
					t.Errorf("recipient %d: message %+v result %+v", i, m, r)
				}
			}
			if resp.Messages[0].MessageID == resp.Messages[n-1].MessageID && n > 1 {
				t.Error("two recipients share a message ID")
			}
			if got := s.BalanceMicros(DefaultAccountID); got != 1_000_000_000_000-int64(cost) {
				t.Errorf("balance %d micro-units after a send of %s", got, cost)
			}
		})
	}
}

// TestSendAccounts: the price and currency are configurable, and each
// account pays for its own workspaces' sends.
func TestSendAccounts(t *testing.T) {
	s := start(t, Options{PricePerSegment: "0.05", Currency: "GBP"})
	s.SetBalance(7, "10")
	wantAnswer(t, send(t, s, keyOther, sendBody("hi", "+14155551234", "+14155551235")), 200, "")
	wantAnswer(t, send(t, s, keyTest, sendBody("hi", "+14155551234")), 200, "")
	if b := s.Balance(7); b != "9.9" {
		t.Errorf("account 7 balance %s, want 9.9", b)
	}
	if b := s.Balance(DefaultAccountID); b != "999999.95" {
		t.Errorf("default account balance %s, want 999999.95", b)
	}
	var bal BalanceResponse
	do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+keyOther).decode(t, &bal)
	if bal.Balance != "9.9" || bal.Currency != "GBP" || bal.CreditBlocked {
		t.Errorf("balance answer %+v", bal)
	}
}

// TestBlockedCountries: recipients in a blocked country are reported,
// not sent, not billed; sandbox sends skip the list.
func TestBlockedCountries(t *testing.T) {
	s := start(t, Options{BlockedCountries: []string{"7", "+234"}})
	to := []string{"+14155551234", "+79161234567", "+2348031234567", "+447700900123"}
	a := send(t, s, keyMain, sendBody(strings.Repeat("a", 200), to...))
	wantAnswer(t, a, 200, "")
	var resp SendResponse
	a.decode(t, &resp)
	wantStatus := []string{"accepted", "blocked_country", "blocked_country", "accepted"}
	for i, r := range resp.Results {
		if r.DNIS != to[i] || r.Status != wantStatus[i] || (r.Status == "blocked_country") != (r.MessageID == "" && r.Segments == 0) {
			t.Errorf("result %d: %+v, want status %s", i, r, wantStatus[i])
		}
	}
	want := SendSummary{TotalRecipients: 4, TotalSegments: 4, TotalCost: "0.034",
		Encoding: "GSM-7", AcceptedCount: 2, BlockedCount: 2}
	if resp.Summary != want || len(resp.Messages) != 2 || resp.Messages[1].DNIS != to[3] {
		t.Errorf("summary %+v messages %+v, want %+v", resp.Summary, resp.Messages, want)
	}
	if b := s.Balance(DefaultAccountID); b != "999999.966" {
		t.Errorf("balance %s: the blocked recipients were billed", b)
	}

	a = send(t, s, keySandbox, sendBody("hi", to...))
	a.decode(t, &resp)
	if resp.Summary.BlockedCount != 0 || resp.Summary.AcceptedCount != 4 {
		t.Errorf("sandbox summary %+v, want no blocked recipients", resp.Summary)
	}
}

// TestSandbox: a sk_test_ key's send says so, is free, and keeps its own
// history.
func TestSandbox(t *testing.T) {
	s := start(t, Options{})
	s.SetBalance(DefaultAccountID, "0") // sandbox sends need no credit
	a := send(t, s, keySandbox, sendBody("hi", "+14155551234", "+14155551235"))
	wantAnswer(t, a, 200, "")
	var resp SendResponse
	a.decode(t, &resp)
	if !resp.Sandbox || resp.Summary.TotalCost != "0.017" || resp.Summary.AcceptedCount != 2 {
		t.Errorf("sandbox answer %s", a.body)
	}
	if b := s.Balance(DefaultAccountID); b != "0" {
		t.Errorf("balance %s after a sandbox send", b)
	}
	// The same validation as live keys.
	wantAnswer(t, send(t, s, keySandbox, sendBody("", "+14155551234")), 400, "INVALID_MESSAGE")
	// The sandbox history is apart from the live one, both ways.
	id := resp.Messages[0].MessageID
	wantAnswer(t, do(t, s, "GET", "/api/v1/sms/status/"+id, "", "X-API-Key: "+keySandbox), 200, "")
	wantAnswer(t, do(t, s, "GET", "/api/v1/sms/status/"+id, "", "X-API-Key: "+keyMain), 404, "NOT_FOUND")
	var list MessageList
	do(t, s, "GET", "/api/v1/sms/messages", "", "X-API-Key: "+keyMain).decode(t, &list)
	if list.Total != 0 {
		t.Errorf("the live history holds %d sandbox messages", list.Total)
	}
	do(t, s, "GET", "/api/v1/sms/messages", "", "X-API-Key: "+keySandbox).decode(t, &list)
	if list.Total != 2 {
		t.Errorf("the sandbox history holds %d messages, want 2", list.Total)
	}
}

// TestInsufficientBalance: a send costing more than the balance, or any
// send at a balance of 0 or less, is refused with the cost breakdown and
// charges nothing.
func TestInsufficientBalance(t *testing.T) {
	s := start(t, Options{BlockedCountries: []string{"7"}})
	for _, tc := range []struct {
		name     string
		balance  string
		body     string
		status   int
		billable int
		segments int
		cost     string
		after    string // the balance after an accepted send
	}{
		{"exactly enough", "0.017", sendBody("hi", "+14155551234", "+14155551235"), 200, 2, 1, "0.017", "0"},
		{"a micro-unit short", "0.016999", sendBody("hi", "+14155551234", "+14155551235"), 402, 2, 1, "0.017", ""},
		{"a little short", "0.0169", sendBody("hi", "+14155551234", "+14155551235"), 402, 2, 1, "0.017", ""},
		{"segments count", "0.0169", sendBody(strings.Repeat("a", 161), "+14155551234"), 402, 1, 2, "0.017", ""},
		{"blocked recipients are not billable", "0.0085", sendBody("hi", "+14155551234", "+79161234567"), 200, 1, 1, "0.0085", "0"},
		{"a micro-unit left", "0.025501", sendBody("hi", "+14155551234", "+14155551235", "+14155551236"), 200, 3, 1, "0.0255", "0.000001"},
		{"zero balance", "0", sendBody("hi", "+14155551234"), 402, 1, 1, "0.0085", ""},
		{"negative balance", "-1", sendBody("hi", "+14155551234"), 402, 1, 1, "0.0085", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.SetBalance(DefaultAccountID, tc.balance)
			a := send(t, s, keyMain, tc.body)
			if a.status != tc.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.status)
			}
			after := s.Balance(DefaultAccountID)
			if tc.status == 200 {
				if after != tc.after {
					t.Errorf("balance %s after a send of %s from %s, want %s", after, tc.cost, tc.balance, tc.after)
				}
				return
			}
			var body InsufficientBalanceBody
			a.decode(t, &body)
			want := InsufficientBalanceBody{
				ErrorBody: ErrorBody{ErrorCode: "INSUFFICIENT_BALANCE", Description: body.Description},
				Balance:   json.Number(mustMicros("balance", tc.balance).String()), EstimatedCost: json.Number(tc.cost), Currency: "EUR",
				TotalRecipients: strings.Count(tc.body, "+"), BillableRecipients: tc.billable, Segments: tc.segments,
			}
			if body != want || body.Description == "" {
				t.Errorf("got %+v, want %+v", body, want)
			}
			if !strings.Contains(string(a.body), `"estimated_cost":`+tc.cost+`,`) {
				t.Errorf("estimated_cost not written as the exact number %s: %s", tc.cost, a.body)
			}
			if want := mustMicros("balance", tc.balance).String(); after != want {
				t.Errorf("balance %s after a refused send, want %s", after, want)
			}
		})
	}
}

// TestDBError: the fault refuses a valid send atomically, and only valid
// sends use it up.
func TestDBError(t *testing.T) {
	s := start(t, Options{})
	s.Inject(Fault{DBError: true, WorkspaceID: 16, Times: 1})
	wantAnswer(t, send(t, s, keyMain, sendBody("", "+14155551234")), 400, "INVALID_MESSAGE")
	wantAnswer(t, send(t, s, keyTest, sendBody("hi", "+14155551234")), 200, "") // another workspace
	wantAnswer(t, do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+keyMain), 200, "")
	wantAnswer(t, send(t, s, keyMain, sendBody("hi", "+14155551234", "+14155551235")), 500, "DB_ERROR")
	if b := s.Balance(DefaultAccountID); b != "999999.9915" {
		t.Errorf("balance %s: the failed send was charged", b)
	}
	var list MessageList
	do(t, s, "GET", "/api/v1/sms/messages", "", "X-API-Key: "+keyMain).decode(t, &list)
	if list.Total != 0 {
		t.Errorf("%d messages queued by the failed send", list.Total)
	}
	wantAnswer(t, send(t, s, keyMain, sendBody("hi", "+14155551234")), 200, "") // used up
}

// TestMessageIDsAreUnique even at one clock instant.
func TestMessageIDsAreUnique(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	seen := map[string]bool{}
	for range 20 {
		var resp SendResponse
		send(t, s, keyMain, sendBody("hi", "+14155551234", "+14155551234")).decode(t, &resp)
		for _, m := range resp.Messages {
			if seen[m.MessageID] {
				t.Fatalf("message ID %s given twice", m.MessageID)
			}
			seen[m.MessageID] = true
		}
	}
}

// TestExactCosts: costs, totals and balances are exact decimal sums, on
// the wire too, where float64 arithmetic would not be: 3 × 0.1 is
// 0.30000000000000004 in floats, and sums of 0.0085 drift.
func TestExactCosts(t *testing.T) {
	t.Run("3 × 0.1", func(t *testing.T) {
		s := start(t, Options{PricePerSegment: "0.1"})
		s.SetBalance(DefaultAccountID, "0.3")
		a := send(t, s, keyMain, sendBody("hi", "+14155551234", "+14155551235", "+14155551236"))
		wantAnswer(t, a, 200, "")
		if !strings.Contains(string(a.body), `"total_cost":0.3,`) {
			t.Errorf("total_cost not written as 0.3: %s", a.body)
		}
		if b := s.Balance(DefaultAccountID); b != "0" {
			t.Errorf("balance %s after spending all of 0.3, want 0", b)
		}
		st := do(t, s, "GET", "/api/v1/sms/stats", "", "X-API-Key: "+keyMain)
		if !strings.Contains(string(st.body), `"total_cost":0.3,`) || !strings.Contains(string(st.body), `"avg_cost_per_msg":0.1,`) {
			t.Errorf("stats %s, want a total_cost of 0.3 and an average of 0.1", st.body)
		}
		list := do(t, s, "GET", "/api/v1/sms/messages", "", "X-API-Key: "+keyMain)
		if strings.Count(string(list.body), `"cost":0.1,`) != 3 {
			t.Errorf("message list %s, want 3 costs of 0.1", list.body)
		}
	})
	t.Run("many × 0.0085", func(t *testing.T) {
		s := start(t, Options{})
		s.SetRecording(false)
		to := make([]string, 100)
		for i := range to {
			to[i] = fmt.Sprintf("+1415555%04d", i)
		}
		body := sendBody(strings.Repeat("a", 459), to...) // 3 segments
		// What a float64 balance would drift to: 999872.5000000559.
		floatBalance, price := 1_000_000.0, 0.0085
		for range 50 {
			a := send(t, s, keyMain, body)
			if !strings.Contains(string(a.body), `"total_cost":2.55,`) {
				t.Fatalf("total_cost of 300 segments at 0.0085 not 2.55: %s", a.body)
			}
			for range 300 {
				floatBalance -= price
			}
		}
		if b := s.Balance(DefaultAccountID); b != "999872.5" {
			t.Errorf("balance %s after 15,000 segments at 0.0085, want 999872.5", b)
		}
		if floatBalance == 999872.5 {
			t.Errorf("float64 arithmetic gives %v here too: the example no longer shows drift", floatBalance)
		}
		var bal BalanceResponse
		do(t, s, "GET", "/api/v1/user/balance", "", "X-API-Key: "+keyMain).decode(t, &bal)
		if bal.Balance != "999872.5" {
			t.Errorf("balance endpoint says %s, want 999872.5", bal.Balance)
		}
	})
	t.Run("a price that is not exact", func(t *testing.T) {
		for _, price := range []string{"0.00000001", "-1", "1e-3", "abc"} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("PricePerSegment %q accepted", price)
					}
				}()
				New().SetOptions(Options{PricePerSegment: price})
			}()
		}
	})
}

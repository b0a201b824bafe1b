package restlinktest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// reports decodes the delivery webhooks rv received, by message ID, with
// their cost's exact text.
func reports(t *testing.T, rv *receiver) map[string]map[string]json.RawMessage {
	t.Helper()
	out := map[string]map[string]json.RawMessage{}
	for _, g := range rv.received() {
		var p map[string]json.RawMessage
		if err := json.Unmarshal(g.body, &p); err != nil {
			t.Fatalf("report %s: %v", g.body, err)
		}
		var id string
		_ = json.Unmarshal(p["message_id"], &id)
		if out[id] != nil {
			t.Errorf("two reports for %s", id)
		}
		out[id] = p
	}
	return out
}

// messageStatus gets a message's status object.
func messageStatus(t *testing.T, s *Server, key, id string) MessageStatus {
	t.Helper()
	var st struct{ Message MessageStatus }
	do(t, s, "GET", "/api/v1/sms/status/"+id, "", "X-API-Key: "+key).decode(t, &st)
	return st.Message
}

// TestDeliveryStatusAndCost: SimulateDelivery reports the status
// DeliveryStatus chooses; a DELIVRD or UNKNOWN message reports its charge
// as its cost, an UNDELIV, REJECTD or EXPIRED one 0, and its charge goes
// back to the balance; the status endpoint, the stats and the balance
// agree with the reports.
func TestDeliveryStatusAndCost(t *testing.T) {
	clock := newClock()
	rv := newReceiver(t)
	chosen := map[string]string{
		"+447700900001": "DELIVRD", "+447700900002": "UNDELIV", "+447700900003": "REJECTD",
		"+447700900004": "EXPIRED", "+447700900005": "UNKNOWN", "+33612345678": "",
	}
	var s *Server
	var balanceAtReport string // the balance the reports start from, read by the first call
	s = webhookFake(t, rv, Options{Now: clock.Now, SimulateDelivery: true, TimeScale: 0.001, WebhookTimeout: 10 * time.Second,
		DeliveryStatus: func(recipient string) string {
			if balanceAtReport == "" {
				balanceAtReport = s.Balance(DefaultAccountID) // the fake's lock is not held
			}
			return chosen[recipient]
		}}, WebhookSettings{})
	s.SetPrices(16, []Price{{Dialcode: "44", Rate: "0.0333"}})
	s.SetBalance(DefaultAccountID, "1")
	to := []string{"+447700900001", "+447700900002", "+447700900003", "+447700900004", "+447700900005", "+33612345678"}
	a := send(t, s, keyMain, sendBody(strings.Repeat("a", 200), to...)) // 2 segments: 0.0666 and 0.017
	if !strings.Contains(string(a.body), `"total_cost":0.35,`) {
		t.Fatalf("send %s, want a total_cost of 5 × 0.0666 + 0.017 = 0.35", a.body)
	}
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	if balanceAtReport != "0.65" {
		t.Errorf("balance %s after the send, want 0.65", balanceAtReport)
	}
	var resp SendResponse
	a.decode(t, &resp)
	got := reports(t, rv)
	wantStatus := []string{"DELIVRD", "UNDELIV", "REJECTD", "EXPIRED", "UNKNOWN", "DELIVRD"}
	wantCost := []string{"0.0666", "0", "0", "0", "0.0666", "0.017"}
	wantCode := map[string]string{"DELIVRD": `"000"`, "UNDELIV": `"001"`, "REJECTD": `"002"`, "EXPIRED": `"003"`, "UNKNOWN": `"004"`}
	for i, m := range resp.Messages {
		p := got[m.MessageID]
		if string(p["status"]) != `"`+wantStatus[i]+`"` || string(p["cost"]) != wantCost[i] || string(p["status_code"]) != wantCode[wantStatus[i]] ||
			string(p["num_parts"]) != "2" {
			t.Errorf("%s: report %v, want %s costing %s", m.DNIS, p, wantStatus[i], wantCost[i])
		}
		st := messageStatus(t, s, keyMain, m.MessageID)
		if st.Status != wantStatus[i] || st.Cost != json.Number(wantCost[i]) || (st.DeliveredAt != nil) != (wantStatus[i] == "DELIVRD") {
			t.Errorf("%s: status %+v, want %s costing %s", m.DNIS, st, wantStatus[i], wantCost[i])
		}
	}
	// 0.65 + the refunds of 3 × 0.0666.
	if b := s.Balance(DefaultAccountID); b != "0.8498" {
		t.Errorf("balance %s after the reports, want 0.8498", b)
	}
	var stats struct{ Stats Stats }
	do(t, s, "GET", "/api/v1/sms/stats", "", "X-API-Key: "+keyMain).decode(t, &stats)
	want := Stats{TotalSent: 6, Sent: 6, Delivered: 2, Undelivered: 2, Failed: 2, Expired: 1, Pending: 1, SentRate: 100,
		DeliveryRate: 33.333333, TotalCost: "0.1502", AvgCostPerMsg: 0.025033, Currency: "EUR"}
	if stats.Stats != want {
		t.Errorf("stats %+v, want %+v", stats.Stats, want)
	}

	t.Run("sandbox messages are DELIVRD", func(t *testing.T) {
		rv.mu.Lock()
		rv.got = nil
		rv.mu.Unlock()
		a := send(t, s, keySandbox, sendBody("hi", "+447700900002"))
		if err := s.WaitWebhooks(context.Background()); err != nil {
			t.Fatal(err)
		}
		var resp SendResponse
		a.decode(t, &resp)
		p := reports(t, rv)[resp.Messages[0].MessageID]
		if string(p["status"]) != `"DELIVRD"` || string(p["cost"]) != "0.0333" {
			t.Errorf("sandbox report %v, want DELIVRD costing the preview 0.0333", p)
		}
		if b := s.Balance(DefaultAccountID); b != "0.8498" {
			t.Errorf("balance %s after a sandbox send", b)
		}
	})
}

// TestDeliveryStatusRefusesNonFinal: a DeliveryStatus that answers
// something else than a final status is a mistake the fake reports.
func TestDeliveryStatusRefusesNonFinal(t *testing.T) {
	for _, status := range []string{"sent", "delivered", "DELETED", "ENROUTE"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("status %q accepted", status)
				}
			}()
			chosenStatus(func(string) string { return status }, "+14155551234")
		}()
	}
	if got := chosenStatus(nil, "+1"); got != "DELIVRD" {
		t.Errorf("no function: %s", got)
	}
}

// TestDeliver: an explicit delivery report, at once, with the same cost
// rule; refused for an unknown message, a status that is not final, and
// a message already reported.
func TestDeliver(t *testing.T) {
	clock := newClock()
	rv := newReceiver(t)
	s := webhookFake(t, rv, Options{Now: clock.Now, TimeScale: 0.001, WebhookTimeout: 10 * time.Second},
		WebhookSettings{SigningSecret: webhookSecret})
	s.SetBalance(DefaultAccountID, "0.1")
	var resp SendResponse
	send(t, s, keyMain, sendBody("hi", "+14155551234", "+14155551235")).decode(t, &resp)
	delivered, undelivered := resp.Messages[0].MessageID, resp.Messages[1].MessageID

	for _, tc := range []struct {
		id, status string
		err        error
	}{
		{"api_42_1_0000000000000000", "DELIVRD", ErrUnknownMessage},
		{delivered, "sent", ErrNotFinalStatus},
		{delivered, "delivered", ErrNotFinalStatus},
		{delivered, "", ErrNotFinalStatus},
	} {
		if err := s.Deliver(tc.id, tc.status); !errors.Is(err, tc.err) {
			t.Errorf("Deliver(%s, %q) = %v, want %v", tc.id, tc.status, err, tc.err)
		}
	}
	if st := messageStatus(t, s, keyMain, delivered); st.Status != "sent" || st.Cost != "0.0085" {
		t.Errorf("a refused Deliver changed the message: %+v", st)
	}

	clock.Add(3 * time.Second)
	if err := s.Deliver(delivered, "DELIVRD"); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(undelivered, "UNDELIV"); err != nil {
		t.Fatal(err)
	}
	// The status and the refund are there at once; the webhooks follow.
	if st := messageStatus(t, s, keyMain, undelivered); st.Status != "UNDELIV" || st.Cost != "0" || st.DeliveredAt != nil {
		t.Errorf("undelivered message %+v", st)
	}
	if b := s.Balance(DefaultAccountID); b != "0.0915" {
		t.Errorf("balance %s, want 0.1 - 0.0085 (the refund of the undelivered message)", b)
	}
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, g := range rv.received() {
		if !verify(webhookSecret, clock.Now(), g.header, g.body) {
			t.Errorf("report %s does not verify", g.body)
		}
	}
	got := reports(t, rv)
	if p := got[delivered]; string(p["status"]) != `"DELIVRD"` || string(p["cost"]) != "0.0085" || string(p["timestamp"]) != `"2026-02-13T10:15:03Z"` {
		t.Errorf("delivered report %v", p)
	}
	if p := got[undelivered]; string(p["status"]) != `"UNDELIV"` || string(p["cost"]) != "0" {
		t.Errorf("undelivered report %v", p)
	}
	for _, id := range []string{delivered, undelivered} {
		if err := s.Deliver(id, "DELIVRD"); !errors.Is(err, ErrAlreadyReported) {
			t.Errorf("a second report for %s: %v", id, err)
		}
	}
	if b := s.Balance(DefaultAccountID); b != "0.0915" {
		t.Errorf("balance %s after refused reports", b)
	}

	t.Run("without a delivery URL", func(t *testing.T) {
		var resp SendResponse
		send(t, s, keyTest, sendBody("hi", "+14155551234")).decode(t, &resp)
		n := len(s.WebhookDeliveries())
		if err := s.Deliver(resp.Messages[0].MessageID, "EXPIRED"); err != nil {
			t.Fatal(err)
		}
		if st := messageStatus(t, s, keyTest, resp.Messages[0].MessageID); st.Status != "EXPIRED" || st.Cost != "0" {
			t.Errorf("status %+v", st)
		}
		if len(s.WebhookDeliveries()) != n {
			t.Error("a webhook was sent for a workspace without a delivery URL")
		}
	})
	t.Run("before the simulated delivery", func(t *testing.T) {
		s.SetOptions(Options{Now: clock.Now, SimulateDelivery: true, DeliveryDelay: 300 * time.Millisecond, WebhookTimeout: 10 * time.Second,
			WebhookClient: rv.Client()})
		rv.mu.Lock()
		rv.got = nil
		rv.mu.Unlock()
		var resp SendResponse
		send(t, s, keyMain, sendBody("hi", "+14155551234")).decode(t, &resp)
		id := resp.Messages[0].MessageID
		if err := s.Deliver(id, "REJECTD"); err != nil {
			t.Fatal(err)
		}
		if err := s.WaitWebhooks(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := reports(t, rv); len(got) != 1 || string(got[id]["status"]) != `"REJECTD"` {
			t.Errorf("reports %v, want only REJECTD", got)
		}
		if st := messageStatus(t, s, keyMain, id); st.Status != "REJECTD" {
			t.Errorf("the simulated delivery overrode Deliver: %+v", st)
		}
	})
}

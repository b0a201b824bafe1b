package restlinktest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCharges: the fake's account of each accepted message, from its
// send to its delivery report, adds up to what the sends and the balance
// say.
func TestCharges(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now, BlockedCountries: []string{"7"}})
	s.SetPrices(16, []Price{{Dialcode: "44", Rate: "0.0333"}})
	s.SetPrices(30, []Price{{Dialcode: "1", Rate: "0.1"}})
	if got := s.Charges(); len(got) != 0 {
		t.Fatalf("charges before any send: %+v", got)
	}

	var live, sandbox, other SendResponse
	send(t, s, keyMain, sendBody(strings.Repeat("a", 200), "+447700900001", "+79161234567", "+14155551234")).decode(t, &live)
	clock.Add(time.Second)
	send(t, s, keySandbox, sendBody("hi", "+447700900002")).decode(t, &sandbox)
	send(t, s, keyOther, sendBody("hi", "+14155551234", "+14155551235", "+14155551236")).decode(t, &other)
	wantAnswer(t, send(t, s, keyMain, sendBody("", "+447700900001")), 400, "INVALID_MESSAGE") // no charge

	if err := s.Deliver(live.Messages[0].MessageID, "DELIVRD"); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(live.Messages[1].MessageID, "UNDELIV"); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(sandbox.Messages[0].MessageID, "EXPIRED"); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(other.Messages[2].MessageID, "UNKNOWN"); err != nil {
		t.Fatal(err)
	}

	t0, t1 := clock.Now().Add(-time.Second), clock.Now()
	want := []Charge{
		{MessageID: live.Messages[0].MessageID, WorkspaceID: 16, AccountID: 42, Recipient: "+447700900001", Segments: 2, Sent: t0,
			Charged: 66_600, Status: "DELIVRD", Reported: true, ReportedCost: 66_600},
		{MessageID: live.Messages[1].MessageID, WorkspaceID: 16, AccountID: 42, Recipient: "+14155551234", Segments: 2, Sent: t0,
			Charged: 17_000, Status: "UNDELIV", Reported: true, ReportedCost: 0, Refunded: true},
		{MessageID: sandbox.Messages[0].MessageID, WorkspaceID: 16, AccountID: 42, Recipient: "+447700900002", Segments: 1, Sent: t1,
			Sandbox: true, Charged: 33_300, Status: "EXPIRED", Reported: true, ReportedCost: 0},
		{MessageID: other.Messages[0].MessageID, WorkspaceID: 30, AccountID: 7, Recipient: "+14155551234", Segments: 1, Sent: t1,
			Charged: 100_000, Status: "sent"},
		{MessageID: other.Messages[1].MessageID, WorkspaceID: 30, AccountID: 7, Recipient: "+14155551235", Segments: 1, Sent: t1,
			Charged: 100_000, Status: "sent"},
		{MessageID: other.Messages[2].MessageID, WorkspaceID: 30, AccountID: 7, Recipient: "+14155551236", Segments: 1, Sent: t1,
			Charged: 100_000, Status: "UNKNOWN", Reported: true, ReportedCost: 100_000},
	}
	got := s.Charges()
	if len(got) != len(want) {
		t.Fatalf("%d charges, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Sent.Equal(want[i].Sent) {
			t.Errorf("charge %d sent at %v, want %v", i, got[i].Sent, want[i].Sent)
		}
		got[i].Sent = want[i].Sent
		if got[i] != want[i] {
			t.Errorf("charge %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}

	// The accounts' balances are what their live charges, less the
	// refunds, took; each send's total_cost is the sum of its charges.
	spent := map[int64]int64{}
	perSend := map[string]int64{}
	for _, c := range got {
		if !c.Sandbox && !c.Refunded {
			spent[c.AccountID] += c.Charged
		}
	}
	for _, c := range got[:2] {
		perSend["live"] += c.Charged
	}
	for _, c := range got[3:] {
		perSend["other"] += c.Charged
	}
	for account, spent := range spent {
		if b := s.BalanceMicros(account); b != 1_000_000_000_000-spent {
			t.Errorf("account %d balance %d, want %d", account, b, 1_000_000_000_000-spent)
		}
	}
	if live.Summary.TotalCost != micros(perSend["live"]).number() || other.Summary.TotalCost != micros(perSend["other"]).number() ||
		sandbox.Summary.TotalCost != "0.0333" {
		t.Errorf("totals %s %s %s, charges %v", live.Summary.TotalCost, other.Summary.TotalCost, sandbox.Summary.TotalCost, perSend)
	}

	t.Run("Reset keeps them", func(t *testing.T) {
		s.Reset()
		if n := len(s.Charges()); n != len(want) {
			t.Errorf("%d charges after Reset", n)
		}
	})
	t.Run("bounded without recording", func(t *testing.T) {
		s.SetRecording(false)
		defer s.SetRecording(true)
		to := make([]string, 100)
		for i := range to {
			to[i] = fmt.Sprintf("+1415555%04d", i)
		}
		for range 25 {
			wantAnswer(t, send(t, s, keyTest, sendBody("hi", to...)), 200, "")
		}
		if n := len(s.Charges()); n < 1024 || n > 2048 {
			t.Errorf("%d charges kept without recording", n)
		}
	})
}

// TestChargesFollowSimulatedDelivery: the reports of SimulateDelivery
// are in the charges, with what their webhooks said.
func TestChargesFollowSimulatedDelivery(t *testing.T) {
	rv := newReceiver(t)
	s := webhookFake(t, rv, Options{SimulateDelivery: true, TimeScale: 0.001, WebhookTimeout: 10 * time.Second,
		DeliveryStatus: func(r string) string {
			if strings.HasSuffix(r, "2") {
				return "REJECTD"
			}
			return ""
		}}, WebhookSettings{})
	send(t, s, keyMain, sendBody("hi", "+14155551231", "+14155551232"))
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := reports(t, rv)
	for _, c := range s.Charges() {
		p := got[c.MessageID]
		if !c.Reported || string(p["status"]) != `"`+c.Status+`"` || string(p["cost"]) != micros(c.ReportedCost).String() {
			t.Errorf("charge %+v, report %v", c, p)
		}
		if (c.Status == "REJECTD") != (c.ReportedCost == 0 && c.Refunded) {
			t.Errorf("charge %+v", c)
		}
	}
	if b := s.Balance(DefaultAccountID); b != "999999.9915" {
		t.Errorf("balance %s, want one message of two charged", b)
	}
}

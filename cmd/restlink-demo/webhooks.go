package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/appreceiver"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// showWebhooks waits for the delivery reports of the sends the demo made
// (want of them) to reach the app through the sidecar's webhook site,
// prints them, then sends a forged and a replayed report and shows that
// neither reaches the app. It returns what was not as it should be.
func showWebhooks(fake *restlinktest.Fake, app *appreceiver.Receiver, hooks string, want int) []string {
	var failures []string
	deadline := time.Now().Add(15 * time.Second)
	for len(app.Accepted()) < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("The simulator delivered the messages and posted signed delivery reports to %s/hooks/<workspace>/delivery.\n", hooks)
	fmt.Println("The sidecar verified each signature, spooled the event to disk, answered restlink, and delivered it to the app:")
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT ID\tWORKSPACE\tEVENT\tMESSAGE\tSTATUS\tSIGNATURE HEADERS THE APP SAW")
	deliveries := app.Deliveries()
	for _, d := range deliveries {
		var report struct {
			MessageID string `json:"message_id"`
			Status    string `json:"status"`
		}
		_ = json.Unmarshal(d.Body, &report)
		signature := "none"
		if d.Header.Get("X-Webhook-Signature") != "" || d.Header.Get("X-Webhook-Timestamp") != "" {
			signature = "LEAKED"
			failures = append(failures, "the app received restlink's signature headers")
		}
		fmt.Fprintf(tw, "%s\t%s (%s)\t%s\t%s\t%s\t%s\n", d.EventID(), d.Header.Get("X-Restlink-Workspace"),
			d.Header.Get("X-Restlink-Workspace-Id"), d.Header.Get("X-Restlink-Event"), report.MessageID, report.Status, signature)
	}
	_ = tw.Flush()
	if got := len(app.Accepted()); got != want {
		return append(failures, fmt.Sprintf("the app received %d delivery reports, want %d", got, want))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println()
	forged, err := fake.SendTamperedWebhook(ctx, 16, restlinktest.EventDelivery,
		json.RawMessage(`{"message_id":"msg_forged","recipient":"+14155550000","status":"DELIVRD"}`), restlinktest.TamperSignature)
	if status := lastStatus(forged); err == nil || status != 401 {
		failures = append(failures, fmt.Sprintf("a forged report was answered %d, want 401", status))
	}
	fmt.Printf("a forged report (signed with another secret): answered %d, not delivered\n", lastStatus(forged))
	var original string
	for _, d := range fake.WebhookDeliveries() {
		if d.Delivered && d.Tamper == 0 && !d.Replay {
			original = d.ID
			break
		}
	}
	replayed, err := fake.ReplayWebhook(ctx, original)
	if status := lastStatus(replayed); err != nil || status != 200 {
		failures = append(failures, fmt.Sprintf("a replayed report was answered %d (%v), want 200 as a duplicate", status, err))
	}
	fmt.Printf("a captured report sent again (same signature): answered %d as a duplicate, not delivered again\n", lastStatus(replayed))
	time.Sleep(300 * time.Millisecond) // a wrongful second delivery would arrive by now
	for id, n := range app.Accepted() {
		if n != 1 || id == "" {
			failures = append(failures, fmt.Sprintf("event %q reached the app %d times", id, n))
		}
	}
	if len(app.Deliveries()) != len(deliveries) {
		failures = append(failures, "a forged or replayed report reached the app")
	}
	fmt.Println("\nThe app verified nothing and holds no secret: the webhook secrets stayed in the sidecar.")
	return failures
}

// lastStatus is the receiver's answer to a delivery's last attempt.
func lastStatus(d restlinktest.WebhookDelivery) int {
	if len(d.Attempts) == 0 {
		return 0
	}
	return d.Attempts[len(d.Attempts)-1].Status
}

package restlinktest

import "time"

// Charge is the fake's own account of an accepted message: what its send
// charged and what its delivery report said, for tests to compare with
// the sidecar's usage records. Amounts are in micro-units (millionths of
// the currency): 8_500 is 0.0085.
type Charge struct {
	MessageID   string
	WorkspaceID int64
	// AccountID is the account whose balance paid for the message.
	AccountID int64
	Recipient string
	Segments  int
	// Sent is when the send was accepted, by the fake's clock.
	Sent time.Time
	// Sandbox is true for a message of a sandbox key: Charged is then the
	// preview its send's total_cost showed, and no balance was touched.
	Sandbox bool
	// Charged is what the send's summary.total_cost counted for the
	// message: its segments times its rate.
	Charged int64
	// Status is "sent" until the message's delivery report, then the
	// final status it gave.
	Status string
	// Reported is true once the message has its delivery report;
	// ReportedCost is then the cost the report said, in its webhook (if
	// the workspace had a delivery URL) and in the message's status:
	// Charged, or 0 for UNDELIV, REJECTD and EXPIRED.
	Reported     bool
	ReportedCost int64
	// Refunded is true when the charge went back to the balance: a live
	// message reported UNDELIV, REJECTD or EXPIRED.
	Refunded bool
}

// chargesWithoutRecording is how many accepted messages Charges keeps
// while recording is off, as for the requests: the latest 1,024 to 2,048.
const chargesWithoutRecording = recentWithoutRecording

// recordCharge adds an accepted message to the accounting. f.mu is held.
func (f *Fake) recordCharge(m *message) {
	if f.log.off && len(f.charged) >= 2*chargesWithoutRecording {
		f.charged = append(f.charged[:0:0], f.charged[len(f.charged)-chargesWithoutRecording:]...)
	}
	f.charged = append(f.charged, m)
}

// Charges returns the fake's account of every message accepted since it
// was created, in the order accepted, each as it stands now. Reset keeps
// it, as it keeps balances and messages. With recording off (see
// SetRecording) it keeps only the latest 1,024 to 2,048.
func (f *Fake) Charges() []Charge {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Charge, len(f.charged))
	for i, m := range f.charged {
		out[i] = Charge{
			MessageID: m.id, WorkspaceID: m.workspace, AccountID: m.account, Recipient: m.recipient, Segments: m.segments,
			Sent: m.created, Sandbox: m.sandbox, Charged: int64(m.charge), Status: m.status,
			Reported: m.status != statusSent, Refunded: m.refunded,
		}
		if out[i].Reported {
			out[i].ReportedCost = int64(m.cost)
		}
	}
	return out
}

package restlink

import (
	"testing"

	"github.com/23telecom/restlink-sidecar/module/ledger"
	"github.com/23telecom/restlink-sidecar/module/policy"
)

// TestChargedSplitsByMessage: restlink's total_cost is split among the
// accepted messages by segments, exactly, and each message gets the
// country of the recipient restlink names (dnis), whatever the order of
// its results; a sandbox answer charges nothing.
func TestChargedSplitsByMessage(t *testing.T) {
	c := &sendCost{recipients: []ledger.Recipient{{Country: "GB", Segments: 1}, {Country: "FR", Segments: 1}, {Country: "IE", Segments: 2}}}
	sent := []policy.Recipient{{Number: "+447400123456"}, {Number: "+33612345678"}, {Number: "+353851234567"}}
	body := []byte(`{"status":true,"results":[
		{"dnis":"+353851234567","message_id":"m3","segments":2,"status":"accepted"},
		{"dnis":"+33612345678","message_id":"m2","segments":1,"status":"blocked_country"},
		{"dnis":"+447400123456","message_id":"m1","segments":1,"status":"accepted"}],
		"summary":{"total_cost":0.1}}`)
	total, msgs, ok := c.charged(parseAnswer(body), sent)
	want := []ledger.Message{{ID: "m3", Country: "IE", Segments: 2, ShareMicros: 66_667}, {ID: "m1", Country: "GB", Segments: 1, ShareMicros: 33_333}}
	if !ok || total != 100_000 || len(msgs) != 2 || msgs[0] != want[0] || msgs[1] != want[1] {
		t.Errorf("charged = %d, %+v, %v; want 100000 split as %+v", total, msgs, ok, want)
	}
	sandbox := []byte(`{"status":true,"sandbox":true,"results":[{"dnis":"+447400123456","message_id":"m1","segments":1,"status":"accepted"}],"summary":{"total_cost":0.04}}`)
	if total, msgs, ok := c.charged(parseAnswer(sandbox), sent); !ok || total != 0 || len(msgs) != 1 || msgs[0].ShareMicros != 0 {
		t.Errorf("a sandbox answer charged %d (%+v, %v), want 0", total, msgs, ok)
	}
	for _, bad := range []string{`{"summary":{"total_cost":"x"}}`, `{"summary":{"total_cost":0.0000001}}`, `not json`} {
		if _, _, ok := c.charged(parseAnswer([]byte(bad)), sent); ok {
			t.Errorf("%s was read as a charge", bad)
		}
	}
}

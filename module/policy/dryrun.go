package policy

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/23telecom/restlink-sidecar/module/money"
)

// DryRunIDPrefix starts the message ids of dry-run answers, so that they
// can never be mistaken for restlink's (api_…).
const DryRunIDPrefix = "dryrun_"

// DryRunAnswer is the 200 response body to a send answered in a dry run:
// restlink's success shape, as its sandbox answers it. Every recipient is
// accepted with a message id of its own (dryrun_<nanoseconds>_<16 random
// hex digits>), summary.total_cost is estimate (what the send would cost,
// 0 where nothing estimates it) and "sandbox" is true, so that an app can
// tell the answer from a real send.
func DryRunAnswer(s *Send, estimate money.Amount, now time.Time) []byte {
	random := make([]byte, 8*len(s.Recipients))
	rand.Read(random) // never fails: crypto/rand panics rather than return an error
	stamp := DryRunIDPrefix + strconv.FormatInt(now.UnixNano(), 10) + "_"

	a := dryRunAnswer{
		Status:   true,
		Messages: make([]dryRunMessage, len(s.Recipients)),
		Results:  make([]dryRunResult, len(s.Recipients)),
		Summary: dryRunSummary{
			TotalRecipients: len(s.Recipients),
			TotalSegments:   s.Segments,
			TotalCost:       estimate,
			Encoding:        string(s.Count.Encoding),
			AcceptedCount:   len(s.Recipients),
		},
		Sandbox: true,
	}
	for i, rc := range s.Recipients {
		id := stamp + hex.EncodeToString(random[8*i:8*i+8])
		a.Messages[i] = dryRunMessage{DNIS: rc.Number, MessageID: id, SegmentNum: s.Count.Segments}
		a.Results[i] = dryRunResult{DNIS: rc.Number, MessageID: id, Segments: s.Count.Segments, Status: "accepted"}
	}
	body, err := json.Marshal(a)
	if err != nil {
		panic("policy: encoding a dry-run answer: " + err.Error()) // strings and numbers only: cannot happen
	}
	return body
}

// dryRunAnswer is restlink's 200 answer to a send.
type dryRunAnswer struct {
	Status   bool            `json:"status"`
	Messages []dryRunMessage `json:"messages"`
	Results  []dryRunResult  `json:"results"`
	Summary  dryRunSummary   `json:"summary"`
	Sandbox  bool            `json:"sandbox"`
}

// dryRunMessage is an entry of messages[], kept by restlink for older
// clients: one per accepted recipient.
type dryRunMessage struct {
	DNIS       string `json:"dnis"`
	MessageID  string `json:"message_id"`
	SegmentNum int    `json:"segment_num"`
}

// dryRunResult is an entry of results[]: one per recipient.
type dryRunResult struct {
	DNIS      string `json:"dnis"`
	MessageID string `json:"message_id"`
	Segments  int    `json:"segments"`
	Status    string `json:"status"`
}

// dryRunSummary is the summary of a send.
type dryRunSummary struct {
	TotalRecipients  int          `json:"total_recipients"`
	TotalSegments    int          `json:"total_segments"`
	TotalCost        money.Amount `json:"total_cost"`
	Encoding         string       `json:"encoding"`
	AcceptedCount    int          `json:"accepted_count"`
	BlockedCount     int          `json:"blocked_count"`
	QueueErrorCount  int          `json:"queue_error_count"`
	ConfigErrorCount int          `json:"config_error_count"`
	DBErrorCount     int          `json:"db_error_count"`
}

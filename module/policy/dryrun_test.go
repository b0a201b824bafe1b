package policy

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDryRunAnswer(t *testing.T) {
	now := time.Unix(1743667200, 123456789)
	tests := []struct {
		name     string
		numbers  []string
		message  string
		segments int
		encoding string
	}{
		{"one GSM-7 recipient", []string{gb}, "hi", 1, "GSM-7"},
		{"three UCS-2 recipients, one repeated", []string{gb, us, gb}, strings.Repeat("д", 71), 2, "UCS-2"},
	}
	idPattern := regexp.MustCompile(`^dryrun_1743667200123456789_[0-9a-f]{16}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ref := parseSend([]byte(sendBody(quoteAll(tt.numbers), `"`+tt.message+`"`, `"Acme"`)), nil)
			if ref != nil {
				t.Fatal(ref)
			}
			body := DryRunAnswer(s, 0, now)

			// The exact set of fields, at each level.
			var shape map[string]json.RawMessage
			if err := json.Unmarshal(body, &shape); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if got, want := slices.Sorted(maps.Keys(shape)), []string{"messages", "results", "sandbox", "status", "summary"}; !slices.Equal(got, want) {
				t.Errorf("fields = %q, want %q", got, want)
			}
			var summaryShape map[string]json.RawMessage
			if err := json.Unmarshal(shape["summary"], &summaryShape); err != nil {
				t.Fatal(err)
			}
			wantSummary := []string{"accepted_count", "blocked_count", "config_error_count", "db_error_count",
				"encoding", "queue_error_count", "total_cost", "total_recipients", "total_segments"}
			if got := slices.Sorted(maps.Keys(summaryShape)); !slices.Equal(got, wantSummary) {
				t.Errorf("summary fields = %q, want %q", got, wantSummary)
			}

			var a struct {
				Status   bool `json:"status"`
				Sandbox  bool `json:"sandbox"`
				Messages []struct {
					DNIS       string `json:"dnis"`
					MessageID  string `json:"message_id"`
					SegmentNum int    `json:"segment_num"`
				} `json:"messages"`
				Results []struct {
					DNIS      string `json:"dnis"`
					MessageID string `json:"message_id"`
					Segments  int    `json:"segments"`
					Status    string `json:"status"`
				} `json:"results"`
				Summary map[string]any `json:"summary"`
			}
			if err := json.Unmarshal(body, &a); err != nil {
				t.Fatal(err)
			}
			if !a.Status || !a.Sandbox {
				t.Errorf("status = %v, sandbox = %v, want true, true", a.Status, a.Sandbox)
			}
			n := len(tt.numbers)
			if len(a.Messages) != n || len(a.Results) != n {
				t.Fatalf("%d messages, %d results, want %d each", len(a.Messages), len(a.Results), n)
			}
			ids := map[string]bool{}
			for i, number := range tt.numbers {
				m, r := a.Messages[i], a.Results[i]
				if m.DNIS != number || r.DNIS != number {
					t.Errorf("entry %d: dnis %q, %q, want %q", i, m.DNIS, r.DNIS, number)
				}
				if m.MessageID != r.MessageID || !idPattern.MatchString(r.MessageID) {
					t.Errorf("entry %d: message ids %q, %q: want equal, matching %s", i, m.MessageID, r.MessageID, idPattern)
				}
				if ids[r.MessageID] {
					t.Errorf("entry %d: message id %q repeats", i, r.MessageID)
				}
				ids[r.MessageID] = true
				if m.SegmentNum != tt.segments || r.Segments != tt.segments || r.Status != "accepted" {
					t.Errorf("entry %d: segment_num %d, segments %d, status %q; want %d, %d, accepted",
						i, m.SegmentNum, r.Segments, r.Status, tt.segments, tt.segments)
				}
			}
			wantSummaryValues := map[string]any{
				"total_recipients": float64(n), "total_segments": float64(n * tt.segments),
				"total_cost": float64(0), "encoding": tt.encoding, "accepted_count": float64(n),
				"blocked_count": float64(0), "queue_error_count": float64(0),
				"config_error_count": float64(0), "db_error_count": float64(0),
			}
			if !maps.Equal(a.Summary, wantSummaryValues) {
				t.Errorf("summary = %v, want %v", a.Summary, wantSummaryValues)
			}
		})
	}
}

func TestDryRunAnswerIDsDiffer(t *testing.T) {
	s := mustSend(t, gb)
	now := time.Now()
	var first, second struct {
		Results []struct {
			MessageID string `json:"message_id"`
		} `json:"results"`
	}
	if err := json.Unmarshal(DryRunAnswer(s, 0, now), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(DryRunAnswer(s, 0, now), &second); err != nil {
		t.Fatal(err)
	}
	if first.Results[0].MessageID == second.Results[0].MessageID {
		t.Errorf("two answers at the same instant share the message id %q", first.Results[0].MessageID)
	}
}

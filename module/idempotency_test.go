package restlink

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/23telecom/restlink-sidecar/module/store"
)

// TestRecordIsOneAllocation checks that an idempotency record keeps its
// answer's Content-Type without a header map of its own: with a store's
// 100,000 records, a map each was 34 MB of a live heap.
func TestRecordIsOneAllocation(t *testing.T) {
	a := &sharedAnswer{status: 202, header: http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r1"}}, body: []byte(`{"message_id":"api_1"}`)}
	var rec *store.Record
	if allocs := testing.AllocsPerRun(100, func() { rec = record(a) }); allocs != 1 {
		t.Errorf("record makes %v allocations, want 1", allocs)
	}
	if rec.ContentType != "application/json" || rec.Status != 202 || string(rec.Body) != `{"message_id":"api_1"}` {
		t.Errorf("record = %+v", rec)
	}
}

// TestReplayHeaders checks what a replay sends: the remembered
// Content-Type, none if the answer had none (not one Go sniffs), and
// Idempotent-Replayed.
func TestReplayHeaders(t *testing.T) {
	for _, ct := range []string{"application/json", ""} {
		w := httptest.NewRecorder()
		w.Header().Set("Server", "Caddy")
		writeReplay(w, &store.Record{Status: 202, ContentType: ct, Body: []byte(`{"message_id":"api_1"}`)})
		res := w.Result()
		want := []string{ct}
		if ct == "" {
			want = nil // no header at all: not an empty one, nor one Go sniffs
		}
		if got := res.Header.Values("Content-Type"); !slices.Equal(got, want) {
			t.Errorf("Content-Type %q replayed as %q", ct, got)
		}
		if res.StatusCode != 202 || res.Header.Get("Idempotent-Replayed") != "true" || res.Header.Get("Server") != "" {
			t.Errorf("replay of %q: status %d, header %v", ct, res.StatusCode, res.Header)
		}
	}
}

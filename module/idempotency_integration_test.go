package restlink_test

import (
	"net/http"
	"testing"
)

// TestIdempotencyRecordsBounded: idempotency.max_records reaches the
// in-memory store: beyond it the oldest record is dropped (a retry of its
// key is sent again) and counted, while newer keys are still answered
// from their records.
func TestIdempotencyRecordsBounded(t *testing.T) {
	sc := startSidecar(t, setup{yaml: standardYAML + "idempotency:\n  max_records: 2\n", extraSites: opsSite})
	send := func(key string) answer {
		return sc.do(http.MethodPost, "/api/v1/sms/send", `{"to":["+447700900123"],"message":"hi","sender_id":"Shop"}`,
			"X-Tenant: acme", "Idempotency-Key: "+key)
	}
	for _, key := range []string{"order-1", "order-2", "order-3"} {
		if a := send(key); a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", key, a.status, a.body)
		}
	}
	before := sc.fake.Count()
	if a := send("order-3"); a.status != http.StatusOK || sc.fake.Count() != before {
		t.Errorf("a retry of the newest key: %d, %d sent; want its record's answer and nothing sent", a.status, sc.fake.Count()-before)
	}
	if a := send("order-1"); a.status != http.StatusOK || sc.fake.Count() != before+1 {
		t.Errorf("a retry of the dropped key: %d, %d sent; want it sent again", a.status, sc.fake.Count()-before)
	}
	if n := sc.scrape()["restlink_idempotency_records_dropped_total"]; n < 1 {
		t.Errorf("restlink_idempotency_records_dropped_total = %v, want at least 1", n)
	}
}

package restlink

import (
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/23telecom/restlink-sidecar/module/store"
)

// idempotencyPlan is the compiled idempotency section.
type idempotencyPlan struct {
	header     string // canonical; "" disabled
	ttl        time.Duration
	maxRecords int // in the memory store
}

// compileIdempotency checks the idempotency section.
func compileIdempotency(c IdempotencyConfig, p *problems) idempotencyPlan {
	if err := checkHeaderName(c.Header); err != nil {
		p.add("idempotency.header", "%v", err)
	}
	if c.TTL <= 0 {
		p.add("idempotency.ttl", "must be positive")
	}
	if c.MaxRecords <= 0 {
		p.add("idempotency.max_records", "must be positive")
	}
	return idempotencyPlan{header: http.CanonicalHeaderKey(c.Header), ttl: c.TTL, maxRecords: c.MaxRecords}
}

// maxIdempotencyKey bounds the length of an idempotency key.
const maxIdempotencyKey = 255

// claim names a POST by its idempotency key, if idempotency applies to it:
// a POST carrying the header. inFlight is how long the first attempt may
// take, after which an attempt still recorded in flight (the sidecar died
// during it) reads as of unknown outcome.
//
// It must read the app's header before upstreamHeader renames it.
func (ip idempotencyPlan) claim(r *http.Request, subject, path string, body []byte, inFlight time.Duration) (*store.IdempotencyClaim, *rejection) {
	if ip.header == "" || r.Method != http.MethodPost {
		return nil, nil
	}
	vals := r.Header.Values(ip.header)
	if len(vals) == 0 {
		return nil, nil
	}
	v := vals[0]
	if len(vals) > 1 || v == "" || len(v) > maxIdempotencyKey || !isVisibleASCII(v) {
		return nil, reject(CodeInvalidIdempotencyKey, "the "+ip.header+" header must be sent once, with 1 to 255 visible ASCII characters")
	}
	digest := sha256.New()
	digest.Write([]byte(r.Method + "|" + path + "|"))
	digest.Write(body)
	c := &store.IdempotencyClaim{Key: subject + ":" + v, TTL: ip.ttl, InFlightFor: inFlight}
	digest.Sum(c.BodyHash[:0])
	return c, nil
}

func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// record is what an idempotency record keeps of an answer: its status,
// Content-Type and body.
func record(a *sharedAnswer) *store.Record {
	return &store.Record{Status: a.status, ContentType: a.header.Get("Content-Type"), Body: a.body}
}

// writeReplay answers a repeated POST with the remembered answer.
func writeReplay(w http.ResponseWriter, rec *store.Record) {
	h := w.Header()
	delete(h, "Server")
	if rec.ContentType != "" {
		h.Set("Content-Type", rec.ContentType)
	} else {
		h["Content-Type"] = nil
	}
	h.Set("Idempotent-Replayed", "true")
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
}

// inFlightFor is how long a POST may be in flight before its idempotency
// record reads as of unknown outcome (the sidecar died during it): its
// wait for a pacing slot and, for each key, the longest the upstream may
// keep it waiting for an answer, with room to spare.
func inFlightFor(up UpstreamConfig) time.Duration {
	return up.MaxWait + time.Duration(maxKeysPerWorkspace)*up.Timeout + 10*time.Second
}

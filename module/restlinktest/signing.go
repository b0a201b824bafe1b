package restlinktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// signatureWindow is how far a request's X-Timestamp may be from the
// server's clock, either way.
const signatureWindow = 5 * time.Minute

// Sign returns restlink's X-Signature for a request: the lowercase hex
// HMAC-SHA256, keyed with the API key's secret, of
// METHOD|path|timestamp|body, where path is the request path as sent on
// the wire (escapes kept, /api/v1 included, no query string), timestamp
// is X-Timestamp (Unix seconds) and body is the exact bytes sent (empty
// for none).
func Sign(secret, method, path, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method))
	m.Write([]byte{'|'})
	m.Write([]byte(path))
	m.Write([]byte{'|'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'|'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// verifySignature checks the signature headers of a request made with a
// key that requires them. Like restlink, it answers INVALID_SIGNATURE for
// a wrong signature, a timestamp outside the window and a replayed
// (timestamp, signature) pair alike. f.mu is held.
func (f *Fake) verifySignature(r *http.Request, body []byte, secret string, now time.Time) *response {
	ts, sig := r.Header.Get("X-Timestamp"), r.Header.Get("X-Signature")
	if ts == "" || sig == "" {
		return refusal(http.StatusUnauthorized, codeSignatureRequired, "the API key requires the X-Timestamp and X-Signature headers")
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, r.Method, wirePath(r), ts, body))) {
		return refusal(http.StatusUnauthorized, codeInvalidSignature, "the signature does not match the request")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return refusal(http.StatusUnauthorized, codeInvalidSignature, "X-Timestamp is not a Unix time in seconds")
	}
	if d := now.Unix() - sec; d > int64(signatureWindow/time.Second) || -d > int64(signatureWindow/time.Second) {
		return refusal(http.StatusUnauthorized, codeInvalidSignature, "X-Timestamp is more than 5 minutes from the server's time")
	}
	if !f.replays.accept(sec, sig, now.Unix()) {
		return refusal(http.StatusUnauthorized, codeInvalidSignature, "this timestamp and signature were already used")
	}
	return nil
}

// wirePath is the request path exactly as the client sent it: the
// request-target before any query, with its escapes.
func wirePath(r *http.Request) string {
	target := r.RequestURI
	if target == "" || target[0] != '/' {
		// Not origin-form (or a request built in memory): the parsed
		// URL's escaped path is the closest there is.
		return r.URL.EscapedPath()
	}
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	return target
}

// replayCache holds the (timestamp, signature) pairs accepted within the
// window, so that each is accepted once. Pairs whose timestamp has left
// the window are forgotten: a replay of one would be refused as stale.
type replayCache struct {
	byTimestamp map[int64]map[string]struct{}
	pruned      int64 // the Unix second of the last pruning
	refused     int   // replays refused since the last Reset
}

func newReplayCache() replayCache {
	return replayCache{byTimestamp: make(map[int64]map[string]struct{})}
}

// accept records the pair and reports whether it is new.
func (c *replayCache) accept(timestamp int64, signature string, now int64) bool {
	if now != c.pruned {
		// At most once a second: the buckets span the window on either
		// side of now, so this walks about 600 keys.
		oldest := now - int64(signatureWindow/time.Second)
		for ts := range c.byTimestamp {
			if ts < oldest {
				delete(c.byTimestamp, ts)
			}
		}
		c.pruned = now
	}
	seen := c.byTimestamp[timestamp]
	if seen == nil {
		seen = make(map[string]struct{})
		c.byTimestamp[timestamp] = seen
	}
	if _, dup := seen[signature]; dup {
		c.refused++
		return false
	}
	seen[signature] = struct{}{}
	return true
}

// size is the number of pairs held.
func (c *replayCache) size() int {
	n := 0
	for _, seen := range c.byTimestamp {
		n += len(seen)
	}
	return n
}

// ReplaysRefused returns how many requests since the last Reset were
// refused for reusing an accepted (timestamp, signature) pair: a signing
// client that re-signs every retry keeps it at 0.
func (f *Fake) ReplaysRefused() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.replays.refused
}

package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sign computes restlink's signature independently of Verify.
func sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp + "." + string(body)))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"message_id":"api_42_1","recipient":"+447700900123","status":"DELIVRD"}`)
	secret := []byte("s3cret-of-the-main-workspace-0001")
	other := []byte("another-secret-being-rotated-in-02")
	good := sign(secret, ts, body)
	tamperedBody := append([]byte(nil), body...)
	tamperedBody[len(tamperedBody)-3] ^= 1
	at := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }

	tests := []struct {
		name      string
		secrets   [][]byte
		timestamp string
		signature string
		body      []byte
		maxSkew   time.Duration
		want      error
	}{
		{"valid", [][]byte{secret}, ts, good, body, time.Minute, nil},
		{"any of several secrets: second", [][]byte{other, secret}, ts, good, body, time.Minute, nil},
		{"any of several secrets: first", [][]byte{secret, other}, ts, good, body, time.Minute, nil},
		{"empty secret ignored", [][]byte{{}, secret}, ts, good, body, time.Minute, nil},
		{"wrong secret", [][]byte{other}, ts, good, body, time.Minute, ErrBadSignature},
		{"no secret", nil, ts, good, body, time.Minute, ErrNoSecret},
		{"only empty secrets", [][]byte{{}, nil}, ts, good, body, time.Minute, ErrNoSecret},
		{"missing signature", [][]byte{secret}, ts, "", body, time.Minute, ErrMissingSignature},
		{"missing timestamp", [][]byte{secret}, "", good, body, time.Minute, ErrMissingSignature},
		{"no prefix", [][]byte{secret}, ts, strings.TrimPrefix(good, "sha256="), body, time.Minute, ErrBadSignature},
		{"other algorithm prefix", [][]byte{secret}, ts, "sha1=" + strings.TrimPrefix(good, "sha256="), body, time.Minute, ErrBadSignature},
		{"uppercase hex", [][]byte{secret}, ts, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), body, time.Minute, ErrBadSignature},
		{"truncated hex", [][]byte{secret}, ts, good[:len(good)-2], body, time.Minute, ErrBadSignature},
		{"not hex", [][]byte{secret}, ts, "sha256=" + strings.Repeat("zz", 32), body, time.Minute, ErrBadSignature},
		{"trailing space", [][]byte{secret}, ts, good + " ", body, time.Minute, ErrBadSignature},
		{"body changed by one byte", [][]byte{secret}, ts, good, tamperedBody, time.Minute, ErrBadSignature},
		{"signature of another timestamp", [][]byte{secret}, at(time.Second), good, body, time.Minute, ErrBadSignature},
		{"stale timestamp", [][]byte{secret}, at(-2 * time.Minute), sign(secret, at(-2*time.Minute), body), body, time.Minute, ErrStaleTimestamp},
		{"future timestamp", [][]byte{secret}, at(2 * time.Minute), sign(secret, at(2*time.Minute), body), body, time.Minute, ErrStaleTimestamp},
		{"at the edge of the window", [][]byte{secret}, at(-time.Minute), sign(secret, at(-time.Minute), body), body, time.Minute, nil},
		{"default skew accepts 4 minutes", [][]byte{secret}, at(-4 * time.Minute), sign(secret, at(-4*time.Minute), body), body, 0, nil},
		{"default skew rejects 6 minutes", [][]byte{secret}, at(-6 * time.Minute), sign(secret, at(-6*time.Minute), body), body, 0, ErrStaleTimestamp},
		{"timestamp not a number", [][]byte{secret}, "yesterday", sign(secret, "yesterday", body), body, time.Minute, ErrStaleTimestamp},
		{"timestamp with sign", [][]byte{secret}, "+" + ts, sign(secret, "+"+ts, body), body, time.Minute, ErrStaleTimestamp},
		{"timestamp in milliseconds", [][]byte{secret}, ts + "000", sign(secret, ts+"000", body), body, time.Minute, ErrStaleTimestamp},
		{"timestamp overflowing", [][]byte{secret}, strings.Repeat("9", 30), good, body, time.Minute, ErrStaleTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secrets, tc.timestamp, tc.signature, tc.body, now, tc.maxSkew)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify() = %v, want %v", err, tc.want)
			}
			if err != nil {
				for _, s := range append(tc.secrets, []byte(good), []byte(strings.TrimPrefix(good, "sha256="))) {
					if len(s) > 0 && strings.Contains(err.Error(), string(s)) {
						t.Fatalf("error %q reveals a secret or the expected signature", err)
					}
				}
			}
		})
	}
}

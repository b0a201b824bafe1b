package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify: headers and bodies from the internet never panic Verify,
// and it accepts exactly the signature computed with the secret (upper
// case hex, whitespace or another prefix are refused).
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_795_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	secret := []byte("whsec_fuzz")
	good := func(ts string, body []byte) string {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(ts + "." + string(body)))
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	body := []byte(`{"message_id":"api_42_1","status":"DELIVRD"}`)
	f.Add(ts, good(ts, body), body)
	f.Add(ts, strings.ToUpper(good(ts, body)), body)
	f.Add("", "", []byte{})
	f.Add("-1", "sha256=", []byte("x"))
	f.Add(ts+"0", good(ts+"0", body), body)
	f.Add(" "+ts, good(" "+ts, body), body)
	f.Fuzz(func(t *testing.T, timestamp, signature string, body []byte) {
		err := Verify([][]byte{secret}, timestamp, signature, body, now, time.Minute)
		if err == nil && signature != good(timestamp, body) {
			t.Fatalf("accepted signature %q for timestamp %q", signature, timestamp)
		}
		if err == nil {
			sec, perr := strconv.ParseInt(timestamp, 10, 64)
			if perr != nil || sec < now.Unix()-60 || sec > now.Unix()+60 {
				t.Fatalf("accepted timestamp %q outside the window", timestamp)
			}
		}
	})
}

// FuzzDedupKey: any body gives a key that names the workspace and type and
// carries nothing but printable ASCII (it is stored and logged), and an
// event id of 32 hex digits.
func FuzzDedupKey(f *testing.F) {
	f.Add([]byte(`{"message_id":"api_42_1","status":"DELIVRD","recipient":"+447700900123"}`))
	f.Add([]byte(`{"message_id":"+447700900123","status":"DELIVRD"}`))
	f.Add([]byte(`{"message_id":"a|b","status":"x"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		key := DedupKey("main", "delivery", body)
		if !strings.HasPrefix(key, "main|delivery|") {
			t.Fatalf("key %q", key)
		}
		for i := 0; i < len(key); i++ {
			if c := key[i]; c <= ' ' || c > '~' {
				t.Fatalf("key %q holds byte %#x", key, c)
			}
		}
		if id := EventID(key); len(id) != 32 {
			t.Fatalf("event id %q", id)
		}
	})
}

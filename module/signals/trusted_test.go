package signals

import (
	"bytes"
	"strings"
	"testing"
)

func TestTrusted(t *testing.T) {
	tr, err := ParseTrusted([]byte("# on-call phones\n+447700900123\n\n  +353861234567  \n"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 2 || !tr.Has("+447700900123") || !tr.Has("+353861234567") || tr.Has("+447700900124") {
		t.Errorf("set of %d: wrong membership", tr.Len())
	}
	if bytes.Contains(tr.salt[:], []byte("+4477")) {
		t.Fatal("salt looks like a number")
	}
	for h := range tr.hashes {
		if bytes.Contains(h[:], []byte("447700900123")) {
			t.Error("a number is kept in clear")
		}
	}
	other, _ := ParseTrusted([]byte("+447700900123\n"))
	if other.salt == tr.salt {
		t.Error("two sets share a salt")
	}
	var none *Trusted
	if none.Has("+447700900123") || none.Len() != 0 {
		t.Error("a nil set holds numbers")
	}
}

func TestTrustedBadLines(t *testing.T) {
	tr, err := ParseTrusted([]byte("+447700900123\n07700900124\n+44 7700 900125\n"))
	if err == nil {
		t.Fatal("bad lines accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, "line 2") || !strings.Contains(msg, "line 3") || strings.Contains(msg, "7700900124") || strings.Contains(msg, "900125") {
		t.Errorf("error %q: must name lines 2 and 3 and quote no number", msg)
	}
	if !tr.Has("+447700900123") {
		t.Error("the good line was dropped")
	}
}

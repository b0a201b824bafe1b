package fieldhash

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestID: the fields' lengths keep lists that join to the same text apart,
// and the format is the fixed one: SHA-256 over length (8 bytes,
// big-endian) and bytes of each field, the first 16 bytes in hex.
func TestID(t *testing.T) {
	if ID("ab", "c") == ID("a", "bc") {
		t.Error(`"ab", "c" and "a", "bc" have one id`)
	}
	sum := sha256.Sum256([]byte("\x00\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x00\x00\x00\x00\x00\x00"))
	if got, want := ID("a", ""), hex.EncodeToString(sum[:16]); got != want {
		t.Errorf("ID(a, \"\") = %s, want %s", got, want)
	}
}

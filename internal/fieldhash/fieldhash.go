// Package fieldhash hashes lists of fields so that no two lists hash the
// same bytes: each field is written after its length in bytes, a
// big-endian uint64, so that "ab", "c" and "a", "bc" differ. The alert
// and quarantine ids and the key-verdict markers are made this way; the
// format is fixed, as sidecars of different versions must agree on them.
package fieldhash

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// Write writes each field to h after its length.
func Write(h hash.Hash, fields ...string) {
	var n [8]byte
	for _, field := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(field)))
		h.Write(n[:])
		h.Write([]byte(field))
	}
}

// ID is the hex of the first 16 bytes of the SHA-256 of the fields, as
// Write writes them.
func ID(fields ...string) string {
	h := sha256.New()
	Write(h, fields...)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

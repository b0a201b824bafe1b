package signals

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Trusted is a set of trusted numbers: numbers a quarantine never
// refuses. It holds only salted hashes of the numbers, never the numbers
// themselves. A nil *Trusted holds none. It is immutable and safe for
// concurrent use.
type Trusted struct {
	salt   [16]byte
	hashes map[[sha256.Size]byte]struct{}
}

// MaxTrustedFile is the largest trusted-numbers file read.
const MaxTrustedFile = 4 << 20

// ParseTrusted reads a trusted-numbers file: one E.164 number ("+" and 8
// to 15 digits, the first not 0) a line; blank lines and lines starting
// with # are skipped, and spaces around a number are ignored. A line that
// is not a number is an error naming its line, never its text.
func ParseTrusted(data []byte) (*Trusted, error) {
	t := &Trusted{hashes: make(map[[sha256.Size]byte]struct{})}
	if _, err := rand.Read(t.salt[:]); err != nil {
		return nil, err
	}
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 256), MaxTrustedFile)
	for line := 1; sc.Scan(); line++ {
		number := bytes.TrimSpace(sc.Bytes())
		if len(number) == 0 || number[0] == '#' {
			continue
		}
		if !isE164(number) {
			errs = append(errs, fmt.Errorf("line %d is not an E.164 number (\"+\" and 8 to 15 digits)", line))
			continue
		}
		t.hashes[t.hash(number)] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return t, errors.Join(errs...)
}

// Len is how many numbers the set holds.
func (t *Trusted) Len() int {
	if t == nil {
		return 0
	}
	return len(t.hashes)
}

// Has reports whether number (E.164, as a send names it) is trusted.
func (t *Trusted) Has(number string) bool {
	if t == nil || len(t.hashes) == 0 {
		return false
	}
	_, ok := t.hashes[t.hash([]byte(number))]
	return ok
}

// hash is the salted hash a number is kept as.
func (t *Trusted) hash(number []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(t.salt[:])
	h.Write(number)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// isE164 reports whether s is "+" and 8 to 15 digits, the first not 0.
func isE164(s []byte) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

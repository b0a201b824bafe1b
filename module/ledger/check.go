package ledger

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/names"
)

// Bounds of what a record may hold. They are far above any real send (100
// recipients, at most 255 segments each, a few currency units a segment)
// and keep every line short and every sum of a year's records far from
// overflowing an int64.
const (
	// maxMicros bounds an amount: a million units of the currency.
	maxMicros = 1_000_000_000_000
	// maxSegments is the most parts a concatenated SMS can have.
	maxSegments = 255
	// maxParts bounds the recipients of a reservation and the messages
	// of a settlement.
	maxParts = 1000
	// maxIDLength bounds send and message ids.
	maxIDLength = 128
)

// checkID accepts 1 to maxIDLength bytes of printable ASCII other than a
// space.
func checkID(what, id string) error {
	if id == "" || len(id) > maxIDLength {
		return fmt.Errorf("%s must have 1 to %d characters", what, maxIDLength)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%s %q may contain only printable ASCII without spaces", what, id)
		}
	}
	return nil
}

// checkName applies the config's rule for tenant and workspace names. A
// tenant may also be "@" and a workspace name: the sends of a workspace
// that named no tenant, as the sidecar's policy counts them.
func checkName(what, name string) error {
	if what == "tenant" {
		name = strings.TrimPrefix(name, "@")
	}
	if err := names.Check(name); err != nil {
		return fmt.Errorf("%s %w", what, err)
	}
	return nil
}

// checkCountry accepts an ISO 3166-1 alpha-2 code, or ZZ for a number in
// no country: two upper-case ASCII letters.
func checkCountry(c string) error {
	if len(c) != 2 || !isUpper(c[0]) || !isUpper(c[1]) {
		return fmt.Errorf("country %q is not two upper-case letters (ISO 3166-1 alpha-2, or ZZ)", c)
	}
	return nil
}

// checkCurrency accepts an ISO 4217 code: three upper-case ASCII letters.
func checkCurrency(c string) error {
	if len(c) != 3 || !isUpper(c[0]) || !isUpper(c[1]) || !isUpper(c[2]) {
		return fmt.Errorf("currency %q is not three upper-case letters (ISO 4217)", c)
	}
	return nil
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// checkDay accepts a calendar day written YYYY-MM-DD.
func checkDay(what, day string) error {
	t, err := time.Parse(dayLayout, day)
	if err != nil || t.Format(dayLayout) != day {
		return fmt.Errorf("%s %q is not a day written YYYY-MM-DD", what, day)
	}
	return nil
}

// checkTime accepts a time from 1970 to 9999 (RFC 3339 has four-digit
// years; no SMS was sent before 1970). The zero time is missing.
func checkTime(t time.Time) error {
	if t.IsZero() {
		return errors.New("time is missing")
	}
	if y := t.UTC().Year(); y < 1970 || y > 9999 {
		return fmt.Errorf("time %s is not between 1970 and 9999", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkMicros accepts an amount from 0 (from -maxMicros when signed) to
// maxMicros.
func checkMicros(what string, v int64, signed bool) error {
	if v > maxMicros || v < -maxMicros || (!signed && v < 0) {
		if signed {
			return fmt.Errorf("%s %d is out of range (±%d)", what, v, int64(maxMicros))
		}
		return fmt.Errorf("%s %d is out of range (0 to %d)", what, v, int64(maxMicros))
	}
	return nil
}

// checkSegments accepts min to maxSegments segments.
func checkSegments(n, min int) error {
	if n < min || n > maxSegments {
		return fmt.Errorf("segments %d is out of range (%d to %d)", n, min, maxSegments)
	}
	return nil
}

// errNumberHash is the complaint about a number_hash that could be a
// phone number, or is not a hash at all.
var errNumberHash = errors.New("number_hash must be 32 to 128 lower-case hex digits (a salted hash, never the number)")

// checkNumberHash accepts "" or 32 to 128 lower-case hex digits: longer
// than any phone number, so that a number can never be written there by
// mistake.
func checkNumberHash(h string) error {
	if h == "" {
		return nil
	}
	if len(h) < 32 || len(h) > 128 {
		return errNumberHash
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return errNumberHash
		}
	}
	return nil
}

package money

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// Amount is an amount of the account's currency in micro-units
// (millionths): Amount(1_250_000) is 1.25. It may be negative, as a
// balance in credit or a refund may be.
type Amount int64

// microDigits is the number of decimal places an Amount holds exactly.
const microDigits = 6

// microsPerUnit is the number of micro-units in one unit of the currency.
const microsPerUnit = 1_000_000

// ErrOverflow is the error of an amount, or a product of one, that does
// not fit in an Amount (about ±9.2 trillion units).
var ErrOverflow = errors.New("the amount does not fit in 64-bit micro-units")

var (
	_ fmt.Stringer     = Amount(0)
	_ json.Marshaler   = Amount(0)
	_ json.Unmarshaler = (*Amount)(nil)
)

// String writes the amount as a decimal: the integer part, then a
// fraction of at least 2 and at most 6 places, trailing zeros trimmed
// beyond the second ("12.50", "0.0085", "0.00", "-1.25").
func (a Amount) String() string {
	return string(a.appendDecimal(make([]byte, 0, 24)))
}

// MarshalJSON writes the amount as a JSON number with the text of String.
func (a Amount) MarshalJSON() ([]byte, error) {
	return a.appendDecimal(make([]byte, 0, 24)), nil
}

// UnmarshalJSON reads an amount from a JSON number (or a string holding
// one) exactly, as Parse does.
func (a *Amount) UnmarshalJSON(b []byte) error {
	text := string(b)
	if len(text) >= 2 && text[0] == '"' && text[len(text)-1] == '"' {
		text = text[1 : len(text)-1]
	}
	v, err := Parse(text)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// appendDecimal appends the text of String to b.
func (a Amount) appendDecimal(b []byte) []byte {
	mag := uint64(a) // the two's complement magnitude is right for math.MinInt64 too
	if a < 0 {
		b = append(b, '-')
		mag = -mag
	}
	b = strconv.AppendUint(b, mag/microsPerUnit, 10)
	b = append(b, '.')
	var buf [microDigits + 1]byte // the fraction after a leading 1, which keeps its zeros
	frac := strconv.AppendUint(buf[:0], mag%microsPerUnit+microsPerUnit, 10)[1:]
	places := microDigits
	for places > 2 && frac[places-1] == '0' {
		places--
	}
	return append(b, frac[:places]...)
}

// Times returns the amount multiplied by n, as the cost of n segments at
// a per-segment rate, or ErrOverflow if the product does not fit.
func (a Amount) Times(n int) (Amount, error) {
	hi, lo := bits.Mul64(magnitude(int64(a)), magnitude(int64(n)))
	if hi == 0 {
		if p, ok := fromMagnitude((a < 0) != (n < 0), lo); ok {
			return p, nil
		}
	}
	return 0, fmt.Errorf("multiplying %s by %d: %w", a, n, ErrOverflow)
}

// magnitude returns the absolute value of v, right for math.MinInt64 too.
func magnitude(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}

// fromMagnitude returns the Amount of magnitude mag and the given sign,
// and whether it fits.
func fromMagnitude(negative bool, mag uint64) (Amount, bool) {
	switch {
	case negative && mag <= 1<<63:
		return Amount(-mag), true
	case !negative && mag <= math.MaxInt64:
		return Amount(mag), true
	}
	return 0, false
}

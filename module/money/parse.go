package money

import (
	"errors"
	"fmt"
)

// ErrSyntax is the error of a text that is not a number as JSON writes
// it.
var ErrSyntax = errors.New("not a number as JSON writes it")

// ErrInexact is the error of a number that is not a whole number of
// micro-units: it has more than 6 decimal places that are not all zero,
// and an Amount would have to round it.
var ErrInexact = errors.New("more than 6 decimal places that are not all zero: not exact in micro-units")

// maxExponent bounds the exponent Parse keeps. A number's digits are far
// fewer than this, so an exponent beyond it is as good as infinite: its
// number overflows, or has too many decimal places, unless it is zero.
const maxExponent = 1 << 40

// maxQuoted is how much of a text an error quotes.
const maxQuoted = 40

// Parse reads an amount exactly from the text of a JSON number, such as
// a json.Number or the raw bytes of a JSON value: "0.0085", "12", "-3.5",
// "1e-3", "2.5E2". A number with more than 6 decimal places that are not
// all zero is ErrInexact, one that does not fit is ErrOverflow, and a
// text that JSON would refuse as a number (a leading '+', ".5", "5.",
// hex, NaN, Inf, white space) is ErrSyntax; each is wrapped in an error
// that quotes the text.
func Parse(text string) (Amount, error) {
	n, ok := scanNumber(text)
	if !ok {
		return 0, parseError(text, ErrSyntax)
	}
	a, err := n.amount()
	if err != nil {
		return 0, parseError(text, err)
	}
	return a, nil
}

// parseError wraps err with the text being parsed, shortened if long.
func parseError(text string, err error) error {
	if len(text) > maxQuoted {
		return fmt.Errorf("parsing amount %q (%d bytes): %w", text[:maxQuoted]+"…", len(text), err)
	}
	return fmt.Errorf("parsing amount %q: %w", text, err)
}

// number is a JSON number split into its parts: its value is the digits
// of intPart and fracPart, read as one integer, times 10 to the power
// exponent-len(fracPart).
type number struct {
	negative bool
	intPart  string
	fracPart string
	exponent int64 // within ±maxExponent
}

// scanNumber splits text into a number if it is one as JSON writes it:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and nothing else, the
// grammar module/policy's jsonReader.skipNumber checks.
func scanNumber(text string) (number, bool) {
	var n number
	s := text
	if len(s) > 0 && s[0] == '-' {
		n.negative = true
		s = s[1:]
	}
	n.intPart, s = leadingDigits(s)
	if n.intPart == "" || len(n.intPart) > 1 && n.intPart[0] == '0' {
		return n, false
	}
	if len(s) > 0 && s[0] == '.' {
		n.fracPart, s = leadingDigits(s[1:])
		if n.fracPart == "" {
			return n, false
		}
	}
	if len(s) > 0 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		negative := false
		if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
			negative = s[0] == '-'
			s = s[1:]
		}
		var exp string
		exp, s = leadingDigits(s)
		if exp == "" {
			return n, false
		}
		n.exponent = boundedInt(exp)
		if negative {
			n.exponent = -n.exponent
		}
	}
	return n, s == ""
}

// leadingDigits splits s after its leading run of ASCII digits.
func leadingDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

// boundedInt reads a run of digits as an integer, maxExponent if it is
// larger.
func boundedInt(digits string) int64 {
	var v int64
	for i := 0; i < len(digits); i++ {
		v = v*10 + int64(digits[i]-'0')
		if v > maxExponent {
			return maxExponent
		}
	}
	return v
}

// amount converts the number to micro-units exactly.
func (n number) amount() (Amount, error) {
	count := len(n.intPart) + len(n.fracPart)
	digit := func(i int) byte {
		if i < len(n.intPart) {
			return n.intPart[i] - '0'
		}
		return n.fracPart[i-len(n.intPart)] - '0'
	}
	// The number is its digits times 10^shift micro-units.
	shift := int64(microDigits) - int64(len(n.fracPart)) + n.exponent
	keep := count
	if shift < 0 {
		keep = int(max(int64(count)+shift, 0))
		for i := keep; i < count; i++ {
			if digit(i) != 0 {
				return 0, ErrInexact
			}
		}
	}
	const limit = 1 << 63 // the magnitude of math.MinInt64, the largest an Amount holds
	var mag uint64
	for i := 0; i < keep; i++ {
		d := uint64(digit(i))
		if mag > (limit-d)/10 {
			return 0, ErrOverflow
		}
		mag = mag*10 + d
	}
	if mag != 0 {
		for ; shift > 0; shift-- {
			if mag > limit/10 {
				return 0, ErrOverflow
			}
			mag *= 10
		}
	}
	a, ok := fromMagnitude(n.negative, mag)
	if !ok {
		return 0, ErrOverflow
	}
	return a, nil
}

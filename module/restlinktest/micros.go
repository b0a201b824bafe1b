package restlinktest

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// micros is an amount of the account's currency in micro-units
// (millionths): micros(25_500) is 0.0255. It is the fake's only form of
// money, so that no cost, sum or balance is ever rounded. The fake has
// its own, instead of module/money's, to stay an independent oracle.
type micros int64

// microsPerUnit is the number of micro-units in one unit of currency.
const microsPerUnit = 1_000_000

// errAmount is the error of text that is not an exact amount.
var errAmount = errors.New("not an exact amount: want a decimal such as 0.0085, with at most 6 places that are not 0, and no exponent")

// parseMicros reads a decimal amount in the grammar of a JSON number
// without an exponent: an optional '-', an integer part without leading
// zeros, an optional '.' and fraction. The fraction may be longer than 6
// places only with zeros beyond the sixth. It refuses text that is not an
// exact number of micro-units or does not fit in 64 bits.
func parseMicros(s string) (micros, error) {
	text, negative := strings.CutPrefix(s, "-")
	whole, frac, dot := strings.Cut(text, ".")
	if !isDigits(whole) || (len(whole) > 1 && whole[0] == '0') || (dot && !isDigits(frac)) {
		return 0, errAmount
	}
	if len(frac) > 6 {
		if strings.Trim(frac[6:], "0") != "" {
			return 0, errAmount // finer than a micro-unit
		}
		frac = frac[:6]
	}
	frac += "000000"[len(frac):]
	var n uint64
	for _, d := range whole + frac {
		v := uint64(d - '0')
		if n > (math.MaxInt64-v)/10 {
			return 0, errAmount // beyond 64 bits
		}
		n = n*10 + v
	}
	if negative {
		return -micros(n), nil
	}
	return micros(n), nil
}

// mustMicros is parseMicros for amounts a test gives the fake: it panics
// on text that is not an exact amount, as httptest panics on a setup it
// cannot honour.
func mustMicros(what, s string) micros {
	m, err := parseMicros(s)
	if err != nil {
		panic("restlinktest: " + what + " " + strconv.Quote(s) + ": " + err.Error())
	}
	return m
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// String writes the amount as the shortest exact decimal: no trailing
// zeros in the fraction and no '.' for a whole amount ("0.0255", "12.5",
// "0", "-3").
func (m micros) String() string {
	mag := uint64(m) // the two's complement magnitude is right for math.MinInt64 too
	var b []byte
	if m < 0 {
		b = append(b, '-')
		mag = -mag
	}
	b = strconv.AppendUint(b, mag/microsPerUnit, 10)
	if f := mag % microsPerUnit; f != 0 {
		frac := strconv.AppendUint(nil, f+microsPerUnit, 10)[1:] // six digits, leading zeros kept
		b = append(b, '.')
		b = append(b, strings.TrimRight(string(frac), "0")...)
	}
	return string(b)
}

// number is the amount as a JSON number with its exact text.
func (m micros) number() json.Number {
	return json.Number(m.String())
}

// times returns n times m, and false if the product does not fit.
func (m micros) times(n int) (micros, bool) {
	if n < 0 || m < 0 {
		return 0, false
	}
	if n != 0 && m > math.MaxInt64/micros(n) {
		return 0, false
	}
	return m * micros(n), true
}

// plus returns m + o for amounts of 0 or more, and false if the sum does
// not fit.
func (m micros) plus(o micros) (micros, bool) {
	if m < 0 || o < 0 || m > math.MaxInt64-o {
		return 0, false
	}
	return m + o, true
}

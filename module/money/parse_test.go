package money

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		text string
		want Amount
		err  error
	}{
		{"0.0085", 8_500, nil},
		{"12", 12_000_000, nil},
		{"-3.5", -3_500_000, nil},
		{"1e-3", 1_000, nil},
		{"2.5E2", 250_000_000, nil},
		{"1250.50", 1_250_500_000, nil},
		{"0", 0, nil},
		{"-0", 0, nil},
		{"0.000001", 1, nil},
		{"0.0000010000", 1, nil},
		{"1.1e-5", 11, nil},
		{"1E+2", 100_000_000, nil},
		{"1e0", 1_000_000, nil},
		{"0e999999999999999999999", 0, nil},
		{"0.000e-999999999999999999", 0, nil},
		{"100000000000000e-14", 1_000_000, nil},
		{"1000000000000000000000000e-24", 1_000_000, nil},
		{"9223372036854.775807", math.MaxInt64, nil},
		{"-9223372036854.775808", math.MinInt64, nil},
		{"9223372036854775807e-6", math.MaxInt64, nil},

		{"0.0000001", 0, ErrInexact},
		{"0.00850001", 0, ErrInexact},
		{"1e-7", 0, ErrInexact},
		{"15e-7", 0, ErrInexact},
		{"1e-999999999999999999999", 0, ErrInexact},
		{"9223372036854.775808", 0, ErrOverflow},
		{"-9223372036854.775809", 0, ErrOverflow},
		{"1e13", 0, ErrOverflow},
		{"1e999999999999999999999", 0, ErrOverflow},
		{"99999999999999999999", 0, ErrOverflow},

		{"", 0, ErrSyntax},
		{"-", 0, ErrSyntax},
		{"+1", 0, ErrSyntax},
		{".5", 0, ErrSyntax},
		{"5.", 0, ErrSyntax},
		{"-.5", 0, ErrSyntax},
		{"01", 0, ErrSyntax},
		{"-01", 0, ErrSyntax},
		{"00", 0, ErrSyntax},
		{"0x10", 0, ErrSyntax},
		{"NaN", 0, ErrSyntax},
		{"Inf", 0, ErrSyntax},
		{"-Infinity", 0, ErrSyntax},
		{" 1", 0, ErrSyntax},
		{"1 ", 0, ErrSyntax},
		{"1\n", 0, ErrSyntax},
		{"1e", 0, ErrSyntax},
		{"1e+", 0, ErrSyntax},
		{"1.5e-", 0, ErrSyntax},
		{"1_000", 0, ErrSyntax},
		{"1,5", 0, ErrSyntax},
		{`"1"`, 0, ErrSyntax},
		{"١", 0, ErrSyntax}, // an Arabic-Indic digit one
		{"--1", 0, ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got, err := Parse(tc.text)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("Parse(%q) = %d, %v: want %d, %v", tc.text, got, err, tc.want, tc.err)
			}
			if err != nil && !strings.Contains(err.Error(), strconv.Quote(tc.text)) {
				t.Errorf("the error %q does not quote the text", err)
			}
		})
	}
}

func TestParseErrorText(t *testing.T) {
	_, err := Parse("0.0000001")
	if want := `parsing amount "0.0000001": more than 6 decimal places that are not all zero: not exact in micro-units`; err == nil || err.Error() != want {
		t.Errorf("Parse = %v, want %s", err, want)
	}
	long := "1." + strings.Repeat("0", 100) + "1"
	_, err = Parse(long)
	if err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), "(103 bytes)") {
		t.Errorf("Parse of a long number = %v: want the text shortened and its length named", err)
	}
}

// FuzzParse: Parse never panics; an amount it accepts writes out (String)
// as a text that reads back to the same amount; and on texts small enough
// for an exact oracle (math/big), it accepts exactly the JSON numbers
// that are whole micro-units within range, with their value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0.0085", "12", "-3.5", "1e-3", "2.5E2", "0", "-0", "0.000001", "0.0000001",
		"9223372036854.775807", "-9223372036854.775808", "9223372036854.775808",
		"1e999999999999999999999", "0e-99999", "+1", ".5", "5.", "0x1", "NaN", " 1", "01",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, err := Parse(text)
		if err == nil {
			back, err := Parse(a.String())
			if err != nil || back != a {
				t.Fatalf("Parse(%q) = %d, written %q, read back as %d, %v", text, a, a.String(), back, err)
			}
		} else if a != 0 {
			t.Fatalf("Parse(%q) = %d with the error %v", text, a, err)
		}
		want, wantErr, ok := oracle(text)
		if !ok {
			return
		}
		if !errors.Is(err, wantErr) || a != want {
			t.Fatalf("Parse(%q) = %d, %v: want %d, %v", text, a, err, want, wantErr)
		}
	})
}

// oracle computes what Parse must return for text with math/big, and
// reports whether it could: texts whose exponent is too large for big.Rat
// to expand cheaply are left to the round trip.
func oracle(text string) (Amount, error, bool) {
	if !isJSONNumber(text) {
		return 0, ErrSyntax, true
	}
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		if e, err := strconv.Atoi(text[i+1:]); err != nil || e > 1000 || e < -1000 {
			return 0, nil, false
		}
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		panic("big.Rat refused a JSON number: " + text)
	}
	r.Mul(r, big.NewRat(1_000_000, 1))
	switch {
	case !r.IsInt():
		return 0, ErrInexact, true
	case !r.Num().IsInt64():
		return 0, ErrOverflow, true
	}
	return Amount(r.Num().Int64()), nil, true
}

// isJSONNumber reports whether text is one JSON number, by encoding/json's
// reading of it, with no white space around it.
func isJSONNumber(text string) bool {
	if text == "" || strings.TrimSpace(text) != text || text[0] != '-' && (text[0] < '0' || text[0] > '9') {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(text), &n) == nil
}

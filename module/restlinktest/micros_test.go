package restlinktest

import (
	"math"
	"math/big"
	"regexp"
	"testing"
)

// TestParseMicros: exact amounts read to the micro-unit, everything else
// refused.
func TestParseMicros(t *testing.T) {
	for _, tc := range []struct {
		text string
		want micros
	}{
		{"0", 0},
		{"-0", 0},
		{"0.0085", 8_500},
		{"0.0255", 25_500},
		{"12.5", 12_500_000},
		{"1250.50", 1_250_500_000},
		{"0.000001", 1},
		{"0.10000000", 100_000},
		{"-3", -3_000_000},
		{"1000000", 1_000_000_000_000},
		{"9223372036854.775807", math.MaxInt64},
		{"-9223372036854.775807", -math.MaxInt64},
	} {
		got, err := parseMicros(tc.text)
		if err != nil || got != tc.want {
			t.Errorf("parseMicros(%q) = %d, %v, want %d", tc.text, got, err, tc.want)
		}
	}
	for _, text := range []string{
		"", "-", ".", "1.", ".5", "+1", "01", "00.5", "1e3", "1E-2", "0x10", " 1", "1 ", "1,5", "NaN", "Inf",
		"0.0000001", "0.00000050", "9223372036854.775808", "-9223372036854.775808", "99999999999999999999", "1.2.3", "--1", "١",
	} {
		if got, err := parseMicros(text); err == nil {
			t.Errorf("parseMicros(%q) = %d, want an error", text, got)
		}
	}
}

// TestMicrosString: the shortest exact decimal.
func TestMicrosString(t *testing.T) {
	for _, tc := range []struct {
		m    micros
		want string
	}{
		{0, "0"},
		{1, "0.000001"},
		{8_500, "0.0085"},
		{25_500, "0.0255"},
		{12_500_000, "12.5"},
		{1_000_000, "1"},
		{-3_000_000, "-3"},
		{-1, "-0.000001"},
		{math.MaxInt64, "9223372036854.775807"},
		{math.MinInt64, "-9223372036854.775808"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("micros(%d).String() = %q, want %q", int64(tc.m), got, tc.want)
		}
	}
}

// TestMicrosArithmetic: products and sums are exact or refused.
func TestMicrosArithmetic(t *testing.T) {
	if got, ok := micros(8_500).times(3); !ok || got != 25_500 {
		t.Errorf("3 × 0.0085 = %v, %t", got, ok)
	}
	if _, ok := micros(math.MaxInt64 / 2).times(3); ok {
		t.Error("an overflowing product was accepted")
	}
	if _, ok := micros(1).times(-1); ok {
		t.Error("a negative count was accepted")
	}
	if got, ok := micros(100_000).plus(200_000); !ok || got != 300_000 {
		t.Errorf("0.1 + 0.2 = %v, %t", got, ok)
	}
	if _, ok := micros(math.MaxInt64).plus(1); ok {
		t.Error("an overflowing sum was accepted")
	}
}

// amountGrammar is a JSON number without an exponent.
var amountGrammar = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)

// FuzzMicros checks the parser against math/big, and the round trip of
// text and amounts: parseMicros accepts exactly the texts of the grammar
// whose value is a whole number of micro-units within 64 bits, reads that
// value, and String writes text that reads back to the same amount.
func FuzzMicros(f *testing.F) {
	for _, seed := range []string{"0", "0.0085", "12.5", "-3", "0.10000000", "0.0000001", "9223372036854.775807",
		"9223372036854.775808", "01", "1.", "1e3", "-0", ""} {
		f.Add(seed, int64(len(seed))*8_500)
	}
	f.Add("-9223372036854.775808", int64(math.MinInt64))
	million := big.NewRat(microsPerUnit, 1)
	f.Fuzz(func(t *testing.T, text string, n int64) {
		got, err := parseMicros(text)
		want, valid := new(big.Rat), amountGrammar.MatchString(text)
		if valid {
			if _, ok := want.SetString(text); !ok {
				t.Fatalf("math/big cannot read %q", text)
			}
			want.Mul(want, million)
			valid = want.IsInt() && want.Num().IsInt64() && want.Num().Int64() != math.MinInt64
		}
		switch {
		case valid != (err == nil):
			t.Fatalf("parseMicros(%q) = %d, %v; valid by math/big: %t", text, got, err, valid)
		case valid && int64(got) != want.Num().Int64():
			t.Fatalf("parseMicros(%q) = %d, want %s", text, got, want.Num())
		case valid:
			if again, err := parseMicros(got.String()); err != nil || again != got {
				t.Fatalf("%q read as %d, written %q, read back as %d, %v", text, got, got.String(), again, err)
			}
		}

		m := micros(n)
		s := m.String()
		if !amountGrammar.MatchString(s) {
			t.Fatalf("micros(%d) written %q, not a JSON number", n, s)
		}
		back, err := parseMicros(s)
		if n == math.MinInt64 {
			if err == nil {
				t.Fatalf("%q read back although beyond the parser's range", s)
			}
			return
		}
		if err != nil || back != m {
			t.Fatalf("micros(%d) written %q, read back as %d, %v", n, s, back, err)
		}
	})
}

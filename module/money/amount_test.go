package money

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		a    Amount
		want string
	}{
		{0, "0.00"},
		{12_500_000, "12.50"},
		{8_500, "0.0085"},
		{-1_250_000, "-1.25"},
		{1, "0.000001"},
		{-1, "-0.000001"},
		{-500_000, "-0.50"},
		{1_000_000, "1.00"},
		{1_250_500_000, "1250.50"},
		{123_456_789, "123.456789"},
		{10_000, "0.01"},
		{100_000, "0.10"},
		{math.MaxInt64, "9223372036854.775807"},
		{math.MinInt64, "-9223372036854.775808"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.a.String(); got != tc.want {
				t.Errorf("Amount(%d).String() = %q, want %q", int64(tc.a), got, tc.want)
			}
			if got, err := Parse(tc.want); err != nil || got != tc.a {
				t.Errorf("Parse(%q) = %d, %v: want %d", tc.want, got, err, tc.a)
			}
		})
	}
}

func TestMarshalJSON(t *testing.T) {
	doc := struct {
		Spent  Amount  `json:"spent"`
		Budget *Amount `json:"budget"`
	}{Spent: 8_500, Budget: new(Amount(200_000_000))}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"spent":0.0085,"budget":200.00}`; string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
	// What it writes is a JSON number, which Parse reads back.
	var back struct {
		Spent json.Number `json:"spent"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if a, err := Parse(back.Spent.String()); err != nil || a != 8_500 {
		t.Errorf("Parse(%q) = %d, %v", back.Spent, a, err)
	}
}

func TestTimes(t *testing.T) {
	tests := []struct {
		name string
		a    Amount
		n    int
		want Amount
		err  error
	}{
		{"segments", 8_500, 3, 25_500, nil},
		{"zero segments", 8_500, 0, 0, nil},
		{"zero rate", 0, 7, 0, nil},
		{"negative n", 1_000_000, -2, -2_000_000, nil},
		{"negative amount", -1_000_000, 2, -2_000_000, nil},
		{"both negative", -3, -4, 12, nil},
		{"largest", math.MaxInt64, 1, math.MaxInt64, nil},
		{"smallest", math.MinInt64, 1, math.MinInt64, nil},
		{"smallest by -1", -1, math.MinInt64, 0, ErrOverflow},
		{"min times -1", math.MinInt64, -1, 0, ErrOverflow},
		{"just fits negative", 1 << 62, -2, math.MinInt64, nil},
		{"just overflows positive", 1 << 62, 2, 0, ErrOverflow},
		{"large", 9_223_372_036_854, 1_000_001, 0, ErrOverflow},
		{"high word", math.MaxInt64, math.MaxInt64, 0, ErrOverflow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.a.Times(tc.n)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("Amount(%d).Times(%d) = %d, %v: want %d, %v", int64(tc.a), tc.n, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestAmountJSONRoundTrip(t *testing.T) {
	for _, text := range []string{"12.50", "0.0085", "-1.25", "0.00", "9223372036854.775807"} {
		var a Amount
		if err := json.Unmarshal([]byte(text), &a); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		out, _ := json.Marshal(a)
		if string(out) != text {
			t.Errorf("%s read and written back as %s", text, out)
		}
	}
	var a Amount
	if err := json.Unmarshal([]byte(`"0.25"`), &a); err != nil || a != 250_000 {
		t.Errorf(`"0.25" = %d, %v`, a, err)
	}
	for _, bad := range []string{`0.0000001`, `1e400`, `"x"`, `true`} {
		if err := json.Unmarshal([]byte(bad), &a); err == nil {
			t.Errorf("%s was read as an amount", bad)
		}
	}
}

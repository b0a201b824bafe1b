package money

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestFromConfig(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want Amount
		err  string // a part of the error; "" for none
	}{
		{"int", 50, 50_000_000, ""},
		{"int64", int64(1000), 1_000_000_000, ""},
		{"uint64", uint64(12), 12_000_000, ""},
		{"float", 50.00, 50_000_000, ""},
		{"float fraction", 0.1, 100_000, ""},
		{"float as YAML writes it", 0.0085, 8_500, ""},
		{"float micro", 0.000001, 1, ""},
		{"float large", 123456.789012, 123_456_789_012, ""},
		{"negative zero", -0.0, 0, ""},
		{"string", "0.25", 250_000, ""},
		{"string integer", "200", 200_000_000, ""},
		{"zero", 0, 0, ""},
		{"negative int", -3, 0, "negative"},
		{"negative float", -0.5, 0, "negative"},
		{"negative string", "-1.25", 0, "-1.25 is negative"},
		{"float inexact", 0.0000001, 0, "6 decimal places"},
		{"float too large", 1e20, 0, "does not fit"},
		{"float NaN", math.NaN(), 0, "not a number"},
		{"string with space", " 0.25", 0, "not a number"},
		{"string with plus", "+1", 0, "not a number"},
		{"empty string", "", 0, "not a number"},
		{"bool", true, 0, "not bool"},
		{"list", []any{1}, 0, "not []interface {}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromConfig(tc.v)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("FromConfig(%v) = %v", tc.v, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("FromConfig(%v) = %d, %v: want an error with %q", tc.v, got, err, tc.err)
			case got != tc.want:
				t.Errorf("FromConfig(%v) = %d, want %d", tc.v, got, tc.want)
			}
		})
	}
	if _, err := FromConfig(1e-7); !errors.Is(err, ErrInexact) {
		t.Errorf("FromConfig(1e-7) = %v, want ErrInexact", err)
	}
	if _, err := FromConfig("sk_live_SECRET"); !errors.Is(err, ErrSyntax) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("FromConfig of a key = %v, want ErrSyntax without the value", err)
	}
}

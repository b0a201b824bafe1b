package policy

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestE164(t *testing.T) {
	for _, tc := range []struct{ number, want string }{
		{"+447400123402", "+447400123402"},
		{"+4407400123402", "+447400123402"},   // GB, trunk 0 kept
		{"+330612345678", "+33612345678"},     // FR: a code of one region
		{"+3530851234567", "+353851234567"},   // IE
		{"+114155550100", "+14155550100"},     // NANP, trunk 1 kept
		{"+789161234567", "+79161234567"},     // RU, trunk 8 kept
		{"+3903912345678", "+3903912345678"},  // IT: the 0 belongs to the number
		{"+5491123456789", "+5491123456789"},  // AR: a pattern matching the empty string
		{"+54111512345678", "+5491112345678"}, // AR: an area code and 15 kept, as dialled at home
		{"+882123456789", "+882123456789"},    // an international network
		{"+99912345678", "+99912345678"},      // an unassigned calling code
	} {
		if got := e164(tc.number); got != tc.want {
			t.Errorf("e164(%q) = %q, want %q", tc.number, got, tc.want)
		}
	}
}

// TestE164AgreesWithTheLibrary: e164 asks the library only when a trunk
// prefix begins the national number; for every calling code, and
// national numbers beginning with every digit, it gives what the library
// would.
func TestE164AgreesWithTheLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 1))
	checked := 0
	for cc := 1; cc < len(callingCodes()); cc++ {
		if !callingCodes()[cc].known {
			continue
		}
		prefix := "+" + strconv.Itoa(cc)
		for first := '0'; first <= '9'; first++ {
			for range 4 {
				number := prefix + string(first)
				for len(number) < 9+rng.IntN(8) {
					number += strconv.Itoa(rng.IntN(10))
				}
				if !isE164(number) {
					continue
				}
				want := number
				if n, err := phonenumbers.Parse(number, ""); err == nil {
					if form := phonenumbers.Format(n, phonenumbers.E164); isE164(form) {
						want = form
					}
				}
				if got := e164(number); got != want {
					t.Errorf("e164(%q) = %q; the library's form is %q", number, got, want)
				}
				checked++
			}
		}
	}
	if checked < 5000 {
		t.Errorf("only %d numbers checked", checked)
	}
}

// TestFirstBytes: the bytes a trunk pattern's match can begin with,
// through alternation, optional parts and classes.
func TestFirstBytes(t *testing.T) {
	for pattern, want := range map[string]string{
		"^(?:0|180020)": "01",
		"^(?:0)":        "0",
		"^(?:0?(?:1)?)": "01",
		"^(?:[02-4]5)":  "0234",
		"^(?:(?:8)?7)":  "78",
	} {
		set := firstBytes(pattern)
		got := ""
		for b := range set {
			if set[b] {
				got += string(rune(b))
			}
		}
		if got != want {
			t.Errorf("%s: %q, want %q", pattern, got, want)
		}
	}
}

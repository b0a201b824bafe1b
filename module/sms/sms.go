// Package sms counts the segments an SMS text is billed as, following
// restlink's documented encoding rules: GSM-7 holds 160 characters in a
// single message and 153 per part of a longer one; UCS-2 holds 70 and 67.
// One character outside the GSM-7 alphabet makes the whole message UCS-2,
// and the GSM-7 extension characters (€ ^ { } [ ] \ ~ | and form feed)
// take two places each.
//
// Rules restlink leaves unstated: see module/restlinktest's package doc.
package sms

import "unicode/utf16"

// Encoding is how a message is sent, as restlink names it in summary.encoding.
type Encoding string

// The two encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Count is how a message is sent and billed.
type Count struct {
	Encoding Encoding
	// Units are the message's length in its encoding: GSM-7 septets
	// (extension characters count twice) or UTF-16 code units for UCS-2
	// (a character outside the Basic Multilingual Plane, such as most
	// emoji, counts twice).
	Units int
	// Segments is the number of SMS parts billed; 0 for an empty message.
	Segments int
}

// Per-segment capacity, in units.
const (
	gsm7Single = 160
	gsm7Part   = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// Measure counts message's encoding, units and segments.
func Measure(message string) Count {
	units, isGSM := 0, true
	for _, r := range message {
		switch {
		case isBasic(r):
			units++
		case isExtension(r):
			units += 2
		default:
			isGSM = false
		}
		if !isGSM {
			break
		}
	}
	if isGSM {
		return Count{Encoding: GSM7, Units: units, Segments: segments(units, gsm7Single, gsm7Part)}
	}
	units = 0
	for _, r := range message {
		units += utf16.RuneLen(r)
	}
	return Count{Encoding: UCS2, Units: units, Segments: segments(units, ucs2Single, ucs2Part)}
}

func segments(units, single, part int) int {
	switch {
	case units == 0:
		return 0
	case units <= single:
		return 1
	}
	return (units + part - 1) / part
}

// isBasic reports the characters of the GSM 03.38 basic table.
func isBasic(r rune) bool {
	switch {
	case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		return true
	case r < 0x80:
		// Of the rest of ASCII, GSM-7's basic table has LF, CR, space to
		// ?, @ and _; [ \ ] ^ { | } ~ are in its extension table, and `
		// and the other controls are not in GSM-7 at all.
		return r == '\n' || r == '\r' || r >= ' ' && r <= '@' || r == '_'
	}
	switch r {
	case '£', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'ø', 'Å', 'å',
		'Δ', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 'Æ', 'æ', 'ß', 'É',
		'¤', '¡', 'Ä', 'Ö', 'Ñ', 'Ü', '§', '¿', 'ä', 'ö', 'ñ', 'ü', 'à':
		return true
	}
	return false
}

// isExtension reports the characters of the GSM 03.38 extension table,
// sent as an escape and the character: two units each.
func isExtension(r rune) bool {
	switch r {
	case '€', '^', '{', '}', '[', ']', '\\', '~', '|', '\f':
		return true
	}
	return false
}

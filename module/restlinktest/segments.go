package restlinktest

// The encodings, as restlink names them in summary.encoding.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Capacity of a single message and of each part of a longer one: GSM-7
// septets and UCS-2 UTF-16 code units.
const (
	gsm7Single = 160
	gsm7Part   = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// notCharacter stands in the GSM 03.38 tables for a code that is not a
// character; no rune of a Go string equals it.
const notCharacter rune = -1

// gsmBasic is the GSM 03.38 default alphabet (3GPP TS 23.038, 6.2.1),
// indexed by septet, one row per column of the standard's table. Septet
// 0x1B is the escape to the extension table, not a character.
var gsmBasic = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', // 0x00
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', notCharacter, 'Æ', 'æ', 'ß', 'É', // 0x10
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', // 0x20
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', // 0x30
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x40
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', // 0x50
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x60
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', // 0x70
}

// gsmExtension is the GSM 03.38 default alphabet extension table (3GPP
// TS 23.038, 6.2.1.1), indexed by the septet sent after the escape. Its
// other codes, among them CR2 (0x0D) and the escape to a further table
// (0x1B), are not characters.
var gsmExtension = map[byte]rune{
	0x0A: '\f', // form feed (page break)
	0x14: '^',
	0x28: '{',
	0x29: '}',
	0x2F: '\\',
	0x3C: '[',
	0x3D: '~',
	0x3E: ']',
	0x40: '|',
	0x65: '€',
}

// gsmSeptets maps each GSM-7 character to the septets it takes: one in
// the basic table, two (the escape and the code) in the extension table.
var gsmSeptets = func() map[rune]int {
	m := make(map[rune]int, len(gsmBasic)+len(gsmExtension))
	for _, r := range gsmBasic {
		if r != notCharacter {
			m[r] = 1
		}
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// Segments counts message as restlink does, by the rules in the package
// documentation: its encoding (EncodingGSM7 or EncodingUCS2), its length
// in that encoding's units and the segments it is billed as.
func Segments(message string) (encoding string, units, segments int) {
	if n, ok := septets(message); ok {
		return EncodingGSM7, n, parts(n, gsm7Single, gsm7Part)
	}
	units = codeUnits(message)
	return EncodingUCS2, units, parts(units, ucs2Single, ucs2Part)
}

// septets returns message's length in GSM-7 septets, or false if a
// character of message is not in GSM-7.
func septets(message string) (int, bool) {
	n := 0
	for _, r := range message {
		s, ok := gsmSeptets[r]
		if !ok {
			return 0, false
		}
		n += s
	}
	return n, true
}

// codeUnits returns message's length in UTF-16 code units: two for a
// character outside the Basic Multilingual Plane, one for any other. A
// byte of invalid UTF-8 reads as U+FFFD, one unit.
func codeUnits(message string) int {
	n := 0
	for _, r := range message {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// parts returns the segments of a message of units units, given the
// capacity of a single message and of each part of a longer one.
func parts(units, single, part int) int {
	switch {
	case units == 0:
		return 0
	case units <= single:
		return 1
	}
	return (units + part - 1) / part
}

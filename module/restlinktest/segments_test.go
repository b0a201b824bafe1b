package restlinktest

import (
	"strings"
	"testing"
)

// TestSegments holds restlink's documented examples (161 Latin characters
// are 2 segments, 306 are 2, 71 Cyrillic are 2), the limits around them
// and the rules of the package documentation.
func TestSegments(t *testing.T) {
	latin := func(n int) string { return strings.Repeat("a", n) }
	cyrillic := func(n int) string { return strings.Repeat("Ж", n) }
	for _, tc := range []struct {
		name     string
		message  string
		encoding string
		units    int
		segments int
	}{
		{"empty", "", "GSM-7", 0, 0},
		{"short", "hi", "GSM-7", 2, 1},
		{"153 Latin fit one", latin(153), "GSM-7", 153, 1},
		{"160 Latin fit one", latin(160), "GSM-7", 160, 1},
		{"161 Latin are 2 (documented)", latin(161), "GSM-7", 161, 2},
		{"306 Latin are 2 (documented)", latin(306), "GSM-7", 306, 2},
		{"307 Latin are 3", latin(307), "GSM-7", 307, 3},
		{"67 Cyrillic fit one", cyrillic(67), "UCS-2", 67, 1},
		{"70 Cyrillic fit one", cyrillic(70), "UCS-2", 70, 1},
		{"71 Cyrillic are 2 (documented)", cyrillic(71), "UCS-2", 71, 2},
		{"134 Cyrillic are 2", cyrillic(134), "UCS-2", 134, 2},
		{"135 Cyrillic are 3", cyrillic(135), "UCS-2", 135, 3},
		{"one non-GSM character makes it all UCS-2", latin(160) + "á", "UCS-2", 161, 3},
		{"an emoji is 2 code units", latin(69) + "🙂", "UCS-2", 71, 2},
		{"extension characters count 2 (documented)", "€^{}[]\\~|", "GSM-7", 18, 1},
		{"form feed is an extension character", "\f", "GSM-7", 2, 1},
		{"an extension character as septets 160 and 161", latin(159) + "€", "GSM-7", 161, 2},
		{"an escape across parts is not moved", latin(305) + "€", "GSM-7", 307, 3},
		{"a surrogate pair across parts is not moved", cyrillic(133) + "🙂", "UCS-2", 135, 3},
		{"basic table beyond ASCII", "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", "GSM-7", 39, 1},
		{"basic table ASCII", "@$_!\"#%&'()*+,-./09:;<=>?AZaz\n\r ", "GSM-7", 32, 1},
		{"escape is not a character", "\x1b", "UCS-2", 1, 1},
		{"backtick is not GSM-7", "`", "UCS-2", 1, 1},
		{"lower-case c cedilla is not GSM-7", "ç", "UCS-2", 1, 1},
		{"non-breaking space is not GSM-7", "a\u00a0b", "UCS-2", 3, 1},
		{"invalid UTF-8 is U+FFFD", "a\xffb", "UCS-2", 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			encoding, units, segments := Segments(tc.message)
			if encoding != tc.encoding || units != tc.units || segments != tc.segments {
				t.Errorf("Segments = %s %d units %d segments, want %s %d %d",
					encoding, units, segments, tc.encoding, tc.units, tc.segments)
			}
		})
	}
}

// TestGSMTables: 127 basic characters (128 septets less the escape) and
// 10 extension characters, none in both tables.
func TestGSMTables(t *testing.T) {
	basic := map[rune]bool{}
	for _, r := range gsmBasic {
		if r != notCharacter {
			basic[r] = true
		}
	}
	if len(basic) != 127 || gsmBasic[0x1B] != notCharacter {
		t.Errorf("%d distinct basic characters, septet 0x1B is %q; want 127 and the escape", len(basic), gsmBasic[0x1B])
	}
	for code, r := range gsmExtension {
		if basic[r] || code >= 0x80 {
			t.Errorf("extension 0x%02X %q is in the basic table or not a septet", code, r)
		}
	}
	if len(gsmSeptets) != 137 {
		t.Errorf("%d GSM-7 characters, want 137", len(gsmSeptets))
	}
}

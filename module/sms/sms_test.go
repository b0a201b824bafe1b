package sms

import (
	"strings"
	"testing"
)

// TestMeasure holds restlink's documented examples (161 Latin characters
// are 2 segments, 306 are 2, 71 Cyrillic are 2) and the rules around them.
func TestMeasure(t *testing.T) {
	latin := func(n int) string { return strings.Repeat("a", n) }
	cyrillic := func(n int) string { return strings.Repeat("Ж", n) }
	for _, tc := range []struct {
		name     string
		message  string
		encoding Encoding
		units    int
		segments int
	}{
		{"empty", "", GSM7, 0, 0},
		{"short", "hi", GSM7, 2, 1},
		{"160 Latin fit one", latin(160), GSM7, 160, 1},
		{"161 Latin are 2 (documented)", latin(161), GSM7, 161, 2},
		{"306 Latin are 2 (documented)", latin(306), GSM7, 306, 2},
		{"307 Latin are 3", latin(307), GSM7, 307, 3},
		{"70 Cyrillic fit one", cyrillic(70), UCS2, 70, 1},
		{"71 Cyrillic are 2 (documented)", cyrillic(71), UCS2, 71, 2},
		{"134 Cyrillic are 2", cyrillic(134), UCS2, 134, 2},
		{"135 Cyrillic are 3", cyrillic(135), UCS2, 135, 3},
		{"one emoji makes it all UCS-2", latin(69) + "🙂", UCS2, 71, 2},
		{"smart quote makes it UCS-2", "it’s", UCS2, 4, 1},
		{"long dash makes it UCS-2", "a—b", UCS2, 3, 1},
		{"non-breaking space makes it UCS-2", "a\u00a0b", UCS2, 3, 1},
		{"extension characters count twice", "€^{}[]\\~|", GSM7, 18, 1},
		{"form feed is an extension character", "\f", GSM7, 2, 1},
		{"extension pushes over 160", latin(159) + "€", GSM7, 161, 2},
		{"basic table accents and Greek", "éèùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉÄÖÑÜäöñüà§¿¡£¥¤", GSM7, 39, 1},
		{"ASCII punctuation and newlines", "@$!\"#%&'()*+,-./:;<=>?_\n\r ", GSM7, 26, 1},
		{"backtick is not GSM-7", "`", UCS2, 1, 1},
		{"tab is not GSM-7", "a\tb", UCS2, 3, 1},
		{"lower-case accent outside GSM-7", "á", UCS2, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Measure(tc.message)
			if got != (Count{Encoding: tc.encoding, Units: tc.units, Segments: tc.segments}) {
				t.Errorf("Measure = %+v, want %s %d units %d segments", got, tc.encoding, tc.units, tc.segments)
			}
		})
	}
}

func BenchmarkMeasure(b *testing.B) {
	msg := "Your verification code is 482913. It expires in 10 minutes."
	for b.Loop() {
		Measure(msg)
	}
}

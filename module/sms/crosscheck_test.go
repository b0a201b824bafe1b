package sms_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
	"github.com/23telecom/restlink-sidecar/module/sms"
)

// crossCheck compares Measure with restlinktest's independent count and
// reports the first disagreements, so that a wrong rule does not bury the
// output under thousands of lines.
type crossCheck struct {
	t        *testing.T
	checked  int
	failures int
}

func (c *crossCheck) agree(name, message string) {
	c.checked++
	got := sms.Measure(message)
	encoding, units, segments := restlinktest.Segments(message)
	if string(got.Encoding) == encoding && got.Units == units && got.Segments == segments {
		return
	}
	c.failures++
	if c.failures <= 10 {
		c.t.Errorf("%s: sms %s %d units %d segments, restlinktest %s %d units %d segments (message %s)",
			name, got.Encoding, got.Units, got.Segments, encoding, units, segments, describe(message))
	}
}

// describe quotes a short message, and the ends and length of a long one.
func describe(message string) string {
	r := []rune(message)
	if len(r) <= 40 {
		return strconv.Quote(message)
	}
	return fmt.Sprintf("%q…%q, %d characters", string(r[:15]), string(r[len(r)-15:]), len(r))
}

func (c *crossCheck) done() {
	if c.failures > 10 {
		c.t.Errorf("%d more disagreements", c.failures-10)
	}
	c.t.Logf("%d messages checked", c.checked)
}

// gsmFill and ucsFill put a character after n septets or n code units.
var (
	gsmFill = []int{0, 1, 66, 67, 68, 69, 70, 151, 152, 153, 154, 158, 159, 160, 161, 304, 305, 306, 307, 457, 458, 459}
	ucsFill = []int{0, 1, 65, 66, 67, 68, 69, 70, 71, 132, 133, 134, 135, 199, 200, 201}
)

// TestCrossCheckDocumented: restlink's documented examples and the
// limits around them.
func TestCrossCheckDocumented(t *testing.T) {
	c := &crossCheck{t: t}
	for _, n := range []int{0, 1, 67, 70, 71, 134, 135, 152, 153, 154, 159, 160, 161, 162, 305, 306, 307, 459, 460} {
		c.agree("Latin", strings.Repeat("a", n))
		c.agree("Cyrillic", strings.Repeat("Ж", n))
		c.agree("euro", strings.Repeat("€", n))
		c.agree("emoji", strings.Repeat("🙂", n))
		c.agree("form feed", strings.Repeat("\f", n))
	}
	for _, m := range []string{
		"Your verification code is 482913. It expires in 10 minutes.",
		"it’s", "a—b", "a\u00a0b", "a\tb", "`", "\x1b", "\x00", "\xff", "a\xed\xa0\x80b",
		"Price: 10€ {net} [VAT] ~5% | a\\b ^_^", "Привет, мир! 🙂", "Grüße aus Köln", "Ça va? Ça va.",
		"Δ Φ Γ Λ Ω Π Ψ Σ Θ Ξ", "\f\n\r", "𝄞 music", "👍🏽 family 👨‍👩‍👧", "\U0010FFFF",
	} {
		c.agree("mixed", m)
	}
	c.done()
}

// TestCrossCheckCharacters: every character alone, and each character
// that either side counts as GSM-7 at the positions around the limits.
// Both must find the 127 characters of the GSM 03.38 basic table and the
// 10 of its extension table.
func TestCrossCheckCharacters(t *testing.T) {
	c := &crossCheck{t: t}
	var gsm []string
	basic, extension := 0, 0
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := string(r)
		c.agree("alone", s)
		got := sms.Measure(s)
		encoding, units, _ := restlinktest.Segments(s)
		if got.Encoding == sms.GSM7 || encoding == restlinktest.EncodingGSM7 {
			gsm = append(gsm, s)
			switch units {
			case 1:
				basic++
			case 2:
				extension++
			}
		}
	}
	if basic != 127 || extension != 10 {
		t.Errorf("%d basic and %d extension characters, want 127 and 10", basic, extension)
	}
	for _, s := range gsm {
		for _, n := range gsmFill {
			c.agree("GSM-7 after Latin", strings.Repeat("a", n)+s)
			c.agree("GSM-7 before Latin", s+strings.Repeat("a", n))
			c.agree("GSM-7 after euros", strings.Repeat("€", n/2)+s)
		}
		for _, n := range ucsFill {
			c.agree("GSM-7 after Cyrillic", strings.Repeat("Ж", n)+s)
			c.agree("GSM-7 after emoji", strings.Repeat("🙂", n/2)+s)
		}
	}
	for _, s := range []string{"á", "ç", "\u00a0", "`", "Ж", "’", "🙂", "𝄞", "\xff"} {
		for _, n := range gsmFill {
			c.agree("non-GSM after Latin", strings.Repeat("a", n)+s)
			c.agree("non-GSM after euros", strings.Repeat("€", n/2)+s)
		}
		for _, n := range ucsFill {
			c.agree("non-GSM after Cyrillic", strings.Repeat("Ж", n)+s)
			c.agree("non-GSM after emoji", strings.Repeat("🙂", n/2)+s)
		}
	}
	c.done()
}

// TestCrossCheckRandom: a fixed pseudo-random corpus of lengths around
// the limits, from an alphabet of basic, extension, non-GSM Latin-1,
// Cyrillic and emoji characters, mostly GSM-7 so that both encodings are
// exercised at every length.
func TestCrossCheckRandom(t *testing.T) {
	var (
		gsm    = []rune("aZ09 @£$¥èÇ\n\rΔ_ÆßÉ!?¡ÄÖÑÜ§¿äöñüà€^{}[]\\~|\f")
		nonGSM = []rune("áçêí\u00a0`\t’—ЖяЁ🙂😀𝄞")
		rng    = rand.New(rand.NewPCG(3803, 160))
		c      = &crossCheck{t: t}
	)
	lengths := []int{1, 2, 3, 33, 34, 35, 66, 67, 68, 69, 70, 71, 72, 76, 77, 78, 80, 81, 82,
		133, 134, 135, 136, 150, 151, 152, 153, 154, 155, 158, 159, 160, 161, 162, 200, 201, 202,
		304, 305, 306, 307, 308, 458, 459, 460, 461}
	for range 5000 {
		// The chance of a non-GSM character: none in half the messages,
		// so that long GSM-7 messages are common.
		p := [...]float64{0, 0, 0.002, 0.3}[rng.IntN(4)]
		n := lengths[rng.IntN(len(lengths))]
		var b strings.Builder
		for range n {
			if rng.Float64() < p {
				b.WriteRune(nonGSM[rng.IntN(len(nonGSM))])
			} else {
				b.WriteRune(gsm[rng.IntN(len(gsm))])
			}
		}
		c.agree("random", b.String())
	}
	c.done()
}

// FuzzSegmentsAgree: any string counts the same on both sides.
func FuzzSegmentsAgree(f *testing.F) {
	for _, seed := range []string{"", "hi", strings.Repeat("a", 159) + "€", strings.Repeat("Ж", 66) + "🙂",
		"\f", "\x1b", "\xff", "Price: 10€ {net} 🙂", strings.Repeat("|", 77)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, message string) {
		c := &crossCheck{t: t}
		c.agree("fuzz", message)
	})
}

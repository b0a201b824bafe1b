package policy

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// benchBody is a send to n numbers: GB mobiles (+44, a code shared with
// GG, JE and IM: resolved by the library) or FR ones (+33, a code of one
// region: resolved from the table).
func benchBody(n int, shared bool) []byte {
	list := make([]string, n)
	for i := range list {
		if shared {
			list[i] = testNumber(i)
		} else {
			list[i] = fmt.Sprintf("+336123%05d", i)
		}
	}
	return []byte(sendBody(quoteAll(list), `"Your verification code is 123456. It expires in 10 minutes."`, `"Acme"`))
}

// BenchmarkParseSend measures parsing and placing the recipients of a
// send: numbers under a single-region code, and numbers under a shared
// code with a warm cache and without a cache (every number through the
// library's regular expressions).
func BenchmarkParseSend(b *testing.B) {
	for _, n := range []int{1, 100} {
		for _, c := range []struct {
			name   string
			shared bool
			cache  int
		}{
			{"single-region", false, defaultCacheSlots},
			{"shared-cached", true, defaultCacheSlots},
			{"shared-uncached", true, 0},
		} {
			b.Run(strconv.Itoa(n)+"/"+c.name, func(b *testing.B) {
				body := benchBody(n, c.shared)
				res := newResolver(c.cache)
				if _, ref := parseSend(body, res); ref != nil { // warms the cache
					b.Fatal(ref)
				}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					parseSend(body, res)
				}
			})
		}
	}
}

// BenchmarkHotPath measures what the policy adds to a send, apart from
// the store: ParseSend, Check and Limits, with every rule set.
func BenchmarkHotPath(b *testing.B) {
	p, err := Compile(Config{Default: &RulesConfig{
		Countries:     []string{"GB", "IE"},
		DenyPrefixes:  []string{"+882", "+883", "+979"},
		MaxRecipients: ptr(100),
		Rate:          &RateConfig{Recipients: 600, Per: time.Minute},
		DailySegments: ptr[int64](50000),
		PerRecipient:  &PerRecipientConfig{Messages: 5, Per: time.Hour},
	}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 100} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			body := benchBody(n, true)
			r := p.For("acme")
			p.ParseSend(body) // warms the cache
			b.ReportAllocs()
			for b.Loop() {
				s, ref := p.ParseSend(body)
				if ref != nil {
					b.Fatal(ref)
				}
				if ref := r.Check(s); ref != nil {
					b.Fatal(ref)
				}
				r.Limits("acme", s)
			}
		})
	}
}

// BenchmarkCheckLinks measures the senders and links rules on messages
// of one segment: without a word that could be a link (a byte scan), and
// with one allowed link (the link finder on that word).
func BenchmarkCheckLinks(b *testing.B) {
	r := mustRules(b, RulesConfig{Senders: []string{"Acme"}, Links: &LinksConfig{Allow: []string{"example.com", "*.example.org"}}})
	for _, c := range []struct{ name, message string }{
		{"no-link", "Your order 12345 has shipped. It costs £12.50 and arrives by 10:30 tomorrow. Reply STOP to opt out."},
		{"one-link", "Your order 12345 has shipped. Track it at https://track.example.org/t/AbC123 Reply STOP to opt out."},
		{"two-links", "Order 12345 shipped: https://track.example.org/t/AbC123 or example.com/help. Reply STOP to opt out."},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := sendFrom(b, "Acme", c.message)
			b.ReportAllocs()
			for b.Loop() {
				if ref := r.Check(s); ref != nil {
					b.Fatal(ref)
				}
			}
		})
	}
}

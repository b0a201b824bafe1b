package pricing

import (
	"encoding/json"
	"unicode/utf8"
)

// firstByte returns the first byte of a JSON document after white space,
// 0 if there is none.
func firstByte(doc []byte) byte {
	for _, c := range doc {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// scalarText returns the text of a JSON number, or the value of a JSON
// string, for fields whose JSON type restlink does not document.
func scalarText(raw json.RawMessage) (string, bool) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err == nil
	}
	if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return string(raw), true
	}
	return "", false
}

// maxText is how much of a text of restlink's own (an error, a reason)
// this package keeps.
const maxText = 200

// shorten cuts a text of restlink's own to at most maxText bytes, at the
// start of a character.
func shorten(s string) string {
	if len(s) <= maxText {
		return s
	}
	cut := maxText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

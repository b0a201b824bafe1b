package policy

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is how deeply arrays and objects may nest in a send body,
// the body object included. restlink's fields are one level deep; the
// bound only keeps unknown fields from costing unbounded recursion.
const maxDepth = 32

// jsonSpan is where a field's value sits in the body; kind is the value's
// first byte ('"', '[', '{', 't', 'f', 'n', '-' or a digit), 0 if the
// field is absent.
type jsonSpan struct {
	start, end int
	kind       byte
}

// sendFields are the spans of the fields of a send body.
type sendFields struct {
	to, message, sender jsonSpan
}

// jsonReader is a strict reader of one JSON document (RFC 8259), written
// for the send body: a first pass checks the whole document and records
// where restlink's fields are, without building anything; the fields are
// then read from their spans. Strings are returned as slices of the
// document unless they hold escapes. Every method reports a problem as a
// reason that names offsets and field names, never content.
type jsonReader struct {
	s   string
	pos int
}

// plainStringByte marks the bytes that stand for themselves in a JSON
// string: ASCII but for the quote, the backslash and control characters.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// sendFieldNames are the fields restlink reads, in the order of sendFields.
var sendFieldNames = [...]string{"to", "message", "sender_id"}

// readSendFields checks the document and returns its send fields. The
// body must be one object. restlink's fields may appear once each, and a
// field whose name matches one of theirs only when letter case is ignored
// is refused: a server that matches names without case (as Go's
// encoding/json does) could read a different value than the policy did.
// Unknown fields may hold any JSON value.
func (r *jsonReader) readSendFields() (sendFields, string) {
	var f sendFields
	r.skipSpace()
	if r.pos == len(r.s) {
		return f, "the body is empty"
	}
	if r.s[r.pos] != '{' {
		return f, "the body is not a JSON object"
	}
	r.pos++
	r.skipSpace()
	if r.peek() == '}' {
		r.pos++
		return f, r.end()
	}
	for {
		if r.peek() != '"' {
			return f, r.unexpected("a field name")
		}
		name, reason := r.readString()
		if reason != "" {
			return f, reason
		}
		r.skipSpace()
		if r.peek() != ':' {
			return f, r.unexpected("':'")
		}
		r.pos++
		r.skipSpace()
		v := jsonSpan{start: r.pos, kind: r.peek()}
		if reason := r.skipValue(1); reason != "" {
			return f, reason
		}
		v.end = r.pos
		if reason := f.set(name, v); reason != "" {
			return f, reason
		}
		r.skipSpace()
		switch r.peek() {
		case ',':
			r.pos++
			r.skipSpace()
			continue
		case '}':
			r.pos++
			return f, r.end()
		}
		return f, r.unexpected("',' or '}'")
	}
}

// set records the span of a field of restlink's; other fields are ignored.
func (f *sendFields) set(name string, v jsonSpan) string {
	spans := [...]*jsonSpan{&f.to, &f.message, &f.sender}
	for i, known := range sendFieldNames {
		switch {
		case name == known:
			if spans[i].kind != 0 {
				return "the body has the field " + strconv.Quote(known) + " twice"
			}
			*spans[i] = v
			return ""
		case strings.EqualFold(name, known):
			return "the body has a field whose name differs from " + strconv.Quote(known) + " only in letter case"
		}
	}
	return ""
}

// end checks that nothing but white space follows the document.
func (r *jsonReader) end() string {
	r.skipSpace()
	if r.pos != len(r.s) {
		return "the body has data after its JSON object, at offset " + strconv.Itoa(r.pos)
	}
	return ""
}

// peek returns the byte at the reading position, 0 at the end.
func (r *jsonReader) peek() byte {
	if r.pos < len(r.s) {
		return r.s[r.pos]
	}
	return 0
}

// unexpected describes what was found where want was expected.
func (r *jsonReader) unexpected(want string) string {
	if r.pos >= len(r.s) {
		return "the body ends early: expected " + want
	}
	return "the body is not valid JSON: expected " + want + " at offset " + strconv.Itoa(r.pos)
}

func (r *jsonReader) skipSpace() {
	for r.pos < len(r.s) {
		switch r.s[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// skipValue checks the value at the reading position and moves past it;
// depth is the nesting level of the value's container.
func (r *jsonReader) skipValue(depth int) string {
	switch c := r.peek(); {
	case c == '"':
		_, _, reason := r.scanString()
		return reason
	case c == '{', c == '[':
		if depth >= maxDepth {
			return "the body nests arrays and objects more than " + strconv.Itoa(maxDepth) + " levels deep"
		}
		return r.skipContainer(c, depth+1)
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	case c == '-', c >= '0' && c <= '9':
		return r.skipNumber()
	}
	return r.unexpected("a value")
}

// skipContainer moves past an object or array starting at the reading
// position.
func (r *jsonReader) skipContainer(open byte, depth int) string {
	close := byte(']')
	if open == '{' {
		close = '}'
	}
	r.pos++
	r.skipSpace()
	if r.peek() == close {
		r.pos++
		return ""
	}
	for {
		if open == '{' {
			if r.peek() != '"' {
				return r.unexpected("a field name")
			}
			if _, _, reason := r.scanString(); reason != "" {
				return reason
			}
			r.skipSpace()
			if r.peek() != ':' {
				return r.unexpected("':'")
			}
			r.pos++
			r.skipSpace()
		}
		if reason := r.skipValue(depth); reason != "" {
			return reason
		}
		r.skipSpace()
		switch r.peek() {
		case ',':
			r.pos++
			r.skipSpace()
			continue
		case close:
			r.pos++
			return ""
		}
		return r.unexpected("',' or '" + string(close) + "'")
	}
}

func (r *jsonReader) literal(word string) string {
	if !strings.HasPrefix(r.s[r.pos:], word) {
		return r.unexpected("a value")
	}
	r.pos += len(word)
	return ""
}

// skipNumber moves past a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *jsonReader) skipNumber() string {
	if r.peek() == '-' {
		r.pos++
	}
	switch c := r.peek(); {
	case c == '0':
		r.pos++
	case c >= '1' && c <= '9':
		r.digits()
	default:
		return r.unexpected("a digit")
	}
	if r.peek() == '.' {
		r.pos++
		if !r.digits() {
			return r.unexpected("a digit")
		}
	}
	if c := r.peek(); c == 'e' || c == 'E' {
		r.pos++
		if c := r.peek(); c == '+' || c == '-' {
			r.pos++
		}
		if !r.digits() {
			return r.unexpected("a digit")
		}
	}
	return ""
}

// digits moves past a run of digits and reports whether there was one.
func (r *jsonReader) digits() bool {
	start := r.pos
	for r.pos < len(r.s) && r.s[r.pos] >= '0' && r.s[r.pos] <= '9' {
		r.pos++
	}
	return r.pos > start
}

// scanString checks the string starting at the reading position (at its
// opening quote) and moves past it. It returns the string's raw content,
// between the quotes, and whether it holds escapes.
func (r *jsonReader) scanString() (raw string, escaped bool, reason string) {
	start := r.pos + 1
	for i := start; i < len(r.s); {
		c := r.s[i]
		if plainStringByte[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			r.pos = i + 1
			return r.s[start:i], escaped, ""
		case c == '\\':
			escaped = true
			n := escapeLen(r.s[i:])
			if n == 0 {
				return "", false, "the body has an invalid escape in a string, at offset " + strconv.Itoa(i)
			}
			i += n
		case c < 0x20:
			return "", false, "the body has a control character in a string, at offset " + strconv.Itoa(i)
		default:
			ch, size := utf8.DecodeRuneInString(r.s[i:])
			if ch == utf8.RuneError && size == 1 {
				return "", false, "the body is not valid UTF-8, at offset " + strconv.Itoa(i)
			}
			i += size
		}
	}
	r.pos = len(r.s)
	return "", false, r.unexpected("the end of a string")
}

// escapeLen returns the length of the escape sequence s starts with (at
// its backslash), 0 if it is not a valid one.
func escapeLen(s string) int {
	if len(s) < 2 {
		return 0
	}
	switch s[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(s) >= 6 && isHex4(s[2:6]) {
			return 6
		}
	}
	return 0
}

// readString reads the string at the reading position and returns its
// value.
func (r *jsonReader) readString() (string, string) {
	raw, escaped, reason := r.scanString()
	if reason != "" || !escaped {
		return raw, reason
	}
	return unescape(raw), ""
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// unescape decodes the escapes of a string's raw content, already checked
// by scanString. A lone UTF-16 surrogate becomes U+FFFD, as Go's
// encoding/json does.
func unescape(raw string) string {
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			ch := hex4(raw[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(ch) {
				lo := rune(-1)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					lo = hex4(raw[i+2 : i+6])
				}
				if pair := utf16.DecodeRune(ch, lo); pair != utf8.RuneError {
					ch = pair
					i += 6
				} else {
					ch = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, ch)
			continue
		default: // '"', '\\', '/'
			b = append(b, raw[i+1])
		}
		i += 2
	}
	return string(b)
}

// hex4 decodes four hex digits, already checked by isHex4.
func hex4(s string) rune {
	var v rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= 'a':
			c = c - 'a' + 10
		case c >= 'A':
			c = c - 'A' + 10
		default:
			c -= '0'
		}
		v = v<<4 | rune(c)
	}
	return v
}

// elements calls fn with the span of each element of the array whose span
// is given, already checked by readSendFields, until fn returns false.
func (r *jsonReader) elements(array jsonSpan, fn func(i int, v jsonSpan) bool) {
	e := jsonReader{s: r.s[:array.end], pos: array.start + 1}
	e.skipSpace()
	for i := 0; e.pos < len(e.s) && e.peek() != ']'; i++ {
		v := jsonSpan{start: e.pos, kind: e.peek()}
		e.skipValue(1)
		v.end = e.pos
		if !fn(i, v) {
			return
		}
		e.skipSpace()
		if e.peek() == ',' {
			e.pos++
			e.skipSpace()
		}
	}
}

// stringAt returns the value of the string whose span is given, already
// checked by readSendFields.
func (r *jsonReader) stringAt(v jsonSpan) string {
	raw := r.s[v.start+1 : v.end-1]
	if strings.IndexByte(raw, '\\') < 0 {
		return raw
	}
	return unescape(raw)
}

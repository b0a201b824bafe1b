package policy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/23telecom/restlink-sidecar/module/sms"
)

// longDigits finds runs of 8 or more digits: anything that could be a
// phone number.
var longDigits = regexp.MustCompile(`[0-9]{8,}`)

// assertNoNumber fails if text holds anything that could be a phone
// number, or any of the given numbers' digits.
func assertNoNumber(t *testing.T, what, text string, numbers ...string) {
	t.Helper()
	if m := longDigits.FindString(text); m != "" {
		t.Errorf("%s holds a run of %d digits: %q", what, len(m), text)
	}
	for _, n := range numbers {
		if d := strings.TrimPrefix(n, "+"); d != "" && strings.Contains(text, d) {
			t.Errorf("%s holds a number: %q", what, text)
		}
	}
}

// sendBody builds a send body from its fields' JSON text; "" leaves a
// field out.
func sendBody(to, message, sender string) string {
	var fields []string
	if to != "" {
		fields = append(fields, `"to":`+to)
	}
	if message != "" {
		fields = append(fields, `"message":`+message)
	}
	if sender != "" {
		fields = append(fields, `"sender_id":`+sender)
	}
	return "{" + strings.Join(fields, ",") + "}"
}

// testNumber is the i-th of a series of GB mobile numbers.
func testNumber(i int) string { return fmt.Sprintf("+4479241%05d", i) }

// toList builds a "to" array of n numbers, with bad in place badAt (-1:
// none).
func toList(n, badAt int, bad string) string {
	list := make([]string, n)
	for i := range list {
		list[i] = strconv.Quote(testNumber(i))
	}
	if badAt >= 0 {
		list[badAt] = bad
	}
	return "[" + strings.Join(list, ",") + "]"
}

const (
	gbNumber = `"+447924123456"`
	msg      = `"Your code is 1234"`
	sender   = `"Acme"`
)

func TestParseSendRefusals(t *testing.T) {
	// The body object is the first level.
	deep := strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1)
	tooDeep := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	tests := []struct {
		name     string
		body     string
		code     string
		contains string // in the description
	}{
		// The body.
		{"empty body", ``, CodeInvalidBody, "empty"},
		{"white space only", " \n\t", CodeInvalidBody, "empty"},
		{"array", `[]`, CodeInvalidBody, "not a JSON object"},
		{"null", `null`, CodeInvalidBody, "not a JSON object"},
		{"string", `"+447924123456"`, CodeInvalidBody, "not a JSON object"},
		{"byte order mark", "\xef\xbb\xbf" + sendBody(`[`+gbNumber+`]`, msg, sender), CodeInvalidBody, "not a JSON object"},
		{"truncated", `{"to":["+447924123456"],"message":"hi`, CodeInvalidBody, "ends early"},
		{"truncated after a value", `{"to":["+447924123456"]`, CodeInvalidBody, "ends early"},
		{"trailing data", sendBody(`[`+gbNumber+`]`, msg, sender) + `{}`, CodeInvalidBody, "data after"},
		{"trailing comma", `{"to":["+447924123456"],}`, CodeInvalidBody, "field name"},
		{"single quotes", `{'to':[]}`, CodeInvalidBody, "field name"},
		{"missing colon", `{"to" ["+447924123456"]}`, CodeInvalidBody, "':'"},
		{"bare word", `{"to":+447924123456}`, CodeInvalidBody, "a value"},
		{"bad literal", `{"x":nul}`, CodeInvalidBody, "a value"},
		{"bad number", `{"x":01}`, CodeInvalidBody, "expected ',' or '}'"},
		{"bad fraction", `{"x":1.}`, CodeInvalidBody, "digit"},
		{"bad exponent", `{"x":1e}`, CodeInvalidBody, "digit"},
		{"bare minus", `{"x":-}`, CodeInvalidBody, "digit"},
		{"bad escape", `{"message":"\x"}`, CodeInvalidBody, "invalid escape"},
		{"short unicode escape", `{"message":"\u12"}`, CodeInvalidBody, "invalid escape"},
		{"control character", "{\"message\":\"a\nb\"}", CodeInvalidBody, "control character"},
		{"invalid UTF-8", "{\"message\":\"\xff\"}", CodeInvalidBody, "UTF-8"},
		{"unclosed array in unknown field", `{"x":[1,2}`, CodeInvalidBody, "expected ',' or ']'"},
		{"too deep", `{"x":` + tooDeep + `}`, CodeInvalidBody, "32 levels"},
		{"duplicate to", `{"to":["+447924123456"],"to":["+882123456789"],"message":"hi","sender_id":"Acme"}`, CodeInvalidBody, `"to" twice`},
		{"duplicate message", `{"to":["+447924123456"],"message":"a","message":"b","sender_id":"Acme"}`, CodeInvalidBody, `"message" twice`},
		{"to in upper case", `{"to":["+447924123456"],"TO":["+882123456789"],"message":"hi","sender_id":"Acme"}`, CodeInvalidBody, `differs from "to" only in letter case`},
		{"sender with a long s", `{"to":["+447924123456"],"message":"hi","ſender_id":"Acme"}`, CodeInvalidBody, `"sender_id" only in letter case`},
		{"message in upper case", `{"to":["+447924123456"],"message":"hi","sender_id":"Acme","MESSAGE":"x"}`, CodeInvalidBody, `"message" only in letter case`},
		{"escaped duplicate name", `{"to":["+447924123456"],"t\u006f":["+882123456789"],"message":"hi","sender_id":"Acme"}`, CodeInvalidBody, `"to" twice`},
		{"deep unknown field is fine", `{"x":` + deep + `,"message":"hi","sender_id":"Acme"}`, CodeInvalidTo, "to is missing"},
		{"syntax error beats a bad to", `{"to":"x","message":}`, CodeInvalidBody, "a value"},

		// to.
		{"to missing", sendBody("", msg, sender), CodeInvalidTo, "to is missing"},
		{"to null", sendBody("null", msg, sender), CodeInvalidTo, "to is missing"},
		{"to empty", sendBody("[]", msg, sender), CodeInvalidTo, "to is empty"},
		{"to a string", sendBody(gbNumber, msg, sender), CodeInvalidTo, "must be an array"},
		{"to an object", sendBody(`{"a":`+gbNumber+`}`, msg, sender), CodeInvalidTo, "must be an array"},
		{"to holds a number", sendBody(`[447924123456]`, msg, sender), CodeInvalidTo, "to[0] is not a string"},
		{"to holds null", sendBody(`[`+gbNumber+`,null]`, msg, sender), CodeInvalidTo, "to[1] is not a string"},
		{"to holds an array", sendBody(`[[`+gbNumber+`]]`, msg, sender), CodeInvalidTo, "to[0] is not a string"},
		{"no plus", sendBody(`["447924123456"]`, msg, sender), CodeInvalidTo, "to[0] is not an E.164 number"},
		{"leading zero", sendBody(`["+047924123456"]`, msg, sender), CodeInvalidTo, "to[0] is not an E.164 number"},
		{"double zero", sendBody(`["00447924123456"]`, msg, sender), CodeInvalidTo, "to[0] is not an E.164 number"},
		{"7 digits", sendBody(`["+4479241"]`, msg, sender), CodeInvalidTo, "to[0] is not an E.164 number"},
		{"16 digits", sendBody(`["+4479241234567890"]`, msg, sender), CodeInvalidTo, "to[0] is not an E.164 number"},
		{"spaces", sendBody(`["+44 7924 123456"]`, msg, sender), CodeInvalidTo, "to[0] is not an E.164 number"},
		{"surrounding space", sendBody(`[" +447924123456"]`, msg, sender), CodeInvalidTo, "to[0] is not an E.164 number"},
		{"letters", sendBody(`["+44792412345a"]`, msg, sender), CodeInvalidTo, "to[0] is not an E.164 number"},
		{"full-width digits", sendBody(`["+４４7924123456"]`, msg, sender), CodeInvalidTo, "to[0] is not an E.164 number"},
		{"bad number at the end", sendBody(toList(3, 2, `"+44"`), msg, sender), CodeInvalidTo, "to[2] is not an E.164 number"},
		{"bad number beats the count", sendBody(toList(150, 120, `"x"`), msg, sender), CodeInvalidTo, "to[120]"},
		{"bad to beats a bad message", sendBody("[]", `""`, `""`), CodeInvalidTo, "to is empty"},

		// count.
		{"101 recipients", sendBody(toList(101, -1, ""), msg, sender), CodeTooManyRecipients, "to has 101 numbers"},
		{"too many beats a bad message", sendBody(toList(101, -1, ""), `""`, sender), CodeTooManyRecipients, "at most 100"},

		// message.
		{"message missing", sendBody(`[`+gbNumber+`]`, "", sender), CodeInvalidMessage, "message is missing"},
		{"message null", sendBody(`[`+gbNumber+`]`, "null", sender), CodeInvalidMessage, "message is missing"},
		{"message empty", sendBody(`[`+gbNumber+`]`, `""`, sender), CodeInvalidMessage, "message is empty"},
		{"message a number", sendBody(`[`+gbNumber+`]`, `12`, sender), CodeInvalidMessage, "must be a string"},
		{"message an array", sendBody(`[`+gbNumber+`]`, `["hi"]`, sender), CodeInvalidMessage, "must be a string"},
		{"bad message beats a bad sender", sendBody(`[`+gbNumber+`]`, `""`, `""`), CodeInvalidMessage, "message is empty"},

		// sender_id.
		{"sender missing", sendBody(`[`+gbNumber+`]`, msg, ""), CodeInvalidSender, "sender_id is missing"},
		{"sender null", sendBody(`[`+gbNumber+`]`, msg, "null"), CodeInvalidSender, "sender_id is missing"},
		{"sender empty", sendBody(`[`+gbNumber+`]`, msg, `""`), CodeInvalidSender, "sender_id is empty"},
		{"sender a number", sendBody(`[`+gbNumber+`]`, msg, `447924123456`), CodeInvalidSender, "must be a string"},
		{"sender too short", sendBody(`[`+gbNumber+`]`, msg, `"AB"`), CodeInvalidSender, "3 to 11"},
		{"sender too long", sendBody(`[`+gbNumber+`]`, msg, `"ABCDEFGHIJKL"`), CodeInvalidSender, "3 to 11"},
		{"sender starts with a digit", sendBody(`[`+gbNumber+`]`, msg, `"1Acme"`), CodeInvalidSender, "3 to 11"},
		{"sender with a dash", sendBody(`[`+gbNumber+`]`, msg, `"Acme-Ltd"`), CodeInvalidSender, "3 to 11"},
		{"sender with a space", sendBody(`[`+gbNumber+`]`, msg, `"Acme Ltd"`), CodeInvalidSender, "3 to 11"},
		{"sender with an accent", sendBody(`[`+gbNumber+`]`, msg, `"Acmé"`), CodeInvalidSender, "3 to 11"},
		{"sender digits without plus", sendBody(`[`+gbNumber+`]`, msg, `"447924123456"`), CodeInvalidSender, "3 to 11"},
		{"sender short number", sendBody(`[`+gbNumber+`]`, msg, `"+4479241"`), CodeInvalidSender, "E.164"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ref := parseSend([]byte(tt.body), newResolver(0))
			if ref == nil {
				t.Fatalf("ParseSend = %+v, nil; want %s", s, tt.code)
			}
			if s != nil {
				t.Errorf("ParseSend returned a Send with a refusal")
			}
			if ref.Code != tt.code || ref.Status != 400 || ref.Rule != RuleBody || ref.RetryAfter != 0 {
				t.Errorf("refusal = %d %s (rule %q, retry %v), want 400 %s (rule body)", ref.Status, ref.Code, ref.Rule, ref.RetryAfter, tt.code)
			}
			if !strings.Contains(ref.Description, tt.contains) {
				t.Errorf("description %q does not say %q", ref.Description, tt.contains)
			}
			assertNoNumber(t, "description", ref.Description, longDigits.FindAllString(tt.body, -1)...)
		})
	}
}

func TestParseSend(t *testing.T) {
	hundred := make([]string, 100)
	for i := range hundred {
		hundred[i] = testNumber(i)
	}
	tests := []struct {
		name    string
		body    string
		want    []Recipient
		count   sms.Count
		sender  string
		message string // as decoded, checked through its count
	}{
		{
			name:   "one recipient",
			body:   `{"to":["+447924123456"],"message":"Your code is 1234","sender_id":"Acme"}`,
			want:   []Recipient{{"+447924123456", "GB"}},
			count:  sms.Count{Encoding: sms.GSM7, Units: 17, Segments: 1},
			sender: "Acme",
		},
		{
			name: "white space and unknown fields of every kind",
			body: " {\n\t\"sender_id\" : \"+447924123456\" , \"x\": {\"a\":[1,-2.5e+3,true,false,null,{}],\"b\":\"\\\"\"},\r\n" +
				` "to":["+12025550123","+18095550123","+447781123456","+882123456789"], "y":[], "message":"hi", "z":0 } `,
			want: []Recipient{
				{"+12025550123", "US"}, {"+18095550123", "DO"}, {"+447781123456", "GG"}, {"+882123456789", ""},
			},
			count:  sms.Count{Encoding: sms.GSM7, Units: 2, Segments: 1},
			sender: "+447924123456",
		},
		{
			name:   "duplicates are kept",
			body:   `{"to":["+447924123456","+447924123456"],"message":"hi","sender_id":"Acme"}`,
			want:   []Recipient{{"+447924123456", "GB"}, {"+447924123456", "GB"}},
			count:  sms.Count{Encoding: sms.GSM7, Units: 2, Segments: 1},
			sender: "Acme",
		},
		{
			name:   "escapes are decoded",
			body:   `{"to":["\u002b447924123456"],"message":"caf\u00e9 \ud83d\ude00 \/","sender_id":"\u0041cme"}`,
			want:   []Recipient{{"+447924123456", "GB"}},
			count:  sms.Measure("café 😀 /"),
			sender: "Acme",
		},
		{
			name:   "a lone surrogate becomes U+FFFD",
			body:   `{"to":["+447924123456"],"message":"\ud83d","sender_id":"Acme"}`,
			want:   []Recipient{{"+447924123456", "GB"}},
			count:  sms.Measure("\ufffd"),
			sender: "Acme",
		},
		{
			name:   "long UCS-2 message",
			body:   `{"to":["+79161234567","+77011234567"],"message":"` + strings.Repeat("д", 71) + `","sender_id":"Acme"}`,
			want:   []Recipient{{"+79161234567", "RU"}, {"+77011234567", "KZ"}},
			count:  sms.Count{Encoding: sms.UCS2, Units: 71, Segments: 2},
			sender: "Acme",
		},
		{
			name:   "100 recipients",
			body:   `{"to":["` + strings.Join(hundred, `","`) + `"],"message":"hi","sender_id":"Acme123"}`,
			count:  sms.Count{Encoding: sms.GSM7, Units: 2, Segments: 1},
			sender: "Acme123",
		},
		{
			name:   "shortest and longest numbers and senders",
			body:   `{"to":["+12345678","+123456789012345"],"message":"hi","sender_id":"Abcdefghijk"}`,
			want:   []Recipient{{"+12345678", ""}, {"+123456789012345", ""}},
			count:  sms.Count{Encoding: sms.GSM7, Units: 2, Segments: 1},
			sender: "Abcdefghijk",
		},
		{
			name:   "three-letter sender",
			body:   `{"to":["+33612345678"],"message":"hi","sender_id":"a1B"}`,
			want:   []Recipient{{"+33612345678", "FR"}},
			count:  sms.Count{Encoding: sms.GSM7, Units: 2, Segments: 1},
			sender: "a1B",
		},
	}
	for i := range hundred {
		tests[6].want = append(tests[6].want, Recipient{hundred[i], "GB"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *Policy // no cache: resolves all the same
			if strings.Contains(tt.name, "white space") {
				var err error
				if p, err = Compile(Config{Default: &RulesConfig{}}, nil); err != nil {
					t.Fatal(err)
				}
			}
			body := []byte(tt.body)
			s, ref := p.ParseSend(body)
			if ref != nil {
				t.Fatalf("ParseSend refused: %+v", ref)
			}
			for i := range body {
				body[i] = 'X' // the caller may reuse the body
			}
			if !slices.Equal(s.Recipients, tt.want) {
				t.Errorf("recipients = %v, want %v", s.Recipients, tt.want)
			}
			if s.Count != tt.count {
				t.Errorf("count = %+v, want %+v", s.Count, tt.count)
			}
			if want := tt.count.Segments * len(tt.want); s.Segments != want {
				t.Errorf("segments = %d, want %d", s.Segments, want)
			}
			if s.Sender != tt.sender {
				t.Errorf("sender = %q, want %q", s.Sender, tt.sender)
			}
		})
	}
}

// FuzzParseSend checks that ParseSend never panics, never quotes a
// number, refuses whatever encoding/json finds invalid, and reads what
// encoding/json reads from every send it accepts.
func FuzzParseSend(f *testing.F) {
	seeds := []string{
		`{"to":["+447924123456"],"message":"Your code is 1234","sender_id":"Acme"}`,
		`{"to":["+12025550123","+18095550123","+447781123456"],"message":"hi","sender_id":"+447924123456","x":{"a":[1,2]}}`,
		`{"to":["\u002b447924123456"],"message":"caf\u00e9 \ud83d\ude00","sender_id":"Acme"}`,
		`{"to":["+447924123456"],"TO":["+882123456789"],"message":"hi","sender_id":"Acme"}`,
		`{"to":["447924123456"],"message":"","sender_id":"1Acme"}`,
		`{"to":"+447924123456"}`,
		`{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		`[]`, ``, `{"message":"\ud83d"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		input := string(body) // ParseSend may not keep the body, but must not change it
		s, ref := parseSend(body, newResolver(8))
		if string(body) != input {
			t.Fatal("ParseSend changed the body")
		}
		if (s == nil) == (ref == nil) {
			t.Fatalf("ParseSend = %v, %v: want exactly one", s, ref)
		}
		if ref != nil {
			if ref.Status != 400 || ref.Rule != RuleBody || ref.Description == "" {
				t.Errorf("refusal = %+v", ref)
			}
			assertNoNumber(t, "description", ref.Description, longDigits.FindAllString(input, -1)...)
			if !json.Valid(body) && ref.Code != CodeInvalidBody {
				t.Errorf("invalid JSON refused as %s, want %s", ref.Code, CodeInvalidBody)
			}
			return
		}
		var std struct {
			To       []string `json:"to"`
			Message  string   `json:"message"`
			SenderID string   `json:"sender_id"`
		}
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("ParseSend accepted a body encoding/json refuses: %v", err)
		}
		numbers := make([]string, len(s.Recipients))
		for i, rc := range s.Recipients {
			numbers[i] = rc.Number
			if !isE164(rc.Number) {
				t.Errorf("recipient %d is not E.164", i)
			}
		}
		if !slices.Equal(numbers, std.To) {
			t.Errorf("to = %q, encoding/json reads %q", numbers, std.To)
		}
		if want := sms.Measure(std.Message); s.Count != want || s.Count.Segments == 0 {
			t.Errorf("count = %+v, encoding/json's message counts %+v", s.Count, want)
		}
		if s.Sender != std.SenderID || !validSender(s.Sender) {
			t.Errorf("sender = %q, encoding/json reads %q", s.Sender, std.SenderID)
		}
		if len(s.Recipients) == 0 || len(s.Recipients) > MaxRecipients || s.Segments != s.Count.Segments*len(s.Recipients) {
			t.Errorf("%d recipients, %d segments", len(s.Recipients), s.Segments)
		}
	})
}

package jsontext

import (
	"encoding/json"
	"testing"
)

// FuzzAppendString checks AppendString against encoding/json.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain text", `a "quoted" word`, `back\slash`, "<b>&amp;</b>", "tab\tnew\nline", "\x00\x1f\x7f", "é €\u2028\u2029", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	})
}

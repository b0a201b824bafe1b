package restlink

import (
	"reflect"
	"strings"
	"testing"
)

func TestYAMLParser(t *testing.T) {
	got, err := yamlParser{}.Unmarshal([]byte(`
a: 1
b: [x, 2, true, ""]
c:
  d: 1.5
  "e.f": yes
  123: numeric key
upstream: {timeout: 15s}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": 1, "b": []any{"x", 2, true, ""},
		"c":        map[string]any{"d": 1.5, "e.f": "yes", "123": "numeric key"},
		"upstream": map[string]any{"timeout": "15s"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	for _, empty := range []string{"", "# only a comment\n", "---\n"} {
		if m, err := (yamlParser{}).Unmarshal([]byte(empty)); err != nil || len(m) != 0 {
			t.Errorf("empty file %q: %v %v", empty, m, err)
		}
	}
	for doc, wantErr := range map[string]string{
		"a: 1\nb: 2\na: 3\n":                    `line 3: key "a" is already defined at line 1`,
		"- 1\n- 2\n":                            "must hold a YAML mapping",
		"base: {x: 1}\nc:\n  <<: {x: 2}\n":      "mapping keys must be plain names",
		"defaults: &d {timeout: 15s}\n":         "line 1: anchors (&name) are not supported",
		"a: &a [1]\nb: *a\n":                    "anchors (&name) are not supported",
		"a: *nowhere\n":                         "yaml:",
		"allow:\n  # - POST /api/v1/sms/send\n": "line 1: a value is missing (null); remove the key",
		"a: [1, ~]\n":                           "line 1: a value is missing (null)",
		"a: null\n":                             "a value is missing (null)",
		"a: [\n":                                "yaml:",
	} {
		if _, err := (yamlParser{}).Unmarshal([]byte(doc)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: error %v, want %q", doc, err, wantErr)
		}
	}
}

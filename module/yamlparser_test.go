package restlink

import (
	"reflect"
	"strings"
	"testing"
)

func TestYAMLParser(t *testing.T) {
	got, err := yamlParser{}.Unmarshal([]byte(`
a: 1
b: [x, 2, true, null]
c:
  d: 1.5
  "e.f": yes
  123: numeric key
defaults: &d {timeout: 15s}
upstream: *d
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": 1, "b": []any{"x", 2, true, nil},
		"c":        map[string]any{"d": 1.5, "e.f": "yes", "123": "numeric key"},
		"defaults": map[string]any{"timeout": "15s"}, "upstream": map[string]any{"timeout": "15s"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	if m, err := (yamlParser{}).Unmarshal(nil); err != nil || len(m) != 0 {
		t.Errorf("empty file: %v %v", m, err)
	}
	for doc, wantErr := range map[string]string{
		"a: 1\nb: 2\na: 3\n":              `line 3: key "a" is already defined at line 1`,
		"- 1\n- 2\n":                      "must hold a YAML mapping",
		"base: &b {x: 1}\nc:\n  <<: *b\n": "mapping keys must be plain names",
		"a: [\n":                          "yaml:",
	} {
		if _, err := (yamlParser{}).Unmarshal([]byte(doc)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: error %v, want %q", doc, err, wantErr)
		}
	}
}

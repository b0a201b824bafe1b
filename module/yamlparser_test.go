package restlink

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParseYAML(t *testing.T) {
	root, err := parseYAML([]byte("a: 1\nb: [x, 2]\nc: {d: 1.5, \"e.f\": yes, 123: numeric key}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if root.Kind != yaml.MappingNode || len(root.Content) != 6 || findNode(root, []string{"c", "e.f"}).Value != "yes" ||
		findNode(root, []string{"c", "123"}).Value != "numeric key" {
		t.Errorf("tree: %+v", root)
	}
	for _, empty := range []string{"", "# only a comment\n", "---\n"} {
		if n, err := parseYAML([]byte(empty)); err != nil || n.Kind != yaml.MappingNode || len(n.Content) != 0 {
			t.Errorf("empty file %q: %v %v", empty, n, err)
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
		"a:\n  b:\n    c: [{d: ~}]\n":           "line 3: a value is missing (null)",
	} {
		if _, err := parseYAML([]byte(doc)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: error %v, want %q", doc, err, wantErr)
		}
	}
}

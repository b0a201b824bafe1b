package restlink

import (
	"fmt"
	"go.yaml.in/yaml/v3"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The defaults are written in four places: defaultConfig (the code), the
// doc comments of the config structs, the table of docs/configuration.md
// and config.example.yaml. These tests keep the last three equal to the
// first.

// defaultText is a default as the docs write it: lists as "[a, b]", strings
// bare, "" as "none".
func defaultText(v any) string {
	switch v := v.(type) {
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = defaultText(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		if v == "" {
			return "none"
		}
		return v
	}
	return fmt.Sprint(v)
}

// normalizeDefault makes a documented default comparable with defaultText:
// no backticks or quotes, no trailing explanation in parentheses.
func normalizeDefault(s string) string {
	s = strings.TrimSpace(s)
	s = regexp.MustCompile(` \(.*\)\.?$`).ReplaceAllString(s, "")
	s = strings.TrimSuffix(s, ".")
	return strings.NewReplacer("`", "", `"`, "").Replace(s)
}

func TestDocumentedDefaultsMatchTheCode(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 3 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = cells[2]
		}
	}
	for _, path := range slices.Sorted(maps.Keys(defaultConfig)) {
		cell, ok := rows[path]
		if !ok {
			t.Errorf("docs/configuration.md has no row for %s", path)
			continue
		}
		if got, want := normalizeDefault(cell), defaultText(defaultConfig[path]); got != want {
			t.Errorf("docs/configuration.md: %s defaults to %q, the code to %q", path, got, want)
		}
	}
}

func TestFieldCommentDefaultsMatchTheCode(t *testing.T) {
	// The config's structs, by package-qualified name ("" for this
	// package), from this package's config.go and the engines' own.
	structs := map[string]*ast.StructType{}
	for pkg, file := range map[string]string{"": "config.go", "policy": "policy/config.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					structs[pkg+"."+ts.Name.Name] = st
				}
			}
			return true
		})
	}
	defaultRE := regexp.MustCompile(`(?s)Default: (.*?)\.?\s*$`)
	documented := map[string]string{}
	var walk func(prefix, pkg string, st *ast.StructType)
	walk = func(prefix, pkg string, st *ast.StructType) {
		for _, field := range st.Fields.List {
			tag := reflect.StructTag(strings.Trim(field.Tag.Value, "`")).Get("yaml")
			path := prefix + tag
			switch typ := field.Type.(type) {
			case *ast.Ident:
				if sub := structs[pkg+"."+typ.Name]; sub != nil {
					walk(path+".", pkg, sub)
					continue
				}
			case *ast.SelectorExpr:
				if x, ok := typ.X.(*ast.Ident); ok && structs[x.Name+"."+typ.Sel.Name] != nil {
					walk(path+".", x.Name, structs[x.Name+"."+typ.Sel.Name])
					continue
				}
			}
			if m := defaultRE.FindStringSubmatch(field.Doc.Text()); m != nil {
				documented[path] = m[1]
			}
		}
	}
	walk("", "", structs[".Config"])
	for _, path := range slices.Sorted(maps.Keys(defaultConfig)) {
		text, ok := documented[path]
		if !ok {
			if defaultConfig[path] != "" {
				t.Errorf("config.go: the field for %s does not state its default", path)
			}
			continue
		}
		if got, want := normalizeDefault(text), defaultText(defaultConfig[path]); got != want {
			t.Errorf("config.go: %s is documented to default to %q, the code to %q", path, got, want)
		}
	}
	for path := range documented {
		if _, ok := defaultConfig[path]; !ok {
			t.Errorf("config.go: %s states a default that defaultConfig does not set", path)
		}
	}
}

func TestExampleShowsTheDefaults(t *testing.T) {
	raw, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parseYAML(raw)
	if err != nil {
		t.Fatal(err)
	}
	flat := map[string]any{}
	var flatten func(prefix string, n *yaml.Node)
	flatten = func(prefix string, n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			path, v := prefix+n.Content[i].Value, n.Content[i+1]
			switch v.Kind {
			case yaml.MappingNode:
				flatten(path+".", v)
			case yaml.SequenceNode:
				list := make([]any, len(v.Content))
				for j, e := range v.Content {
					list[j] = resolvedScalar(e)
				}
				flat[path] = list
			default:
				flat[path] = resolvedScalar(v)
			}
		}
	}
	flatten("", doc)
	for _, path := range slices.Sorted(maps.Keys(defaultConfig)) {
		v, ok := flat[path]
		if !ok {
			continue // a setting the example leaves out (or comments out)
		}
		if got, want := defaultText(v), defaultText(defaultConfig[path]); got != want {
			t.Errorf("config.example.yaml: %s is %q, the default is %q", path, got, want)
		}
	}
}

// TestLayoutNamesEveryFile: docs/development.md's layout table names every
// source file of the module and every package of the repository.
func TestLayoutNamesEveryFile(t *testing.T) {
	doc, err := os.ReadFile("../docs/development.md")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
			name = "module/" + name
		case strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go"):
			name = "module/" + name
		default:
			continue
		}
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/development.md does not name %s", name)
		}
	}
}

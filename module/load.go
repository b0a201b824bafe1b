package restlink

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts the name of every environment override: RESTLINK__<PATH>,
// with "__" between levels, e.g. RESTLINK__UPSTREAM__URL. Key variables such
// as RESTLINK_KEY_MAIN (single underscore) are key sources, not overrides.
const EnvPrefix = "RESTLINK__"

// Environ returns the environment as KEY=value strings, like os.Environ.
// Loading takes it as a parameter so that tests need not touch the process
// environment.
type Environ func() []string

// defaultEnviron is the process environment.
var defaultEnviron Environ = os.Environ

// lookup returns the value of one variable.
func (e Environ) lookup() func(string) (string, bool) {
	vars := make(map[string]string)
	for _, kv := range e() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// LoadConfig reads the config file at path, applies defaults and the
// environment overrides in environ, and validates the result whole.
// It does not read key sources. Errors never quote file content.
func LoadConfig(path string, environ Environ) (*Config, error) {
	pl, err := loadPlan(path, environ)
	if err != nil {
		return nil, err
	}
	return pl.Config, nil
}

// loadPlan reads and compiles the config file at path.
func loadPlan(path string, environ Environ) (*plan, error) {
	raw, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(raw, environ)
}

// maxConfigBytes bounds the config file: a config with 10,000 workspaces,
// each with its keys and policy, is a few MiB.
const maxConfigBytes = 16 << 20

// readConfigFile reads the config file, refusing one over maxConfigBytes.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	if len(raw) > maxConfigBytes {
		return nil, fmt.Errorf("reading config file: larger than %d MiB", maxConfigBytes>>20)
	}
	return raw, nil
}

// parseConfig decodes config file bytes and compiles them: the defaults,
// then the file with the environment overrides merged into it, are
// decoded into one Config (see configDecoder), which is compiled.
func parseConfig(raw []byte, environ Environ) (*plan, error) {
	root, err := parseYAML(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing config YAML: %s", redactQuoted(err.Error()))
	}
	defaults := defaultsTree()
	if err := applyEnvOverrides(root, defaults, environ); err != nil {
		return nil, err
	}

	var cfg Config
	var d configDecoder
	v := reflect.ValueOf(&cfg).Elem()
	d.decode(defaults, v, "")
	if len(d.problems) > 0 {
		return nil, fmt.Errorf("decoding the defaults: %s", d.problems[0]) // a defect, caught by every test
	}
	d.decode(root, v, "")
	// A field that did not decode keeps its default or zero value; the
	// rest is compiled anyway, so that one run reports every problem.
	pl, compileErr := compileConfig(&cfg)
	if len(d.problems) == 0 && compileErr == nil {
		return pl, nil
	}
	var errs []error
	failed := map[string]bool{} // fields that did not decode
	if len(d.problems) > 0 {
		lines := make([]string, len(d.problems))
		for i, p := range d.problems {
			failed[p.field] = true
			lines[i] = redactQuoted(p.String())
		}
		errs = append(errs, fmt.Errorf("decoding config: %s", strings.Join(lines, "\n")))
	}
	if compileErr != nil {
		var lines []string
		for line := range strings.Lines(compileErr.Error()) {
			line = strings.TrimSuffix(line, "\n")
			if field, _, _ := strings.Cut(line, ": "); !failed[field] {
				lines = append(lines, line) // not a consequence of a field that did not decode
			}
		}
		if len(lines) > 0 {
			errs = append(errs, fmt.Errorf("invalid config: %s", strings.Join(lines, "\n")))
		}
	}
	return nil, errors.Join(errs...)
}

// defaultsTree is defaultConfig as a YAML tree, to decode as the first
// layer.
func defaultsTree() *yaml.Node {
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for path, v := range defaultConfig {
		var leaf *yaml.Node
		if list, ok := v.([]any); ok {
			leaf = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for _, e := range list {
				leaf.Content = append(leaf.Content, scalarNode(fmt.Sprint(e)))
			}
		} else {
			leaf = scalarNode(fmt.Sprint(v))
		}
		setNode(root, strings.Split(path, "."), leaf)
	}
	return root
}

// scalarNode is a string scalar.
func scalarNode(text string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text}
}

// findNode returns the node at path in a tree of mappings, or nil.
func findNode(n *yaml.Node, path []string) *yaml.Node {
	for _, name := range path {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// setNode sets the value at path in a tree of mappings to leaf, adding
// the mappings on its way that are missing. The path's parents must be
// mappings or absent.
func setNode(n *yaml.Node, path []string, leaf *yaml.Node) {
	for i, name := range path {
		var next *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == name {
				if i == len(path)-1 {
					n.Content[j+1] = leaf
					return
				}
				next = n.Content[j+1]
				break
			}
		}
		if next == nil {
			next = leaf
			if i < len(path)-1 {
				next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			}
			n.Content = append(n.Content, scalarNode(name), next)
		}
		n = next
	}
}

// applyEnvOverrides merges RESTLINK__<PATH> variables into the file's
// tree. Each must name a scalar setting that exists: a default, or a
// field the file sets.
func applyEnvOverrides(root, defaults *yaml.Node, environ Environ) error {
	var errs []error
	for _, kv := range environ() {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		path := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, EnvPrefix), "__", "."))
		segments := strings.Split(path, ".")
		at := findNode(root, segments)
		if at == nil {
			at = findNode(defaults, segments)
		}
		switch {
		case at == nil:
			errs = append(errs, fmt.Errorf("environment variable %s: there is no setting %q", name, path))
		case at.Kind != yaml.ScalarNode:
			errs = append(errs, fmt.Errorf("environment variable %s: %q is not a scalar setting", name, path))
		case !settable(root, segments):
			errs = append(errs, fmt.Errorf("environment variable %s: %q is inside a setting the file gives as a single value or a list", name, path))
		default:
			setNode(root, segments, scalarNode(value))
		}
	}
	return errors.Join(errs...)
}

// settable reports whether every parent of path in the tree is a mapping
// or absent, so that setNode can set it.
func settable(root *yaml.Node, path []string) bool {
	for i := range path[:len(path)-1] {
		if n := findNode(root, path[:i+1]); n != nil && n.Kind != yaml.MappingNode {
			return false
		}
	}
	return true
}

// quoted matches quoted text: in double quotes, backticks, or single quotes
// around more than one character (yaml.v3 quotes an anchor's name so, and
// a single character such as ',' is the parser's own).
var quoted = regexp.MustCompile("\"[^\"]*\"|`[^`]*`|'[^']{2,}'")

// redactQuoted removes quoted text from a parser's message: YAML errors can
// quote file content, and a config file may hold a literal key.
func redactQuoted(msg string) string {
	return quoted.ReplaceAllString(msg, "(…)")
}

package restlink

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// yamlParser is the koanf.Parser for the config file. Unlike koanf's YAML
// parser it stays linear in the number of keys of a mapping: yaml.v3's
// decoder checks duplicate keys pairwise, and a config with 10,000 tenants
// took well over 100 ms to parse, most of it comparing keys. This parser
// reads the document as a yaml.Node tree, which is linear, and builds the
// map itself, still refusing duplicate keys.
//
// It also refuses what a config file has no use for and what could hurt:
//   - anchors and aliases (&name, *name): an alias that refers to itself
//     recurses without end, and a few hundred bytes of nested aliases
//     ("billion laughs") expand to gigabytes;
//   - null values (a key with nothing after it, such as a section whose
//     entries are all commented out): a null list would otherwise mean
//     "not set", and for a list that restricts (allow, countries) that
//     silently means "everything". Remove the key to get its default.
type yamlParser struct{}

// Unmarshal parses a YAML document whose top level is a mapping.
func (yamlParser) Unmarshal(b []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return map[string]any{}, nil // an empty file, or only comments
	}
	v, err := nodeValue(&doc)
	if err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		return m, nil
	}
	return nil, errors.New("the file must hold a YAML mapping (setting: value)")
}

// Marshal is required by koanf.Parser; the sidecar never writes YAML.
func (yamlParser) Marshal(m map[string]any) ([]byte, error) {
	return yaml.Marshal(m)
}

// nodeValue converts a node to the values koanf expects: map[string]any,
// []any and scalars resolved as yaml.v3 resolves them.
func nodeValue(n *yaml.Node) (any, error) {
	if n.Anchor != "" {
		return nil, fmt.Errorf("line %d: anchors (&name) are not supported; write each value out", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		return nodeValue(n.Content[0])
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: aliases (*name) are not supported; write the value out", n.Line)
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, fmt.Errorf("line %d: a value is missing (null); remove the key to use its default, or give it a value", n.Line)
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		lines := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return nil, fmt.Errorf("line %d: mapping keys must be plain names", k.Line)
			}
			if first, dup := lines[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q is already defined at line %d", k.Line, k.Value, first)
			}
			lines[k.Value] = k.Line
			v, err := nodeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

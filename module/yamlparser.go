package restlink

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// parseYAML reads the config file as a yaml.Node tree and checks it, in
// time linear in its size: yaml.v3's own decoder compares a mapping's keys
// pairwise, and a config with 10,000 tenants took well over 100 ms to
// decode, most of it comparing keys. The tree is decoded into Config by
// configDecoder. It returns the top-level mapping, empty for a file that
// holds nothing or only comments.
//
// It refuses duplicate keys, and what a config file has no use for and
// what could hurt:
//   - anchors and aliases (&name, *name): an alias that refers to itself
//     recurses without end, and a few hundred bytes of nested aliases
//     ("billion laughs") expand to gigabytes;
//   - null values (a key with nothing after it, such as a section whose
//     entries are all commented out): a null list would otherwise mean
//     "not set", and for a list that restricts (allow, countries) that
//     silently means "everything". Remove the key to get its default.
func parseYAML(b []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil // an empty file, or only comments
	}
	root := doc.Content[0]
	if err := checkNode(root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("the file must hold a YAML mapping (setting: value)")
	}
	return root, nil
}

// checkNode checks n and everything under it (see parseYAML).
func checkNode(n *yaml.Node) error {
	if n.Anchor != "" {
		return fmt.Errorf("line %d: anchors (&name) are not supported; write each value out", n.Line)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return fmt.Errorf("line %d: aliases (*name) are not supported; write the value out", n.Line)
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return fmt.Errorf("line %d: a value is missing (null); remove the key to use its default, or give it a value", n.Line)
		}
		return nil
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := checkNode(c); err != nil {
				return err
			}
		}
		return nil
	case yaml.MappingNode:
		lines := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" || k.Anchor != "" {
				return fmt.Errorf("line %d: mapping keys must be plain names", k.Line)
			}
			if first, dup := lines[k.Value]; dup {
				return fmt.Errorf("line %d: key %q is already defined at line %d", k.Line, k.Value, first)
			}
			lines[k.Value] = k.Line
			if err := checkNode(n.Content[i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

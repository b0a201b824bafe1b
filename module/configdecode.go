package restlink

import (
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// configDecoder decodes the config's YAML node tree (see parseYAML) into
// Config in one pass: each node straight into its field, found by the
// fields' yaml tags, with no map in between. Decoding into a value that
// already holds something (the defaults) sets only what the tree holds; a
// list replaces the one before it. A problem is recorded with its field
// and decoding goes on, so that one run reports every problem.
//
// Scalars are read from their text, whatever YAML resolved them to, so
// that an environment override ("9") sets a number and a quoted "15"
// sets one too: strings as written, numbers by strconv (0x, 0o, 0b and _
// allowed), booleans by strconv.ParseBool, durations by parseDuration and
// networks by parsePrefix. A field of type any (an amount of money) gets
// the scalar as YAML resolves it: an int, a float64 or a string.
type configDecoder struct {
	problems []decodeProblem
	fields   map[reflect.Type]map[string][]int // each struct type's fields by yaml name
}

// decodeProblem is a value that did not decode: the field's path and why.
type decodeProblem struct {
	field string
	line  int // 0 for an environment override or a default
	msg   string
}

// String is the problem as one line: "upstream.timeout: … (line 3)".
func (p decodeProblem) String() string {
	s := p.field + ": " + p.msg
	if p.line > 0 {
		s += " (line " + strconv.Itoa(p.line) + ")"
	}
	return s
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	prefixType   = reflect.TypeFor[netip.Prefix]()
)

// problem records that the value at field did not decode.
func (d *configDecoder) problem(field string, n *yaml.Node, msg string) {
	if field == "" {
		field = "config"
	}
	d.problems = append(d.problems, decodeProblem{field: field, line: n.Line, msg: msg})
}

// decode decodes n into v, a settable value, at the path field.
func (d *configDecoder) decode(n *yaml.Node, v reflect.Value, field string) {
	t := v.Type()
	if t == durationType || t == prefixType {
		d.decodeScalar(n, v, field)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), field)
	case reflect.Struct:
		d.decodeStruct(n, v, field)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.problem(field, n, "expected a mapping (name: value), not "+nodeKind(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(t, len(n.Content)/2))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			name := n.Content[i].Value
			elem := reflect.New(t.Elem()).Elem()
			d.decode(n.Content[i+1], elem, field+"."+name)
			v.SetMapIndex(reflect.ValueOf(name).Convert(t.Key()), elem)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.problem(field, n, "expected a list, not "+nodeKind(n))
			return
		}
		list := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, list.Index(i), field+"["+strconv.Itoa(i)+"]")
		}
		v.Set(list)
	default:
		d.decodeScalar(n, v, field)
	}
}

// decodeStruct decodes a mapping into a struct, field by field; keys that
// name no field are reported together.
func (d *configDecoder) decodeStruct(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.MappingNode {
		d.problem(field, n, "expected a mapping (setting: value), not "+nodeKind(n))
		return
	}
	fields := d.fieldsOf(v.Type())
	var unknown []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		name := n.Content[i].Value
		index, ok := fields[name]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		sub := name
		if field != "" {
			sub = field + "." + name
		}
		d.decode(n.Content[i+1], v.FieldByIndex(index), sub)
	}
	if unknown != nil {
		slices.Sort(unknown)
		d.problem(field, n, "unknown field(s): "+strings.Join(unknown, ", "))
	}
}

// fieldsOf maps a struct type's yaml names to its fields, an inline
// struct's fields among them.
func (d *configDecoder) fieldsOf(t reflect.Type) map[string][]int {
	if f, ok := d.fields[t]; ok {
		return f
	}
	f := map[string][]int{}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		switch {
		case opts == "inline":
			for sub, index := range d.fieldsOf(sf.Type) {
				f[sub] = append([]int{i}, index...)
			}
		case name != "" && name != "-":
			f[name] = []int{i}
		}
	}
	if d.fields == nil {
		d.fields = map[reflect.Type]map[string][]int{}
	}
	d.fields[t] = f
	return f
}

// decodeScalar decodes a scalar node into a string, a number, a boolean,
// a duration, a network or an any.
func (d *configDecoder) decodeScalar(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.ScalarNode {
		d.problem(field, n, "expected a single value, not "+nodeKind(n))
		return
	}
	text := n.Value
	var err error
	switch t := v.Type(); {
	case t == durationType:
		var dur time.Duration
		if dur, err = parseDuration(text); err == nil {
			v.SetInt(int64(dur))
		}
	case t == prefixType:
		var p netip.Prefix
		if p, err = parsePrefix(text); err == nil {
			v.Set(reflect.ValueOf(p))
		}
	default:
		switch t.Kind() {
		case reflect.String:
			v.SetString(text)
		case reflect.Bool:
			b, perr := strconv.ParseBool(text)
			if err = perr; err != nil {
				err = errors.New("cannot parse the value as true or false")
			} else {
				v.SetBool(b)
			}
		case reflect.Int, reflect.Int64:
			i, perr := strconv.ParseInt(text, 0, t.Bits())
			if err = perr; err != nil {
				err = errors.New("cannot parse the value as a whole number")
			} else {
				v.SetInt(i)
			}
		case reflect.Uint32:
			u, perr := strconv.ParseUint(text, 0, t.Bits())
			if err = perr; err != nil {
				err = errors.New("cannot parse the value as a whole number of 0 or more")
			} else {
				v.SetUint(u)
			}
		case reflect.Float64:
			f, perr := strconv.ParseFloat(text, 64)
			if err = perr; err != nil {
				err = errors.New("cannot parse the value as a number")
			} else {
				v.SetFloat(f)
			}
		case reflect.Interface:
			v.Set(reflect.ValueOf(resolvedScalar(n)))
		default:
			err = errors.New("cannot be set from the config file") // a field type the decoder does not know
		}
	}
	if err != nil {
		d.problem(field, n, err.Error())
	}
}

// resolvedScalar is a scalar as YAML resolves it: an int or a float64 for
// an unquoted number, else its text.
func resolvedScalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return int(i)
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	}
	return n.Value
}

// nodeKind names a node's kind in an error.
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

// parseDuration reads "15s"-style durations, and whole days as "400d". A
// bare number is refused: it would silently mean nanoseconds.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, errors.New("a duration needs a unit, e.g. 15s or 500ms")
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseUint(days, 10, 16); err == nil {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration, e.g. 15s, 500ms or 400d")
	}
	return d, nil
}

// parsePrefix reads a network (127.0.0.0/8) or a single address (::1).
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, errors.New("not a network or address, e.g. 127.0.0.0/8 or ::1")
}

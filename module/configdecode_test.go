package restlink

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// decodeTarget holds one field of each kind the config decoder knows.
type decodeTarget struct {
	Name      string               `yaml:"name"`
	On        bool                 `yaml:"on"`
	Count     int                  `yaml:"count"`
	Big       int64                `yaml:"big"`
	Small     uint32               `yaml:"small"`
	Ratio     *float64             `yaml:"ratio"`
	Wait      time.Duration        `yaml:"wait"`
	Network   netip.Prefix         `yaml:"network"`
	Amount    any                  `yaml:"amount"`
	List      []string             `yaml:"list"`
	Named     map[string]decodeSub `yaml:"named"`
	Sub       *decodeSub           `yaml:"sub"`
	decodeSub `yaml:",inline"`
}

type decodeSub struct {
	Inner string `yaml:"inner"`
}

func decodeYAML(t *testing.T, into any, text string) []string {
	t.Helper()
	root, err := parseYAML([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var d configDecoder
	d.decode(root, reflect.ValueOf(into).Elem(), "")
	var problems []string
	for _, p := range d.problems {
		problems = append(problems, p.String())
	}
	return problems
}

// TestConfigDecoder: each kind of field from its YAML text, quoted or not;
// a second layer sets only what it holds, its lists replace; maps, inline
// and pointer structs; names with dots are map keys, not paths.
func TestConfigDecoder(t *testing.T) {
	var got decodeTarget
	if p := decodeYAML(t, &got, `
name: 123
on: "true"
count: 0x10
big: 1_000_000
small: "7"
ratio: 0.25
wait: 400d
network: ::1
amount: 0.10
list: [a, b]
named: {"acme.eu": {inner: x}}
sub: {inner: y}
inner: z
`); p != nil {
		t.Fatal(p)
	}
	ratio := 0.25
	want := decodeTarget{Name: "123", On: true, Count: 16, Big: 1_000_000, Small: 7, Ratio: &ratio,
		Wait: 400 * 24 * time.Hour, Network: netip.MustParsePrefix("::1/128"), Amount: 0.10, List: []string{"a", "b"},
		Named: map[string]decodeSub{"acme.eu": {Inner: "x"}}, Sub: &decodeSub{Inner: "y"}, decodeSub: decodeSub{Inner: "z"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if p := decodeYAML(t, &got, "list: [c]\namount: \"0.10\"\ncount: 5\n"); p != nil {
		t.Fatal(p)
	}
	if !slicesEqual(got.List, []string{"c"}) || got.Amount != "0.10" || got.Count != 5 || got.Name != "123" || !got.On {
		t.Errorf("second layer: %+v", got)
	}
	var ints decodeTarget
	if decodeYAML(t, &ints, "amount: 25\n"); ints.Amount != 25 {
		t.Errorf("amount: 25 decoded as %#v, want the int 25", ints.Amount)
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// TestConfigDecoderProblems: every problem is reported with its field and
// line, never with the value, and a field that did not decode keeps what
// it held.
func TestConfigDecoderProblems(t *testing.T) {
	got := decodeTarget{Count: 3}
	problems := decodeYAML(t, &got, `
name: [not, a, string]
on: maybe
count: sk_live_SECRET
small: -1
ratio: lots
wait: 15
network: somewhere
list: single
named: {a: {inner: x, outer: y}}
colour: blue
shade: dark
`)
	want := []string{
		"name: expected a single value, not a list (line 2)",
		"on: cannot parse the value as true or false (line 3)",
		"count: cannot parse the value as a whole number (line 4)",
		"small: cannot parse the value as a whole number of 0 or more (line 5)",
		"ratio: cannot parse the value as a number (line 6)",
		"wait: a duration needs a unit, e.g. 15s or 500ms (line 7)",
		"network: not a network or address, e.g. 127.0.0.0/8 or ::1 (line 8)",
		"list: expected a list, not a single value (line 9)",
		"named.a: unknown field(s): outer (line 10)",
		"config: unknown field(s): colour, shade (line 2)",
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	if got.Count != 3 {
		t.Errorf("a count that did not decode was set to %d", got.Count)
	}
}

// TestParseConfigMergesOverridesIntoTheFile: an override sets a default the
// file leaves out, inside a section the file has or not, and a field the
// file sets; it is a string, read as the field's type.
func TestParseConfigMergesOverridesIntoTheFile(t *testing.T) {
	cfg, err := parseConfigText(t, minimalYAML+"upstream: {url: \"http://127.0.0.1:1\"}\n",
		"RESTLINK__UPSTREAM__TIMEOUT=20s", "RESTLINK__LEDGER__RETENTION=60d", "RESTLINK__UPSTREAM__URL=http://127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Upstream.Timeout != 20*time.Second || cfg.Upstream.URL != "http://127.0.0.1:2" || cfg.Ledger.Retention != 60*24*time.Hour ||
		cfg.Upstream.MaxWait != 2*time.Second || cfg.Routing.TenantHeader != "X-Tenant" {
		t.Errorf("decoded %+v %+v %+v", cfg.Upstream, cfg.Ledger, cfg.Routing)
	}
	_, err = parseConfigText(t, minimalYAML+"upstream: plain\n", "RESTLINK__UPSTREAM__URL=http://127.0.0.1:2")
	if err == nil || !strings.Contains(err.Error(), `"upstream.url" is inside a setting the file gives as a single value or a list`) {
		t.Errorf("override under a scalar: %v", err)
	}
}

// parseConfigText parses a config file's text with the environment
// variables env.
func parseConfigText(t *testing.T, text string, env ...string) (*Config, error) {
	t.Helper()
	pl, err := parseConfig([]byte(text), envOf(env...))
	if err != nil {
		return nil, err
	}
	return pl.Config, nil
}

// keyHolds reports whether a mapping key under n holds s.
func keyHolds(n *yaml.Node, s string) bool {
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 && strings.Contains(c.Value, s) || keyHolds(c, s) {
			return true
		}
	}
	return false
}

// FuzzParseConfig: any file is parsed without a panic, and an error never
// repeats a value the file holds.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(minimalYAML))
	f.Add([]byte("workspaces: {main: {id: 16, main: true, keys: [{value: sk_live_SECRETVALUE}]}}\nupstream: {timeout: sk_live_SECRETVALUE}\n"))
	f.Add([]byte("policy: {default: {budget: {daily: sk_live_SECRETVALUE}, senders: [+447700900123]}}\n"))
	f.Add([]byte("tenants: {acme: [sk_live_SECRETVALUE]}\ncallers: [{uid: sk_live_SECRETVALUE}]\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 4096 {
			return
		}
		_, err := parseConfig(raw, noEnv)
		if err == nil || !strings.Contains(err.Error(), "SECRETVALUE") {
			return
		}
		if root, perr := parseYAML(raw); perr == nil && keyHolds(root, "SECRETVALUE") {
			return // a field name is named, to find a typo; a key belongs in a value
		}
		t.Errorf("an error repeats the file's value: %v", err)
	})
}

// BenchmarkParseConfig splits a 10,000-workspace config's decode: the YAML
// tree alone (yaml.v3's scanner and parser, the floor of any YAML
// decode), then the whole of parseConfig (tree, overrides, decode into
// Config, compile).
func BenchmarkParseConfig(b *testing.B) {
	raw, err := os.ReadFile(benchWorkspacesConfig(b, b.TempDir(), "http://127.0.0.1:1", 10000))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("yaml-tree", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseYAML(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parseConfig", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseConfig(raw, noEnv); err != nil {
				b.Fatal(err)
			}
		}
	})
}

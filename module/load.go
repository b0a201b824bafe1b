package restlink

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
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

// parseConfig decodes config file bytes and compiles them.
func parseConfig(raw []byte, environ Environ) (*plan, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(defaultConfig, "."), nil); err != nil {
		return nil, fmt.Errorf("loading defaults: %w", err)
	}
	if err := k.Load(rawbytes.Provider(raw), yamlParser{}); err != nil {
		return nil, fmt.Errorf("parsing config YAML: %s", redactQuoted(err.Error()))
	}
	if err := applyEnvOverrides(k, environ); err != nil {
		return nil, err
	}

	var cfg Config
	decodeErr := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(durationHook, prefixHook),
		WeaklyTypedInput: true, // environment values are strings
		ErrorUnused:      true, // unknown fields are errors
		TagName:          "koanf",
	}})
	// A field that did not decode keeps its zero value; the rest is
	// compiled anyway, so that one run reports every problem.
	pl, compileErr := compileConfig(&cfg)
	if decodeErr == nil && compileErr == nil {
		return pl, nil
	}
	var errs []error
	failed := map[string]bool{} // fields that did not decode
	if decodeErr != nil {
		lines := describeDecodeError(decodeErr)
		for _, line := range lines {
			field, _, _ := strings.Cut(line, ": ")
			failed[field] = true
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

// applyEnvOverrides merges RESTLINK__<PATH> variables into k. Each must name
// a scalar setting that exists (a default, or a field the file sets).
func applyEnvOverrides(k *koanf.Koanf, environ Environ) error {
	toPath := func(name string) string {
		return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, EnvPrefix), "__", "."))
	}
	var errs []error
	for _, kv := range environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		path := toPath(name)
		switch k.Get(path).(type) {
		case nil:
			errs = append(errs, fmt.Errorf("environment variable %s: there is no setting %q", name, path))
		case map[string]any, []any:
			errs = append(errs, fmt.Errorf("environment variable %s: %q is not a scalar setting", name, path))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return k.Load(env.Provider(".", env.Opt{
		Prefix:        EnvPrefix,
		EnvironFunc:   environ,
		TransformFunc: func(name, v string) (string, any) { return toPath(name), v },
	}), nil)
}

// durationHook decodes "15s"-style strings, and whole days as "400d". A
// bare number is refused: it would silently mean nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() {
		return data, nil
	}
	s, ok := data.(string)
	if _, isNumber := strconv.ParseFloat(s, 64); !ok || isNumber == nil {
		return nil, errors.New("a duration needs a unit, e.g. 15s or 500ms")
	}
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseUint(days, 10, 16); err == nil {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, errors.New("not a duration, e.g. 15s, 500ms or 400d")
	}
	return d, nil
}

// prefixHook decodes a network (127.0.0.0/8) or a single address (::1).
func prefixHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[netip.Prefix]() {
		return data, nil
	}
	s, ok := data.(string)
	if !ok {
		return nil, errors.New("a network must be a string such as 127.0.0.0/8")
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return nil, errors.New("not a network or address, e.g. 127.0.0.0/8 or ::1")
}

// describeDecodeError rewrites mapstructure's errors as lines that each
// start with the field ("upstream.timeout: …"); mapstructure v2 leaves
// values out of its messages.
func describeDecodeError(err error) []string {
	var lines []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		de, ok := err.(*mapstructure.DecodeError)
		if !ok {
			if inner := errors.Unwrap(err); inner != nil {
				walk(inner) // a wrapper around the decoder's errors
				return
			}
		}
		if ok {
			name := de.Name()
			if name == "" || name == reflect.TypeFor[Config]().String() {
				name = "config"
			}
			msg := strings.Replace(de.Unwrap().Error(), "has invalid keys:", "unknown field(s):", 1)
			lines = append(lines, name+": "+redactQuoted(msg))
			return
		}
		lines = append(lines, redactQuoted(err.Error()))
	}
	walk(err)
	return lines
}

var quoted = regexp.MustCompile("\"[^\"]*\"|`[^`]*`")

// redactQuoted removes quoted text from a parser's message: YAML errors can
// quote file content, and a config file may hold a literal key.
func redactQuoted(msg string) string {
	return quoted.ReplaceAllString(msg, "(…)")
}

package money

import (
	"errors"
	"fmt"
	"strconv"
)

// FromConfig reads an amount from a config value as the config decoder
// gives it from YAML: a number (int, int64, uint64 or float64) or a
// string such as "0.25". A float64 is read from the shortest decimal text that reads
// back as the same float64, never through arithmetic: that is the text
// the config file wrote for any number of up to 15 significant digits
// (0.1 is 0.1, not the binary fraction nearest to it). The amount must not be negative, and must be
// exact in micro-units as Parse requires. Its errors never quote the
// value.
func FromConfig(v any) (Amount, error) {
	var text string
	switch v := v.(type) {
	case int:
		text = strconv.Itoa(v)
	case int64:
		text = strconv.FormatInt(v, 10)
	case uint64:
		text = strconv.FormatUint(v, 10)
	case float64:
		text = strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		text = v
	default:
		return 0, fmt.Errorf("an amount must be a number or a string such as \"0.25\", not %T", v)
	}
	a, err := Parse(text)
	if err != nil {
		// The config's errors never quote what the file holds.
		for _, reason := range []error{ErrSyntax, ErrInexact, ErrOverflow} {
			if errors.Is(err, reason) {
				return 0, fmt.Errorf("cannot read the amount: %w", reason)
			}
		}
		return 0, errors.New("cannot read the amount")
	}
	if a < 0 {
		return 0, fmt.Errorf("the amount %s is negative; amounts in the config must be 0 or more", a)
	}
	return a, nil
}

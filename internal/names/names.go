// Package names holds the one rule for the names a config gives to
// workspaces, tenants and webhook event types. The names appear in URL
// paths, headers, logs, metric labels and, for the webhook spool, in
// directory names, so they are short tokens of safe characters.
package names

import "fmt"

// MaxLength is the longest name.
const MaxLength = 128

// Check accepts 1 to MaxLength characters from A-Z a-z 0-9 . _ -, except
// "." and "..", which are not usable as path segments or directory names.
func Check(name string) error {
	if name == "" || len(name) > MaxLength {
		return fmt.Errorf("%q must have 1 to %d characters", name, MaxLength)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("%q is not a usable name", name)
	}
	for i := 0; i < len(name); i++ {
		if !IsByte(name[i]) {
			return fmt.Errorf("%q may contain only A-Z a-z 0-9 . _ -", name)
		}
	}
	return nil
}

// IsByte reports whether c may appear in a name.
func IsByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

package restlink

import (
	"crypto/sha256"
	"fmt"
	"maps"

	"github.com/23telecom/restlink-sidecar/module/signals"
)

// trustedLoad is the trusted-numbers files of a snapshot, read: each
// file's numbers as salted hashes. A file that cannot be read keeps the
// numbers it had (stale), or has none; either way the problem is a
// warning, not a failed reload: it never stops another tenant's sends.
type trustedLoad struct {
	sets     map[string]*signals.Trusted // by path; nil: no numbers
	sums     map[string][sha256.Size]byte
	warnings []string
}

// loadTrusted reads the trusted-numbers files; a file whose content is
// what prev read keeps prev's set.
func loadTrusted(files []string, prev *trustedLoad) *trustedLoad {
	t := &trustedLoad{sets: make(map[string]*signals.Trusted, len(files)), sums: make(map[string][sha256.Size]byte, len(files))}
	for _, f := range files {
		data, err := readAtMost(f, signals.MaxTrustedFile)
		if err != nil {
			if prev != nil && prev.sets[f] != nil {
				t.sets[f], t.sums[f] = prev.sets[f], prev.sums[f]
				t.warnings = append(t.warnings, fmt.Sprintf("trusted numbers file %s: %v; its last good numbers stay trusted", f, err))
			} else {
				t.warnings = append(t.warnings, fmt.Sprintf("trusted numbers file %s: %v; none of its numbers is trusted", f, err))
			}
			continue
		}
		sum := sha256.Sum256(data)
		t.sums[f] = sum
		if prev != nil && prev.sums[f] == sum && prev.sets[f] != nil {
			t.sets[f] = prev.sets[f]
			continue
		}
		set, err := signals.ParseTrusted(data)
		if err != nil {
			t.warnings = append(t.warnings, fmt.Sprintf("trusted numbers file %s: %v; those lines are skipped", f, err))
		}
		t.sets[f] = set
	}
	return t
}

// same reports whether t read the same content as o.
func (t *trustedLoad) same(o *trustedLoad) bool {
	return o != nil && maps.Equal(t.sums, o.sums)
}

// trusts reports whether number is in the trusted-numbers file at path.
func (t *trustedLoad) trusts(path, number string) bool {
	return t != nil && path != "" && t.sets[path].Has(number)
}

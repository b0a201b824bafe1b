package main

import (
	"testing"

	restlink "github.com/23telecom/restlink-sidecar/module"
)

// TestFingerprintIsTheSidecars: the demo shows keys as the sidecar does.
func TestFingerprintIsTheSidecars(t *testing.T) {
	for _, s := range []string{"sk_prod_MAINmainMAINmain0001", "whsec_x", ""} {
		if got, want := fingerprint(s), restlink.Fingerprint(s); got != want {
			t.Errorf("fingerprint(%q) = %s, the sidecar shows %s", s, got, want)
		}
	}
}

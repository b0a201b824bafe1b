package restlink

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStampWithoutStatx: where statx is missing or refused, the stamps are
// stat's, which are the same.
func TestStampWithoutStatx(t *testing.T) {
	file := filepath.Join(t.TempDir(), "main.key")
	if err := os.WriteFile(file, []byte("k1"), 0o600); err != nil {
		t.Fatal(err)
	}
	statx, stat := stamper{}, stamper{noStat: true}
	if got, want := stat.stamp(file), statx.stamp(file); got != want || got.missing {
		t.Fatalf("stat %+v, statx %+v", got, want)
	}
	if got := stat.stamp(file + ".absent"); !got.missing {
		t.Fatalf("a missing file stamps %+v", got)
	}
}

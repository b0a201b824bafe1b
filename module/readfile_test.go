package restlink

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadAtMost reads files around the limit and around the first
// buffer's size, compared with os.ReadFile.
func TestReadAtMost(t *testing.T) {
	dir := t.TempDir()
	const limit = 1500
	for _, size := range []int{0, 1, 511, 512, 513, 1024, limit - 1, limit} {
		path := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("k"), size)
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readAtMost(path, limit)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("size %d: read %d bytes, %v", size, len(got), err)
		}
	}
	for _, size := range []int{limit + 1, 10 * limit} {
		path := filepath.Join(dir, "big")
		if err := os.WriteFile(path, bytes.Repeat([]byte("k"), size), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readAtMost(path, limit); err == nil || !strings.Contains(err.Error(), "holds more than 1500 bytes") {
			t.Errorf("size %d: err %v, want it refused", size, err)
		}
	}
	_, err := readAtMost(filepath.Join(dir, "missing"), limit)
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "open "+dir) {
		t.Errorf("missing file: err %v, want open …: not found", err)
	}
	_, err = readAtMost(dir, limit)
	if err == nil || !strings.HasPrefix(err.Error(), "read "+dir) {
		t.Errorf("a directory: err %v, want read …: is a directory", err)
	}
}

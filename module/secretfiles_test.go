package restlink

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSecretFilesSkipUnchanged: a file whose stat is unchanged is not read
// again within a minute (its path may even be gone: nothing is opened);
// past a minute, or with another stat, it is read anew.
func TestSecretFilesSkipUnchanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ws.key")
	if err := os.WriteFile(path, []byte("sk_test_first"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var c secretFiles
	now := time.Now()
	if b, err := c.read(path, fi, maxSecretBytes, now); err != nil || string(b) != "sk_test_first" {
		t.Fatalf("first read: %q, %v", b, err)
	}
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if b, err := c.read(path, fi, maxSecretBytes, now.Add(59*time.Second)); err != nil || string(b) != "sk_test_first" {
		t.Errorf("an unchanged stat within a minute was read again: %q, %v", b, err)
	}
	if _, err := c.read(path, fi, maxSecretBytes, now.Add(61*time.Second)); err == nil {
		t.Error("a file was not read again after a minute")
	}
	other := filepath.Join(dir, "other.key")
	if err := os.WriteFile(other, []byte("sk_test_other!"), 0o600); err != nil {
		t.Fatal(err)
	}
	ofi, _ := os.Stat(other)
	if _, err := c.read(path, ofi, maxSecretBytes, now); err == nil {
		t.Error("a file with another stat was not read again")
	}
	var none *secretFiles
	if _, err := none.read(path, fi, maxSecretBytes, now); err == nil {
		t.Error("a nil cache did not read the file")
	}
	c.forget(map[string]bool{})
	if len(c.byPath) != 0 {
		t.Error("forget kept a file")
	}
}

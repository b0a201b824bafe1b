package durable

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSyncDir: a directory syncs; a missing one is an error.
func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Error(err)
	}
	if err := SyncDir(t.TempDir() + "/missing"); err == nil {
		t.Error("a missing directory synced")
	}
}

// TestWriteFile: the file holds the data, mode 0600, replaces an older
// one, and leaves no temporary file; a missing directory is an error.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	for _, data := range []string{"first", "second, longer"} {
		if err := WriteFile(dir, "f.json", []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "f.json"))
		if err != nil || string(got) != data {
			t.Fatalf("read %q, %v; want %q", got, err, data)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "f.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries, want only the file", len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "missing"), "f.json", nil); err == nil {
		t.Error("a missing directory was written to")
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckFresh refuses a binary older than a source file it is built
// from, and ignores the bench's own code and tests.
func TestCheckFresh(t *testing.T) {
	root := t.TempDir()
	write := func(path string, at time.Time) {
		t.Helper()
		path = filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("package x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	built := time.Now().Add(-time.Hour)
	write("bin/restlink-sidecar", built)
	write("module/handler.go", built.Add(-time.Minute))
	write("module/handler_test.go", built.Add(time.Minute))
	write("bench/main.go", built.Add(time.Minute))
	binary := filepath.Join(root, "bin/restlink-sidecar")
	if err := checkFresh(binary, root); err != nil {
		t.Fatalf("fresh binary refused: %v", err)
	}
	write("module/handler.go", built.Add(time.Minute))
	if err := checkFresh(binary, root); err == nil || !strings.Contains(err.Error(), "handler.go") {
		t.Errorf("stale binary: %v, want it refused naming handler.go", err)
	}
}

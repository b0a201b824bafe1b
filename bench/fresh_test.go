package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCheckFresh refuses a binary older than one of its sources.
func TestCheckFresh(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, at time.Time) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("package x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
		return path
	}
	built := time.Now().Add(-time.Hour)
	binary := write("restlink-sidecar", built)
	source := write("handler.go", built.Add(-time.Minute))
	if err := checkFresh(binary, []string{source}); err != nil {
		t.Fatalf("fresh binary refused: %v", err)
	}
	write("handler.go", built.Add(time.Minute))
	if err := checkFresh(binary, []string{source}); err == nil || !strings.Contains(err.Error(), "handler.go") {
		t.Errorf("stale binary: %v, want it refused naming handler.go", err)
	}
}

// TestBinarySources lists the sidecar's own packages, not the demo's, the
// bench's or the tests.
func TestBinarySources(t *testing.T) {
	sources, err := binarySources("..", "./cmd/restlink-sidecar")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("..")
	has := func(rel string) bool { return slices.Contains(sources, filepath.Join(root, rel)) }
	for _, rel := range []string{"go.mod", "go.sum", "module/handler.go", "cmd/restlink-sidecar/main.go", "module/webhookreceiver/receiver.go"} {
		if !has(rel) {
			t.Errorf("%s missing from the sources", rel)
		}
	}
	for _, rel := range []string{"cmd/restlink-demo/main.go", "bench/main.go", "module/handler_bench_test.go", "internal/redistest/redistest.go"} {
		if has(rel) {
			t.Errorf("%s listed, but it is not in the binary", rel)
		}
	}
}

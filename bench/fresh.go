package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// checkFresh refuses a binary older than any of the files it is built
// from: `go run ./bench` measures whatever is in bin/ (only `make bench`
// builds it first), and a stale binary measures old code.
func checkFresh(binary string, sources []string) error {
	built, err := os.Stat(binary)
	if err != nil {
		return fmt.Errorf("%w (make build builds it)", err)
	}
	var newest string
	var newestTime time.Time
	for _, path := range sources {
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		if info.ModTime().After(newestTime) {
			newest, newestTime = path, info.ModTime()
		}
	}
	if newestTime.After(built.ModTime()) {
		return fmt.Errorf("%s is older than %s: run make build first (make bench does)", binary, newest)
	}
	return nil
}

// binarySources lists the files under the module at root that the
// binary of pkg is built from: the Go files (tests aside) of every package
// of the module it imports, as `go list -deps` finds them, and go.mod and
// go.sum.
func binarySources(root, pkg string) ([]string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("go", "list", "-deps", "-f", `{{$dir := .Dir}}{{range .GoFiles}}{{$dir}}/{{.}}{{"\n"}}{{end}}`, pkg)
	cmd.Dir = abs
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s: %w", pkg, err)
	}
	sources := []string{filepath.Join(abs, "go.mod"), filepath.Join(abs, "go.sum")}
	for _, path := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(path, abs+string(filepath.Separator)) {
			sources = append(sources, path)
		}
	}
	return sources, nil
}

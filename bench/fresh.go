package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// checkFresh refuses a binary older than the Go source it is built from
// under root: `go run ./bench` measures whatever is in bin/ (only `make
// bench` builds it first), and a stale binary measures old code. The
// bench's own code and the tests are not in the binary and do not count.
func checkFresh(binary, root string) error {
	built, err := os.Stat(binary)
	if err != nil {
		return fmt.Errorf("%w (make build builds it)", err)
	}
	var newest string
	var newestTime time.Time
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "bench" || name == "bin" || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !(strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) && name != "go.mod" && name != "go.sum" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().After(newestTime) {
			newest, newestTime = path, info.ModTime()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if newestTime.After(built.ModTime()) {
		return fmt.Errorf("%s is older than %s: run make build first (make bench does)", binary, newest)
	}
	return nil
}

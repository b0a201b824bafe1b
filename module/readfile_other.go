//go:build !unix

package restlink

import (
	"fmt"
	"io"
	"os"
)

// readAtMost reads the file at path, failing if it holds more than limit
// bytes (it may have grown since it was last looked at).
func readAtMost(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("%s holds more than %d bytes; it is not read", path, limit)
	}
	return b, err
}

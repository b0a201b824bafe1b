//go:build !unix

package ledger

import (
	"errors"
	"os"
)

// tryLock cannot lock files here, so no ledger opens: two sidecars
// sharing a directory would corrupt it.
func tryLock(*os.File) (bool, error) {
	return false, errors.New("a ledger directory can be locked only on unix systems")
}

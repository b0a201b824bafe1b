//go:build unix

package restlink

import (
	"io/fs"
	"os"
	"syscall"
)

// groupIsOwn reports whether a file belongs to the sidecar's own group
// (as with a Kubernetes Secret mounted with fsGroup, or a systemd
// credential), so that group read access gives the key to nobody else.
func groupIsOwn(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Gid) == os.Getgid()
}

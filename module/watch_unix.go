//go:build unix

package restlink

import (
	"io/fs"
	"syscall"
)

// fileID is a file's device and inode: a file replaced by another (an
// atomic rename, a symlink swapped) is a different file even if its size
// and modification time are the same.
func fileID(fi fs.FileInfo) [2]uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return [2]uint64{uint64(st.Dev), uint64(st.Ino)}
	}
	return [2]uint64{}
}

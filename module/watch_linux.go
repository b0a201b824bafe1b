//go:build linux

package restlink

import (
	"io/fs"
	"syscall"
)

// fileIdentity is a file's device, inode and status-change time: a file
// replaced by another (an atomic rename, a symlink swapped) is a different
// file even if its size and modification time are the same, and a change
// of owner, group or ACL (a key made readable again) changes the
// status-change time, not the modification time.
func fileIdentity(fi fs.FileInfo) [3]uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return [3]uint64{uint64(st.Dev), uint64(st.Ino), uint64(st.Ctim.Sec)<<32 ^ uint64(st.Ctim.Nsec)}
	}
	return [3]uint64{}
}
